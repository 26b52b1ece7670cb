import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box, pushSamples } from './engine-helpers.ts';
import { startTestSmtp, type TestSmtp } from './mail-helpers.ts';

const PUBLIC_URL = 'https://vigil.example';

/** A raw RFC 822 reply as a mail client would send it. */
function reply(input: { from: string; subject: string; inReplyTo?: string; body: string; messageId: string; extraHeaders?: string[] }): string {
  return [
    `From: Customer <${input.from}>`,
    'To: Vigil Support <support@vigil.example>',
    `Subject: ${input.subject}`,
    `Message-ID: ${input.messageId}`,
    ...(input.inReplyTo ? [`In-Reply-To: ${input.inReplyTo}`, `References: ${input.inReplyTo}`] : []),
    ...(input.extraHeaders ?? []),
    'Date: Mon, 30 Nov 2026 10:00:00 +0100',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    input.body,
  ].join('\r\n');
}

describe.each(backends)('e-mail to customers and engineers, end to end, on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startTestSmtp(0, { refuse: (address) => address.startsWith('bounce-') });
    p = await createTestPlatform(backend, { SMTP_URL: smtp.url, PUBLIC_URL, MAIL_FROM: 'Vigil Support <support@vigil.example>' });
    f = factories(p);
  });
  afterAll(async () => {
    await p?.stop();
    await smtp?.stop();
  });

  const deliver = async () => {
    const run = await p.jobs.runNow('mail-delivery');
    expect(run.ran).toBe(true);
    return run.result as { attempted: number; sent: number; failed: number };
  };
  const outboxOf = async (ticketId: string) => (await p.json('GET', `/api/v1/outbox?ticketId=${ticketId}&limit=500`)).body.items as { id: string; kind: string; to: string; subject: string; text: string; html: string; status: string; messageId: string }[];

  it('an MC pool fault, an info request, an e-mail reply, a resolution and the survey — each reaches the right people once', async () => {
    const b = await box(p, 'mission_critical');
    const requester = await f.user('customer', { customerId: b.customerId });
    const colleague = await f.user('customer', { customerId: b.customerId });
    const bystander = await f.user('customer', { customerId: b.customerId });
    const engineer = await f.user('engineer');
    const token = (await p.json('POST', '/api/v1/integrations', { body: { name: p.unique('mail'), kind: 'email' } })).body.token as string;
    // Both customer users follow all of the customer's tickets; the bystander did not opt in.
    for (const u of [requester, colleague]) {
      expect((await p.json('PATCH', '/api/v1/users/me', { key: u.apiKey, body: { preferences: { allTickets: true } } })).status).toBe(200);
    }

    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 1 }]);
    const tickets = (await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}`)).body.items;
    expect(tickets).toHaveLength(1);
    const ticket = tickets[0];

    // 1. Ticket received, with the number and the response target, to the customer's opted-in users.
    let outbox = await outboxOf(ticket.id);
    const received = outbox.filter((m) => m.kind === 'ticket.received');
    expect(received.map((m) => m.to).sort()).toEqual([requester.user.email, colleague.user.email].sort());
    expect(received.every((m) => m.status === 'queued')).toBe(true);
    expect((await deliver()).sent).toBeGreaterThanOrEqual(2);
    const [mail] = smtp.to(requester.user.email);
    expect(mail).toBeDefined();
    const bytes = mail!.raw.toString('utf8');
    expect(bytes).toContain(`Subject: [Vigil #${ticket.number}] Ticket received`);
    expect(bytes).toMatch(/^Auto-Submitted: auto-generated/m);
    expect(mail!.parsed.messageId).toBe(received.find((m) => m.to === requester.user.email)!.messageId);
    expect(mail!.parsed.text).toContain(`ticket #${ticket.number}`);
    expect(mail!.parsed.text).toContain('Priority: P2 (Mission Critical support)');
    expect(mail!.parsed.text).toMatch(/Response target: .+ \(Rome time\)/);
    expect(mail!.parsed.text).toContain(`${PUBLIC_URL}/#/tickets/${ticket.id}`);
    expect(mail!.parsed.html).toContain(`href="${PUBLIC_URL}/#/tickets/${ticket.id}"`);
    expect(smtp.to(bystander.user.email)).toHaveLength(0);

    // 2. The engineer's information request reaches the customer.
    expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/acknowledge`, { key: engineer.apiKey, body: {} })).status).toBe(200);
    const info = await p.json('POST', `/api/v1/tickets/${ticket.id}/request-info`, { key: engineer.apiKey, body: { body: 'Please send the output of zpool status tank.' } });
    expect(info.status).toBe(200);
    expect(info.body.status).toBe('waiting_on_customer');
    await deliver();
    const asked = smtp.to(requester.user.email).find((m) => m.parsed.subject?.includes('Information needed'));
    expect(asked?.parsed.text).toContain('Please send the output of zpool status tank.');
    expect(asked?.parsed.subject).toContain(`[Vigil #${ticket.number}]`);

    // 3. The customer's e-mail reply lands on the ticket, quoted history stripped, and moves it to in_progress.
    const raw = reply({
      from: requester.user.email.toUpperCase(),
      subject: `Re: ${asked!.parsed.subject}`,
      inReplyTo: asked!.parsed.messageId!,
      messageId: `<${p.unique('reply')}@customer.example>`,
      body: ['Here it is: tank is DEGRADED, disk 3 is FAULTED.', '', `On Mon, 30 Nov 2026 at 09:00, Vigil Support <support@vigil.example> wrote:`, '> -- Reply above this line to add to the ticket --', '> Please send the output'].join('\r\n'),
    });
    const inbound = await p.json('POST', '/api/v1/inbound/email', { key: token, raw, headers: { 'content-type': 'message/rfc822' } });
    expect(inbound.status, JSON.stringify(inbound.body)).toBe(200);
    expect(inbound.body).toMatchObject({ status: 'applied', ticketId: ticket.id, ticketNumber: ticket.number });
    const afterReply = (await p.json('GET', `/api/v1/tickets/${ticket.id}`)).body;
    expect(afterReply.status).toBe('in_progress');
    const replyEvent = afterReply.timeline.find((e: { type: string }) => e.type === 'customer_reply');
    expect(replyEvent).toMatchObject({ actorId: requester.user.id, body: 'Here it is: tank is DEGRADED, disk 3 is FAULTED.', public: true });
    // The engineers hear of it (the ticket is unassigned: every engineer).
    outbox = await outboxOf(ticket.id);
    expect(outbox.filter((m) => m.kind === 'customer.replied').map((m) => m.to)).toContain(engineer.user.email);

    // 4. Resolution proposed → the customer; confirming closes it and the survey link goes to the requester only.
    expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/resolve`, { key: engineer.apiKey, body: { resolution: 'Replaced disk 3; the pool resilvered.' } })).status).toBe(200);
    const confirmed = await p.json('POST', `/api/v1/tickets/${ticket.id}/confirm`, { key: requester.apiKey, body: {} });
    expect(confirmed.status).toBe(200);
    const surveyUrl = confirmed.body.survey.url as string;
    expect(surveyUrl.startsWith(`${PUBLIC_URL}/survey/vs_`)).toBe(true);
    outbox = await outboxOf(ticket.id);
    expect(outbox.filter((m) => m.kind === 'resolution.proposed').map((m) => m.to).sort()).toEqual([requester.user.email, colleague.user.email].sort());
    const closed = outbox.filter((m) => m.kind === 'ticket.closed');
    expect(closed.map((m) => m.to)).toEqual([requester.user.email]);
    await deliver();
    const surveyMail = smtp.to(requester.user.email).find((m) => m.parsed.subject?.includes('Ticket closed'));
    expect(surveyMail?.parsed.text).toContain(surveyUrl);
    expect(smtp.to(colleague.user.email).some((m) => m.raw.toString('utf8').includes('/survey/'))).toBe(false);

    // Every outbox message was sent exactly once.
    const all = await outboxOf(ticket.id);
    expect(all.every((m) => m.status === 'sent')).toBe(true);
    const ids = smtp.received.filter((m) => all.some((o) => o.messageId === m.parsed.messageId)).map((m) => m.parsed.messageId);
    expect(ids.length).toBe(all.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await deliver()).attempted).toBe(0);
  });

  it('an assignment, an at-risk mark and a breach tell the assignee, the engineers and the seniors', async () => {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const assignee = await f.user('engineer');
    const senior = await f.user('engineer', { senior: true });
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Backups fail', description: 'since Friday', priority: 'P2' } });
    expect(opened.status).toBe(201);
    const id = opened.body.id as string;
    // A portal ticket: the requester (who opened it) is told even without opting in.
    expect((await outboxOf(id)).filter((m) => m.kind === 'ticket.received').map((m) => m.to)).toEqual([customer.user.email]);

    expect((await p.json('POST', `/api/v1/tickets/${id}/assign`, { body: { assigneeId: assignee.user.id } })).status).toBe(200);
    expect((await outboxOf(id)).filter((m) => m.kind === 'assigned').map((m) => m.to)).toEqual([assignee.user.email]);

    p.clock.set(new Date(new Date(opened.body.sla.responseDueAt).getTime() - 60_000));
    await p.jobs.runNow('sla-marks');
    expect((await outboxOf(id)).filter((m) => m.kind === 'at_risk').map((m) => m.to)).toEqual([assignee.user.email]);
    p.clock.set(new Date(new Date(opened.body.sla.responseDueAt).getTime() + 60_000));
    await p.jobs.runNow('sla-marks');
    const marks = await outboxOf(id);
    expect(marks.filter((m) => m.kind === 'breached').map((m) => m.to).sort()).toEqual([assignee.user.email, senior.user.email].sort());
    // The seniors are every senior, and a breach names the ticket in the subject.
    expect(marks.find((m) => m.kind === 'breached')!.subject).toBe(`[Vigil #${opened.body.number}] Breached: Backups fail`);
    // Running the job again sends nothing new.
    await p.jobs.runNow('sla-marks');
    expect((await outboxOf(id)).length).toBe(marks.length);
  });

  it('a Mission Critical P1 not acknowledged within 10 minutes goes to the seniors, once', async () => {
    const b = await box(p, 'mission_critical');
    const customer = await f.user('customer', { customerId: b.customerId });
    const senior = await f.user('engineer', { senior: true });
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Cluster down', description: 'all VMs stopped', priority: 'P1' } });
    const id = opened.body.id as string;
    p.clock.advance(9 * 60_000);
    await p.jobs.runNow('timed-notifications');
    expect((await outboxOf(id)).filter((m) => m.kind === 'unacknowledged')).toHaveLength(0);
    p.clock.advance(2 * 60_000);
    await p.jobs.runNow('timed-notifications');
    await p.jobs.runNow('timed-notifications');
    const escalated = (await outboxOf(id)).filter((m) => m.kind === 'unacknowledged');
    expect(escalated.map((m) => m.to)).toContain(senior.user.email);
    expect(escalated.filter((m) => m.to === senior.user.email)).toHaveLength(1);
    expect(escalated.some((m) => m.to === customer.user.email)).toBe(false);
  });

  it('the day-3 reminder reaches the customer once per waiting period', async () => {
    const b = await box(p, 'basic');
    const customer = await f.user('customer', { customerId: b.customerId });
    const engineer = await f.user('engineer');
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Slow VM', description: 'vm-12', priority: 'P3' } });
    const id = opened.body.id as string;
    await p.json('POST', `/api/v1/tickets/${id}/request-info`, { key: engineer.apiKey, body: { body: 'Which host?' } });
    p.clock.advance(3 * 24 * 3600_000 - 60_000);
    await p.jobs.runNow('auto-close');
    expect((await outboxOf(id)).filter((m) => m.kind === 'waiting.reminder')).toHaveLength(0);
    p.clock.advance(2 * 60_000);
    await p.jobs.runNow('auto-close');
    await p.jobs.runNow('auto-close');
    const reminders = (await outboxOf(id)).filter((m) => m.kind === 'waiting.reminder');
    expect(reminders.map((m) => m.to)).toEqual([customer.user.email]);
    expect(reminders[0]!.text).toContain('Without an answer the ticket will be closed after five days');
  });

  it('a recipient the server refuses permanently (550) is marked failed at once, with the answer recorded', async () => {
    const b = await box(p, 'pro');
    const created = await p.json('POST', '/api/v1/users', { body: { email: `bounce-${p.unique('c')}@example.com`, name: 'Bouncing', role: 'customer', customerId: b.customerId } });
    const key = created.body.apiKey as string;
    const opened = await p.json('POST', '/api/v1/tickets', { key, body: { applianceId: b.applianceId, summary: 'Bounce', description: 'x' } });
    const [message] = await outboxOf(opened.body.id);
    for (let i = 0; i < 3; i++) {
      await deliver();
      p.clock.advance(3600_000);
    }
    const detail = (await p.json('GET', `/api/v1/outbox/${message!.id}`)).body;
    expect(detail.status).toBe('failed');
    expect(detail.attempts).toBe(1);
    expect(detail.deliveryAttempts).toHaveLength(1);
    expect(detail.deliveryAttempts.every((a: { ok: boolean; response: string }) => !a.ok && /550/.test(a.response))).toBe(true);
    expect(detail.lastError).toMatch(/550/);
    expect((await p.json('GET', `/api/v1/outbox?status=failed&ticketId=${opened.body.id}`)).body.items).toHaveLength(1);
  });
});
