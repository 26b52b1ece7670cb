/** The dashboard's languages (the guide: "local language support in English and Italian"). */
export type Locale = 'en' | 'it';

/** One area's strings in both languages: `dashboard/src/locales/<area>.ts` exports one as default. */
export interface Catalogue {
  en: Record<string, string>;
  it: Record<string, string>;
}
