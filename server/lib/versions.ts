// Software versions (SynetoOS, hypervisor), compared part by part: "6.10.0" after "6.9.2".
// One order for the whole product: the version rule, the health score and the health
// report must agree on which versions are behind the current release (the catalogue).

function tokens(version: string): (number | string)[] {
  return (version.match(/\d+|[A-Za-z]+/g) ?? []).map((t) => (/^\d+$/.test(t) ? Number(t) : t.toLowerCase()));
}

/**
 * -1, 0 or 1. Numbers compare as numbers and a missing number counts as 0 ("6.1" = "6.1.0",
 * "5.2" < "5.2.1"); a pre-release tag comes before its release ("5.2-rc1" < "5.2") and a
 * release number after a tag.
 */
export function compareVersions(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i] ?? (typeof tb[i] === 'number' ? 0 : undefined);
    const y = tb[i] ?? (typeof ta[i] === 'number' ? 0 : undefined);
    if (x === y) continue;
    if (x === undefined) return 1; // y is a tag: "5.2" > "5.2-rc"
    if (y === undefined) return -1;
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
    if (typeof x === 'number') return 1; // a release number beats a pre-release tag
    if (typeof y === 'number') return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}
