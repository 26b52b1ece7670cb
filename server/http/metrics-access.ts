import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { timingSafeEqual } from 'node:crypto';
import { hashSecret } from '../auth/credentials.ts';
import type { Config } from '../env.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function remoteAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

/**
 * Who may read `/metrics` (SPEC §10, METRICS_ACCESS): `public` anyone; `token` only a bearer
 * METRICS_TOKEN; `local` (the default) that token or a loopback client that came through no
 * proxy (a request with X-Forwarded-For is someone else's, relayed).
 */
export function metricsAllowed(c: Context, config: Pick<Config, 'METRICS_ACCESS' | 'METRICS_TOKEN'>): boolean {
  if (config.METRICS_ACCESS === 'public') return true;
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (config.METRICS_TOKEN && bearer && timingSafeEqual(Buffer.from(hashSecret(bearer)), Buffer.from(hashSecret(config.METRICS_TOKEN)))) return true;
  if (config.METRICS_ACCESS === 'token') return false;
  const remote = remoteAddress(c);
  return remote !== null && LOOPBACK.test(remote) && c.req.header('x-forwarded-for') === undefined;
}
