import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** The port could not be bound: a readable message instead of a stack trace. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/**
 * Binds the HTTP port before anything else starts, so a second start on a port in use stops
 * with a clear message before it migrates a database or creates (and prints) a first-admin key
 * that would then be lost. Until `serve(app)` is called every request answers 503 "starting".
 */
export async function listenFirst(port: number, host: string): Promise<{ server: Server; info: AddressInfo; serve(fetch: Fetch): void }> {
  let handler: Fetch | null = null;
  const starting = () =>
    new Response(JSON.stringify({ error: { code: 'unavailable', message: 'Vigil is starting' } }), {
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '2' },
    });
  const server = createAdaptorServer({ fetch: (req: Request, env: unknown) => (handler ? handler(req, env) : starting()) }) as Server;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new ListenError(`port ${port} on ${host} is already in use — is Vigil (or something else) already running there? Stop it, or start on another port with PORT=…`));
      } else if (err.code === 'EACCES') {
        reject(new ListenError(`not allowed to listen on port ${port} on ${host}; use a port above 1023 (PORT=…)`));
      } else reject(err);
    });
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
  return {
    server,
    info,
    serve(fetch) {
      handler = fetch;
    },
  };
}
