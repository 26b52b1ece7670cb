import { describe, expect, it } from 'vitest';
import { csvField } from '../../server/services/reports/csv.ts';
import { daysToThreshold, DAY_SECONDS } from '../../server/services/reports/forecast.ts';
import { previousWeek, resolvePeriod } from '../../server/services/reports/stored.ts';
import { barChart, escapeXml, lineChart } from '../../server/services/reports/svg.ts';
import { compareVersions } from '../../server/lib/versions.ts';

describe('capacity forecast', () => {
  const perDay = (ratio: number) => ratio / DAY_SECONDS;
  it('counts days from the fitted value at the end of the period', () => {
    expect(daysToThreshold({ valueAtReference: 0.7, slope: perDay(0.01) }, 0.69, 0.9)).toBeCloseTo(20, 9);
    expect(daysToThreshold({ valueAtReference: 0.62, slope: perDay(0.004) }, 0.62, 0.8)).toBeCloseTo(45, 9);
  });
  it('is 0 when the pool is already there, null when it is not filling', () => {
    expect(daysToThreshold({ valueAtReference: 0.75, slope: perDay(0.01) }, 0.81, 0.8)).toBe(0);
    expect(daysToThreshold({ valueAtReference: 0.5, slope: 0 }, 0.5, 0.8)).toBeNull();
    expect(daysToThreshold({ valueAtReference: 0.5, slope: perDay(-0.01) }, 0.5, 0.8)).toBeNull();
    expect(daysToThreshold({ valueAtReference: 0.5, slope: 1e-22 }, 0.5, 0.8)).toBeNull();
  });
});

describe('software versions', () => {
  it('compares part by part, numerically', () => {
    expect(compareVersions('5.10.0', '5.9.3')).toBeGreaterThan(0);
    expect(compareVersions('5.2', '5.2.1')).toBeLessThan(0);
    expect(compareVersions('5.2.1', '5.2.1')).toBe(0);
    expect(compareVersions('5.2-rc1', '5.2')).toBeLessThan(0);
  });
});

describe('report periods', () => {
  it('takes the previous Monday-to-Monday week in Europe/Rome', () => {
    const week = previousWeek(new Date('2026-03-09T05:00:00Z'));
    expect(week.from.toISOString()).toBe('2026-03-01T23:00:00.000Z');
    expect(week.to.toISOString()).toBe('2026-03-08T23:00:00.000Z');
  });
  it('follows daylight saving: the week in which CEST starts is 167 hours long', () => {
    const week = previousWeek(new Date('2026-03-30T04:00:00Z'));
    expect(week.from.toISOString()).toBe('2026-03-22T23:00:00.000Z');
    expect(week.to.toISOString()).toBe('2026-03-29T22:00:00.000Z');
  });
  it('defaults to the last 30 days and refuses empty or over-long periods', () => {
    const now = new Date('2026-04-01T00:00:00Z');
    expect(resolvePeriod(undefined, undefined, now).from.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(() => resolvePeriod('2026-03-02T00:00:00Z', '2026-03-01T00:00:00Z', now)).toThrow(/before/);
    expect(() => resolvePeriod('2024-01-01T00:00:00Z', '2026-01-01T00:00:00Z', now)).toThrow(/at most/);
  });
});

describe('CSV and SVG output', () => {
  it('quotes CSV fields and defuses formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
  });
  it('escapes text in charts', () => {
    expect(escapeXml('<b>&"\'')).toBe('&lt;b&gt;&amp;&quot;&#39;');
    const svg = barChart([{ label: '<script>', value: 3 }], { title: 't' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
  });
  it('draws a gap where a day has no score', () => {
    const svg = lineChart(
      [
        { label: 'a', value: 50 },
        { label: 'b', value: 60 },
        { label: 'c', value: null },
        { label: 'd', value: 70 },
        { label: 'e', value: 80 },
      ],
      { title: 'trend' },
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
  });
});
