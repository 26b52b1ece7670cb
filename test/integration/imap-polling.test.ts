import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box } from './engine-helpers.ts';
import { hasDovecot, startDovecot, type TestDovecot } from './dovecot-helpers.ts';

if (!hasDovecot) console.warn('SKIPPED imap-polling: /usr/sbin/dovecot is missing (apt-get install dovecot-imapd)');

describe.skipIf(!hasDovecot).each(backends)('IMAP polling against a real Dovecot on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let dovecot: TestDovecot;
  beforeAll(async () => {
    dovecot = await startDovecot();
    p = await createTestPlatform(backend, { IMAP_URL: dovecot.url, IMAP_POLL_SECONDS: 30, MAIL_FROM: 'Vigil Support <support@vigil.example>' });
    f = factories(p);
  });
  afterAll(async () => {
    await p?.stop();
    await dovecot?.stop();
  });

  async function withMailbox<T>(fn: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.pass }, logger: false });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.logout();
    }
  }
  const deliver = (raw: string) => withMailbox((c) => c.append('INBOX', raw));
  const poll = async () => {
    p.clock.advance(31_000);
    const run = await p.jobs.runNow('imap-poll');
    return run.result as { fetched: number; applied: number; opened: number; ignored: number; refused: number };
  };

  it('feeds unseen messages into the inbound path, flags them seen, and reads each once', async () => {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'NIC flapping', description: 'eth1', priority: 'P3' } });
    const number = opened.body.number as number;
    const id = (s: string) => `<${p.unique(s)}@customer.example>`;
    await deliver(`From: ${customer.user.email}\r\nSubject: Re: [Vigil #${number}] Ticket received\r\nMessage-ID: ${id('r')}\r\n\r\nThe switch port was replaced.\r\n\r\n> old quoted text\r\n`);
    await deliver(`From: ${customer.user.email}\r\nSubject: New problem with ${b.serial}\r\nMessage-ID: ${id('n')}\r\n\r\nFan noise since yesterday.\r\n`);
    await deliver(`From: ${customer.user.email}\r\nSubject: Automatic reply: [Vigil #${number}]\r\nAuto-Submitted: auto-replied\r\nMessage-ID: ${id('a')}\r\n\r\nI am on holiday.\r\n`);

    const first = await poll();
    expect(first).toEqual({ fetched: 3, applied: 1, opened: 1, ignored: 1, refused: 0 });
    const ticket = (await p.json('GET', `/api/v1/tickets/${opened.body.id}`)).body;
    expect(ticket.timeline.find((e: { type: string }) => e.type === 'comment')?.body).toBe('The switch port was replaced.');
    const fromMail = (await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}`)).body.items.find((t: { source: string }) => t.source === 'email');
    expect(fromMail?.summary).toBe(`New problem with ${b.serial}`);
    const unseen = await withMailbox(async (c) => {
      const lock = await c.getMailboxLock('INBOX');
      try {
        return await c.search({ seen: false }, { uid: true });
      } finally {
        lock.release();
      }
    });
    expect(unseen).toEqual([]);
    expect(await poll()).toEqual({ fetched: 0, applied: 0, opened: 0, ignored: 0, refused: 0 });
  });

  it('a wrong password fails the run, which the job runner reports', async () => {
    const bad = await createTestPlatform(backend, { IMAP_URL: `imap://${dovecot.user}:wrong@127.0.0.1:${dovecot.port}/INBOX`, MAIL_FROM: 'Vigil Support <support@vigil.example>' });
    try {
      bad.clock.advance(3600_000);
      await expect(bad.jobs.runNow('imap-poll')).rejects.toThrow();
    } finally {
      await bad.stop();
    }
  });
});
