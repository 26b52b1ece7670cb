import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTable } from './lib/table.ts';
import { repoRoot } from './lib/server.ts';
import type { BenchResult } from './lib/types.ts';
import { sections } from './sections/index.ts';

// `npm run bench [-- SECTION…]`: runs the sections (all by default), prints one table and
// writes bench/results/<timestamp>.json. BENCH_POSTGRES_URL names a PostgreSQL server whose
// user may create databases (default postgres://postgres@127.0.0.1:5432/postgres).

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((name) => !sections.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown section(s): ${unknown.join(', ')}; known: ${sections.map((s) => s.name).join(', ')}\n`);
    process.exit(2);
  }
  const chosen = wanted.length > 0 ? sections.filter((s) => wanted.includes(s.name)) : sections;
  const ctx = {
    postgresAdminUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    log: (message: string) => process.stderr.write(`[bench] ${message}\n`),
  };
  const results: BenchResult[] = [];
  const failures: { section: string; error: string }[] = [];
  for (const section of chosen) {
    ctx.log(`section ${section.name}: ${section.description}`);
    try {
      results.push(...(await section.run(ctx)));
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ section: section.name, error });
      ctx.log(`section ${section.name} failed: ${error}`);
    }
  }
  process.stdout.write(`\n${formatTable(results)}\n`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryMb: Math.round(os.totalmem() / 1048576), node: process.version, platform: `${os.platform()} ${os.release()}` };
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine, results, failures }, null, 2)}\n`);
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
  if (failures.length > 0 || results.some((r) => r.pass === false)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
