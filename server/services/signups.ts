import { randomBytes } from 'node:crypto';
import { and, asc, count, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { appliances, customers, signupAttempts, signups, users, type Language, type SignupStatus } from '../../drizzle/schema/index.ts';
import { hashPassword, hashSecret, verifyPassword } from '../auth/credentials.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope, inScope, visibleCustomers } from '../auth/scope.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { conflict, DomainError, invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';
import { dashboardLink, enqueueAccountMail } from './notifications/account-mail.ts';

export interface SignupRequest {
  email: string;
  name: string;
  company: string;
  serial: string;
  password: string;
  language: Language;
}

export interface SignupLimits {
  /** SIGNUP_ATTEMPTS_PER_CLIENT_HOUR */
  perClientHour: number;
  /** SIGNUP_ATTEMPTS_PER_EMAIL_HOUR */
  perEmailHour: number;
  /** SIGNUP_VERIFY_HOURS: how long the verification link lives. */
  verifyHours: number;
}

const HOUR_MS = 3600_000;
const openStatuses: SignupStatus[] = ['pending_verification', 'pending_approval'];

/**
 * Counts and records one sign-up request; 429 `rate_limited` (with Retry-After) when the
 * client address or the e-mail address has made too many in the last hour. Keyed by e-mail
 * too, so nobody can flood one mailbox with verification messages from many addresses.
 */
async function throttle(db: Db, at: Date, email: string, ip: string, limits: SignupLimits): Promise<void> {
  const since = new Date(at.getTime() - HOUR_MS);
  const [[byIp], [byEmail]] = await Promise.all([
    db.select({ n: count() }).from(signupAttempts).where(and(eq(signupAttempts.ip, ip), gt(signupAttempts.at, since))),
    db.select({ n: count() }).from(signupAttempts).where(and(eq(signupAttempts.email, email), gt(signupAttempts.at, since))),
  ]);
  if ((byIp?.n ?? 0) >= limits.perClientHour) throw new DomainError('rate_limited', 'too many sign-ups from this address; try again later', undefined, 3600);
  if ((byEmail?.n ?? 0) >= limits.perEmailHour) throw new DomainError('rate_limited', 'too many sign-ups for this e-mail address; try again later', undefined, 3600);
  await db.insert(signupAttempts).values({ email, ip, at });
}

/**
 * A public sign-up (issue 21; the guide: "click 'Sign Up' … create a Customer Profile").
 * - an appliance serial that names no appliance: 400 `invalid_request` on `serial` (the answer
 *   never says which customer owns a serial that exists);
 * - an address that already has an account, or a confirmed sign-up awaiting approval: 409
 *   `conflict` on `email`, nothing stored or sent;
 * - an unverified sign-up for the address: replaced by this one (whoever reads the mailbox
 *   decides which one is real), with a new link;
 * - otherwise a pending sign-up is stored and a verification link sent
 *   (`<PUBLIC_URL>/#/verify/<token>`, valid `verifyHours`, stored as its SHA-256).
 * Every attempt counts against the per-client and per-address limits first (429), which also
 * bounds probing addresses or serials through this form.
 */
export async function requestSignup(db: Db, at: Date, input: SignupRequest, ip: string | null, limits: SignupLimits): Promise<{ status: 'received' }> {
  const email = input.email.toLowerCase();
  await throttle(db, at, email, ip ?? 'unknown', limits);
  const [known] = await db
    .select({ id: appliances.id })
    .from(appliances)
    .where(eq(appliances.serial, input.serial.trim()))
    .limit(1);
  if (!known) throw invalid('no appliance has this serial number; copy it from the label on the appliance or from its console', { field: 'serial' });
  const passwordHash = await hashPassword(input.password);
  const token = randomBytes(32).toString('base64url');
  await db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.email, email)).limit(1);
    if (user) throw conflict('an account with this e-mail address already exists; sign in instead, or ask your administrator for access', { field: 'email' });
    const [open] = await tx
      .select({ id: signups.id, status: signups.status })
      .from(signups)
      .where(and(eq(signups.email, email), inArray(signups.status, openStatuses)))
      .limit(1)
      .for('update');
    if (open?.status === 'pending_approval') throw conflict('a sign-up for this e-mail address is already confirmed and waiting for approval', { field: 'email' });
    if (open) await tx.delete(signups).where(eq(signups.id, open.id));
    const [row] = await tx
      .insert(signups)
      .values({
        email,
        name: input.name,
        company: input.company,
        serial: input.serial,
        language: input.language,
        passwordHash,
        status: 'pending_verification',
        verifyTokenHash: hashSecret(token),
        verifyExpiresAt: new Date(at.getTime() + limits.verifyHours * HOUR_MS),
        createdAt: at,
      })
      // A concurrent sign-up for the same address won the race: same answer, no second link.
      .onConflictDoNothing()
      .returning({ id: signups.id });
    if (!row) return;
    await enqueueAccountMail(tx, at, {
      kind: 'signup.verify',
      to: email,
      language: input.language,
      data: { name: input.name, url: dashboardLink(`verify/${token}`), validHours: limits.verifyHours },
    });
  });
  return { status: 'received' };
}

