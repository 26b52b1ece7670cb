import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkSamples, defaultBufferMaxBatches } from '../../collector/agent/agent.ts';
import { fullJitterDelayMs, parseRetryAfterMs, retryDelayMs } from '../../collector/agent/backoff.ts';
import { BatchBuffer, BufferLockedError, batchFileName } from '../../collector/agent/buffer.ts';
import { parseAgentArgs } from '../../collector/agent/config.ts';
import type { WireSample } from '../../collector/agent/types.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-agent-buffer-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function samples(n: number, from = 0): WireSample[] {
  return Array.from({ length: n }, (_, i) => ({ metric: 'm', labels: { i: String(from + i) }, ts: 1_700_000_000_000, value: from + i }));
}

async function batchFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
}

describe('BatchBuffer', () => {
  it('persists each batch as its own file named by sequence and batch id, and resumes after reopening', async () => {
    const dir = await tempDir();
    const first = await BatchBuffer.open(dir, { maxBatches: 10 });
    const a = await first.append([samples(2)]);
    const b = await first.append([samples(3, 2)]);
    expect(await batchFiles(dir)).toEqual([batchFileName(0, a.entry.batchId), batchFileName(1, b.entry.batchId)]);
    await first.close();

    const second = await BatchBuffer.open(dir, { maxBatches: 10 });
    expect(second.list().map((e) => [e.seq, e.batchId, e.sampleCount])).toEqual([
      [0, a.entry.batchId, 2],
      [1, b.entry.batchId, 3],
    ]);
    const c = await second.append([samples(1)]);
    expect(c.entry.seq).toBe(2);
    const stored = JSON.parse(await readFile(join(dir, c.entry.file), 'utf8')) as { chunks: { batchId: string }[] };
    expect(stored.chunks[0]?.batchId).toBe(c.entry.batchId);
    await second.close();
  });

  it('removes half-written temp files and quarantines corrupt batch files on open', async () => {
    const dir = await tempDir();
    const buffer = await BatchBuffer.open(dir, { maxBatches: 10 });
    await buffer.append([samples(1)]);
    await buffer.close();
    await writeFile(join(dir, '.tmp-abc-000000000001-x.json'), '{"half');
    await writeFile(join(dir, batchFileName(7, 'corrupt')), 'not json');

    const reopened = await BatchBuffer.open(dir, { maxBatches: 10 });
    expect(reopened.size).toBe(1);
    const names = await readdir(dir);
    expect(names.some((n) => n.startsWith('.tmp-'))).toBe(false);
    expect(await readdir(join(dir, 'rejected'))).toEqual([`corrupt-${batchFileName(7, 'corrupt')}`]);
    await reopened.close();
  });

  it('drops the oldest batches beyond the bound and counts them, sparing the one being sent', async () => {
    const dir = await tempDir();
    const buffer = await BatchBuffer.open(dir, { maxBatches: 3 });
    for (let i = 0; i < 3; i++) await buffer.append([samples(2)]);
    const sending = buffer.claimOldest();
    expect(sending?.seq).toBe(0);
    const result = await buffer.append([samples(2)]);
    expect(result.dropped.map((e) => e.seq)).toEqual([1]);
    buffer.release(sending!);
    await buffer.append([samples(2)]);
    expect(buffer.list().map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(buffer.droppedBatches).toBe(2);
    expect(buffer.droppedSamples).toBe(4);
    expect((await batchFiles(dir)).map((n) => Number(n.slice(0, 12)))).toEqual([2, 3, 4]);
    await buffer.close();
  });

  it('splits a chunk into halves with derived batch ids and completes chunk by chunk', async () => {
    const dir = await tempDir();
    const buffer = await BatchBuffer.open(dir, { maxBatches: 10 });
    const { entry } = await buffer.append([samples(5)]);
    const claimed = buffer.claimOldest()!;
    let batch = (await buffer.read(claimed))!;
    expect(await buffer.splitChunk(claimed, batch, 0)).toBe(true);
    batch = (await buffer.read(claimed))!;
    expect(batch.chunks.map((c) => [c.batchId, c.samples.length])).toEqual([
      [`${entry.batchId}.0`, 3],
      [`${entry.batchId}.1`, 2],
    ]);
    await buffer.completeChunk(claimed, batch, 0);
    // A restart between the two halves resumes with the second one only.
    buffer.release(claimed);
    await buffer.close();
    const reopened = await BatchBuffer.open(dir, { maxBatches: 10 });
    const again = reopened.claimOldest()!;
    const rest = (await reopened.read(again))!;
    expect(rest.chunks.map((c) => c.batchId)).toEqual([`${entry.batchId}.1`]);
    expect(again.sampleCount).toBe(2);
    await reopened.completeChunk(again, rest, 0);
    expect(reopened.size).toBe(0);
    expect(await batchFiles(dir)).toEqual([]);
    await reopened.close();
  });

  it('will not split a single sample', async () => {
    const dir = await tempDir();
    const buffer = await BatchBuffer.open(dir, { maxBatches: 10 });
    await buffer.append([samples(1)]);
    const claimed = buffer.claimOldest()!;
    expect(await buffer.splitChunk(claimed, (await buffer.read(claimed))!, 0)).toBe(false);
    await buffer.close();
  });

  it('keeps a copy of a rejected chunk in rejected/', async () => {
    const dir = await tempDir();
    const buffer = await BatchBuffer.open(dir, { maxBatches: 10 });
    const { entry } = await buffer.append([samples(2)]);
    const claimed = buffer.claimOldest()!;
    await buffer.rejectChunk(claimed, (await buffer.read(claimed))!, 0, { status: 400, error: { code: 'invalid' } });
    expect(buffer.size).toBe(0);
    const [copy] = await readdir(join(dir, 'rejected'));
    const record = JSON.parse(await readFile(join(dir, 'rejected', copy!), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ status: 400, batchId: entry.batchId, error: { code: 'invalid' } });
    expect(record.samples).toHaveLength(2);
    await buffer.close();
  });

  it('refuses a directory locked by another live process and takes over a stale lock', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'agent.lock'), String(process.ppid));
    await expect(BatchBuffer.open(dir, { maxBatches: 10 })).rejects.toBeInstanceOf(BufferLockedError);
    await writeFile(join(dir, 'agent.lock'), '99999999');
    const buffer = await BatchBuffer.open(dir, { maxBatches: 10 });
    expect(await readFile(join(dir, 'agent.lock'), 'utf8')).toBe(String(process.pid));
    await buffer.close();
  });
});

