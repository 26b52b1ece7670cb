import type { Tier, Role } from '../../drizzle/schema/index.ts';
import type { TestPlatform } from './harness.ts';

/** Rows made through the public API, with unique names, so tests never share mutable seed. */
export function factories(p: TestPlatform) {
  async function ok<T>(method: string, path: string, body: unknown, key?: string): Promise<T> {
    const res = await p.json<T>(method, path, key === undefined ? { body } : { body, key });
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  return {
    customer: (input: { tier?: Tier; serenity?: boolean; accountManagerId?: string } = {}) =>
      ok<{ id: string; name: string; tier: Tier; serenity: boolean }>('POST', '/api/v1/customers', {
        name: p.unique('customer'),
        tier: input.tier ?? 'pro',
        serenity: input.serenity ?? false,
        ...(input.accountManagerId ? { accountManagerId: input.accountManagerId } : {}),
      }),
    appliance: (customerId: string, input: { model?: string; site?: string } = {}) =>
      ok<{ appliance: { id: string; serial: string; customerId: string }; token: string }>('POST', '/api/v1/appliances', {
        customerId,
        serial: p.unique('SN'),
        hardwareId: p.unique('HW'),
        model: input.model ?? 'HYPER-2000',
        ...(input.site ? { site: input.site } : {}),
      }),
    user: (role: Role, input: { customerId?: string; senior?: boolean; password?: string } = {}) =>
      ok<{ user: { id: string; email: string; role: Role; customerId: string | null }; apiKey: string }>('POST', '/api/v1/users', {
        email: `${p.unique(role)}@example.com`,
        name: `Test ${role}`,
        role,
        ...input,
      }),
    /** Declares the current release of a product (SPEC §7); one already in the catalogue is kept. */
    currentRelease: async (product: 'synetoos' | 'hypervisor', version: string) => {
      const res = await p.json('POST', '/api/v1/releases', { body: { product, version, releasedAt: '2026-01-15T00:00:00Z', current: true } });
      if (res.status !== 201 && res.status !== 409) throw new Error(`POST /api/v1/releases → ${res.status} ${JSON.stringify(res.body)}`);
    },
  };
}