/**
 * Confirms the e-mail address of a sign-up from the link's token and the password chosen at
 * sign-up: confirming takes both the mailbox and the password, so someone who signed up with
 * another person's address cannot have that person confirm an account whose password the
 * stranger chose. Single use (the stored hash is cleared); 400 when unknown, used or expired
 * (`details.reason`: `invalid` | `expired`) or when the password differs (`reason: password`,
 * the link stays usable); 409 when the address got an account meanwhile (the token holder owns
 * the mailbox, so this reveals nothing). The sign-up then waits for an approver, who is told
 * by e-mail.
 */
export async function verifySignup(db: Db, at: Date, token: string, password: string): Promise<{ status: 'pending_approval' }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(signups).where(eq(signups.verifyTokenHash, hashSecret(token))).limit(1).for('update');
    if (!row || row.status !== 'pending_verification') throw invalid('this link is not valid or was already used', { reason: 'invalid' });
    if (!row.verifyExpiresAt || row.verifyExpiresAt <= at) throw invalid('this link has expired; sign up again for a new one', { reason: 'expired' });
    if (!(await verifyPassword(password, row.passwordHash))) {
      throw invalid('the password is not the one chosen when signing up; if you did not sign up, ignore this link', { reason: 'password', field: 'password' });
    }
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, row.email)).limit(1);
    if (existing) throw conflict('an account with this e-mail address already exists; log in instead');
    await tx.update(signups).set({ status: 'pending_approval', emailVerifiedAt: at, verifyTokenHash: null, verifyExpiresAt: null }).where(eq(signups.id, row.id));
    await tellApprovers(tx, at, row);
    return { status: 'pending_approval' as const };
  });
}

/**
 * Tells whoever decides that a confirmed sign-up waits: the customer admins of the serial's
 * customer when it has any, else the admins. Disabled users and users who turned e-mail off
 * are skipped.
 */
async function tellApprovers(tx: Tx, at: Date, s: typeof signups.$inferSelect): Promise<void> {
  const person = { id: users.id, email: users.email, name: users.name, language: users.language, preferences: users.notificationPreferences };
  const [owner] = await tx.select({ customerId: appliances.customerId }).from(appliances).where(eq(appliances.serial, s.serial)).limit(1);
  const active = isNull(users.disabledAt);
  let approvers = owner
    ? await tx.select(person).from(users).where(and(active, eq(users.role, 'customer'), eq(users.customerId, owner.customerId), eq(users.customerAdmin, true)))
    : [];
  const route = approvers.length > 0 ? 'signups' : 'admin/signups';
  if (approvers.length === 0) approvers = await tx.select(person).from(users).where(and(active, eq(users.role, 'admin')));
  for (const a of approvers.filter((p) => p.preferences.email !== false)) {
    await enqueueAccountMail(tx, at, {
      kind: 'signup.awaiting_approval',
      to: a.email,
      language: a.language,
      recipientId: a.id,
      data: { name: a.name, url: dashboardLink(route), applicant: { name: s.name, email: s.email, company: s.company } },
    });
  }
}

/**
 * Who may decide sign-ups: admins (every sign-up) and customer users flagged `customerAdmin`
 * (only sign-ups whose serial is an appliance of their own customer). Everyone else: 404.
 */
