import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box, createRule, pushSamples, uniqueMetric } from './engine-helpers.ts';

describe.each(backends)('webhook formats and engine-made ticket changes on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let server: Server;
  let base: string;
  const received: { path: string; body: any }[] = [];
  beforeAll(async () => {
    p = await createTestPlatform(backend, { PUBLIC_URL: 'https://vigil.example', WEBHOOK_ALLOW_PRIVATE: true });
    f = factories(p);
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(body) });
        res.writeHead(202).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await p?.stop();
    await new Promise((r) => server?.close(r));
  });
  const at = (path: string) => received.filter((r) => r.path === path).map((r) => r.body);
  const deliver = () => p.jobs.runNow('webhook-delivery');

  it('slack, teams and pagerduty bodies; pagerduty triggers and resolves one incident per ticket', async () => {
    const b = await box(p, 'mission_critical');
    const customer = await f.user('customer', { customerId: b.customerId });
    const engineer = await f.user('engineer');
    const events = ['ticket.opened', 'ticket.updated', 'ticket.closed'];
    for (const [format, extra] of [['slack', {}], ['teams', {}], ['pagerduty', { routingKey: 'R0UT1NGKEY0123456789abcdefABCDEF' }]] as const) {
      const created = await p.json('POST', '/api/v1/webhooks', { body: { url: `${base}/${format}`, events, customerId: b.customerId, format, ...extra } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.webhook.format).toBe(format);
    }
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Datastore offline', description: 'ds1', priority: 'P1' } });
    const ticket = opened.body;
    await deliver();
    const [slack] = at('/slack');
    expect(slack.text).toBe(`[Vigil #${ticket.number}] P1 Mission Critical — Datastore offline (opened)`);
    expect(slack.blocks[0].text.text).toContain(`<https://vigil.example/#/tickets/${ticket.id}|`);
    const [teams] = at('/teams');
    expect(teams.type).toBe('message');
    expect(teams.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(teams.attachments[0].content.body[0].text).toContain(`#${ticket.number}`);
    expect(teams.attachments[0].content.actions[0].url).toBe(`https://vigil.example/#/tickets/${ticket.id}`);
    const [trigger] = at('/pagerduty');
    expect(trigger).toMatchObject({
      routing_key: 'R0UT1NGKEY0123456789abcdefABCDEF',
      event_action: 'trigger',
      dedup_key: `vigil-ticket-${ticket.id}`,
      payload: { severity: 'critical', source: 'vigil', class: 'ticket.opened' },
    });

    await p.json('POST', `/api/v1/tickets/${ticket.id}/acknowledge`, { key: engineer.apiKey, body: {} });
    await p.json('POST', `/api/v1/tickets/${ticket.id}/resolve`, { key: engineer.apiKey, body: { resolution: 'ds1 remounted' } });
    await deliver();
    const pd = at('/pagerduty');
    expect(pd.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve']);
    expect(new Set(pd.map((e) => e.dedup_key))).toEqual(new Set([`vigil-ticket-${ticket.id}`]));
    expect(pd[2]).toEqual({ routing_key: 'R0UT1NGKEY0123456789abcdefABCDEF', event_action: 'resolve', dedup_key: `vigil-ticket-${ticket.id}` });
  });

  it('a pagerduty webhook needs a routing key; an unknown format is refused', async () => {
    const none = await p.json('POST', '/api/v1/webhooks', { body: { url: `${base}/x`, events: ['ticket.opened'], format: 'pagerduty' } });
    expect(none.status).toBe(400);
    expect(none.body.error.details).toMatchObject({ field: 'routingKey' });
    expect((await p.json('POST', '/api/v1/webhooks', { body: { url: `${base}/x`, events: ['ticket.opened'], format: 'opsgenie' } })).status).toBe(400);
    const vigil = await p.json('POST', '/api/v1/webhooks', { body: { url: `${base}/x`, events: ['ticket.opened'] } });
    expect(vigil.body.webhook.format).toBe('vigil');
    expect((await p.json('PATCH', `/api/v1/webhooks/${vigil.body.webhook.id}`, { body: { format: 'pagerduty' } })).status).toBe(400);
    expect((await p.json('GET', `/api/v1/webhooks/${vigil.body.webhook.id}`)).body.format).toBe('vigil');
  });

  it('alerts joining, a priority raised and all alerts cleared reach webhooks as they reach the live socket', async () => {
    // Pro with Serenity is entitled to automatic tickets (SPEC §2.1).
    const b = await box(p, 'pro', true);
    const hook = await p.json('POST', '/api/v1/webhooks', { body: { url: `${base}/engine-${b.customerId}`, events: ['ticket.opened', 'ticket.updated'], customerId: b.customerId } });
    expect(hook.status).toBe(201);
    const low = uniqueMetric(p);
    const high = uniqueMetric(p);
    await createRule(p, b, { kind: 'threshold', metric: low, params: { op: '>', value: 10 }, priority: 'P3', titleTemplate: 'low on {{appliance.serial}}' });
    await createRule(p, b, { kind: 'threshold', metric: low, params: { op: '>', value: 20 }, priority: 'P3', titleTemplate: 'low again on {{appliance.serial}}' });
    await createRule(p, b, { kind: 'threshold', metric: high, params: { op: '>', value: 10 }, priority: 'P1', titleTemplate: 'high on {{appliance.serial}}' });
    await pushSamples(p, b, [{ metric: low, value: 15 }]);
    p.clock.advance(1000);
    await pushSamples(p, b, [{ metric: low, value: 25 }]);
    p.clock.advance(1000);
    await pushSamples(p, b, [{ metric: high, value: 50 }]);
    p.clock.advance(1000);
    await pushSamples(p, b, [{ metric: low, value: 0 }, { metric: high, value: 0 }]);
    await deliver();
    const bodies = at(`/engine-${b.customerId}`);
    const changes = bodies.map((x) => `${x.event}:${x.data.change ?? ''}`);
    expect(changes[0]).toBe('ticket.opened:');
    expect(changes).toContain('ticket.updated:alert_attached');
    expect(changes).toContain('ticket.updated:priority');
    expect(changes).toContain('ticket.updated:all_alerts_cleared');
    expect(bodies.find((x) => x.data.change === 'priority').data.ticket.priority).toBe('P1');
  });
});