describe('backoff', () => {
  it('full jitter stays within [0, min(cap, base·2^attempt))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, r) => {
        const delay = fullJitterDelayMs(attempt, { baseMs: 1000, capMs: 60_000 }, () => r);
        return delay >= 0 && delay < Math.min(60_000, 1000 * 2 ** Math.min(attempt, 30));
      }),
    );
    expect(fullJitterDelayMs(0, { baseMs: 1000, capMs: 60_000 }, () => 0.999)).toBe(999);
    expect(fullJitterDelayMs(20, { baseMs: 1000, capMs: 60_000 }, () => 0.5)).toBe(30_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('1', now)).toBe(1000);
    expect(parseRetryAfterMs(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(null, now)).toBeUndefined();
  });

  it('never waits less than Retry-After asks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 120_000 }), (attempt, retryAfter) => {
        return retryDelayMs(attempt, retryAfter, undefined, Math.random) >= retryAfter;
      }),
    );
  });
});

describe('chunkSamples', () => {
  it('respects the sample and byte limits and keeps order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 80, max: 5000 }), (n, max, bytes) => {
        const all = samples(n);
        const chunks = chunkSamples(all, max, bytes);
        expect(chunks.flat()).toEqual(all);
        for (const chunk of chunks) {
          expect(chunk.length).toBeLessThanOrEqual(max);
          if (chunk.length > 1) expect(JSON.stringify(chunk).length).toBeLessThanOrEqual(bytes + chunk.length);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('keeps at least two hours of batches by default', () => {
    expect(defaultBufferMaxBatches(15_000)).toBe(2000);
    expect(defaultBufferMaxBatches(1000) * 1000).toBeGreaterThanOrEqual(2 * 3600 * 1000);
  });
});

describe('parseAgentArgs', () => {
  const base = ['--url', 'http://vigil:8080', '--token', 'tok', '--scrape', 'http://127.0.0.1:9100/metrics'];

  it('reads repeated --scrape flags and converts seconds to milliseconds', () => {
    const result = parseAgentArgs([...base, '--scrape', 'http://127.0.0.1:9200/metrics', '--interval', '0.5', '--buffer-max-batches', '50']);
    expect(result).toMatchObject({
      kind: 'ok',
      config: {
        url: 'http://vigil:8080',
        token: 'tok',
        scrapeTargets: ['http://127.0.0.1:9100/metrics', 'http://127.0.0.1:9200/metrics'],
        intervalMs: 500,
        bufferMaxBatches: 50,
        bufferDir: '.vigil-agent-buffer',
      },
    });
  });

  it('takes the token from VIGIL_AGENT_TOKEN', () => {
    const result = parseAgentArgs(['--url', 'http://v', '--scrape', 'http://s/metrics'], { VIGIL_AGENT_TOKEN: 'from-env' });
    expect(result.kind === 'ok' && result.config.token).toBe('from-env');
  });

  it('explains bad arguments', () => {
    const bad = (args: string[]): string => {
      const result = parseAgentArgs(args);
      return result.kind === 'error' ? result.message : `unexpectedly ${result.kind}`;
    };
    expect(bad(['--token', 't', '--scrape', 'http://s'])).toMatch(/--url is required/);
    expect(bad(['--url', 'ftp://x', '--token', 't', '--scrape', 'http://s'])).toMatch(/--url must be an http/);
    expect(bad(['--url', 'http://x', '--token', 't'])).toMatch(/at least one --scrape/);
    expect(bad([...base, '--interval', 'abc'])).toMatch(/--interval must be a number/);
    expect(bad([...base, '--interval', '0'])).toMatch(/greater than 0/);
    expect(bad([...base, '--os-version', '6.0'])).toMatch(/both or neither/);
    expect(bad([...base, '--nope'])).toMatch(/Unknown option/);
    expect(parseAgentArgs(['--help']).kind).toBe('help');
  });

  it('configures the heartbeat from the version flags', () => {
    const result = parseAgentArgs([...base, '--os-version', '6.0.3', '--hypervisor-version', '2.4.1']);
    expect(result.kind === 'ok' && result.config.heartbeat).toEqual({ osVersion: '6.0.3', hypervisorVersion: '2.4.1' });
  });
});
