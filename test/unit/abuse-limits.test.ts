import { describe, expect, it } from 'vitest';
import { assertTopologyWithin, topologyDepth } from '../../server/ingest/heartbeat.ts';
import { SlidingWindowBudget } from '../../server/ingest/flood.ts';
import { topologyCauses } from '../../server/services/rca/topology.ts';
import { parseConfig } from '../../server/env.ts';
import { DomainError } from '../../server/lib/errors.ts';

const chain = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `vm:c${i}`, kind: 'vm', parentId: i === 0 ? null : `vm:c${i - 1}` }));

describe('topology limits (SPEC §10)', () => {
  it('measures depth in one pass: a 5 000-deep chain, a flat list, cycles and missing parents', () => {
    const started = performance.now();
    expect(topologyDepth(chain(5000))).toBe(5000);
    expect(performance.now() - started).toBeLessThan(200);
    expect(topologyDepth([{ id: 'a' }, { id: 'b' }])).toBe(1);
    expect(topologyDepth([{ id: 'a', parentId: 'b' }, { id: 'b', parentId: 'a' }])).toBe(2);
    expect(topologyDepth([{ id: 'a', parentId: 'missing' }])).toBe(1);
    expect(topologyDepth([])).toBe(0);
  });

  it('accepts depth 32 and refuses 33 with topology_too_large', () => {
    const limits = { maxComponents: 10_000, maxDepth: 32 };
    expect(() => assertTopologyWithin(chain(32), limits)).not.toThrow();
    try {
      assertTopologyWithin(chain(33), limits);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('topology_too_large');
    }
  });

  it('ranks topology causes over a 5 000-deep stored chain in linear time (no walk per comparison)', () => {
    const parts = chain(5000);
    const alerts = Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, name: `A${i}`, component: `vm:c${4999 - i * 7}`, startsAt: new Date(1_000 + i), priority: 'P1' }));
    const started = performance.now();
    const causes = topologyCauses(alerts, parts);
    expect(performance.now() - started).toBeLessThan(500);
    expect(causes).toHaveLength(1);
    expect(causes[0]!.explains).toEqual({ alerts: 50, of: 50 });
  });

  it('defaults to SPEC §10 values', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      SERIES_LIMIT_PER_APPLIANCE: 20_000,
      TOPOLOGY_MAX_COMPONENTS: 10_000,
      TOPOLOGY_MAX_DEPTH: 32,
      EVENT_ALERTS_PER_APPLIANCE_HOUR: 600,
      SUPPORT_REQUESTS_PER_APPLIANCE_HOUR: 10,
      SUPPORT_BUNDLE_BYTES_PER_APPLIANCE_DAY: 50 * 1024 * 1024,
      LIVE_SOCKETS_PER_USER: 20,
      WEBHOOK_ALLOW_PRIVATE: false,
      METRICS_ACCESS: 'local',
    });
  });
});

describe('sliding-window allowance', () => {
  it('admits up to the limit per window and per key, and tells when the next unit fits', () => {
    const budget = new SlidingWindowBudget(600, 3600_000);
    expect(budget.take('a', 3000, 0)).toBe(600);
    expect(budget.take('a', 1, 1000)).toBe(0);
    expect(budget.take('b', 5, 1000)).toBe(5);
    expect(budget.retryAfterSeconds('a', 1000)).toBe(3599);
    expect(budget.take('a', 10, 3600_001)).toBe(10);
  });
});
