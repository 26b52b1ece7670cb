import type { Catalogue } from '../lib/i18n-types.ts';

/** Strings shared by many pages. */
export default {
  en: {
    'common.loading': 'Loading…',
    'common.save': 'Save',
    'common.cancel': 'Cancel',
    'common.language': 'Language',
    'common.language.en': 'English',
    'common.language.it': 'Italiano',
  },
  it: {
    'common.loading': 'Caricamento…',
    'common.save': 'Salva',
    'common.cancel': 'Annulla',
    'common.language': 'Lingua',
    'common.language.en': 'English',
    'common.language.it': 'Italiano',
  },
} satisfies Catalogue;
