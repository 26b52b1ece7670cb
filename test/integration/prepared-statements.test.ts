import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rawQuery, type Database } from '../../drizzle/client.ts';
import { customers } from '../../drizzle/schema/index.ts';
import { createTestPlatform, type TestPlatform } from './harness.ts';

// docs/decisions/0005-hot-path-sql.md: on PostgreSQL every statement is prepared once per
// connection. drizzle's own queries are made so by a patch of its session in drizzle/client.ts,
// which a drizzle upgrade could undo without any other test noticing (only the speed would).
describe.skipIf(!process.env.DATABASE_URL)('prepared statements on PostgreSQL', () => {
  let p: TestPlatform;
  let one: Database;
  beforeAll(async () => {
    p = await createTestPlatform('postgres');
    // One connection, so the statements below and pg_prepared_statements share a session.
    one = openDatabase({ databaseUrl: p.deps.config.DATABASE_URL, maxConnections: 1 });
  });
  afterAll(async () => {
    await one?.close();
    await p?.stop();
  });

  it('drizzle queries, rawQuery and database.query are prepared on their connection', async () => {
    const id = randomUUID();
    for (let i = 0; i < 2; i++) {
      await one.db.select({ id: customers.id }).from(customers).where(eq(customers.id, id));
      await one.db.transaction((tx) => rawQuery(tx, 'select count(*) from alerts where fingerprint = $1::text', [id]));
      await one.query('select count(*) from tickets where id = $1::text::uuid', [id]);
    }
    const rows = await one.query<{ statement: string }>('select statement from pg_prepared_statements', [], { prepare: false });
    const texts = rows.map((r) => r.statement);
    expect(texts.filter((t) => t.startsWith('select "id" from "customers"'))).toHaveLength(1);
    expect(texts).toContain('select count(*) from alerts where fingerprint = $1::text');
    expect(texts).toContain('select count(*) from tickets where id = $1::text::uuid');
  });
});
