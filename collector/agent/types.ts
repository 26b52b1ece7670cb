import { z } from 'zod';

// The shape the collector's `POST /ingest/metrics` takes, one sample at a time.
export const wireSampleSchema = z.object({
  metric: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  ts: z.number(),
  value: z.number(),
});
export type WireSample = z.infer<typeof wireSampleSchema>;

// Batch ids travel to the server, which accepts 1–128 chars of [A-Za-z0-9._:-].
export const batchIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
export const batchIdSchema = z.string().regex(batchIdPattern);

/** A request-sized piece of a buffered batch; its batchId is what the server de-duplicates on. */
export const bufferedChunkSchema = z.object({
  batchId: batchIdSchema,
  samples: z.array(wireSampleSchema),
});
export type BufferedChunk = z.infer<typeof bufferedChunkSchema>;

/** One file in the buffer directory: one scrape cycle, possibly split into chunks. */
export const bufferedBatchSchema = z.object({
  version: z.literal(1),
  seq: z.number().int().nonnegative(),
  batchId: batchIdSchema,
  createdAt: z.string(),
  chunks: z.array(bufferedChunkSchema),
});
export type BufferedBatch = z.infer<typeof bufferedBatchSchema>;
