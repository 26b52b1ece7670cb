// The last minutes of points of the series the PromQL range rules read, held in memory by the
// process that both ingests and evaluates them (docs/decisions/0010). The writer appends each
// committed batch's points; the scheduled evaluation serves a series from here only while the
// number of writes applied equals the series' `write_seq` in the database and the newest point
// held is its `last_ts`, and reads it from the database otherwise (another process wrote it,
// this process restarted, a write was missed, a writer that does not count wrote it).

import { lowerBound, upperBound } from './points.ts';

/** One stored point: time in Unix ms, value (the evaluator's Point). */
export interface RecentPoint {
  readonly t: number;
  readonly v: number;
}

/** What is held of one metric: for how long (ms) and the series (equality matchers, any one of them). */
export interface TrackedMetric {
  windowMs: number;
  filters: readonly Readonly<Record<string, string>>[];
}

interface Entry {
  metric: string;
  /** Writes of the series this entry holds: equals `series.write_seq` when it has them all. */
  seq: number;
  /** The write count of the database snapshot the entry was read from (0 when it began with a first write). */
  base: number;
  /** Points are complete from this time (Unix ms) on; older ones may be missing. */
  from: number;
  points: RecentPoint[];
}

/** At most this many points are held (≈ 40 bytes each): beyond it new series are not taken in. */
const defaultMaxPoints = 4_000_000;
/** Windows longer than this are read from the database (6 h `increase` windows would hold hours of points). */
export const maxRecentWindowMs = 15 * 60_000;
/** Points are kept this much longer than the longest window of their metric, for the 5-minute lookback and late scrapes. */
const keepMarginMs = 2 * 60_000;

/**
 * Per series id of one database: its recent points in time order and the count of writes they
 * reflect. One per process and database (series ids are unique only within a database): the
 * writer and the loads use it only for the database it was made for (`servesFor`).
 */
export class RecentPoints {
  private readonly entries = new Map<number, Entry>();
  /** Metric → how long (ms) its points are kept and which of its series. */
  private readonly tracked = new Map<string, TrackedMetric>();
  private trackedText = '';
  private pointCount = 0;

  /**
   * `database` is the handle whose series ids the entries are keyed by (compared by identity);
   * `maxPoints` bounds the points held.
   */
  constructor(
    private readonly database: object,
    private readonly maxPoints = defaultMaxPoints,
  ) {}

  /** Whether this holds series of `database` (the handle it was made for). */
  servesFor(database: object): boolean {
    return database === this.database;
  }

  /**
   * The series to hold: per metric, the longest window (ms, range plus offset) a rule reads of
   * it and the equality matchers its selectors require (`{mode: "idle"}`; a series is held when
   * it carries every label of one of them, and `{}` holds all). Windows over
   * `maxRecentWindowMs` are left out. Entries of metrics no longer named are dropped. Called by
   * the scheduler at the start of each cycle with the cycle's rules.
   */
  track(windows: ReadonlyMap<string, TrackedMetric>): void {
    const next = new Map<string, TrackedMetric>();
    for (const [metric, w] of windows) if (w.windowMs <= maxRecentWindowMs) next.set(metric, { windowMs: w.windowMs + keepMarginMs, filters: w.filters });
    const text = JSON.stringify([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (text === this.trackedText) return;
    this.trackedText = text;
    this.tracked.clear();
    for (const [metric, w] of next) this.tracked.set(metric, w);
    for (const [id, entry] of this.entries) if (!next.has(entry.metric)) this.drop(id);
  }

  /** Whether series of `metric` with `labels` are held (the writer asks before collecting a batch's points); without labels, whether any of the metric is. */
  tracks(metric: string, labels?: Readonly<Record<string, string>>): boolean {
    const w = this.tracked.get(metric);
    if (w === undefined) return false;
    if (labels === undefined) return true;
    return w.filters.some((filter) => {
      for (const name in filter) if (labels[name] !== filter[name]) return false;
      return true;
    });
  }

  /** How long (ms) points of `metric` are kept; 0 when it is not tracked. */
  keepFor(metric: string): number {
    return this.tracked.get(metric)?.windowMs ?? 0;
  }

  /**
   * A committed write of series `id` of `metric`, which made its `write_seq` equal to `seq`,
   * with its points (any order). Applied only when the entry holds exactly the writes before it
   * (`seq - 1`); the first write (`seq` 1) of a series the writer created (`createdByWriter`)
   * starts a complete entry; a write the entry's database read already reflected (`seq` at or
   * below that snapshot's count) is skipped. Otherwise — a write of another process came
   * between, or a count comes a second time because the database went back — the entry is
   * dropped, and the next cycle reads the series from the database.
   */
  apply(id: number, metric: string, seq: number, points: readonly RecentPoint[], createdByWriter = false): void {
    const keep = this.tracked.get(metric)?.windowMs;
    if (keep === undefined) return;
    let entry = this.entries.get(id);
    if (entry === undefined) {
      if (seq !== 1 || !createdByWriter || this.pointCount + points.length > this.maxPoints) return;
      entry = { metric, seq: 0, base: 0, from: Number.NEGATIVE_INFINITY, points: [] };
      this.entries.set(id, entry);
    } else if (seq <= entry.base && entry.metric === metric) {
      // Already reflected: the entry was read from the database after this write committed.
      return;
    } else if (entry.seq !== seq - 1 || entry.metric !== metric) {
      // A gap, or a count met twice (the database went back and reused it): read it again.
      this.drop(id);
      return;
    }
    if (this.pointCount + points.length > this.maxPoints) {
      this.drop(id);
      return;
    }
    entry.seq = seq;
    const list = entry.points;
    const before = list.length;
    let sorted = true;
    for (const p of points) {
      if (list.length > 0 && p.t < list[list.length - 1]!.t) sorted = false;
      list.push(p);
    }
    // Equal times keep their write order, as the database's chunks do (a stable sort).
    if (!sorted) list.sort((a, b) => a.t - b.t);
    this.pointCount += list.length - before;
    this.trim(entry, keep);
  }

  /**
   * Replaces series `id`'s entry with what the database held at write count `seq`: every point
   * from `from` (Unix ms) on, in time order. Points of equal time come from the chunks in no
   * set order; with `lastValue` (the series' `last_value` in the same snapshot) the newest time's
   * points are ordered so that the last one is it, as the writer's later-write-wins update left
   * it. Refused (false) past the point budget.
   */
  replace(id: number, metric: string, seq: number, from: number, points: RecentPoint[], lastValue?: number): boolean {
    const keep = this.tracked.get(metric)?.windowMs;
    if (keep === undefined) return false;
    this.drop(id);
    if (this.pointCount + points.length > this.maxPoints) return false;
    if (lastValue !== undefined) newestAs(points, lastValue);
    const entry: Entry = { metric, seq, base: seq, from, points };
    this.entries.set(id, entry);
    this.pointCount += points.length;
    this.trim(entry, keep);
    return true;
  }

  /**
   * The entry of series `id` when it is current: it reflects exactly `seq` writes (the
   * database's `write_seq`) and its newest point is at `lastTs` (Unix ms, the database's
   * `last_ts`), so no write it did not see — from a process whose writes are not counted, or a
   * database that went back — is missing. Otherwise undefined.
   */
  private current(id: number, seq: number, lastTs: number): Entry | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.seq !== seq) return undefined;
    const points = entry.points;
    if (points.length === 0 || points[points.length - 1]!.t !== lastTs) return undefined;
    return entry;
  }