async function assertApprover(db: Db | Tx, actor: UserPrincipal): Promise<void> {
  if (actor.role === 'admin') return;
  if (actor.role === 'customer') {
    const [row] = await db.select({ customerAdmin: users.customerAdmin }).from(users).where(eq(users.id, actor.id)).limit(1);
    if (row?.customerAdmin) return;
  }
  throw notFound('sign-ups');
}

/** The appliance whose serial the applicant gave (case and surrounding spaces ignored). */
// Exactly as stored: serials are unique as written, so a case-folded match could name two
// appliances of different customers and show one customer's applicant to another.
const serialMatches = sql`${appliances.serial} = ${signups.serial}`;

const columns = {
  row: signups,
  serialCustomerId: appliances.customerId,
  serialCustomerName: customers.name,
};

type Listed = { row: typeof signups.$inferSelect; serialCustomerId: string | null; serialCustomerName: string | null };

function signupView(r: Listed) {
  const s = r.row;
  return {
    id: s.id,
    email: s.email,
    name: s.name,
    company: s.company,
    serial: s.serial,
    language: s.language,
    status: s.status,
    emailVerified: s.emailVerifiedAt !== null,
    createdAt: s.createdAt.toISOString(),
    // The serial's owner: the customer the approval is prefilled with; null = unknown serial (flagged).
    serialKnown: r.serialCustomerId !== null,
    suggestedCustomer: r.serialCustomerId ? { id: r.serialCustomerId, name: r.serialCustomerName ?? '' } : null,
    customerId: s.customerId,
    userId: s.userId,
    decidedAt: s.decidedAt?.toISOString() ?? null,
    decisionReason: s.decisionReason,
  };
}

export type SignupView = ReturnType<typeof signupView>;

/** Sign-ups with the owner of their serial (at most one: serials are unique). */
function selectSignups(db: Db | Tx) {
  return db.select(columns).from(signups).leftJoin(appliances, serialMatches).leftJoin(customers, eq(customers.id, appliances.customerId)).$dynamic();
}

/**
 * Sign-ups for an approver, oldest first (the queue order): admins see all, unknown serials
 * included; a customer admin sees those proving an appliance of their customer.
 */
export async function listSignups(db: Db, actor: UserPrincipal, opts: { limit: number; cursor?: string | undefined; status?: SignupStatus | undefined }) {
  await assertApprover(db, actor);
  const cursor = decodeCursor(opts.cursor);
  const rows = await selectSignups(db)
    .where(and(customerScope(actor, appliances.customerId), opts.status ? eq(signups.status, opts.status) : undefined, afterCursor(cursor, signups.createdAt, signups.id)))
    .orderBy(asc(signups.createdAt), asc(signups.id))
    .limit(opts.limit + 1);
  return page(
    rows.map((r) => ({ ...r, createdAt: r.row.createdAt, id: r.row.id })),
    opts.limit,
    signupView,
  );
}

/** One sign-up the approver may decide, locked for the decision; 404 outside their reach. */
async function loadForDecision(tx: Tx, actor: UserPrincipal, id: string): Promise<Listed> {
  await assertApprover(tx, actor);
  // Locked alone: FOR UPDATE cannot apply to the nullable side of the outer join below.
  const [locked] = await tx.select({ id: signups.id }).from(signups).where(eq(signups.id, id)).for('update');
  const [found] = locked ? await selectSignups(tx).where(eq(signups.id, id)).limit(1) : [];
  // An unknown serial has no customer: only admins ('all') reach it.
  if (!found || !inScope(await visibleCustomers(tx, actor), found.serialCustomerId)) throw notFound('sign-up');
  return found;
}

function assertUndecided(s: typeof signups.$inferSelect, needVerified: boolean): void {
  if (s.status === 'approved' || s.status === 'rejected') throw conflict(`this sign-up was already ${s.status}`);
  if (needVerified && s.status !== 'pending_approval') throw conflict('the applicant has not confirmed their e-mail address yet');
}

/**
 * Approves a sign-up into a customer (issue 21): creates the customer user with the password
 * the applicant chose and their language, e-mails them, and audits `signup.approve`. The
 * customer defaults to the owner of the serial; admins may name another (required when the
 * serial is unknown); a customer admin can only approve into their own customer. 409 when the
 * e-mail is not confirmed yet, the sign-up was decided, or the address has an account.
 */
