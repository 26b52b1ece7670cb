import type { BenchResult } from './types.ts';

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

function formatValue(r: BenchResult): string {
  return `${numberFormat.format(r.value)} ${r.unit}`.trim();
}

/** A plain-text table of results, one row each, aligned. */
export function formatTable(results: BenchResult[]): string {
  const header = ['section', 'measure', 'value', 'target', 'ok', 'notes'];
  const rows = results.map((r) => [r.section, r.name, formatValue(r), r.target ?? '', r.pass === undefined ? '' : r.pass ? 'yes' : 'NO', r.notes ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
