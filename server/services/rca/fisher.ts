// Exact test for a 2×2 table, used by the fleet root-cause candidate (SPEC §7: "significantly
// more on appliances sharing the value than on those without it").

const logFactorials: number[] = [0];

function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials.push(logFactorials[i - 1]! + Math.log(i));
  return logFactorials[n]!;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * One-sided ("greater") Fisher exact test of the 2×2 table
 *
 *             firing   quiet
 *   with       a        b
 *   without    c        d
 *
 * Returns the probability, under independence with the margins fixed, of seeing `a` or more
 * firing appliances among those with the value: the sum of hypergeometric terms
 * C(a+b, x)·C(c+d, K−x) / C(N, K) for x ≥ a, with K = a + c and N = a + b + c + d. This is R's
 * `fisher.test(matrix(c(a, c, b, d), 2), alternative = "greater")$p.value`. Counts are
 * non-negative integers; cost is linear in min(a+b, K).
 */
export function fisherExactGreater(a: number, b: number, c: number, d: number): number {
  for (const v of [a, b, c, d]) if (!Number.isInteger(v) || v < 0) throw new RangeError('counts must be non-negative integers');
  const rowWith = a + b;
  const firing = a + c;
  const total = rowWith + c + d;
  const top = Math.min(rowWith, firing);
  const logDenominator = logChoose(total, firing);
  let p = 0;
  for (let x = a; x <= top; x++) {
    const quiet = firing - x;
    if (quiet > c + d) continue;
    p += Math.exp(logChoose(rowWith, x) + logChoose(c + d, quiet) - logDenominator);
  }
  return Math.min(1, p);
}
