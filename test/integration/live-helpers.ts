import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { attachLiveHub, type LiveHub } from '../../server/live/hub.ts';
import type { TestPlatform } from './harness.ts';

export interface LiveServer {
  server: Server;
  hub: LiveHub;
  /** ws://127.0.0.1:<port>/api/v1/live */
  url: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  close(): Promise<void>;
}

/** Serves the platform's app on a loopback port with the live hub attached. */
export async function serveLive(p: TestPlatform): Promise<LiveServer> {
  const server = serve({ fetch: p.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  const port = (server.address() as AddressInfo).port;
  const hub = await attachLiveHub(server, p.deps);
  return {
    server,
    hub,
    url: `ws://127.0.0.1:${port}/api/v1/live`,
    origin: `http://127.0.0.1:${port}`,
    async close() {
      await hub.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Listener {
  socket: WebSocket;
  messages: { type: string; data: Record<string, any> }[];
  raw: string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a socket; rejects with `status <code>` when the upgrade is refused. */
export function connectLive(url: string, headers: Record<string, string> = {}): Promise<Listener> {
  return new Promise<Listener>((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const closed = new Promise<{ code: number; reason: string }>((r) => socket.once('close', (code, reason) => r({ code, reason: String(reason) })));
    const listener: Listener = { socket, messages: [], raw: [], closed };
    socket.on('message', (raw) => {
      listener.raw.push(String(raw));
      listener.messages.push(JSON.parse(String(raw)));
    });
    socket.once('open', () => resolve(listener));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
