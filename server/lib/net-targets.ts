import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

function ipv4Private(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/**
 * Whether an IP address is loopback, link-local (169.254.169.254 is the cloud metadata
 * service), private (RFC 1918, fc00::/7), carrier-grade NAT, unspecified or multicast: targets
 * a webhook must not reach from inside the server's network (SPEC §10).
 */
export function isPrivateAddress(ip: string): boolean {
  const version = isIP(ip);
  if (version === 4) return ipv4Private(ip);
  if (version !== 6) return false;
  const v6 = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6)?.[1];
  if (mapped) return ipv4Private(mapped);
  // The URL parser writes a mapped IPv4 address in hex: ::ffff:7f00:1 is 127.0.0.1.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return ipv4Private(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return v6 === '::' || v6 === '::1' || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith('ff');
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * Why a webhook URL may not be used as written, or null: a literal private address or a
 * `localhost` name. (Names are resolved again at delivery, see `resolvesToPrivate`.)
 */
export function privateTargetReason(url: string): string | null {
  const host = hostOf(new URL(url));
  if (host === 'localhost' || host.endsWith('.localhost')) return 'the target is this machine (localhost)';
  if (isIP(host) && isPrivateAddress(host)) return `the target ${host} is a loopback, link-local or private address`;
  return null;
}

/** At delivery: whether the URL's host resolves to a private address (checked on every attempt). */
export async function resolvesToPrivate(url: string): Promise<boolean> {
  if (privateTargetReason(url) !== null) return true;
  const host = hostOf(new URL(url));
  if (isIP(host)) return false;
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.some((a) => isPrivateAddress(a.address));
  } catch {
    // Unresolvable: the delivery itself fails and is retried; nothing private was reached.
    return false;
  }
}
