import { randomBytes } from 'node:crypto';
import type { FetchLike } from '../agent/push.ts';
import { SimulatorApi, type CustomerTier, type PushResult } from './api.ts';
import { hash32 } from './prng.ts';
import { generateTick, poolHistory, type ScenarioName } from './scenarios.ts';

// Drives the scenario generators against a running Vigil: provisions a customer
// and its appliances with the admin key (createFleet), then every interval pushes
// each appliance's heartbeat, metrics and events with that appliance's token.

export interface SimAppliance {
  /** Position in the fleet; scenario generators vary by it. */
  index: number;
  id: string;
  serial: string;
  token: string;
  /** Overrides the run's scenario for this appliance (a demo can mix them). */
  scenario?: ScenarioName;
}

export interface CreateFleetOptions {
  url: string;
  adminKey: string;
  count: number;
  tier: CustomerTier;
  serenity: boolean;
  /** Default: "Simulated <label> <runId>". */
  customerName?: string;
  /** Goes into the default customer name, e.g. the scenario. */
  label?: string;
  /** Makes serials unique per run; default random. */
  runId?: string;
  fetch?: FetchLike;
}

export interface Fleet {
  runId: string;
  customer: { id: string; name: string; tier: CustomerTier; serenity: boolean };
  appliances: SimAppliance[];
}

const models = ['HYPER 1000', 'HYPER 2000', 'HYPER 3000'] as const;
const sites = ['Milan', 'Rome', 'Turin'] as const;

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.toUpperCase();
}

