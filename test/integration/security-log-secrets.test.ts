import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { users, webhooks } from '../../drizzle/schema/index.ts';
import { createLogger } from '../../server/lib/logger.ts';
import { createSurveyInvitation } from '../../server/services/tickets/surveys.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

/**
 * Issue 14 #6, SPEC §10: no secret ever reaches a log line. A run at debug level creates every
 * kind of secret (password and its scrypt hash, API key and its hash, appliance token, webhook
 * signing secret, survey token, live ticket), provokes the errors that used to log them (a
 * failed insert whose parameters hold a password hash and a webhook secret, requests whose
 * path holds a survey token, bad logins, a key in a socket URL), then greps the whole log.
 */
describe.each(backends)('secrets never reach the log on %s', (backend) => {
  let p: TestPlatform;
  let log = '';
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        log += String(chunk);
        done();
      },
    });
    p = await createTestPlatform(backend, { LOG_LEVEL: 'debug' }, { logger: createLogger('debug', sink) });
  });
  afterAll(async () => p?.stop());

  it('creates secrets, provokes errors, and none of the secrets is in the log', async () => {
    const f = factories(p);
    const customer = await f.customer({ tier: 'mission_critical', serenity: true });
    const { token, appliance } = await f.appliance(customer.id);
    secrets.applianceToken = token;
    const password = 'Correct-Horse-Battery-Staple-42';
    secrets.password = password;
    const user = await f.user('customer', { customerId: customer.id, password });
    secrets.apiKey = user.apiKey;
    const [stored] = await p.deps.database.db.select().from(users).where(eq(users.id, user.user.id));
    secrets.passwordHash = stored!.passwordHash!;

    const hook = await p.json('POST', '/api/v1/webhooks', { body: { url: 'https://hooks.example.com/vigil', events: ['ticket.opened'] } });
    expect(hook.status).toBe(201);
    secrets.webhookSecret = hook.body.secret;

    const ticket = await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'log probe', description: 'x', priority: 'P3' } });
    expect(ticket.status).toBe(201);
    const survey = await p.deps.database.db.transaction((tx) => createSurveyInvitation(tx, ticket.body.id, p.clock.now(), 'https://vigil.example.com'));
    secrets.surveyToken = survey!.url.split('/').at(-1)!;
    const ticketForSocket = await p.json('POST', '/api/v1/auth/live-ticket', { key: user.apiKey });
    secrets.liveTicket = ticketForSocket.body.ticket;

    // Provoke: requests naming the survey token, bad and good logins, a key where none belongs.
    await p.call('GET', `/api/v1/surveys/${secrets.surveyToken}`, { key: null });
    await p.call('POST', `/api/v1/surveys/${secrets.surveyToken}`, { key: null, body: { rating: 9 } });
    await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: user.user.email, password: 'wrong' } });
    await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: user.user.email, password } });
    await p.call('GET', `/api/v1/tickets?token=${user.apiKey}`, { key: user.apiKey });
    await p.call('GET', `/api/v1/tickets/${secrets.surveyToken}`, { key: user.apiKey });
    // A failed insert whose parameters hold a password hash and a webhook secret: the database
    // error goes through the logger as any unhandled error does.
    const [hookRow] = await p.deps.database.db.select().from(webhooks).limit(1);
    for (const attempt of [
      () => p.deps.database.db.insert(users).values({ id: user.user.id, email: user.user.email, name: 'dup', role: 'customer', passwordHash: secrets.passwordHash }),
      () => p.deps.database.db.insert(webhooks).values({ ...hookRow!, secret: secrets.webhookSecret! }),
      () => p.deps.database.query('select $1::uuid', [secrets.apiKey]),
    ]) {
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      p.deps.logger.error({ err }, 'insert failed');
      p.deps.logger.error({ err, params: [secrets.passwordHash], user: { passwordHash: secrets.passwordHash } }, 'insert failed with context');
    }
    // The log really holds those lines (the test must be able to fail).
    expect(log).toMatch(/insert failed/);
    expect(log).toMatch(/surveys\/\[redacted\]/);
    expect(log).toMatch(/duplicate key|unique/i);
    const found = Object.entries(secrets).filter(([, value]) => value && log.includes(value)).map(([name]) => name);
    expect(found).toEqual([]);
  });
});
