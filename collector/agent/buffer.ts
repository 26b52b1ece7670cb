import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, silentLogger, type AgentLogger } from './log.ts';
import { bufferedBatchSchema, type BufferedBatch, type BufferedChunk, type WireSample } from './types.ts';

// The on-disk buffer is the agent's source of truth: every scrape is written here
// before any attempt to send it, and a file leaves only once the collector has
// committed it (2xx), was told to drop it (400), or the buffer overflowed.
//
// Layout of the buffer directory:
//   000000000042-<batchId>.json   one scrape cycle (sequence, fixed batch id, chunks)
//   .tmp-*                        half-written files; removed on open
//   rejected/                     copies of chunks the collector refused with 400
//   agent.lock                    pid of the agent using the directory

const batchFilePattern = /^(\d{12})-([A-Za-z0-9._:-]{1,128})\.json$/;
const tmpPrefix = '.tmp-';
const lockFileName = 'agent.lock';
export const rejectedDirName = 'rejected';

export interface BufferEntry {
  seq: number;
  batchId: string;
  file: string;
  sampleCount: number;
}

export interface BatchBufferOptions {
  maxBatches: number;
  /** How many files `rejected/` keeps before deleting its oldest. */
  maxRejected?: number;
  logger?: AgentLogger;
}

export interface AppendResult {
  entry: BufferEntry;
  dropped: BufferEntry[];
}

export class BufferLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(`buffer directory ${dir} is in use by another agent (pid ${pid})`);
    this.name = 'BufferLockedError';
  }
}

export function batchFileName(seq: number, batchId: string): string {
  return `${String(seq).padStart(12, '0')}-${batchId}.json`;
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename durable. Not every platform lets a directory be opened.
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

/** Write via a temp file, fsync it, rename it into place, fsync the directory. */
export async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, `${tmpPrefix}${randomUUID()}-${name}`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

function isNodeError(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isNodeError(err, 'EPERM');
  }
}

export class BatchBuffer {
  readonly dir: string;
  readonly rejectedDir: string;
  readonly maxBatches: number;
  private readonly maxRejected: number;
  private readonly logger: AgentLogger;
  private readonly entries: BufferEntry[] = [];
  private readonly inFlight = new Set<number>();
  private nextSeq = 0;
  private locked = false;
  droppedBatches = 0;
  droppedSamples = 0;

  private constructor(dir: string, options: BatchBufferOptions) {
    this.dir = dir;
    this.rejectedDir = join(dir, rejectedDirName);
    this.maxBatches = options.maxBatches;
    this.maxRejected = options.maxRejected ?? 200;
    this.logger = options.logger ?? silentLogger;
  }

  /** Opens (creating if needed) a buffer directory and loads whatever a previous run left in it. */
  static async open(dir: string, options: BatchBufferOptions): Promise<BatchBuffer> {
    if (!Number.isInteger(options.maxBatches) || options.maxBatches < 1) {
      throw new Error('maxBatches must be a positive integer');
    }
    const buffer = new BatchBuffer(dir, options);
    await mkdir(buffer.rejectedDir, { recursive: true });
    await buffer.acquireLock();
    try {
      await buffer.load();
    } catch (err) {
      await buffer.close();
      throw err;
    }
    return buffer;
  }

