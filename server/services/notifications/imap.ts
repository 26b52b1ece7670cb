import { ImapFlow } from 'imapflow';
import type { Db } from '../../../drizzle/client.ts';
import { DomainError } from '../../lib/errors.ts';
import { MAX_INBOUND_MESSAGE_BYTES, receiveEmail, recordOversized, type InboundContext } from './inbound.ts';

export interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  mailbox: string;
}

/** Reads `imap(s)://user:password@host:port/MAILBOX` (mailbox INBOX when absent; user and password URL-encoded). */
export function parseImapUrl(url: string): ImapTarget {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox: decodeURIComponent(u.pathname.replace(/^\/+/, '')) || 'INBOX',
  };
}

export interface ImapPollOutcome {
  fetched: number;
  applied: number;
  opened: number;
  ignored: number;
  refused: number;
}

/**
 * One IMAP poll (SPEC §8): every unseen message of the mailbox goes through the same path as
 * `POST /inbound/email`, then is flagged \Seen — also when it was refused or ignored, so a bad
 * message is not read forever. When processing fails for another reason (the database is
 * down) the message stays unseen for the next poll; the Message-ID check makes a repeat
 * harmless. Messages above the inbound size limit are recorded, not downloaded.
 */
export async function pollImap(db: Db, ctx: InboundContext, target: ImapTarget, options: { timeoutMs?: number } = {}): Promise<ImapPollOutcome> {
  const client = new ImapFlow({
    host: target.host,
    port: target.port,
    secure: target.secure,
    auth: { user: target.user, pass: target.pass },
    logger: false,
    connectionTimeout: options.timeoutMs ?? 15_000,
    greetingTimeout: options.timeoutMs ?? 15_000,
  });
  const outcome: ImapPollOutcome = { fetched: 0, applied: 0, opened: 0, ignored: 0, refused: 0 };
  await client.connect();
  try {
    const lock = await client.getMailboxLock(target.mailbox);
    try {
      const found = await client.search({ seen: false }, { uid: true });
      const uids = Array.isArray(found) ? found : [];
      for (const uid of uids) {
        const message = await client.fetchOne(String(uid), { size: true, envelope: true }, { uid: true });
        if (!message) continue;
        outcome.fetched++;
        if ((message.size ?? 0) > MAX_INBOUND_MESSAGE_BYTES) {
          await recordOversized(db, ctx.now, {
            messageId: message.envelope?.messageId ?? null,
            from: message.envelope?.from?.[0]?.address?.toLowerCase() ?? null,
            subject: message.envelope?.subject ?? null,
            sizeBytes: message.size ?? 0,
          });
          outcome.ignored++;
        } else {
          const full = await client.fetchOne(String(uid), { source: true }, { uid: true });
          try {
            const result = await receiveEmail(db, { ...ctx, customerId: null }, full ? full.source ?? Buffer.alloc(0) : Buffer.alloc(0));
            outcome[result.status === 'applied' ? 'applied' : result.status === 'opened' ? 'opened' : 'ignored']++;
          } catch (err) {
            if (!(err instanceof DomainError && err.code === 'invalid_request')) throw err;
            outcome.refused++;
          }
        }
        await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return outcome;
}