/** Creates one customer and `count` appliances; returns their ids and tokens. */
export async function createFleet(options: CreateFleetOptions): Promise<Fleet> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error('count must be a positive integer');
  const api = new SimulatorApi({ url: options.url, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const runId = options.runId ?? newRunId();
  const name = options.customerName ?? `Simulated ${options.label ?? 'fleet'} ${runId}`;
  const customer = await api.createCustomer(options.adminKey, { name, tier: options.tier, serenity: options.serenity });
  const appliances: SimAppliance[] = [];
  for (let index = 0; index < options.count; index++) {
    const serial = `SIM-${runId}-${String(index + 1).padStart(3, '0')}`;
    const created = await api.createAppliance(options.adminKey, {
      customerId: customer.id,
      serial,
      hardwareId: `HW-${hash32(runId, index).toString(16).padStart(8, '0').toUpperCase()}`,
      model: models[index % models.length]!,
      site: sites[index % sites.length]!,
    });
    appliances.push({ index, id: created.id, serial: created.serial, token: created.token });
  }
  return { runId, customer: { ...customer, tier: options.tier, serenity: options.serenity }, appliances };
}

export interface SimulationProgress {
  tick: number;
  elapsedSeconds: number;
  /** Appliances whose pushes this interval all succeeded. */
  appliancesPushed: number;
  /** Appliances that had something to push (silent ones are not counted). */
  appliancesActive: number;
  appliancesTotal: number;
  heartbeats: number;
  samples: number;
  events: number;
  errors: number;
  /** How many appliances are in each scenario phase. */
  phases: Record<string, number>;
  lastError?: string;
}

export interface SimulationSummary {
  ticks: number;
  heartbeats: number;
  samples: number;
  events: number;
  errors: number;
}

export interface SimulationOptions {
  url: string;
  scenario: ScenarioName;
  /** Appliances to drive. Without them, `count` appliances are created with `adminKey`. */
  appliances?: SimAppliance[];
  count?: number;
  adminKey?: string;
  tier?: CustomerTier;
  serenity?: boolean;
  customerName?: string;
  intervalSeconds?: number;
  faultAfterSeconds?: number;
  /** Stop by itself after this long; default: run until stop(). */
  durationSeconds?: number;
  /** Noise seed; default random. The same seed replays the same values. */
  seed?: number;
  /** Hours of pool capacity history each appliance sends once at start (see poolHistory); default 0. */
  historyHours?: number;
  /** Appliances pushed in parallel. Default 16. */
  concurrency?: number;
  fetch?: FetchLike;
  onProgress?: (progress: SimulationProgress) => void;
}

export interface SimulationHandle {
  appliances: SimAppliance[];
  /** Present when the run created the fleet. */
  fleet?: Fleet;
  seed: number;
  stop(): Promise<void>;
  /** Resolves when the run ends (duration reached or stopped). */
  done: Promise<SimulationSummary>;
  stats(): SimulationSummary;
}

export const defaultIntervalSeconds = 5;
export const defaultFaultAfterSeconds = 15;

export function formatProgress(p: SimulationProgress): string {
  const phases = Object.entries(p.phases)
    .map(([phase, n]) => `${phase}×${n}`)
    .join(' ');
  const line =
    `[simulate] t=${p.elapsedSeconds}s tick ${p.tick}: pushed ${p.appliancesPushed}/${p.appliancesTotal} appliances, ` +
    `${p.samples} samples, ${p.events} events, ${p.errors} errors [${phases}]`;
  return p.lastError ? `${line} last error: ${p.lastError}` : line;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationHandle> {
  const intervalSeconds = options.intervalSeconds ?? defaultIntervalSeconds;
  const faultAfterSeconds = options.faultAfterSeconds ?? defaultFaultAfterSeconds;
  if (!(intervalSeconds > 0)) throw new Error('intervalSeconds must be positive');
  const seed = options.seed ?? hash32(newRunId());

  let fleet: Fleet | undefined;
  let appliances = options.appliances;
  if (!appliances) {
    if (!options.adminKey) throw new Error('runSimulation needs either appliances or an adminKey to create them');
    fleet = await createFleet({
      url: options.url,
      adminKey: options.adminKey,
      count: options.count ?? 1,
      tier: options.tier ?? 'mission_critical',
      serenity: options.serenity ?? false,
      label: options.scenario,
      ...(options.customerName ? { customerName: options.customerName } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    appliances = fleet.appliances;
  }
  const fleetAppliances = appliances;
  const api = new SimulatorApi({ url: options.url, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const concurrency = options.concurrency ?? 16;
  const totals: SimulationSummary = { ticks: 0, heartbeats: 0, samples: 0, events: 0, errors: 0 };
  const stopSignal = new AbortController();
  const startedAtMs = Date.now();

  async function runTick(tick: number, elapsedSeconds: number): Promise<SimulationProgress> {
    const progress: SimulationProgress = {
      tick,
      elapsedSeconds,
      appliancesPushed: 0,
      appliancesActive: 0,
      appliancesTotal: fleetAppliances.length,
      heartbeats: 0,
      samples: 0,
      events: 0,
      errors: 0,
      phases: {},
    };
    const note = (result: PushResult): boolean => {
      if (result.ok) return true;
      progress.errors++;
      progress.lastError = result.error;
      return false;
    };
    await mapLimit(fleetAppliances, concurrency, async (appliance) => {
      const out = generateTick({
        scenario: appliance.scenario ?? options.scenario,
        applianceIndex: appliance.index,
        elapsedSeconds,
        seed,
        startedAtMs,
        faultAfterSeconds,
        intervalSeconds,
      });
      progress.phases[out.phase] = (progress.phases[out.phase] ?? 0) + 1;
      if (!out.heartbeat && out.samples.length === 0 && out.events.length === 0) return;
      progress.appliancesActive++;
      let ok = true;
      // Heartbeat first: it carries the version and topology the metrics refer to.
      if (out.heartbeat) {
        if (note(await api.pushHeartbeat(appliance.token, out.heartbeat))) progress.heartbeats++;
        else ok = false;
      }
      if (out.samples.length > 0) {
        const batchId = `sim-${seed}-${appliance.index}-${tick}`;
        if (note(await api.pushMetrics(appliance.token, batchId, out.samples))) progress.samples += out.samples.length;
        else ok = false;
      }
      if (out.events.length > 0) {
        if (note(await api.pushEvents(appliance.token, out.events))) progress.events += out.events.length;
        else ok = false;
      }
      if (ok) progress.appliancesPushed++;
    });
    return progress;
  }

  /** The history before the run, once: forecasts then have what a real appliance's pools would show. */
  async function backfill(hours: number): Promise<void> {
    await mapLimit(fleetAppliances, concurrency, async (appliance) => {
      const samples = poolHistory({ scenario: appliance.scenario ?? options.scenario, applianceIndex: appliance.index, seed, startedAtMs, hours });
      const result = await api.pushMetrics(appliance.token, `sim-${seed}-${appliance.index}-history`, samples);
      if (result.ok) totals.samples += samples.length;
      else totals.errors++;
    });
  }

  async function loop(): Promise<SimulationSummary> {
    if ((options.historyHours ?? 0) > 0) await backfill(options.historyHours ?? 0);
    const intervalMs = intervalSeconds * 1000;
    let tick = 0;
    while (!stopSignal.signal.aborted) {
      const elapsedSeconds = Math.round(tick * intervalSeconds * 1000) / 1000;
      if (options.durationSeconds !== undefined && elapsedSeconds >= options.durationSeconds) break;
      const progress = await runTick(tick, elapsedSeconds);
      totals.ticks++;
      totals.heartbeats += progress.heartbeats;
      totals.samples += progress.samples;
      totals.events += progress.events;
      totals.errors += progress.errors;
      options.onProgress?.(progress);
      tick++;
      const now = Date.now();
      // If pushing overran the interval, skip the missed slots rather than bursting.
      if (startedAtMs + tick * intervalMs < now) tick = Math.ceil((now - startedAtMs) / intervalMs);
      await sleep(startedAtMs + tick * intervalMs - now, stopSignal.signal);
    }
    return { ...totals };
  }

  const done = loop();
  return {
    appliances: fleetAppliances,
    ...(fleet ? { fleet } : {}),
    seed,
    async stop() {
      stopSignal.abort();
      await done;
    },
    done,
    stats: () => ({ ...totals }),
  };
}
