import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../server/services/reports/html.ts';
import { reportMessages } from '../../server/services/reports/messages.ts';

const params = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('health report catalogue', () => {
  it('has the same keys and parameters in English and Italian, none empty', () => {
    expect(Object.keys(reportMessages.it).sort()).toEqual(Object.keys(reportMessages.en).sort());
    for (const [key, en] of Object.entries(reportMessages.en)) {
      const it = reportMessages.it[key]!;
      expect(en.trim(), key).not.toBe('');
      expect(it.trim(), key).not.toBe('');
      expect(params(it), key).toEqual(params(en));
    }
  });

  it('writes durations in the reader’s language (days: "d" / "g")', () => {
    expect(formatDuration(200_000, 'en')).toBe('2 d 7 h');
    expect(formatDuration(200_000, 'it')).toBe('2 g 7 h');
    expect(formatDuration(8125, 'it')).toBe('2 h 15 min');
    expect(formatDuration(null, 'it')).toBe('—');
  });
});
