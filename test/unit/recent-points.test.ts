// RecentPoints (telemetry/recent-points.ts, docs/decisions/0010): an entry is served only while
// it has applied exactly the writes the database counts; any gap, a trim past the window asked
// for, or a budget overrun sends the series back to the database.
import { describe, expect, it } from 'vitest';
import { newestAs, RecentPoints } from '../../telemetry/recent-points.ts';

const MIN = 60_000;
const cpu = new Map([['node_cpu_seconds_total', { windowMs: 5 * MIN, filters: [{ mode: 'idle' }] }]]);
const pts = (...ts: number[]) => ts.map((t) => ({ t, v: t / 1000 }));

const database = {};

function tracked(maxPoints?: number): RecentPoints {
  const recent = new RecentPoints(database, maxPoints);
  recent.track(cpu);
  return recent;
}

describe('RecentPoints', () => {
  it('tracks series by metric and equality matchers; windows over 15 minutes are not held', () => {
    const recent = tracked();
    expect(recent.tracks('node_cpu_seconds_total', { cpu: '0', mode: 'idle' })).toBe(true);
    expect(recent.tracks('node_cpu_seconds_total', { cpu: '0', mode: 'user' })).toBe(false);
    expect(recent.tracks('node_load15', {})).toBe(false);
    expect(recent.keepFor('node_cpu_seconds_total')).toBe(7 * MIN);
    recent.track(new Map([['smartctl_device_attribute', { windowMs: 6 * 60 * MIN, filters: [{}] }]]));
    expect(recent.tracks('smartctl_device_attribute')).toBe(false);
    expect(recent.tracks('node_cpu_seconds_total')).toBe(false);
  });

  it('the first write of a series its writer created starts a complete entry; the next in sequence is applied; a gap drops the entry', () => {
    const recent = tracked();
    recent.apply(1, 'node_cpu_seconds_total', 1, pts(0), true);
    recent.apply(1, 'node_cpu_seconds_total', 2, pts(MIN));
    expect(recent.window(1, 2, MIN, -MIN, MIN)).toEqual(pts(0, MIN));
    expect(recent.newest(1, 2, MIN)).toEqual(pts(MIN)[0]);
    // The database counts 3: a write this process did not see.
    expect(recent.window(1, 3, MIN, 0, MIN)).toBeUndefined();
    // Write 4 arrives with 3 missing: the entry goes.
    recent.apply(1, 'node_cpu_seconds_total', 4, pts(3 * MIN));
    expect(recent.size()).toEqual({ series: 0, points: 0 });
    // A series met after its first write is not taken in until the database refills it.
    recent.apply(2, 'node_cpu_seconds_total', 5, pts(0));
    // Nor a first write (count 1) of a series another writer created: it may hold uncounted points.
    recent.apply(3, 'node_cpu_seconds_total', 1, pts(0));
    expect(recent.size().series).toBe(0);
  });

  it('serves only an entry whose count and newest time are the database’s; skips a write it already reflects', () => {
    const recent = tracked();
    recent.replace(1, 'node_cpu_seconds_total', 4, -10 * MIN, pts(0, MIN));
    recent.apply(1, 'node_cpu_seconds_total', 4, pts(MIN));
    expect(recent.size().points).toBe(2);
    expect(recent.window(1, 4, MIN, 0, MIN)).toEqual(pts(0, MIN));
    // A writer that does not count wrote a newer point: same count, newer last_ts.
    expect(recent.window(1, 4, 2 * MIN, 0, 2 * MIN)).toBeUndefined();
    expect(recent.newest(1, 4, 2 * MIN)).toBeUndefined();
    // A write committed after the count was read: re-read, not served (the database may also have gone back).
    recent.apply(1, 'node_cpu_seconds_total', 5, pts(2 * MIN));
    expect(recent.window(1, 4, MIN, 0, 2 * MIN)).toBeUndefined();
    expect(recent.window(1, 5, 2 * MIN, 0, 2 * MIN)).toEqual(pts(0, MIN, 2 * MIN));
  });

  it('holds series only for the database it was made for', () => {
    const recent = tracked();
    expect(recent.servesFor(database)).toBe(true);
    expect(recent.servesFor({})).toBe(false);
  });

  it('keeps late points in time order, equal times in write order', () => {
    const recent = tracked();
    recent.apply(1, 'node_cpu_seconds_total', 1, [{ t: 2 * MIN, v: 2 }, { t: 0, v: 0 }], true);
    recent.apply(1, 'node_cpu_seconds_total', 2, [{ t: MIN, v: 1 }, { t: 2 * MIN, v: 3 }]);
    expect(recent.newest(1, 2, 2 * MIN)).toEqual({ t: 2 * MIN, v: 3 });
    expect(recent.window(1, 2, 2 * MIN, 0, 2 * MIN)).toEqual([{ t: 0, v: 0 }, { t: MIN, v: 1 }, { t: 2 * MIN, v: 2 }, { t: 2 * MIN, v: 3 }]);
  });

  it('lets points older than the keep window go, and then refuses windows reaching before them', () => {
    const recent = tracked();
    recent.apply(1, 'node_cpu_seconds_total', 1, pts(0, MIN, 2 * MIN), true);
    recent.apply(1, 'node_cpu_seconds_total', 2, pts(9 * MIN));
    // Kept: 7 minutes before the newest point (9 min), so from 2 min on.
    expect(recent.window(1, 2, 9 * MIN, 2 * MIN, 9 * MIN)).toEqual(pts(2 * MIN, 9 * MIN));
    expect(recent.window(1, 2, 9 * MIN, MIN, 9 * MIN)).toBeUndefined();
  });

  it('holds no more than its point budget', () => {
    const recent = tracked(3);
    recent.apply(1, 'node_cpu_seconds_total', 1, pts(0, MIN), true);
    recent.apply(2, 'node_cpu_seconds_total', 1, pts(0, MIN), true);
    expect(recent.size()).toEqual({ series: 1, points: 2 });
    expect(recent.replace(3, 'node_cpu_seconds_total', 7, 0, pts(0, MIN))).toBe(false);
    // An entry that would grow past it is let go.
    recent.apply(1, 'node_cpu_seconds_total', 2, pts(2 * MIN, 3 * MIN));
    expect(recent.size()).toEqual({ series: 0, points: 0 });
  });

  it('sweeps entries whose newest point left the keep window', () => {
    const recent = tracked();
    recent.apply(1, 'node_cpu_seconds_total', 1, pts(0), true);
    recent.apply(2, 'node_cpu_seconds_total', 1, pts(6 * MIN), true);
    recent.sweep(8 * MIN);
    expect(recent.window(1, 1, 0, 0, 8 * MIN)).toBeUndefined();
    expect(recent.window(2, 1, 6 * MIN, 6 * MIN, 8 * MIN)).toEqual(pts(6 * MIN));
  });

  it('drops an entry when a write count comes a second time (the database went back and reused it)', () => {
    const recent = tracked();
    recent.replace(1, 'node_cpu_seconds_total', 9, -10 * MIN, pts(0));
    recent.apply(1, 'node_cpu_seconds_total', 10, pts(MIN));
    recent.apply(1, 'node_cpu_seconds_total', 11, pts(2 * MIN));
    // Writes 10 and 11 were lost by a failover; the new primary counts its own writes 10, 11, 12.
    recent.apply(1, 'node_cpu_seconds_total', 10, pts(3 * MIN));
    expect(recent.size().series).toBe(0);
    // A write the refill's snapshot already held (count ≤ 9) is only skipped.
    recent.replace(2, 'node_cpu_seconds_total', 9, -10 * MIN, pts(0));
    recent.apply(2, 'node_cpu_seconds_total', 9, pts(0));
    expect(recent.window(2, 9, 0, -MIN, MIN)).toEqual(pts(0));
  });

  it('orders a refill’s points of the newest time so that the last is last_value', () => {
    const points = [{ t: 0, v: 1 }, { t: MIN, v: 2 }, { t: MIN, v: 3 }];
    newestAs(points, 2);
    expect(points).toEqual([{ t: 0, v: 1 }, { t: MIN, v: 3 }, { t: MIN, v: 2 }]);
    const nan = [{ t: MIN, v: Number.NaN }, { t: MIN, v: 5 }];
    newestAs(nan, Number.NaN);
    expect(nan.at(-1)!.v).toBeNaN();
    // An older point with the value is not moved.
    const older = [{ t: 0, v: 2 }, { t: MIN, v: 3 }];
    newestAs(older, 2);
    expect(older).toEqual([{ t: 0, v: 2 }, { t: MIN, v: 3 }]);
    const recent = tracked();
    recent.replace(1, 'node_cpu_seconds_total', 4, -10 * MIN, [{ t: 0, v: 1 }, { t: MIN, v: 7 }, { t: MIN, v: 6 }], 7);
    expect(recent.newest(1, 4, MIN)).toEqual({ t: MIN, v: 7 });
  });
});
