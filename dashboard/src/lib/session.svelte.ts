import { api, getApiKey, onUnauthorized, setApiKey, ApiError } from './api.ts';
import { setLocale, t } from './i18n.svelte.ts';
import type { Role, User } from './types.ts';

export type SessionState = 'checking' | 'anonymous' | 'authenticated';

export class Session {
  state: SessionState = $state('checking');
  user: User | null = $state(null);
  /** Why the user was sent back to the login page, if not by choice. */
  notice: string | null = $state(null);
  /** True when authenticated with an API key (kept in sessionStorage) rather than a cookie. */
  usesApiKey = $state(getApiKey() !== null);

  role: Role | null = $derived(this.user?.role ?? null);
  isStaff = $derived(this.user?.role === 'admin' || this.user?.role === 'engineer');
  isAdmin = $derived(this.user?.role === 'admin');

  constructor() {
    onUnauthorized(() => {
      if (this.state === 'authenticated') this.notice = t('nav.sessionExpired');
      this.clear();
    });
  }

  /** Signs `user` in and shows the dashboard in the language they chose (SPEC §8: `language`). */
  private signedIn(user: User): void {
    this.user = user;
    if (user.language) setLocale(user.language);
    this.state = 'authenticated';
  }

  /** Restores a session from the cookie or the stored API key. */
  async restore(): Promise<void> {
    this.state = 'checking';
    try {
      const { user } = await api.me();
      this.signedIn(user);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setApiKey(null);
        this.usesApiKey = false;
      }
      this.user = null;
      this.state = 'anonymous';
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
  }

  async loginWithPassword(email: string, password: string): Promise<void> {
    setApiKey(null);
    this.usesApiKey = false;
    const { user } = await api.login(email, password);
    this.notice = null;
    this.signedIn(user);
  }

  async loginWithKey(key: string): Promise<void> {
    setApiKey(key.trim());
    this.usesApiKey = true;
    try {
      const { user } = await api.me();
      this.notice = null;
      this.signedIn(user);
    } catch (err) {
      setApiKey(null);
      this.usesApiKey = false;
      throw err;
    }
  }

  async logout(): Promise<void> {
    if (!this.usesApiKey) {
      try {
        await api.logout();
      } catch {
        // The cookie may already be gone; the local state is cleared regardless.
      }
    }
    this.notice = null;
    this.clear();
  }

  private clear(): void {
    setApiKey(null);
    this.usesApiKey = false;
    this.user = null;
    this.state = 'anonymous';
  }
}

export const session = new Session();

/** The role's name in the reader's language ("Administrator", "Amministratore"). */
export function roleLabel(role: Role): string {
  return t(`nav.role.${role}`);
}
