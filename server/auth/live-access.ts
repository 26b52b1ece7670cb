import { randomBytes } from 'node:crypto';
import { rawQuery, type Db, type Tx } from '../../drizzle/client.ts';
import { liveTickets } from '../../drizzle/schema/index.ts';
import type { Clock } from '../lib/clock.ts';
import { hashSecret } from './credentials.ts';
import { principalOfUser, type UserPrincipal } from './principal.ts';

/**
 * Channel of access revocations (logout, key rotation, user disabled). Published inside the
 * transaction that revokes the HTTP access, so every process's live hub hears of it exactly
 * when the database does and closes the sockets that lost their credential (SPEC §10).
 */
export const REVOCATION_CHANNEL = 'vigil_revocations';

/** Announces that some credential of `userId` was revoked (delivered on commit). */
export async function publishRevocation(tx: Db | Tx, userId: string): Promise<void> {
  await rawQuery(tx, 'select pg_notify($1::text, $2::text)', [REVOCATION_CHANNEL, userId]);
}

/** How long a live ticket may wait before its socket opens. */
export const LIVE_TICKET_TTL_MS = 30_000;

/**
 * A one-use ticket for opening the live socket (`?ticket=`), so an API key never travels in a
 * URL (where proxies and access logs keep it). It expires after 30 s and names the credential
 * it was asked with: the socket is closed when that credential is revoked.
 */
export async function issueLiveTicket(db: Db, user: UserPrincipal, now: Date): Promise<{ ticket: string; expiresAt: string }> {
  const credential = user.via === 'session' ? user.sessionId : user.keyHash;
  if (!credential) throw new Error('a live ticket needs the credential of the request');
  const ticket = `vlt_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + LIVE_TICKET_TTL_MS);
  await db.insert(liveTickets).values({ id: hashSecret(ticket), userId: user.id, via: user.via, credential, expiresAt });
  return { ticket, expiresAt: expiresAt.toISOString() };
}

/** Redeems a ticket once (deleted whether or not it had expired); null when unknown, used or expired. */
export async function redeemLiveTicket(db: Db, clock: Clock, ticket: string): Promise<UserPrincipal | null> {
  const [row] = await rawQuery<{ user_id: string; via: UserPrincipal['via']; credential: string; expires_at: Date | string }>(
    db,
    'delete from live_tickets where id = $1::text returning user_id, via, credential, expires_at',
    [hashSecret(ticket)],
  );
  // Expired tickets of anyone are cleared on the way.
  await rawQuery(db, 'delete from live_tickets where expires_at < $1::text::timestamptz', [clock.now().toISOString()]);
  if (!row || new Date(row.expires_at).getTime() <= clock.now().getTime()) return null;
  return principalOfUser(db, row.user_id, row.via, row.credential);
}
