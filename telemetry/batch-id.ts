/**
 * A batch id: what makes a retried push idempotent (SPEC §5.2 `POST /ingest/metrics`; the agent, §5.3, keeps a
 * batch's id for life). 1–128 characters of letters, digits and `._:-`, in the JSON body of
 * native batches and the `?batchId=` query of the scrape-style formats alike.
 */
export const batchIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** The message of a batch id that breaks the pattern, the same on every route. */
export const batchIdMessage = 'batchId must be 1–128 characters of [A-Za-z0-9._:-]';

/** Whether `value` is a batch id by `batchIdPattern`; anything not a string is not. */
export function isBatchId(value: unknown): value is string {
  return typeof value === 'string' && batchIdPattern.test(value);
}
