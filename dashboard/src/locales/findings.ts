import type { Catalogue } from '../lib/i18n-types.ts';

/** Findings: detections that did not open a ticket. */
export default {
  en: {
    'findings.title': 'Findings',
    'findings.count_one': '{{count}} finding',
    'findings.count_other': '{{count}} findings',
    'findings.help': 'Detections that did not open a ticket, e.g. “Not covered” on appliances without SERENITY entitlement.',
    'findings.filters': 'Finding filters',
    'findings.state': 'State',
    'findings.any': 'Any',
    'findings.customer': 'Customer',
    'findings.priority': 'Priority',
    'findings.summary': 'Summary',
    'findings.appliance': 'Appliance',
    'findings.firstSeen': 'First seen',
    'findings.open': 'Open',
    'findings.none': 'No findings.',
  },
  it: {
    'findings.title': 'Rilevazioni',
    'findings.count_one': '{{count}} rilevazione',
    'findings.count_other': '{{count}} rilevazioni',
    'findings.help': 'Rilevazioni che non hanno aperto un ticket, ad es. “Non coperto” per appliance senza contratto SERENITY.',
    'findings.filters': 'Filtri delle rilevazioni',
    'findings.state': 'Stato',
    'findings.any': 'Qualsiasi',
    'findings.customer': 'Cliente',
    'findings.priority': 'Priorità',
    'findings.summary': 'Oggetto',
    'findings.appliance': 'Appliance',
    'findings.firstSeen': 'Prima rilevazione',
    'findings.open': 'Apri',
    'findings.none': 'Nessuna rilevazione.',
  },
} satisfies Catalogue;
