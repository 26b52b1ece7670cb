import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError, listenFirst } from '../../server/listen.ts';
import { adminKeyMessage } from '../../server/startup-messages.ts';

// Issue 17 item 8: a second start on a port in use stops with a message before it creates and
// prints a first-admin key; ADMIN_TOKEN on a database that already has an admin is reported.

describe('starting on a port', () => {
  const open: { close(cb?: () => void): unknown }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  it('refuses a port in use with a readable ListenError', async () => {
    const taken: Server = createServer();
    open.push(taken);
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    const attempt = listenFirst(port, '127.0.0.1');
    await expect(attempt).rejects.toBeInstanceOf(ListenError);
    await expect(attempt).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
  });

  it('answers 503 while starting, then the app', async () => {
    const { server, info, serve } = await listenFirst(0, '127.0.0.1');
    open.push(server);
    const url = `http://127.0.0.1:${info.port}/x`;
    const before = await fetch(url);
    expect(before.status).toBe(503);
    expect(before.headers.get('retry-after')).toBe('2');
    serve(() => new Response('ready'));
    expect(await (await fetch(url)).text()).toBe('ready');
  });
});

describe('the first-admin message', () => {
  it('prints a generated key once, says when ADMIN_TOKEN is ignored, and is silent otherwise', () => {
    expect(adminKeyMessage({ generatedAdminKey: 'vk_abc' })).toContain('vk_abc');
    const ignored = adminKeyMessage({ adminTokenIgnored: true });
    expect(ignored).toContain('ADMIN_TOKEN is ignored');
    expect(ignored).toContain('Lost admin key');
    expect(adminKeyMessage({})).toBe('');
  });
});
