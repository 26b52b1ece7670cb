import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box } from './engine-helpers.ts';

function mail(headers: Record<string, string>, body: string, contentType = 'text/plain; charset=utf-8'): string {
  return [...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'MIME-Version: 1.0', `Content-Type: ${contentType}`, '', body].join('\r\n');
}

describe.each(backends)('inbound e-mail on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let token: string;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { MAIL_FROM: 'Vigil Support <support@vigil.example>', PUBLIC_URL: 'https://vigil.example' });
    f = factories(p);
    token = (await p.json('POST', '/api/v1/integrations', { body: { name: 'mta', kind: 'email' } })).body.token;
  });
  afterAll(async () => p?.stop());

  const post = (raw: string | Uint8Array, key: string | null = token, type = 'message/rfc822') =>
    p.json('POST', '/api/v1/inbound/email', { key, raw, headers: { 'content-type': type } });
  const mid = () => `<${p.unique('m')}@customer.example>`;

  async function portalTicket() {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Disk noise', description: 'clicking', priority: 'P3' } });
    return { b, customer, ticket: opened.body as { id: string; number: number } };
  }
  const timeline = async (id: string) => (await p.json('GET', `/api/v1/tickets/${id}`)).body.timeline as { type: string; body: string | null; actorId: string | null }[];

  it('a new message from a known customer user opens a ticket with source email, attachments within the limit', async () => {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const boundary = 'b1';
    const raw = mail(
      { From: customer.user.email, Subject: `Fwd: replication stuck on ${b.serial}`, 'Message-ID': mid() },
      [`--${boundary}`, 'Content-Type: text/plain', '', 'Replication to DR has been stuck since 09:00.', `--${boundary}`, 'Content-Type: text/plain; name=zpool.txt', 'Content-Disposition: attachment; filename=zpool.txt', '', 'pool: tank state: ONLINE', `--${boundary}--`].join('\r\n'),
      `multipart/mixed; boundary=${boundary}`,
    );
    const res = await post(raw);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'opened', attachments: 1 });
    const ticket = (await p.json('GET', `/api/v1/tickets/${res.body.ticketId}`, { key: customer.apiKey })).body;
    expect(ticket).toMatchObject({ source: 'email', summary: `replication stuck on ${b.serial}`, applianceId: b.applianceId, status: 'new', priority: 'P3' });
    expect(ticket.description).toBe('Replication to DR has been stuck since 09:00.');
    expect(ticket.attachments.map((a: { name: string }) => a.name)).toEqual(['zpool.txt']);
    // The same path as every other source: timeline, SLA and the "ticket received" e-mail.
    expect(ticket.timeline[0]).toMatchObject({ type: 'opened', actorId: customer.user.id });
    const outbox = (await p.json('GET', `/api/v1/outbox?ticketId=${ticket.id}`)).body.items;
    expect(outbox.map((m: { kind: string; to: string }) => [m.kind, m.to])).toEqual([['ticket.received', customer.user.email]]);
  });

  it('the same reply fed twice at once (route and IMAP poller) is applied once and recorded once', async () => {
    const { customer, ticket } = await portalTicket();
    const raw = mail({ From: customer.user.email, Subject: `Re: [Vigil #${ticket.number}] Ticket received`, 'Message-ID': mid() }, 'Serial is on the sticker: it is the second box.');
    const [a, b] = await Promise.all([post(raw), post(raw)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.status, b.body.status].sort()).toEqual(['applied', 'ignored']);
    expect([a.body, b.body].find((x) => x.status === 'ignored')).toMatchObject({ reason: 'duplicate' });
    expect((await timeline(ticket.id)).filter((e) => e.type === 'comment' && e.body === 'Serial is on the sticker: it is the second box.')).toHaveLength(1);
    // And fed again later: still once.
    expect((await post(raw)).body).toMatchObject({ status: 'ignored', reason: 'duplicate' });
    expect((await timeline(ticket.id)).filter((e) => e.type === 'comment')).toHaveLength(1);
  });

  it('an HTML-only reply and a comment on a ticket that is not waiting', async () => {
    const { customer, ticket } = await portalTicket();
    const res = await post(mail({ From: customer.user.email, Subject: `RE: [Vigil #${ticket.number}] Ticket received`, 'Message-ID': mid() }, '<div>It started after the <b>firmware</b> update.</div><blockquote>old text</blockquote>', 'text/html; charset=utf-8'));
    expect(res.body).toMatchObject({ status: 'applied', ticketId: ticket.id });
    const comment = (await timeline(ticket.id)).find((e) => e.type === 'comment');
    expect(comment?.body).toBe('It started after the firmware update.');
    expect((await p.json('GET', `/api/v1/tickets/${ticket.id}`)).body.status).toBe('new');
  });

  it('an engineer answering by e-mail writes a public message that the customer receives and that counts as the response', async () => {
    const { customer, ticket } = await portalTicket();
    const engineer = await f.user('engineer');
    const res = await post(mail({ From: engineer.user.email, Subject: `Re: [Vigil #${ticket.number}] Customer replied`, 'Message-ID': mid() }, 'Please check the cable on port 3.\r\n\r\n-- \r\nEngineer'));
    expect(res.body).toMatchObject({ status: 'applied', ticketId: ticket.id });
    const detail = (await p.json('GET', `/api/v1/tickets/${ticket.id}`)).body;
    expect(detail.timeline.find((e: { type: string }) => e.type === 'comment')).toMatchObject({ actorId: engineer.user.id, body: 'Please check the cable on port 3.', public: true });
    expect(detail.sla.firstResponseAt).not.toBeNull();
    const outbox = (await p.json('GET', `/api/v1/outbox?ticketId=${ticket.id}`)).body.items;
    expect(outbox.filter((m: { kind: string }) => m.kind === 'engineer.message').map((m: { to: string }) => m.to)).toEqual([customer.user.email]);
  });

  it('keeps, without changing anything, mail from strangers, other customers and unknown ticket numbers', async () => {
    const { ticket } = await portalTicket();
    const other = await box(p, 'pro');
    const outsider = await f.user('customer', { customerId: other.customerId });
    const before = (await timeline(ticket.id)).length;
    const cases: [string, string][] = [
      ['stranger@nowhere.example', 'unknown_sender'],
      [outsider.user.email, 'sender_not_allowed'],
    ];
    for (const [from, reason] of cases) {
      const res = await post(mail({ From: from, Subject: `Re: [Vigil #${ticket.number}] hi`, 'Message-ID': mid() }, 'please close it'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ignored', reason });
    }
    const unknown = await post(mail({ From: outsider.user.email, Subject: '[Vigil #999999999] hi', 'Message-ID': mid() }, 'x'));
    expect(unknown.body).toMatchObject({ status: 'ignored', reason: 'unknown_ticket' });
    expect((await timeline(ticket.id)).length).toBe(before);
    const kept = (await p.json('GET', '/api/v1/inbound/email?status=ignored&limit=500')).body.items;
    expect(kept.map((m: { reason: string }) => m.reason)).toEqual(expect.arrayContaining(['unknown_sender', 'sender_not_allowed', 'unknown_ticket']));
  });

  it('never loops: our own Message-ID, Auto-Submitted, bulk precedence and a re-fed message change nothing', async () => {
    const { customer, ticket } = await portalTicket();
    const ours = (await p.json('GET', `/api/v1/outbox?ticketId=${ticket.id}`)).body.items[0].messageId as string;
    const before = (await timeline(ticket.id)).length;
    const loop = await post(mail({ From: customer.user.email, Subject: `[Vigil #${ticket.number}] Ticket received`, 'Message-ID': ours }, 'echo'));
    expect(loop.body).toMatchObject({ status: 'ignored', reason: 'loop' });
    const ooo = await post(mail({ From: customer.user.email, Subject: `Out of office: [Vigil #${ticket.number}]`, 'Message-ID': mid(), 'Auto-Submitted': 'auto-replied' }, 'I am away'));
    expect(ooo.body).toMatchObject({ status: 'ignored', reason: 'auto_submitted' });
    const bulk = await post(mail({ From: customer.user.email, Subject: `[Vigil #${ticket.number}]`, 'Message-ID': mid(), Precedence: 'bulk' }, 'list'));
    expect(bulk.body).toMatchObject({ status: 'ignored', reason: 'auto_submitted' });
    const self = await post(mail({ From: 'support@vigil.example', Subject: `[Vigil #${ticket.number}]`, 'Message-ID': mid() }, 'self'));
    expect(self.body).toMatchObject({ status: 'ignored', reason: 'loop' });
    const id = mid();
    const first = await post(mail({ From: customer.user.email, Subject: `Re: [Vigil #${ticket.number}]`, 'Message-ID': id }, 'one more detail'));
    expect(first.body.status).toBe('applied');
    const again = await post(mail({ From: customer.user.email, Subject: `Re: [Vigil #${ticket.number}]`, 'Message-ID': id }, 'one more detail'));
    expect(again.body).toMatchObject({ status: 'ignored', reason: 'duplicate' });
    expect((await timeline(ticket.id)).length).toBe(before + 1);
    // Nothing was queued back to the customer by any of these.
    const outbox = (await p.json('GET', `/api/v1/outbox?ticketId=${ticket.id}&limit=500`)).body.items;
    expect(outbox.filter((m: { to: string }) => m.to === customer.user.email).map((m: { kind: string }) => m.kind)).toEqual(['ticket.received']);
  });

  it('bad input: missing From, malformed MIME, empty, wrong type, 20 MB — a 4xx or kept, never a 500', async () => {
    const noFrom = await post(mail({ Subject: 'hello', 'Message-ID': mid() }, 'who am I'));
    expect(noFrom.status).toBe(200);
    expect(noFrom.body).toMatchObject({ status: 'ignored', reason: 'missing_from' });
    const broken = await post(mail({ From: 'x@y.example', Subject: 'broken', 'Message-ID': mid() }, '--nope\r\nContent-Type: text/plain\r\n\r\nhalf', 'multipart/mixed; boundary="never-closed'));
    expect(broken.status).toBeLessThan(500);
    expect([200, 400]).toContain(broken.status);
    const garbage = await post(new Uint8Array([0, 1, 2, 255, 254, 0, 13, 10]));
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.code).toBe('invalid_request');
    expect((await post('')).status).toBe(400);
    expect((await post(mail({ From: 'a@b.example' }, 'x'), token, 'application/json')).status).toBe(415);
    const big = mail({ From: 'a@b.example', Subject: 'huge', 'Message-ID': mid() }, 'A'.repeat(20 * 1024 * 1024));
    const huge = await post(big);
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
  });

  it('an attachment above the bundle limit is skipped and listed, the rest of the reply applies', async () => {
    const { customer, ticket } = await portalTicket();
    const large = Buffer.alloc(4 * 1024 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = mail(
      { From: customer.user.email, Subject: `Re: [Vigil #${ticket.number}]`, 'Message-ID': mid() },
      ['--b', 'Content-Type: text/plain', '', 'dump attached', '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename=core.dump', '', large, '--b--'].join('\r\n'),
      'multipart/mixed; boundary=b',
    );
    const res = await post(raw);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'applied', attachments: 0 });
    const record = (await p.json('GET', '/api/v1/inbound/email?status=applied&limit=500')).body.items.find((m: { id: string }) => m.id === res.body.id);
    expect(record.details.skippedAttachments).toEqual([{ name: 'core.dump', sizeBytes: 4 * 1024 * 1024 }]);
  });

  it('security: only an email integration token posts; only admins read', async () => {
    const am = (await p.json('POST', '/api/v1/integrations', { body: { name: 'am', kind: 'alertmanager' } })).body.token;
    const raw = mail({ From: 'a@b.example', Subject: 'x', 'Message-ID': mid() }, 'x');
    expect((await post(raw, null)).status).toBe(401);
    expect((await post(raw, am)).status).toBe(401);
    expect((await post(raw, p.adminKey)).status).toBe(401);
    const engineer = await f.user('engineer');
    expect((await p.json('GET', '/api/v1/inbound/email', { key: engineer.apiKey })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/inbound/email', { key: token })).status).toBe(401);
    // An integration limited to one customer does not take another customer's mail.
    const { customer, ticket } = await portalTicket();
    const other = await f.customer();
    const scoped = (await p.json('POST', '/api/v1/integrations', { body: { name: 'scoped', kind: 'email', customerId: other.id } })).body.token;
    const res = await post(mail({ From: customer.user.email, Subject: `Re: [Vigil #${ticket.number}]`, 'Message-ID': mid() }, 'hello'), scoped);
    expect(res.body).toMatchObject({ status: 'ignored', reason: 'not_allowed' });
  });
});
