import type { Platform } from './platform.ts';

/**
 * What `npm start` and `npm run demo` tell the operator about the first admin: the generated
 * key, printed once (only its hash is stored), or that ADMIN_TOKEN was ignored on a database
 * that already has an admin. Recovery of a lost key: docs/operations.md "Lost admin key".
 */
export function adminKeyMessage(platform: Pick<Platform, 'generatedAdminKey' | 'adminTokenIgnored'>): string {
  if (platform.generatedAdminKey) {
    return (
      `\n  First admin created. Its API key (shown only this once):\n\n    ${platform.generatedAdminKey}\n\n` +
      `  Use it as "Authorization: Bearer <key>" or paste it on the dashboard's login page.\n\n`
    );
  }
  if (platform.adminTokenIgnored) {
    return (
      `\n  ADMIN_TOKEN is ignored: this database already has an admin, and ADMIN_TOKEN is used only\n` +
      `  when the first admin is created. Sign in with an existing admin key; if it was lost, run\n` +
      `  npm run admin:key (docs/operations.md, "Lost admin key").\n\n`
    );
  }
  return '';
}