  /**
   * Series `id`'s points in [from, to] (Unix ms, closed) when the entry is current (see
   * `current`) and complete from `from`; otherwise undefined. The array is fresh, its points shared.
   */
  window(id: number, seq: number, lastTs: number, from: number, to: number): RecentPoint[] | undefined {
    const entry = this.current(id, seq, lastTs);
    if (entry === undefined || from < entry.from) return undefined;
    return entry.points.slice(lowerBound(entry.points, from), upperBound(entry.points, to));
  }

  /**
   * Series `id`'s newest point when the entry is current (see `current`): what the database's
   * `series.last_ts/last_value` hold, as the newest point is never trimmed; otherwise undefined.
   */
  newest(id: number, seq: number, lastTs: number): RecentPoint | undefined {
    const entry = this.current(id, seq, lastTs);
    return entry?.points[entry.points.length - 1];
  }

  /**
   * Drops the entries whose newest point is older than their metric's keep window before `now`
   * (Unix ms): no window ending at `now` reads them (a deleted appliance's series, a mount
   * gone). A later write of such a series is not applied (its count is not 1); the next cycle
   * reads the series from the database. Called once per cycle.
   */
  sweep(now: number): void {
    for (const [id, entry] of this.entries) {
      const keep = this.tracked.get(entry.metric)?.windowMs ?? 0;
      const newest = entry.points.length > 0 ? entry.points[entry.points.length - 1]!.t : Number.NEGATIVE_INFINITY;
      if (newest < now - keep) this.drop(id);
    }
  }

  /** Held series and points, for the bench and the tests. */
  size(): { series: number; points: number } {
    return { series: this.entries.size, points: this.pointCount };
  }

  private drop(id: number): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.pointCount -= entry.points.length;
    this.entries.delete(id);
  }

  /** Drops points older than `keep` before the newest; the entry is then complete only from there. */
  private trim(entry: Entry, keep: number): void {
    const points = entry.points;
    if (points.length === 0) return;
    const cutoff = points[points.length - 1]!.t - keep;
    const k = lowerBound(points, cutoff);
    if (k === 0) return;
    points.splice(0, k);
    this.pointCount -= k;
    if (cutoff > entry.from) entry.from = cutoff;
  }
}

/**
 * Orders the points sharing the newest time so that the last of them has `lastValue` (NaN
 * matches NaN); leaves the points as they are when none has it. Points must be in time order.
 */
export function newestAs(points: RecentPoint[], lastValue: number): void {
  const n = points.length;
  if (n < 2) return;
  const newest = points[n - 1]!.t;
  const same = (v: number) => v === lastValue || (Number.isNaN(v) && Number.isNaN(lastValue));
  if (same(points[n - 1]!.v)) return;
  for (let i = n - 2; i >= 0 && points[i]!.t === newest; i--) {
    if (same(points[i]!.v)) {
      const [p] = points.splice(i, 1);
      points.push(p!);
      return;
    }
  }
}
