import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { surveys } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('satisfaction surveys on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  /** A ticket the customer opened, answered and confirmed; the link as the customer's view shows it. */
  async function closedTicket() {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const ticket = (await p.json('POST', '/api/v1/tickets', { key: user.apiKey, body: { applianceId: appliance.id, summary: 'Question', description: 'How do I…' } })).body;
    await p.json('POST', `/api/v1/tickets/${ticket.id}/acknowledge`, { body: { message: 'Looking' } });
    await p.json('POST', `/api/v1/tickets/${ticket.id}/resolve`, { body: { resolution: 'See the guide, chapter 4' } });
    const confirmed = await p.json('POST', `/api/v1/tickets/${ticket.id}/confirm`, { key: user.apiKey, body: {} });
    expect(confirmed.status).toBe(200);
    const url = confirmed.body.survey.url as string;
    return { ticket, user, customer, url, token: url.split('/survey/')[1]! };
  }

  it('the link goes only to the requester: staff see neither the link nor the token (issue 17 item 3)', async () => {
    const { ticket, token } = await closedTicket();
    const engineer = await f.user('engineer');
    const staffView = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: engineer.apiKey });
    expect(staffView.status).toBe(200);
    expect(staffView.body.survey).toBeUndefined();
    expect(JSON.stringify(staffView.body)).not.toContain(token);
    const admin = await p.json('GET', `/api/v1/tickets/${ticket.id}`);
    expect(JSON.stringify(admin.body)).not.toContain(token);
    expect(staffView.body.timeline.some((e: { type: string }) => e.type === 'survey_invited')).toBe(true);
  });

  it('refuses an answer from a signed-in engineer (403) and from another customer (404); the customer then answers (issue 17 item 3)', async () => {
    const { ticket, user, token } = await closedTicket();
    const engineer = await f.user('engineer');
    const staff = await p.json('POST', `/api/v1/surveys/${token}`, { key: engineer.apiKey, body: { rating: 5 } });
    expect(staff.status).toBe(403);
    expect(staff.body.error.code).toBe('forbidden');
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });
    expect((await p.json('POST', `/api/v1/surveys/${token}`, { key: outsider.apiKey, body: { rating: 5 } })).status).toBe(404);
    const mine = await p.json('POST', `/api/v1/surveys/${token}`, { key: user.apiKey, body: { rating: 2, comment: 'Slow' } });
    expect(mine.status).toBe(201);
    const after = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
    expect(after.body.survey).toMatchObject({ url: null, rating: 2 });
    const seen = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: engineer.apiKey });
    expect(seen.body.timeline.find((e: { type: string }) => e.type === 'survey_answered').data).toMatchObject({ rating: 2, comment: 'Slow' });
  });

  it('serves the survey form at <PUBLIC_URL>/survey/<token>, a real path (issue 17 item 3)', async () => {
    const { url, token } = await closedTicket();
    expect(url.endsWith(`/survey/${token}`)).toBe(true);
    const page = await p.call('GET', `/survey/${token}`, { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('accepts one answer without login; the second is 409', async () => {
    const { ticket, token } = await closedTicket();
    const shown = await p.json('GET', `/api/v1/surveys/${token}`, { key: null });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ ticket: { number: ticket.number, summary: 'Question' }, answered: false });
    const answer = await p.json('POST', `/api/v1/surveys/${token}`, { key: null, body: { rating: 4, comment: 'Quick and clear' } });
    expect(answer.status).toBe(201);
    const [stored] = await p.deps.database.db.select().from(surveys).where(eq(surveys.ticketId, ticket.id));
    expect(stored).toMatchObject({ rating: 4, comment: 'Quick and clear' });
    const again = await p.json('POST', `/api/v1/surveys/${token}`, { key: null, body: { rating: 1 } });
    expect(again.status).toBe(409);
    expect((await p.deps.database.db.select().from(surveys).where(eq(surveys.ticketId, ticket.id)))[0]!.rating).toBe(4);
    expect((await p.json('GET', `/api/v1/surveys/${token}`, { key: null })).body.answered).toBe(true);
  });

  it('answers unknown tokens with 404 and bad ratings with 400', async () => {
    expect((await p.json('POST', '/api/v1/surveys/vs_unknown-token-123', { key: null, body: { rating: 3 } })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/surveys/vs_unknown-token-123', { key: null })).status).toBe(404);
    const { token } = await closedTicket();
    for (const rating of [0, 6, 3.5, '5']) {
      expect((await p.json('POST', `/api/v1/surveys/${token}`, { key: null, body: { rating } })).status).toBe(400);
    }
  });
});
