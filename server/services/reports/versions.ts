// Software currency: SynetoOS and hypervisor versions compared part by part ("5.10" > "5.9").

function tokens(version: string): (number | string)[] {
  return (version.match(/\d+|[A-Za-z]+/g) ?? []).map((t) => (/^\d+$/.test(t) ? Number(t) : t.toLowerCase()));
}

/** Negative when a < b, positive when a > b, 0 when equal. */
export function compareVersions(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined) return typeof y === 'string' ? 1 : -1; // "5.2" < "5.2.1", but "5.2" > "5.2-rc"
    if (y === undefined) return typeof x === 'string' ? -1 : 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return 1; // a release number beats a pre-release tag
    if (typeof y === 'number') return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function newestVersion(versions: Iterable<string | null | undefined>): string | null {
  let best: string | null = null;
  for (const v of versions) if (v && (best === null || compareVersions(v, best) > 0)) best = v;
  return best;
}
