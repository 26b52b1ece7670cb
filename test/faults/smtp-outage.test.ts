import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from '../integration/factories.ts';
import { createTestPlatform, type TestPlatform } from '../integration/harness.ts';
import { startTestSmtp, type TestSmtp } from '../integration/mail-helpers.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';

// The SMTP server goes away for a minute while tickets keep opening and two processes keep
// running the delivery job every 5 s: mail is delayed, then every message arrives exactly once.
describe('SMTP server down for a minute', () => {
  let cluster: PrivateCluster;
  let a: TestPlatform;
  let b: TestPlatform;
  let smtp: TestSmtp;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    const url = await cluster.createDatabase('vigil_smtp');
    smtp = await startTestSmtp();
    const config = { DATABASE_URL: url, SMTP_URL: smtp.url, MAIL_RETRY_SECONDS: 5, MAIL_FROM: 'Vigil <support@vigil.example>' };
    a = await createTestPlatform('postgres', config);
    b = await createTestPlatform('postgres', config);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await smtp?.stop();
    cluster?.destroy();
  });

  const tick = async (ms: number) => {
    a.clock.advance(ms);
    b.clock.set(a.clock.now());
    await Promise.all([a.jobs.runNow('mail-delivery'), b.jobs.runNow('mail-delivery')]);
  };

  it('delays but never loses or duplicates a message', async () => {
    const f = factories(a);
    b.clock.set(a.clock.now());
    const customer = await f.customer({ tier: 'pro' });
    const { appliance } = await f.appliance(customer.id);
    const requester = await f.user('customer', { customerId: customer.id });
    const open = async (i: number) => {
      const res = await a.json('POST', '/api/v1/tickets', { key: requester.apiKey, body: { applianceId: appliance.id, summary: `problem ${i}`, description: 'x', priority: 'P3' } });
      expect(res.status).toBe(201);
    };

    await open(0);
    await tick(1_000);
    expect(smtp.received).toHaveLength(1);

    await smtp.stop();
    const outageStart = a.clock.now().getTime();
    for (let i = 1; i <= 12; i++) {
      await open(i);
      await tick(5_000);
    }
    expect(a.clock.now().getTime() - outageStart).toBeGreaterThanOrEqual(60_000);
    expect(smtp.received).toHaveLength(1);
    const during = (await a.json('GET', '/api/v1/outbox?status=queued&limit=500')).body.items as { id: string; attempts: number; lastError: string | null }[];
    expect(during).toHaveLength(12);
    expect(during.every((m) => m.attempts >= 1 && m.lastError !== null)).toBe(true);
    const outageEnd = a.clock.now().getTime();

    await smtp.start();
    // Backoff is capped, so within an hour of simulated time every message has had its retry.
    for (let i = 0; i < 40 && smtp.received.length < 13; i++) await tick(60_000);

    const outbox = (await a.json('GET', '/api/v1/outbox?limit=500')).body.items as { id: string; messageId: string; status: string; sentAt: string; attempts: number }[];
    expect(outbox).toHaveLength(13);
    expect(outbox.every((m) => m.status === 'sent')).toBe(true);
    const ids = smtp.received.map((m) => m.parsed.messageId);
    expect(ids).toHaveLength(13);
    expect(new Set(ids).size).toBe(13);
    expect(new Set(ids)).toEqual(new Set(outbox.map((m) => m.messageId)));
    // The ones queued during the outage were delivered after it, having failed at least once.
    const late = outbox.filter((m) => m.attempts > 1);
    expect(late).toHaveLength(12);
    expect(late.every((m) => new Date(m.sentAt).getTime() >= outageEnd)).toBe(true);
    const detail = (await a.json('GET', `/api/v1/outbox/${late[0]!.id}`)).body;
    expect(detail.deliveryAttempts.at(-1).ok).toBe(true);
    expect(detail.deliveryAttempts.slice(0, -1).every((x: { ok: boolean }) => !x.ok)).toBe(true);
    // Nothing more to send, on either process.
    await tick(3600_000);
    expect(smtp.received).toHaveLength(13);
    console.log(`smtp outage: 13 messages, ${outbox.reduce((s, m) => s + m.attempts, 0)} attempts, 13 received once each`);
  });
});
