import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { openDatabase } from '../../drizzle/client.ts';
import { apiKeys, users } from '../../drizzle/schema/index.ts';
import { hashSecret } from '../../server/auth/credentials.ts';
import { migrate } from '../../drizzle/migrate.ts';
import { AdminRecoveryError, ensureFirstAdmin, recoverAdminKey } from '../../server/services/bootstrap.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

// Issue 17 item 8: the one-time admin key printed at first start can be lost. A supported
// command issues a new key for an existing admin, audited; it refuses when no admin matches.
describe.each(backends)('recovering a lost admin key on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  it('issues a working key for the named admin and audits it; a disabled admin or an unknown e-mail is refused', async () => {
    const admin = await f.user('admin');
    const { key, email } = await recoverAdminKey(p.deps.database, p.clock.now(), admin.user.email.toUpperCase());
    expect(email).toBe(admin.user.email);
    const me = await p.json('GET', '/api/v1/auth/me', { key });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: admin.user.id, role: 'admin' });
    const audit = await p.json('GET', `/api/v1/audit?targetId=${admin.user.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('user.api_key_recovered');

    await expect(recoverAdminKey(p.deps.database, p.clock.now(), 'nobody@example.com')).rejects.toBeInstanceOf(AdminRecoveryError);
    // Several admins (this file's and the platform's): an e-mail must name one.
    await expect(recoverAdminKey(p.deps.database, p.clock.now())).rejects.toThrow(/several admins/);
    const disabled = await f.user('admin');
    expect((await p.json('PATCH', `/api/v1/users/${disabled.user.id}`, { body: { disabled: true } })).status).toBe(200);
    await expect(recoverAdminKey(p.deps.database, p.clock.now(), disabled.user.email)).rejects.toThrow(/no enabled admin/);
    // A customer user is never made an admin key.
    const customer = await f.user('customer', { customerId: (await f.customer()).id });
    await expect(recoverAdminKey(p.deps.database, p.clock.now(), customer.user.email)).rejects.toBeInstanceOf(AdminRecoveryError);
  });
});

describe('npm run admin:key on the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-admin-key-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const cli = (args: string[] = []) =>
    run(process.execPath, ['--import', 'tsx', 'server/admin-key.ts', ...args], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('says there is no admin yet, then prints a key for the first admin that the database accepts', async () => {
    const none = await cli();
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no enabled admin');

    const database = openDatabase({ dataDir });
    await migrate(database);
    await ensureFirstAdmin(database, undefined);
    await database.close();

    const ok = await cli();
    expect(ok.code).toBe(0);
    const key = /\n\s+(vk_\S+)\n/.exec(ok.stdout)?.[1];
    expect(key, ok.stdout).toBeDefined();
    expect(ok.stdout).toContain('admin@vigil.local');

    // The printed key is the one stored (by hash) for that admin, named for what it was for.
    const again = openDatabase({ dataDir });
    const [stored] = await again.db.select({ name: apiKeys.name, email: users.email }).from(apiKeys).innerJoin(users, eq(users.id, apiKeys.userId)).where(eq(apiKeys.keyHash, hashSecret(key!)));
    await again.close();
    expect(stored).toEqual({ name: 'recovery', email: 'admin@vigil.local' });
  }, 180_000);
});