export async function approveSignup(db: Db, actor: UserPrincipal, at: Date, id: string, input: { customerId?: string | undefined }) {
  return db.transaction(async (tx) => {
    const found = await loadForDecision(tx, actor, id);
    const s = found.row;
    assertUndecided(s, true);
    const customerId = input.customerId ?? found.serialCustomerId;
    if (!customerId) throw invalid('the serial matches no appliance: name the customer to join', { field: 'customerId' });
    if (!inScope(await visibleCustomers(tx, actor), customerId)) throw notFound('customer');
    const [customer] = await tx.select({ id: customers.id }).from(customers).where(eq(customers.id, customerId)).limit(1);
    if (!customer) throw invalid('customerId does not name a customer', { field: 'customerId' });
    const [user] = await tx
      .insert(users)
      .values({ email: s.email, name: s.name, role: 'customer', customerId, language: s.language, passwordHash: s.passwordHash, createdAt: at })
      .onConflictDoNothing({ target: users.email })
      .returning({ id: users.id });
    if (!user) throw conflict('a user with this e-mail address already exists');
    await tx.update(signups).set({ status: 'approved', decidedAt: at, decidedBy: actor.id, userId: user.id, customerId }).where(eq(signups.id, s.id));
    await recordAudit(tx, actor, at, { action: 'signup.approve', targetType: 'signup', targetId: s.id, customerId, details: { email: s.email, userId: user.id, serialKnown: found.serialCustomerId !== null } });
    await enqueueAccountMail(tx, at, { kind: 'signup.approved', to: s.email, language: s.language, recipientId: user.id, data: { name: s.name, url: dashboardLink('') } });
    return signupView({ ...found, row: { ...s, status: 'approved', decidedAt: at, decidedBy: actor.id, userId: user.id, customerId } });
  });
}

/**
 * Rejects a sign-up with an optional reason, audited `signup.reject`. The applicant is told by
 * e-mail only when their address is confirmed (an unconfirmed address may not be theirs).
 */
export async function rejectSignup(db: Db, actor: UserPrincipal, at: Date, id: string, input: { reason?: string | undefined }) {
  return db.transaction(async (tx) => {
    const found = await loadForDecision(tx, actor, id);
    const s = found.row;
    assertUndecided(s, false);
    const reason = input.reason ?? null;
    await tx.update(signups).set({ status: 'rejected', decidedAt: at, decidedBy: actor.id, decisionReason: reason, verifyTokenHash: null }).where(eq(signups.id, s.id));
    await recordAudit(tx, actor, at, { action: 'signup.reject', targetType: 'signup', targetId: s.id, customerId: found.serialCustomerId, details: { email: s.email, ...(reason ? { reason } : {}) } });
    if (s.emailVerifiedAt) {
      await enqueueAccountMail(tx, at, { kind: 'signup.rejected', to: s.email, language: s.language, data: { name: s.name, url: dashboardLink(''), reason } });
    }
    return signupView({ ...found, row: { ...s, status: 'rejected', decidedAt: at, decidedBy: actor.id, decisionReason: reason } });
  });
}

/** An expired, never confirmed sign-up is kept this long after its link expired, then deleted. */
export const UNCONFIRMED_SIGNUP_RETENTION_MS = 7 * 86_400_000;

/**
 * Housekeeping for the hourly retention job: sign-up attempts older than a day (the limit
 * counts one hour) and sign-ups never confirmed whose link expired over a week ago (they hold a
 * password hash for nobody). Decided sign-ups stay: they are the record behind the audit.
 */
export async function pruneSignups(db: Db, now: Date): Promise<{ attemptsDeleted: number; unconfirmedDeleted: number }> {
  const attempts = await db.delete(signupAttempts).where(lt(signupAttempts.at, new Date(now.getTime() - 86_400_000))).returning({ id: signupAttempts.id });
  const unconfirmed = await db
    .delete(signups)
    .where(and(eq(signups.status, 'pending_verification'), lt(signups.verifyExpiresAt, new Date(now.getTime() - UNCONFIRMED_SIGNUP_RETENTION_MS))))
    .returning({ id: signups.id });
  return { attemptsDeleted: attempts.length, unconfirmedDeleted: unconfirmed.length };
}