  private async acquireLock(): Promise<void> {
    const path = join(this.dir, lockFileName);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        this.locked = true;
        return;
      } catch (err) {
        if (!isNodeError(err, 'EEXIST')) throw err;
        const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        // Our own pid means a previous agent in this process was not stopped cleanly.
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidIsAlive(pid)) {
          throw new BufferLockedError(this.dir, pid);
        }
        await rm(path, { force: true });
      }
    }
    throw new Error(`could not lock buffer directory ${this.dir}`);
  }

  private async load(): Promise<void> {
    const names = await readdir(this.dir);
    for (const name of names) {
      if (name.startsWith(tmpPrefix)) await rm(join(this.dir, name), { force: true });
    }
    const found: BufferEntry[] = [];
    for (const name of names) {
      const match = batchFilePattern.exec(name);
      if (!match) continue;
      const batch = await this.readFile(name);
      if (!batch) continue;
      found.push({
        seq: Number(match[1]),
        batchId: match[2] ?? batch.batchId,
        file: name,
        sampleCount: batch.chunks.reduce((n, c) => n + c.samples.length, 0),
      });
    }
    found.sort((a, b) => a.seq - b.seq);
    this.entries.push(...found);
    const last = found.at(-1);
    this.nextSeq = last ? last.seq + 1 : 0;
    // A directory that is over the bound (e.g. the bound was lowered) is trimmed now.
    await this.removeDropped(this.dropOverflow());
    if (found.length > 0) {
      this.logger.log('info', 'buffer_resumed', {
        dir: this.dir,
        batches: this.entries.length,
        oldestSeq: this.entries[0]?.seq,
        nextSeq: this.nextSeq,
      });
    }
  }

  /** Reads and validates one file; a corrupt file is moved to rejected/ and yields undefined. */
  private async readFile(name: string): Promise<BufferedBatch | undefined> {
    const path = join(this.dir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isNodeError(err, 'ENOENT')) return undefined;
      throw err;
    }
    try {
      return bufferedBatchSchema.parse(JSON.parse(text));
    } catch (err) {
      this.logger.log('error', 'buffer_file_corrupt', { file: name, error: errorMessage(err) });
      await rename(path, join(this.rejectedDir, `corrupt-${name}`)).catch(() => rm(path, { force: true }));
      return undefined;
    }
  }

  get size(): number {
    return this.entries.length;
  }

  get sampleCount(): number {
    return this.entries.reduce((n, e) => n + e.sampleCount, 0);
  }

  /** The buffered entries, oldest first (a copy). */
  list(): BufferEntry[] {
    return [...this.entries];
  }

  /**
   * Persists one scrape cycle as a new batch (durably, before returning), then
   * enforces the bound by dropping the oldest batches that are not being sent.
   */
  async append(chunks: WireSample[][], createdAt = new Date()): Promise<AppendResult> {
    const seq = this.nextSeq++;
    const batchId = randomUUID();
    const batch: BufferedBatch = {
      version: 1,
      seq,
      batchId,
      createdAt: createdAt.toISOString(),
      chunks: chunks.map((samples, i) => ({
        batchId: chunks.length === 1 ? batchId : `${batchId}.${i}`,
        samples,
      })),
    };
    const file = batchFileName(seq, batchId);
    await writeFileAtomic(this.dir, file, JSON.stringify(batch));
    const entry: BufferEntry = {
      seq,
      batchId,
      file,
      sampleCount: chunks.reduce((n, c) => n + c.length, 0),
    };
    this.entries.push(entry);
    const dropped = this.dropOverflow();
    await this.removeDropped(dropped);
    return { entry, dropped };
  }

  private dropOverflow(): BufferEntry[] {
    const dropped: BufferEntry[] = [];
    let i = 0;
    while (this.entries.length > this.maxBatches && i < this.entries.length) {
      const candidate = this.entries[i];
      if (!candidate) break;
      if (this.inFlight.has(candidate.seq)) {
        i++;
        continue;
      }
      this.entries.splice(i, 1);
      dropped.push(candidate);
    }
    this.droppedBatches += dropped.length;
    this.droppedSamples += dropped.reduce((n, e) => n + e.sampleCount, 0);
    return dropped;
  }

  private async removeDropped(dropped: BufferEntry[]): Promise<void> {
    for (const entry of dropped) await rm(join(this.dir, entry.file), { force: true });
    if (dropped.length > 0) {
      this.logger.log('warn', 'buffer_full_dropped_oldest', {
        droppedBatches: dropped.length,
        droppedSamples: dropped.reduce((n, e) => n + e.sampleCount, 0),
        firstSeq: dropped[0]?.seq,
        lastSeq: dropped.at(-1)?.seq,
        totalDroppedBatches: this.droppedBatches,
      });
    }
  }

  /** Claims the oldest batch for sending; it will not be dropped until released. */
  claimOldest(): BufferEntry | undefined {
    const entry = this.entries.find((e) => !this.inFlight.has(e.seq));
    if (entry) this.inFlight.add(entry.seq);
    return entry;
  }

  release(entry: BufferEntry): void {
    this.inFlight.delete(entry.seq);
  }

  /** The current content of a claimed batch, or undefined if it vanished or was corrupt. */
  async read(entry: BufferEntry): Promise<BufferedBatch | undefined> {
    const batch = await this.readFile(entry.file);
    if (!batch || batch.chunks.length === 0) {
      this.forget(entry);
      if (batch) await rm(join(this.dir, entry.file), { force: true });
      return undefined;
    }
    return batch;
  }

  private forget(entry: BufferEntry): void {
    const index = this.entries.findIndex((e) => e.seq === entry.seq);
    if (index >= 0) this.entries.splice(index, 1);
  }

  /**
   * The collector committed (or de-duplicated) chunk `index`: remove it, and the
   * whole file once it has no chunks left.
   */
  async completeChunk(entry: BufferEntry, batch: BufferedBatch, index: number): Promise<void> {
    const done = batch.chunks[index];
    const rest = batch.chunks.filter((_, i) => i !== index);
    if (rest.length === 0) {
      this.forget(entry);
      await unlink(join(this.dir, entry.file)).catch((err: unknown) => {
        if (!isNodeError(err, 'ENOENT')) throw err;
      });
      await fsyncDir(this.dir);
      return;
    }
    batch.chunks = rest;
    entry.sampleCount -= done?.samples.length ?? 0;
    await writeFileAtomic(this.dir, entry.file, JSON.stringify(batch));
  }

  /**
   * Replaces chunk `index` by its two halves, with batch ids derived from its own
   * so that a retry after a crash still de-duplicates. False when it cannot be split.
   */
  async splitChunk(entry: BufferEntry, batch: BufferedBatch, index: number): Promise<boolean> {
    const chunk = batch.chunks[index];
    if (!chunk || chunk.samples.length < 2 || chunk.batchId.length + 2 > 128) return false;
    const middle = Math.ceil(chunk.samples.length / 2);
    const halves: BufferedChunk[] = [
      { batchId: `${chunk.batchId}.0`, samples: chunk.samples.slice(0, middle) },
      { batchId: `${chunk.batchId}.1`, samples: chunk.samples.slice(middle) },
    ];
    batch.chunks = [...batch.chunks.slice(0, index), ...halves, ...batch.chunks.slice(index + 1)];
    await writeFileAtomic(this.dir, entry.file, JSON.stringify(batch));
    return true;
  }

  /** Keeps a copy of a chunk the collector refused (for a human to inspect), then removes it. */
  async rejectChunk(
    entry: BufferEntry,
    batch: BufferedBatch,
    index: number,
    reason: { status: number; error: unknown },
  ): Promise<void> {
    const chunk = batch.chunks[index];
    if (chunk) {
      const name = `${String(entry.seq).padStart(12, '0')}-${chunk.batchId}.json`;
      const record = {
        rejectedAt: new Date().toISOString(),
        status: reason.status,
        error: reason.error,
        batchId: chunk.batchId,
        samples: chunk.samples,
      };
      await writeFileAtomic(this.rejectedDir, name, JSON.stringify(record));
      await this.trimRejected();
    }
    await this.completeChunk(entry, batch, index);
  }

  private async trimRejected(): Promise<void> {
    const names = (await readdir(this.rejectedDir)).filter((n) => !n.startsWith(tmpPrefix)).sort();
    const excess = names.length - this.maxRejected;
    for (const name of names.slice(0, Math.max(0, excess))) {
      await rm(join(this.rejectedDir, name), { force: true });
    }
  }

  async close(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await rm(join(this.dir, lockFileName), { force: true });
  }
}
