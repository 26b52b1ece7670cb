// A tiny hash router: `#/tickets/42?tab=x` → { path: '/tickets/42', params, query }.
export interface Route {
  name: string;
  params: Record<string, string>;
}

interface RouteDef {
  name: string;
  parts: string[];
}

const ROUTES: RouteDef[] = [
  ['login', '/login'],
  ['survey', '/survey/:token'],
  ['signup', '/signup'],
  ['verify', '/verify/:token'],
  ['signups', '/signups'],
  ['admin-signups', '/admin/signups'],
  ['fleet', '/fleet'],
  ['queue', '/queue'],
  ['ticket', '/tickets/:id'],
  ['appliances', '/appliances'],
  ['appliance', '/appliances/:id'],
  ['findings', '/findings'],
  ['chats', '/chats'],
  ['reports', '/reports'],
  ['admin-rules', '/admin/rules'],
  ['admin-maintenance', '/admin/maintenance-windows'],
  ['admin-holidays', '/admin/holidays'],
  ['admin-releases', '/admin/releases'],
  ['admin-integrations', '/admin/integrations'],
  ['admin-customers', '/admin/customers'],
  ['admin-appliances', '/admin/appliances'],
  ['admin-users', '/admin/users'],
  ['admin-outbox', '/admin/outbox'],
  ['settings', '/settings'],
  ['sites', '/sites'],
  ['home', '/'],
].map(([name, pattern]) => ({ name: name!, parts: pattern!.split('/').filter(Boolean) }));

function match(path: string): Route {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const def of ROUTES) {
    if (def.parts.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    def.parts.forEach((p, i) => {
      const s = segs[i] ?? '';
      if (p.startsWith(':')) params[p.slice(1)] = s;
      else if (p !== s) ok = false;
    });
    if (ok) return { name: def.name, params };
  }
  return { name: 'not-found', params: {} };
}

// Links that leave the product by e-mail are real paths (SPEC §2.4: `<PUBLIC_URL>/survey/<token>`);
// the server answers every path with the app, and the app reads such a path before the hash.
const PATH_ROUTES = /^\/survey\/[^/]+\/?$/;

function readHash(): { path: string; query: URLSearchParams } {
  if (!location.hash && PATH_ROUTES.test(location.pathname)) return { path: location.pathname, query: new URLSearchParams(location.search) };
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path = '/', qs = ''] = raw.split('?', 2);
  return { path, query: new URLSearchParams(qs) };
}

export class Router {
  path = $state('/');
  query = $state(new URLSearchParams());
  route: Route = $derived(match(this.path));

  constructor() {
    this.sync();
    window.addEventListener('hashchange', () => this.sync());
  }

  private sync(): void {
    const { path, query } = readHash();
    this.path = path;
    this.query = query;
  }

  /** Navigate; `replace` does not add a history entry. */
  go(path: string, query?: Record<string, string | undefined>, replace = false): void {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v) qs.set(k, v);
    const s = qs.toString();
    const hash = `#${path}${s ? `?${s}` : ''}`;
    if (replace) {
      history.replaceState(history.state, '', hash);
      this.sync();
    } else {
      location.hash = hash;
    }
  }

  /** Update the query string of the current page in place (filters), without a history entry. */
  setQuery(query: Record<string, string | undefined>): void {
    this.go(this.path, query, true);
  }
}

export const router = new Router();

export function href(path: string, query?: Record<string, string | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) qs.set(k, v);
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}
