/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import type { Catalogue } from '../../dashboard/src/lib/i18n-types.ts';

// Every area's catalogue has the same keys in English and Italian, no empty strings, the same
// interpolation parameters in both, and no key defined by two areas.
const modules = import.meta.glob<Catalogue>('../../dashboard/src/locales/*.ts', { eager: true, import: 'default' });

const params = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('dashboard message catalogues', () => {
  it('are found', () => {
    expect(Object.keys(modules).length).toBeGreaterThan(0);
  });

  for (const [file, cat] of Object.entries(modules)) {
    it(`${file.split('/').pop()}: English and Italian have the same keys and parameters`, () => {
      expect(Object.keys(cat.it).sort()).toEqual(Object.keys(cat.en).sort());
      for (const [key, en] of Object.entries(cat.en)) {
        const it = cat.it[key]!;
        expect(en.trim(), key).not.toBe('');
        expect(it.trim(), key).not.toBe('');
        expect(params(it), key).toEqual(params(en));
      }
    });
  }

  it('no key is defined by two areas', () => {
    const seen = new Map<string, string>();
    for (const [file, cat] of Object.entries(modules)) {
      for (const key of Object.keys(cat.en)) {
        expect(seen.get(key), `${key} in ${file}`).toBeUndefined();
        seen.set(key, file);
      }
    }
  });
});

describe('labels for what the server can send', () => {
  const all: Catalogue = { en: {}, it: {} };
  for (const cat of Object.values(modules)) {
    Object.assign(all.en, cat.en);
    Object.assign(all.it, cat.it);
  }
  it('every e-mail kind a user can mute in Settings has a label in both languages', async () => {
    const { notificationKinds } = await import('../../server/services/notifications/templates.ts');
    const missing = notificationKinds.filter((k) => !all.en[`settings.kind.${k}`] || !all.it[`settings.kind.${k}`]);
    expect(missing).toEqual([]);
  });
});
