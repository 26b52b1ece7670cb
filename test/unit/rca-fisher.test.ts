import { describe, expect, it } from 'vitest';
import { fisherExactGreater } from '../../server/services/rca/fisher.ts';
import { fleetPValue, fleetScore } from '../../server/services/rca/fleet.ts';
import { scopeCandidateEvidence } from '../../server/services/rca/index.ts';

// Reference values from R: fisher.test(matrix(c(a, c, b, d), 2), alternative = "greater")$p.value
describe('one-sided Fisher exact test', () => {
  it('matches R on the tea-tasting table', () => {
    expect(fisherExactGreater(3, 1, 1, 3)).toBeCloseTo(0.2428571, 6);
  });

  it('matches the textbook dieting example (Wikipedia: one tail = (10·364 + 91) / C(24, 12) ≈ 0.00138)', () => {
    expect(fisherExactGreater(11, 3, 1, 9)).toBeCloseTo(3731 / 2_704_156, 10);
  });

  it('is 1/C(N, a) when every firing appliance has the value and all of them fire', () => {
    expect(fisherExactGreater(3, 0, 0, 10)).toBeCloseTo(1 / 286, 10);
  });

  it('is 1 when nobody lacks the value (no contrast) and when the value fires less than the rest', () => {
    expect(fisherExactGreater(3, 0, 0, 0)).toBeCloseTo(1, 10);
    expect(fisherExactGreater(0, 5, 5, 0)).toBeCloseTo(1, 10);
  });

  it('is small and finite for a large fleet', () => {
    const p = fisherExactGreater(40, 10, 20, 9_930);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-30);
  });

  it('refuses negative or fractional counts', () => {
    expect(() => fisherExactGreater(-1, 0, 0, 0)).toThrow(RangeError);
    expect(() => fisherExactGreater(1.5, 0, 0, 0)).toThrow(RangeError);
  });
});

describe('fleet candidate significance (SPEC §7)', () => {
  it('needs p < 0.05: 3 of 3 firing against 1 quiet appliance is chance (p = 0.25), against 3 quiet it is not (p ≈ 0.029 with 4 of 4)', () => {
    expect(fleetScore({ sameTotal: 3, sameFiring: 3, otherTotal: 1, otherFiring: 0 })).toBeNull();
    expect(fleetPValue({ sameTotal: 3, sameFiring: 3, otherTotal: 1, otherFiring: 0 })).toBeCloseTo(0.25, 10);
    expect(fleetPValue({ sameTotal: 4, sameFiring: 4, otherTotal: 3, otherFiring: 0 })).toBeCloseTo(1 / 35, 10);
    expect(fleetScore({ sameTotal: 4, sameFiring: 4, otherTotal: 3, otherFiring: 0 })).not.toBeNull();
  });

  it('needs at least 3 affected however significant', () => {
    expect(fleetScore({ sameTotal: 2, sameFiring: 2, otherTotal: 10_000, otherFiring: 0 })).toBeNull();
  });
});

describe('fleet evidence as a reader sees it', () => {
  const evidence = {
    value: '7.1.0',
    appliances: [
      { id: 'a1', serial: 'SN-A' },
      { id: 'b1', serial: 'SN-B1' },
      { id: 'b2', serial: 'SN-B2' },
    ],
  };
  it('keeps only visible appliances and counts all of them', () => {
    const seen = scopeCandidateEvidence('fleet', evidence, (id) => id === 'a1');
    expect(seen.appliances).toEqual([{ id: 'a1', serial: 'SN-A' }]);
    expect(seen.affectedCount).toBe(3);
    expect(JSON.stringify(seen)).not.toContain('SN-B');
  });
  it('leaves other kinds alone', () => {
    expect(scopeCandidateEvidence('topology', evidence, () => false)).toBe(evidence);
  });
});
