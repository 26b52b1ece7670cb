import type { IncomingMessage, Server } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import { eq } from 'drizzle-orm';
import { WebSocketServer, type WebSocket } from 'ws';
import { customers } from '../../drizzle/schema/index.ts';
import { principalFromBearer, principalFromSession, SESSION_COOKIE, type UserPrincipal } from '../auth/principal.ts';
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
  customers: Set<string> | null;
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

async function authenticateUpgrade(deps: AppDeps, req: IncomingMessage, url: URL): Promise<UserPrincipal | null> {
  const { db } = deps.database;
  const header = req.headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : url.searchParams.get('token');
  if (bearer) {
    const principal = await principalFromBearer(db, deps.clock, bearer);
    return principal?.kind === 'user' ? principal : null;
  }
  const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  return cookie ? principalFromSession(db, deps.clock, cookie) : null;
}

function reject(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : status === 503 ? 'unavailable' : 'not_found', message } });
  socket.write(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 503 ? 'Service Unavailable' : 'Not Found'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroy();
}

/**
 * The live WebSocket at /api/v1/live. Authenticates the upgrade (session cookie, `?token=` or
 * a bearer header; anything else 401 before upgrading), hears every process's domain events
 * on `vigil_live`, and sends each to the sockets whose user may see the event's customer.
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
    authenticateUpgrade(deps, req, url).then(
      (user) => {
        if (!user) return reject(socket, 401, 'authentication required');
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
        deps.logger.warn({ err: String(err) }, 'live: authentication failed');
        reject(socket, 503, 'storage is unavailable, retry later');
      },
    );
  };
  (server as Server).on('upgrade', onUpgrade);

  async function allowedCustomers(client: Client): Promise<Set<string> | 'all'> {
    const { user } = client;
    if (user.role === 'admin' || user.role === 'engineer') return 'all';
    if (user.role === 'customer') return new Set(user.customerId ? [user.customerId] : []);
    const now = performance.now();
    if (!client.customers || now - client.customersAt > SCOPE_TTL_MS) {
      const rows = await deps.database.db.select({ id: customers.id }).from(customers).where(eq(customers.accountManagerId, user.id));
      client.customers = new Set(rows.map((r) => r.id));
      client.customersAt = now;
    }
    return client.customers;
  }

  async function deliver(event: LiveEvent): Promise<void> {
    const message = JSON.stringify({ type: event.type, data: event.data });
    for (const client of clients) {
      if (client.socket.readyState !== client.socket.OPEN) continue;
      const allowed = await allowedCustomers(client);
      if (allowed === 'all' || allowed.has(event.customerId)) client.socket.send(message);
    }
  }

  const unlisten = await deps.database.listen(LIVE_CHANNEL, (payload) => {
    let event: LiveEvent;
    try {
      event = JSON.parse(payload) as LiveEvent;
    } catch {
      return;
    }
    deliver(event).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'live: delivery failed'));
  });

  const ping = setInterval(() => {
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
      for (const client of clients) client.socket.terminate();
      clients.clear();
      gauge();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
