import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { signupKit } from './signup-helpers.ts';

// A file of its own: its platform's database holds no other sign-up attempts from the same (in-process) client.
describe.each(backends)('sign-up rate limits on %s', (backend) => {
  let p: TestPlatform;
  let k: ReturnType<typeof signupKit>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { SIGNUP_ATTEMPTS_PER_CLIENT_HOUR: 4, SIGNUP_ATTEMPTS_PER_EMAIL_HOUR: 2 });
    k = signupKit(p);
  });
  afterAll(async () => p?.stop());

  it('per e-mail address, then per client address, 429 with Retry-After; an hour later it is accepted again', async () => {
    const { appliance } = await k.fleet();
    const target = k.email();
    expect((await k.signup(target, appliance.serial)).status).toBe(202);
    expect((await k.signup(target, appliance.serial)).status).toBe(202);
    const flooded = await k.signup(target, appliance.serial);
    expect(flooded.status).toBe(429);
    expect(flooded.body.error.code).toBe('rate_limited');
    expect(Number(flooded.headers.get('retry-after'))).toBeGreaterThan(0);
    // Two verification messages, not three.
    expect((await k.mailTo(target)).length).toBe(2);

    expect((await k.signup(k.email(), appliance.serial)).status).toBe(202);
    expect((await k.signup(k.email(), appliance.serial)).status).toBe(202);
    const fromClient = await k.signup(k.email(), appliance.serial);
    expect(fromClient.status).toBe(429);

    p.clock.advance(3600_000 + 1000);
    expect((await k.signup(k.email(), appliance.serial)).status).toBe(202);
  });
});
