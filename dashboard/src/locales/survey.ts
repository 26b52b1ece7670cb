import type { Catalogue } from '../lib/i18n-types.ts';

/** The satisfaction survey reached from the link in the closing e-mail. */
export default {
  en: {
    'survey.title': 'How did we do?',
    'survey.thanks': 'Thank you for your feedback.',
    'survey.legend': 'Your rating of the support you received',
    'survey.rating.1': 'Very poor',
    'survey.rating.2': 'Poor',
    'survey.rating.3': 'Fair',
    'survey.rating.4': 'Good',
    'survey.rating.5': 'Excellent',
    'survey.comment': 'Comment (optional)',
    'survey.chooseRating': 'Choose a rating from 1 to 5.',
    'survey.usedOrInvalid': 'This survey link has already been used or is not valid.',
    'survey.send': 'Send',
    'survey.sending': 'Sending…',
  },
  it: {
    'survey.title': 'Come ci siamo comportati?',
    'survey.thanks': 'Grazie per il tuo riscontro.',
    'survey.legend': 'La tua valutazione del supporto ricevuto',
    'survey.rating.1': 'Pessimo',
    'survey.rating.2': 'Scarso',
    'survey.rating.3': 'Sufficiente',
    'survey.rating.4': 'Buono',
    'survey.rating.5': 'Eccellente',
    'survey.comment': 'Commento (facoltativo)',
    'survey.chooseRating': 'Scegli una valutazione da 1 a 5.',
    'survey.usedOrInvalid': 'Questo link al questionario è già stato usato o non è valido.',
    'survey.send': 'Invia',
    'survey.sending': 'Invio…',
  },
} satisfies Catalogue;
