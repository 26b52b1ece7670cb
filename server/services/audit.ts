import type { Db, Tx } from '../../drizzle/client.ts';
import { auditLog } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  customerId?: string | null;
  details?: Record<string, unknown>;
  ip?: string | null;
}

/** Admin actions, logins, remote-tunnel and priority changes: written in the caller's transaction. */
export async function recordAudit(db: Db | Tx, actor: UserPrincipal | null, at: Date, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    at,
    actorId: actor?.id ?? null,
    actorRole: actor?.role ?? 'system',
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    customerId: entry.customerId ?? null,
    details: entry.details ?? {},
    ip: entry.ip ?? null,
  });
}
