import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative time slicing for long loops on the event loop (SPEC §10: one appliance must not
 * hurt another). A loop over a large batch calls `pause()` now and then; once `budgetMs` of
 * wall time has passed since the last turn, `pause()` yields (setImmediate), so requests of
 * other tokens, `/healthz` and socket I/O run before the loop goes on. While the budget lasts
 * it resolves at once, so small batches pay one clock read per call and nothing else.
 */
export class TimeSlice {
  private since = performance.now();

  /** @param budgetMs how long (ms) the loop may hold the event loop between two yields */
  constructor(private readonly budgetMs = 2) {}

  /** Yields to the event loop when this slice's budget is spent; else resolves at once. */
  async pause(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await nextTurn();
    this.since = performance.now();
  }
}

/**
 * `JSON.stringify(items)` built `perSlice` items at a time with a `slice.pause()` between, so a
 * 5 MB array does not hold the event loop for tens of milliseconds. Same text as
 * `JSON.stringify` for an array of JSON-able values.
 */
export async function stringifyInSlices(items: readonly unknown[], slice: TimeSlice, perSlice = 256): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i += perSlice) {
    const text = JSON.stringify(items.slice(i, i + perSlice));
    parts.push(text.slice(1, -1));
    await slice.pause();
  }
  return `[${parts.join(',')}]`;
}
