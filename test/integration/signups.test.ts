import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from './factories.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { signupKit } from './signup-helpers.ts';

describe.each(backends)('sign-up, verification and approval on %s', (backend) => {
  let p: TestPlatform;
  let k: ReturnType<typeof signupKit>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { PUBLIC_URL: 'https://vigil.example', SIGNUP_ATTEMPTS_PER_CLIENT_HOUR: 10_000, SIGNUP_ATTEMPTS_PER_EMAIL_HOUR: 100 });
    k = signupKit(p);
  });
  afterAll(async () => p?.stop());

  it('sign-up → e-mailed link → confirmed → admin approves into the serial’s customer → the user logs in and sees that fleet', async () => {
    const { customer, appliance } = await k.fleet();
    const other = await k.fleet();
    const email = k.email();
    const res = await k.signup(email.toUpperCase(), ` ${appliance.serial} `);
    expect(res).toMatchObject({ status: 202, body: { status: 'received' } });
    expect(JSON.stringify(res.body)).not.toContain(customer.id);

    const [mail] = await k.mailTo(email);
    expect(mail).toMatchObject({ kind: 'signup.verify', language: 'en', subject: '[Vigil] Confirm your e-mail address' });
    expect(mail!.html).toContain('href="https://vigil.example/#/verify/');
    // Pending: no account yet.
    expect((await k.login(email)).status).toBe(401);

    const token = await k.token(email);
    expect(await k.verify(token)).toMatchObject({ status: 200, body: { status: 'pending_approval' } });
    expect((await k.login(email)).status).toBe(401);

    const pending = await k.find(email);
    expect(pending).toMatchObject({ status: 'pending_approval', emailVerified: true, serialKnown: true, suggestedCustomer: { id: customer.id, name: customer.name }, company: 'Acme Srl' });
    const approved = await p.json('POST', `/api/v1/signups/${pending.id}/approve`, { body: {} });
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', customerId: customer.id } });

    const login = await k.login(email);
    expect(login).toMatchObject({ status: 200, body: { user: { email, role: 'customer', customerId: customer.id } } });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const fleet = await p.json('GET', '/api/v1/appliances', { key: null, headers: { cookie } });
    expect(fleet.body.items.map((a: { id: string }) => a.id)).toEqual([appliance.id]);
    expect(fleet.body.items.map((a: { id: string }) => a.id)).not.toContain(other.appliance.id);

    expect((await k.mailTo(email)).map((m) => m.kind)).toEqual(['signup.approved', 'signup.verify']);
    const audit = await p.json('GET', '/api/v1/audit?action=signup.approve');
    expect(audit.body.items.some((e: { targetId: string; customerId: string }) => e.targetId === pending.id && e.customerId === customer.id)).toBe(true);
  });

  it('the verification e-mail is in the language chosen on the form', async () => {
    const { appliance } = await k.fleet();
    const email = k.email();
    expect((await k.signup(email, appliance.serial, { language: 'it' })).status).toBe(202);
    const [mail] = await k.mailTo(email);
    expect(mail).toMatchObject({ language: 'it', subject: '[Vigil] Conferma il tuo indirizzo e-mail' });
  });

  it('a link works once and expires', async () => {
    const { appliance } = await k.fleet();
    const { signup } = await k.confirmed(appliance.serial);
    const used = await k.verify(await k.token(signup.email));
    expect(used).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', details: { reason: 'invalid' } } } });

    const late = k.email();
    await k.signup(late, appliance.serial);
    const token = await k.token(late);
    p.clock.advance(24 * 3600_000 + 1000);
    expect(await k.verify(token)).toMatchObject({ status: 400, body: { error: { details: { reason: 'expired' } } } });
    expect(await k.find(late)).toMatchObject({ status: 'pending_verification', emailVerified: false });
    expect((await k.verify('not-a-real-token-at-all')).status).toBe(400);

    // A week after its link expired, the unconfirmed request is deleted by the retention job; a confirmed one stays.
    p.clock.advance(7 * 24 * 3600_000);
    const run = await p.jobs.runNow('retention');
    expect(run.result).toMatchObject({ signupsPruned: { unconfirmedDeleted: expect.any(Number) } });
    expect(await k.find(late)).toBeUndefined();
    expect(await k.find(signup.email)).toMatchObject({ status: 'pending_approval' });
  });

  it('a duplicate sign-up is a 409 naming the e-mail, writing and sending nothing; an unconfirmed one is replaced', async () => {
    const { customer, appliance } = await k.fleet();
    const existing = await k.f.user('customer', { customerId: customer.id });
    const dup = await k.signup(existing.user.email, appliance.serial);
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'conflict', details: { field: 'email' } } } });
    expect(await k.find(existing.user.email)).toBeUndefined();
    expect(await k.mailTo(existing.user.email)).toEqual([]);

    // Awaiting approval: refused, still one sign-up, no second e-mail.
    const { email } = await k.confirmed(appliance.serial);
    const again = await k.signup(email.toUpperCase(), appliance.serial);
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'conflict', details: { field: 'email' } } } });
    expect((await k.mailTo(email)).map((m) => m.kind)).toEqual(['signup.verify']);
    const all = (await p.json('GET', '/api/v1/signups?limit=500')).body.items.filter((s: { email: string }) => s.email === email);
    expect(all).toHaveLength(1);

    // Unconfirmed: the newer request replaces the older one; the older link stops working.
    const twice = k.email();
    await k.signup(twice, appliance.serial, { name: 'First' });
    const first = await k.token(twice);
    expect((await k.signup(twice, appliance.serial, { name: 'Second' })).status).toBe(202);
    expect((await k.verify(first)).status).toBe(400);
    expect((await k.verify(await k.token(twice))).status).toBe(200);
    expect(await k.find(twice)).toMatchObject({ name: 'Second', status: 'pending_approval' });
  });

  it('someone signing up with another person’s address cannot have them confirm the stranger’s password', async () => {
    const { appliance } = await k.fleet();
    const victim = k.email();
    await k.signup(victim, appliance.serial, { name: 'Victor Victim', password: 'victims-own-password' });
    // The stranger signs up with the same address and their own password: it replaces the unconfirmed one.
    expect((await k.signup(victim, appliance.serial, { name: 'Victor Victim', password: 'strangers-password' })).status).toBe(202);
    // The owner of the mailbox follows the newest link with their own password: refused, nothing confirmed.
    const link = await k.token(victim);
    const refused = await k.verify(link, 'victims-own-password');
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', details: { reason: 'password' } } } });
    expect(await k.find(victim)).toMatchObject({ status: 'pending_verification' });
    // They sign up again; their own password confirms; the stranger's never logs in.
    await k.signup(victim, appliance.serial, { name: 'Victor Victim', password: 'victims-own-password' });
    expect((await k.verify(await k.token(victim), 'victims-own-password')).status).toBe(200);
    const { id } = await k.find(victim);
    expect((await p.json('POST', `/api/v1/signups/${id}/approve`, { body: {} })).status).toBe(200);
    expect((await k.login(victim, 'strangers-password')).status).toBe(401);
    expect((await k.login(victim, 'victims-own-password')).status).toBe(200);
  });

  it('an unknown serial is a 400 naming the serial, storing and sending nothing; serials are compared exactly', async () => {
    const { customer, appliance } = await k.fleet();
    const email = k.email();
    const res = await k.signup(email, 'NO-SUCH-SERIAL-123');
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', details: { field: 'serial' } } } });
    expect(JSON.stringify(res.body)).not.toContain(customer.id);
    expect(await k.find(email)).toBeUndefined();
    expect(await k.mailTo(email)).toEqual([]);
    expect((await k.signup(k.email(), appliance.serial.toLowerCase())).status).toBe(400);
    const { signup } = await k.confirmed(appliance.serial);
    expect(signup).toMatchObject({ serialKnown: true, suggestedCustomer: { id: customer.id } });
    // Approving into another customer than the serial's is an admin's choice, and must name an existing one.
    const ghost = await p.json('POST', `/api/v1/signups/${signup.id}/approve`, { body: { customerId: '00000000-0000-4000-8000-000000000000' } });
    expect(ghost.status).toBe(400);
    expect((await k.login(signup.email)).status).toBe(401);
  });

  it('bad input is a 400 naming the field, and nothing is stored', async () => {
    const { appliance } = await k.fleet();
    const email = k.email();
    for (const bad of [{ password: 'short' }, { email: 'not-an-email' }, { company: '' }, { serial: '   ' }, { language: 'fr' }, { role: 'admin' }]) {
      const res = await k.signup(email, appliance.serial, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect(await k.find(email)).toBeUndefined();
    expect(await k.mailTo(email)).toEqual([]);
    const form = await p.call('POST', '/api/v1/signup', { key: null, raw: `email=${email}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
  });

  it('decisions: unconfirmed cannot be approved, a decided one cannot be decided again, rejection e-mails a confirmed applicant', async () => {
    const { appliance } = await k.fleet();
    const unconfirmed = k.email();
    await k.signup(unconfirmed, appliance.serial);
    const pending = await k.find(unconfirmed);
    expect((await p.json('POST', `/api/v1/signups/${pending.id}/approve`, { body: {} })).status).toBe(409);

    const { signup } = await k.confirmed(appliance.serial);
    const rejected = await p.json('POST', `/api/v1/signups/${signup.id}/reject`, { body: { reason: 'not a known contact' } });
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected', decisionReason: 'not a known contact' } });
    expect((await p.json('POST', `/api/v1/signups/${signup.id}/approve`, { body: {} })).status).toBe(409);
    expect((await p.json('POST', `/api/v1/signups/${signup.id}/reject`, { body: {} })).status).toBe(409);
    expect((await k.login(signup.email)).status).toBe(401);
    const [mail] = await k.mailTo(signup.email);
    expect(mail).toMatchObject({ kind: 'signup.rejected' });
    expect(mail!.text).toContain('not a known contact');
    const audit = await p.json('GET', '/api/v1/audit?action=signup.reject');
    expect(audit.body.items.some((e: { targetId: string }) => e.targetId === signup.id)).toBe(true);
    // Rejecting an unconfirmed request writes to nobody: the address may not be the applicant's.
    expect((await p.json('POST', `/api/v1/signups/${pending.id}/reject`, { body: {} })).status).toBe(200);
    expect((await k.mailTo(unconfirmed)).map((m) => m.kind)).toEqual(['signup.verify']);
  });

  it("a customer admin decides only sign-ups proving their own customer's appliances", async () => {
    const mine = await k.fleet();
    const theirs = await k.fleet();
    const boss = await k.customerAdmin(mine.customer.id);
    const own = await k.confirmed(mine.appliance.serial);
    const foreign = await k.confirmed(theirs.appliance.serial);

    // The confirmed sign-up proving their appliance is announced to them (only that one), not to the admins.
    const told = (await k.mailTo(boss.user.email)).filter((m) => m.kind === 'signup.awaiting_approval');
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toContain(own.email);
    expect(told[0]!.text).toContain('https://vigil.example/#/signups');
    const adminEmail = (await p.json('GET', '/api/v1/auth/me')).body.user.email as string;
    expect((await k.mailTo(adminEmail)).some((m) => m.text.includes(own.email))).toBe(false);

    const list = await p.json('GET', '/api/v1/signups?limit=500', { key: boss.apiKey });
    expect(list.status).toBe(200);
    const ids = list.body.items.map((s: { id: string }) => s.id);
    expect(ids).toContain(own.signup.id);
    expect(ids).not.toContain(foreign.signup.id);

    for (const id of [foreign.signup.id]) {
      expect((await p.json('POST', `/api/v1/signups/${id}/approve`, { key: boss.apiKey, body: {} })).status).toBe(404);
      expect((await p.json('POST', `/api/v1/signups/${id}/reject`, { key: boss.apiKey, body: {} })).status).toBe(404);
    }
    // Their own applicant, but into another customer: not theirs to give.
    expect((await p.json('POST', `/api/v1/signups/${own.signup.id}/approve`, { key: boss.apiKey, body: { customerId: theirs.customer.id } })).status).toBe(404);
    expect(await k.find(foreign.email)).toMatchObject({ status: 'pending_approval' });

    const ok = await p.json('POST', `/api/v1/signups/${own.signup.id}/approve`, { key: boss.apiKey, body: {} });
    expect(ok).toMatchObject({ status: 200, body: { customerId: mine.customer.id } });
    expect((await k.login(own.email)).body.user.customerId).toBe(mine.customer.id);
  });

  it('only admins and flagged customer users reach the approval routes', async () => {
    const { customer, appliance } = await k.fleet();
    const { signup } = await k.confirmed(appliance.serial);
    const plain = await k.f.user('customer', { customerId: customer.id });
    const engineer = await k.f.user('engineer');
    for (const key of [plain.apiKey, engineer.apiKey]) {
      expect((await p.json('GET', '/api/v1/signups', { key })).status).toBe(404);
      expect((await p.json('POST', `/api/v1/signups/${signup.id}/approve`, { key, body: {} })).status).toBe(404);
    }
    expect((await p.json('GET', '/api/v1/signups', { key: null })).status).toBe(401);
    expect((await p.json('POST', `/api/v1/signups/${signup.id}/reject`, { key: null, body: {} })).status).toBe(401);
    // The flag is for customer users, and only admins set it.
    expect((await p.json('PATCH', `/api/v1/users/${engineer.user.id}`, { body: { customerAdmin: true } })).status).toBe(400);
    expect((await p.json('PATCH', `/api/v1/users/${plain.user.id}`, { key: plain.apiKey, body: { customerAdmin: true } })).status).toBe(404);
    expect((await p.json('PATCH', '/api/v1/users/me', { key: plain.apiKey, body: { customerAdmin: true } })).status).toBe(400);
    expect(await k.find(signup.email)).toMatchObject({ status: 'pending_approval' });
  });
});

describe.each(backends)('profile on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  it('a user sets name, phone and IANA time zone; null clears; bad values are 400 and change nothing', async () => {
    const customer = await f.customer();
    const u = await f.user('customer', { customerId: customer.id });
    const key = u.apiKey;
    const set = await p.json('PATCH', '/api/v1/users/me', { key, body: { name: 'Grace Hopper', phone: '+39 02 1234 5678', timeZone: 'America/New_York' } });
    expect(set).toMatchObject({ status: 200, body: { name: 'Grace Hopper', phone: '+39 02 1234 5678', timeZone: 'America/New_York', customerAdmin: false } });

    for (const bad of [{ timeZone: 'Mars/Olympus_Mons' }, { timeZone: 'CEST+99' }, { phone: 'call me maybe' }, { name: '  ' }, { email: 'x@example.com' }]) {
      const res = await p.json('PATCH', '/api/v1/users/me', { key, body: { name: 'Should Not Stick', ...bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await p.json('GET', '/api/v1/users/me', { key })).body).toMatchObject({ name: 'Grace Hopper', timeZone: 'America/New_York' });

    const cleared = await p.json('PATCH', '/api/v1/users/me', { key, body: { phone: null, timeZone: null } });
    expect(cleared.body).toMatchObject({ name: 'Grace Hopper', phone: null, timeZone: null });
    // Each user edits only themselves.
    const other = await f.user('customer', { customerId: customer.id });
    expect((await p.json('GET', '/api/v1/users/me', { key: other.apiKey })).body).toMatchObject({ id: other.user.id, name: 'Test customer' });
  });

  it('requires a login', async () => {
    expect((await p.json('PATCH', '/api/v1/users/me', { key: null, body: { name: 'x' } })).status).toBe(401);
  });
});
