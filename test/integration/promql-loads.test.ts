// How the PromQL rules read the fleet's series (server/engine/promql/store.ts): one query per
// metric and filter shared by the rules of a cycle, and series identities (appliance, labels)
// remembered per database — two databases in one process (a test run, a bench) number their
// series from 1 alike, and must never lend each other labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycleLoads, evaluatePromqlRule, loadSeries } from '../../server/engine/promql/store.ts';
import { parsePromql } from '../../server/engine/promql/parse.ts';
import { backends, countingDatabase, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('PromQL series loads on %s', (backend) => {
  let a: TestPlatform;
  let b: TestPlatform;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestPlatform(backend), createTestPlatform(backend)]);
  });
  afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

  async function scrape(p: TestPlatform, text: string): Promise<string> {
    const f = factories(p);
    const customer = await f.customer({ tier: 'pro' });
    const made = await f.appliance(customer.id);
    const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: made.token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return made.appliance.id;
  }

  it('keeps each database’s series to itself when both number them alike', async () => {
    // Fresh databases: the first series of each is id 1, with different appliances and labels.
    const inA = await scrape(a, 'probe_metric{site="alpha"} 1\n');
    const inB = await scrape(b, 'probe_metric{site="beta"} 2\n');
    const parsed = parsePromql('probe_metric');
    const now = a.clock.now().getTime() + 1000;
    const fromA = await loadSeries(a.deps.database, parsed, now - parsed.lookbackMs, now);
    const fromB = await loadSeries(b.deps.database, { ...parsed }, now - parsed.lookbackMs, now);
    // On PGlite the two platforms are two databases; on PostgreSQL two handles on one.
    expect(fromA.get(inA)!.map((s) => s.labels)).toEqual([{ __name__: 'probe_metric', site: 'alpha' }]);
    expect(fromB.get(inB)!.map((s) => s.labels)).toEqual([{ __name__: 'probe_metric', site: 'beta' }]);
  });

  it('reads a metric once per cycle for every rule that selects it alike, and at every load without a cycle', async () => {
    const appliance = await scrape(a, 'shared_metric{mountpoint="/"} 5\nshared_metric{mountpoint="/data"} 7\nother_metric 1\n');
    const now = a.clock.now().getTime() + 1000;
    const first = parsePromql('shared_metric < 6');
    const second = parsePromql('shared_metric > 6 and on() other_metric == 1');
    const { database, statements } = countingDatabase(a.deps.database);
    // Warm the identities (remembered per database handle) so the counts below are the loads alone.
    await loadSeries(database, second, now - second.lookbackMs, now);
    const warm = statements();
    const loads = cycleLoads();
    const one = await loadSeries(database, first, now - first.lookbackMs, now, undefined, loads);
    const two = await loadSeries(database, second, now - second.lookbackMs, now, undefined, loads);
    // shared_metric once, other_metric once.
    expect(statements() - warm).toBe(2);
    expect(one.get(appliance)!.map((s) => s.labels.mountpoint).sort()).toEqual(['/', '/data']);
    expect(two.get(appliance)!.map((s) => s.labels.__name__).sort()).toEqual(['other_metric', 'shared_metric', 'shared_metric']);

    // Without a cycle's memo every load queries.
    await loadSeries(database, first, now - first.lookbackMs, now);
    expect(statements() - warm).toBe(3);
  });
  it('reads a metric once per cycle for latest-value rules that filter it differently, each seeing its own series', async () => {
    const appliance = await scrape(a, 'pool_state_probe{state="online",zpool="tank"} 1\npool_state_probe{state="degraded",zpool="tank"} 0\n');
    const now = a.clock.now().getTime() + 1000;
    const rules = ['pool_state_probe{state=~"faulted|degraded"} == 1', 'pool_state_probe{state="degraded"} == 1', 'pool_state_probe{state="online"} == 1'].map((expr) => ({ kind: 'promql', params: { expr } }));
    const parsed = rules.map((r) => parsePromql(r.params.expr));
    const { database, statements } = countingDatabase(a.deps.database);
    await loadSeries(database, parsed[0]!, now - parsed[0]!.lookbackMs, now);
    const warm = statements();
    const loads = cycleLoads(undefined, rules);
    const loaded = await Promise.all(parsed.map((p) => loadSeries(database, p, now - p.lookbackMs, now, undefined, loads)));
    // The three filters share no label: one unfiltered read of the metric.
    expect(statements() - warm).toBe(1);
    // Each rule gets the series its own equality matchers select: the read is shared, not the result.
    expect(loaded.map((l) => l.get(appliance)!.length)).toEqual([2, 1, 1]);
    // Each rule still applies its own matchers: only the online state holds.
    const fired = await Promise.all(parsed.map((p) => evaluatePromqlRule(database, p, now, loads)));
    expect(fired.map((f) => f.active.get(appliance)?.map((s) => s.labels.state) ?? [])).toEqual([[], [], ['online']]);
  });
  it('evaluates a rule for the appliances its own series select, whatever other rules widen the read to', async () => {
    // An appliance with / only: a "/data not mounted" rule must not see it as an appliance without /data
    // just because another rule reads every mount of the metric.
    const appliance = await scrape(a, 'mount_probe{mountpoint="/"} 1\n');
    const now = a.clock.now().getTime() + 1000;
    const rules = ['mount_probe < 0.1', '(count(mount_probe{mountpoint="/data"}) or vector(0)) == 0'].map((expr) => ({ kind: 'promql', params: { expr } }));
    const parsed = rules.map((r) => parsePromql(r.params.expr));
    const loads = cycleLoads(undefined, rules);
    const [, notMounted] = await Promise.all(parsed.map((p) => evaluatePromqlRule(a.deps.database, p, now, loads)));
    const alone = await evaluatePromqlRule(a.deps.database, parsed[1]!, now);
    expect(notMounted!.active.has(appliance)).toBe(false);
    expect(alone.active.has(appliance)).toBe(false);
  });
});
