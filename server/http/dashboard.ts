import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from './context.ts';

export const dashboardDist = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

const MISSING = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head>
<body><main><h1>Vigil</h1><p>The dashboard has not been built. Run <code>npm run build</code>.</p></main></body></html>`;

/** Serves the built Svelte app at `/`, with index.html as the fallback for client-side routes. */
export function mountDashboard(app: Hono<AppEnv>): void {
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
      },
      xFrameOptions: 'DENY',
      xContentTypeOptions: 'nosniff',
      referrerPolicy: 'same-origin',
      crossOriginEmbedderPolicy: false,
    }),
  );
  const root = path.relative(process.cwd(), dashboardDist) || '.';
  app.use('/assets/*', serveStatic({ root }));
  app.get('/favicon.svg', serveStatic({ root }));
  app.get('*', (c) => {
    const index = path.join(dashboardDist, 'index.html');
    const html = existsSync(index) ? readFileSync(index, 'utf8') : MISSING;
    c.header('Cache-Control', 'no-cache');
    return c.html(html);
  });
}
