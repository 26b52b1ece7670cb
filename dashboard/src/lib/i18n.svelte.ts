import i18next from 'i18next';

/**
 * The dashboard's languages: the guide promises "local language support in English and
 * Italian" (support-quick-reference-guide.txt). Every string a person reads goes through `t`.
 *
 * Catalogues live in `dashboard/src/locales/<area>.ts`, one file per area of the dashboard,
 * each `export default { en: {...}, it: {...} } satisfies Catalogue`. Keys are flat and
 * start with the area (`queue.title`); both languages must have the same keys (a unit test
 * holds this). Values use i18next interpolation (`{{count}}`) and plurals (`key_one`,
 * `key_other` with a `count` parameter).
 */
import type { Catalogue, Locale } from './i18n-types.ts';

export type { Catalogue, Locale };
export const LOCALES: readonly Locale[] = ['en', 'it'];

const modules = import.meta.glob<Catalogue>('../locales/*.ts', { eager: true, import: 'default' });

/** Every area's catalogue merged: `messages.en[key]`, `messages.it[key]`. */
export const messages: Catalogue = { en: {}, it: {} };
for (const mod of Object.values(modules)) {
  Object.assign(messages.en, mod.en);
  Object.assign(messages.it, mod.it);
}

const instance = i18next.createInstance();
void instance.init({
  lng: 'en',
  fallbackLng: 'en',
  initAsync: false,
  keySeparator: false,
  nsSeparator: false,
  interpolation: { escapeValue: false }, // Svelte escapes what it renders.
  resources: { en: { translation: messages.en }, it: { translation: messages.it } },
});

const STORAGE_KEY = 'vigil.locale';

function initialLocale(): Locale {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'it') return stored;
  } catch {
    // Storage may be unavailable (privacy mode); the browser's language decides.
  }
  const nav = globalThis.navigator?.language?.toLowerCase() ?? 'en';
  return nav.startsWith('it') ? 'it' : 'en';
}

class LocaleState {
  current: Locale = $state(initialLocale());
}

/** The reader's language; reading it inside a component makes the component follow changes. */
export const i18n = new LocaleState();

/**
 * The string for `key` in the current language, with `params` interpolated (`{{name}}`);
 * `count` selects the plural form. A key missing from the catalogue renders as the key itself
 * (the catalogue test finds those before a user does).
 */
export function t(key: string, params?: Record<string, unknown>): string {
  return instance.t(key, { lng: i18n.current, ...params }) as string;
}

/** Whether the catalogue has `key` (for codes from the server that may have no label yet). */
export function hasMessage(key: string): boolean {
  return instance.exists(key, { lng: i18n.current });
}

/** Switches the dashboard's language (kept in this browser; the user's setting wins at sign-in). */
export function setLocale(locale: Locale): void {
  i18n.current = locale;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, locale);
  } catch {
    // Not persisted; the choice still holds for this page.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = locale;
}

/** BCP 47 tag for Intl formatting: Italian readers get 1.234,5 and 30/11/2026. */
export function localeTag(): string {
  return i18n.current === 'it' ? 'it-IT' : 'en-GB';
}

/** A number formatted for the reader's locale (`Intl.NumberFormat` options). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(localeTag(), options).format(value);
}

/** A date-time formatted for the reader's locale, in `timeZone` when given (IANA name). */
export function formatDateTime(value: Date | string | number, options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' }): string {
  return new Intl.DateTimeFormat(localeTag(), options).format(new Date(value));
}
