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

  async function closedTicket() {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const ticket = (await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'Question', description: 'How do I…' } })).body;
    const closed = await p.json('POST', `/api/v1/tickets/${ticket.id}/close`, { body: { reason: 'closed_without_resolution', note: 'answered by phone' } });
    return { ticket, token: closed.body.survey.token as string };
  }

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
