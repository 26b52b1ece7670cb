import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../drizzle/client.ts';
import { migrationsFolder } from '../../drizzle/migrate.ts';
import { backends } from './harness.ts';

const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };

/** Runs one committed migration file the way the migrator does: statement by statement. */
async function apply(database: Database, tag: string): Promise<void> {
  const text = readFileSync(path.join(migrationsFolder, `${tag}.sql`), 'utf8');
  for (const statement of text.split('--> statement-breakpoint')) {
    if (statement.trim()) await database.query(statement);
  }
}

describe.each(backends)('migration 0005 (chunked samples) on %s', (backend) => {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (backend === 'postgres') {
      const base = new URL(process.env.DATABASE_URL!);
      const name = `vigil_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      await admin.end();
      const url = new URL(base);
      url.pathname = `/${name}`;
      database = openDatabase({ databaseUrl: url.toString(), maxConnections: 2 });
      drop = async () => {
        const cleanup = postgres(base.toString(), { max: 1, onnotice: () => {} });
        await cleanup.unsafe(`drop database if exists ${name} with (force)`);
        await cleanup.end();
      };
    } else {
      database = openDatabase({});
    }
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  it('moves the stored samples into one chunk per series and hour, in time order, and drops the table', async () => {
    const index = journal.entries.findIndex((e) => e.tag.startsWith('0005_'));
    expect(index).toBe(5);
    for (const entry of journal.entries.slice(0, index)) await apply(database, entry.tag);

    const [customer] = await database.query<{ id: string }>(`insert into customers (name, tier, serenity) values ('Migrated', 'pro', false) returning id::text as id`);
    const [appliance] = await database.query<{ id: string }>(
      `insert into appliances (customer_id, serial, hardware_id, model) values ($1::text::uuid, 'SN-MIG', 'HW-MIG', 'HYPER-2000') returning id::text as id`,
      [customer!.id],
    );
    const series = await database.query<{ id: string }>(
      `insert into series (appliance_id, metric, labels, labels_key)
       values ($1::text::uuid, 'pool_capacity_ratio', '{"pool":"tank"}', 'pool=tank'), ($1::text::uuid, 'fan_ok', '{}', '')
       returning id::text as id`,
      [appliance!.id],
    );
    // Two series, 150 minutes of a sample a minute (inserted newest first), across four hours.
    const start = Date.parse('2026-03-02T06:45:00Z');
    const points: { series: string; ts: number; value: number }[] = [];
    for (const s of series) for (let i = 149; i >= 0; i--) points.push({ series: s.id, ts: start + i * 60_000, value: i * 1.5 });
    await database.query(
      `insert into samples (series_id, ts, value)
       select u.s, timestamptz 'epoch' + u.t * interval '1 millisecond', u.v from unnest($1::text::int8[], $2::text::int8[], $3::text::float8[]) as u(s, t, v)`,
      [`{${points.map((x) => x.series).join(',')}}`, `{${points.map((x) => x.ts).join(',')}}`, `{${points.map((x) => x.value).join(',')}}`],
    );

    await apply(database, journal.entries[index]!.tag);

    const chunks = await database.query<{ series_id: string; first: number; last: number; n: number; compacted: boolean; offsets: number[]; values: number[] }>(
      `select series_id::text as series_id, (extract(epoch from first_ts) * 1000)::float8 as first, (extract(epoch from last_ts) * 1000)::float8 as last,
              point_count as n, compacted, point_offsets as offsets, point_values as values
         from sample_chunks order by series_id, first_ts`,
    );
    const hour = Date.parse('2026-03-02T07:00:00Z');
    for (const s of series) {
      const own = chunks.filter((c) => c.series_id === s.id);
      expect(own.map((c) => [Number(c.first), Number(c.last), c.n, c.compacted])).toEqual([
        [start, hour - 60_000, 15, true],
        [hour, hour + 59 * 60_000, 60, true],
        [hour + 3_600_000, hour + 3_600_000 + 59 * 60_000, 60, true],
        [hour + 7_200_000, start + 149 * 60_000, 15, true],
      ]);
      const stored = own.flatMap((c) => c.offsets.map((o, i) => [Number(c.first) + Number(o), Number(c.values[i])]));
      expect(stored).toEqual(Array.from({ length: 150 }, (_, i) => [start + i * 60_000, i * 1.5]));
    }
    // The old name answers the same points through the view; the table is gone.
    const [{ n }] = (await database.query<{ n: number }>(`select count(*)::int4 as n from samples`)) as [{ n: number }];
    expect(Number(n)).toBe(300);
    const [{ kind }] = (await database.query<{ kind: string }>(`select relkind::text as kind from pg_class where relname = 'samples'`)) as [{ kind: string }];
    expect(kind).toBe('v');
  });
});
