import type { Catalogue } from '../lib/i18n-types.ts';

/** The sign-in page. */
export default {
  en: {
    'login.title': 'Sign in to Vigil',
    'login.method': 'Sign-in method',
    'login.method.password': 'Email and password',
    'login.method.key': 'API key',
    'login.email': 'Email',
    'login.password': 'Password',
    'login.apiKey': 'API key',
    'login.apiKeyHelp': 'Kept in this browser tab only (session storage) and sent as a bearer token.',
    'login.submit': 'Sign in',
    'login.submitting': 'Signing in…',
    'login.wrongPassword': 'Wrong email or password.',
    'login.wrongKey': 'This API key is not valid.',
  },
  it: {
    'login.title': 'Accedi a Vigil',
    'login.method': 'Metodo di accesso',
    'login.method.password': 'E-mail e password',
    'login.method.key': 'Chiave API',
    'login.email': 'E-mail',
    'login.password': 'Password',
    'login.apiKey': 'Chiave API',
    'login.apiKeyHelp': 'Conservata solo in questa scheda del browser (session storage) e inviata come bearer token.',
    'login.submit': 'Accedi',
    'login.submitting': 'Accesso in corso…',
    'login.wrongPassword': 'E-mail o password errate.',
    'login.wrongKey': 'Questa chiave API non è valida.',
  },
} satisfies Catalogue;
