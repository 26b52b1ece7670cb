import type { IncomingMessage, Server } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { inScope, visibleCustomers, type CustomerSet } from '../auth/scope.ts';
import { redeemLiveTicket, REVOCATION_CHANNEL } from '../auth/live-access.ts';
import { credentialStillValid, principalFromBearer, principalFromSession, SESSION_COOKIE, type UserPrincipal } from '../auth/principal.ts';
import type { AppDeps } from '../composition.ts';
import { LIVE_CHANNEL, type LiveEvent } from './events.ts';

export const LIVE_PATH = '/api/v1/live';
const PING_INTERVAL_MS = 30_000;
// An account manager's customers are re-read at most this often.
const SCOPE_TTL_MS = 10_000;

interface Client {
  socket: WebSocket;
  user: UserPrincipal;
  alive: boolean;
  customers: CustomerSet | null;
  customersAt: number;
}

export interface LiveHub {
  /** Connected sockets, for tests and the gauge. */
  readonly clients: number;
  close(): Promise<void>;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * The user of an upgrade: a bearer header (API key), a one-use `?ticket=` from
 * POST /auth/live-ticket, or the session cookie. A key in the URL (`?token=`) is refused:
 * it would land in proxy and access logs (SPEC §10).
 */
async function authenticateUpgrade(deps: AppDeps, req: IncomingMessage, url: URL): Promise<UserPrincipal | null> {
  const { db } = deps.database;
  const header = req.headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  if (bearer) {
    const principal = await principalFromBearer(db, deps.clock, bearer);
    return principal?.kind === 'user' ? principal : null;
  }
  const ticket = url.searchParams.get('ticket');
  if (ticket) return redeemLiveTicket(db, deps.clock, ticket);
  if (url.searchParams.has('token')) return null;
  const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  return cookie ? principalFromSession(db, deps.clock, cookie) : null;
}

/**
 * A browser's cross-site socket is refused: an `Origin` must be `PUBLIC_URL`'s or the serving
 * host's own (same host and port). Clients that send no Origin (agents, scripts) are not
 * browsers carrying someone else's cookie and pass on to authentication.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, publicUrl: string | undefined): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && parsed.origin === new URL(publicUrl).origin) return true;
  return host !== undefined && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host === host.toLowerCase();
}

const STATUS_TEXT: Record<number, [string, string]> = {
  401: ['Unauthorized', 'unauthorized'],
  403: ['Forbidden', 'forbidden'],
  404: ['Not Found', 'not_found'],
  429: ['Too Many Requests', 'rate_limited'],
  503: ['Service Unavailable', 'unavailable'],
};

function reject(socket: Duplex, status: number, message: string): void {
  const [text, code] = STATUS_TEXT[status] ?? ['Error', 'internal'];
  const body = JSON.stringify({ error: { code, message } });
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\n` + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroy();
}

/** Close code for a socket whose credential was revoked or expired (the dashboard re-checks its login). */
export const CLOSE_UNAUTHORIZED = 4401;

/**
 * The live WebSocket at /api/v1/live. Checks the Origin (403), authenticates the upgrade
 * (session cookie, one-use ticket or a bearer header; anything else 401 before upgrading),
 * caps sockets per user (LIVE_SOCKETS_PER_USER, 429), hears every process's domain events on
 * `vigil_live` and sends each to the sockets whose user may see the event's customer. A socket
 * lives only as long as its credential: a revocation announced on `vigil_revocations` (logout,
 * key rotation, user disabled) and every ping re-validate it, closing it with 4401.
 */
export async function attachLiveHub(server: Server | Http2Server | Http2SecureServer, deps: AppDeps): Promise<LiveHub> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<Client>();
  const gauge = () => deps.metrics.websocketClients.set(clients.size);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_PATH) {
      reject(socket, 404, 'no such WebSocket endpoint');
      return;
    }
    if (!originAllowed(req.headers.origin, req.headers.host, deps.config.PUBLIC_URL)) {
      reject(socket, 403, 'cross-origin WebSocket refused');
      return;
    }
    authenticateUpgrade(deps, req, url).then(
      (user) => {
        if (!user) return reject(socket, 401, 'authentication required');
        let open = 0;
        for (const client of clients) if (client.user.id === user.id) open++;
        if (open >= deps.config.LIVE_SOCKETS_PER_USER) return reject(socket, 429, `at most ${deps.config.LIVE_SOCKETS_PER_USER} live connections per user`);
        wss.handleUpgrade(req, socket, head, (ws) => {
          const client: Client = { socket: ws, user, alive: true, customers: null, customersAt: 0 };
          clients.add(client);
          gauge();
          ws.on('pong', () => {
            client.alive = true;
          });
          ws.on('close', () => {
            clients.delete(client);
            gauge();
          });
          ws.on('error', () => ws.terminate());
          // Clients only listen; anything they send is ignored.
          ws.on('message', () => {});
          ws.send(JSON.stringify({ type: 'hello', data: { userId: user.id, role: user.role } }));
        });
      },
      (err: unknown) => {
        deps.logger.warn({ err }, 'live: authentication failed');
        reject(socket, 503, 'storage is unavailable, retry later');
      },
    );
  };
  (server as Server).on('upgrade', onUpgrade);

  // The scope is the one of server/auth/scope.ts, re-read at most every SCOPE_TTL_MS (an
  // account manager's customers change without the socket reconnecting).
  async function allowedCustomers(client: Client): Promise<CustomerSet> {
    const now = performance.now();
    if (!client.customers || now - client.customersAt > SCOPE_TTL_MS) {
      client.customers = await visibleCustomers(deps.database.db, client.user);
      client.customersAt = now;
    }
    return client.customers;
  }

  async function deliver(event: LiveEvent): Promise<void> {
    const message = JSON.stringify({ type: event.type, data: event.data });
    for (const client of clients) {
      if (client.socket.readyState !== client.socket.OPEN) continue;
      const allowed = await allowedCustomers(client);
      if (inScope(allowed, event.customerId)) client.socket.send(message);
    }
  }

  // Closes the sockets whose credential no longer grants access (of one user, or all).
  async function revalidate(userId: string | null): Promise<void> {
    for (const client of [...clients]) {
      if (userId !== null && client.user.id !== userId) continue;
      if (!(await credentialStillValid(deps.database.db, deps.clock, client.user))) {
        clients.delete(client);
        gauge();
        client.socket.close(CLOSE_UNAUTHORIZED, 'access revoked');
      }
    }
  }

  const unlistenRevocations = await deps.database.listen(REVOCATION_CHANNEL, (userId) => {
    revalidate(userId).catch((err: unknown) => deps.logger.warn({ err }, 'live: revalidation failed'));
  });

  const unlisten = await deps.database.listen(LIVE_CHANNEL, (payload) => {
    let event: LiveEvent;
    try {
      event = JSON.parse(payload) as LiveEvent;
    } catch {
      return;
    }
    deliver(event).catch((err: unknown) => deps.logger.warn({ err }, 'live: delivery failed'));
  });

  const ping = setInterval(() => {
    // Expired sessions and keys end their sockets too, not only announced revocations.
    revalidate(null).catch((err: unknown) => deps.logger.warn({ err }, 'live: revalidation failed'));
    for (const client of clients) {
      if (!client.alive) {
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }, PING_INTERVAL_MS);
  ping.unref();

  return {
    get clients() {
      return clients.size;
    },
    async close() {
      clearInterval(ping);
      (server as Server).off('upgrade', onUpgrade);
      await unlisten().catch(() => {});
      await unlistenRevocations().catch(() => {});
      for (const client of clients) client.socket.terminate();
      clients.clear();
      gauge();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
