import { expect } from 'vitest';
import { factories } from './factories.ts';
import type { TestPlatform } from './harness.ts';

export const PASSWORD = 'a-long-signup-password';

/** Sign-up helpers over the public API (issue 21). */
export function signupKit(p: TestPlatform) {
  const f = factories(p);
  const form = (email: string, serial: string, extra: Record<string, unknown> = {}) => ({ email, name: 'Ada Applicant', company: 'Acme Srl', serial, password: PASSWORD, ...extra });
  return {
    f,
    email: () => `${p.unique('applicant')}@example.com`,
    // Each step a second apart, so "newest first" in the outbox is one order on every backend.
    signup: (email: string, serial: string, extra: Record<string, unknown> = {}) => {
      p.clock.advance(1000);
      return p.json('POST', '/api/v1/signup', { key: null, body: form(email, serial, extra) });
    },
    /** The outbox messages to an address, newest first (admin API). */
    mailTo: async (email: string) => (await p.json('GET', `/api/v1/outbox?to=${encodeURIComponent(email)}`)).body.items as { kind: string; subject: string; text: string; html: string; language: string }[],
    async token(email: string): Promise<string> {
      const mail = (await this.mailTo(email)).find((m) => m.kind === 'signup.verify');
      const token = mail && /#\/verify\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
      if (!token) throw new Error(`no verification link for ${email}`);
      return token;
    },
    verify: (token: string, password = PASSWORD) => {
      p.clock.advance(1000);
      return p.json('POST', '/api/v1/signup/verify', { key: null, body: { token, password } });
    },
    login: (email: string, password = PASSWORD) => p.json('POST', '/api/v1/auth/login', { key: null, body: { email, password } }),
    async find(email: string, key?: string) {
      const res = await p.json('GET', '/api/v1/signups?limit=500', key === undefined ? {} : { key });
      return (res.body.items as { id: string; email: string }[] | undefined)?.find((s) => s.email === email) as any;
    },
    /** A customer with one appliance; returns the serial. */
    async fleet() {
      const customer = await f.customer();
      const { appliance } = await f.appliance(customer.id);
      return { customer, appliance };
    },
    /** Signs up and confirms the address; returns the sign-up as an admin sees it. */
    async confirmed(serial: string) {
      const email = this.email();
      expect((await this.signup(email, serial)).status).toBe(202);
      expect((await this.verify(await this.token(email))).status).toBe(200);
      return { email, signup: await this.find(email) };
    },
    async customerAdmin(customerId: string) {
      const u = await f.user('customer', { customerId });
      expect((await p.json('PATCH', `/api/v1/users/${u.user.id}`, { body: { customerAdmin: true } })).status).toBe(200);
      return u;
    },
  };
}
