import type { Catalogue } from '../lib/i18n-types.ts';

/** The page shown for an unknown address or a record the reader may not see. */
export default {
  en: {
    'notFound.title': 'Not found',
    'notFound.page': 'This page does not exist, or you do not have access to it.',
    'notFound.ticket': 'This ticket does not exist, or you do not have access to it.',
    'notFound.appliance': 'This appliance does not exist, or you do not have access to it.',
    'notFound.back': 'Back to the fleet',
  },
  it: {
    'notFound.title': 'Non trovato',
    'notFound.page': 'Questa pagina non esiste oppure non hai accesso.',
    'notFound.ticket': 'Questo ticket non esiste oppure non hai accesso.',
    'notFound.appliance': 'Questa appliance non esiste oppure non hai accesso.',
    'notFound.back': 'Torna al parco',
  },
} satisfies Catalogue;
