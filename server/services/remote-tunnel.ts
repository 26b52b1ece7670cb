import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { appliances, auditLog } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';
import { publishLive } from '../live/events.ts';
import { notFound } from '../lib/errors.ts';
import { getAppliance } from './appliances.ts';
import { recordAudit } from './audit.ts';
import { enqueueWebhooks } from './webhooks.ts';

/**
 * Turns an appliance's remote tunnel on or off. Only the appliance's own customer or an
 * admin may (SPEC §2.4); everyone else finds no such appliance. Every change is audited,
 * even one that leaves the flag as it was, so the log shows who asked for what.
 */
export async function setRemoteTunnel(db: Db, user: UserPrincipal, at: Date, applianceId: string, enabled: boolean) {
  if (user.role !== 'customer' && user.role !== 'admin') throw notFound('appliance');
  await db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(appliances)
      .where(and(eq(appliances.id, applianceId), customerScope(user, appliances.customerId)))
      .limit(1)
      .for('update');
    if (!before) throw notFound('appliance');
    await tx.update(appliances).set({ remoteTunnel: enabled }).where(eq(appliances.id, applianceId));
    await recordAudit(tx, user, at, {
      action: 'appliance.remote_tunnel',
      targetType: 'appliance',
      targetId: applianceId,
      customerId: before.customerId,
      details: { from: before.remoteTunnel, to: enabled },
    });
    await publishLive(tx, {
      type: 'appliance.status',
      customerId: before.customerId,
      data: { id: applianceId, applianceId, customerId: before.customerId, status: before.status, healthScore: before.healthScore },
    });
    await enqueueWebhooks(tx, at, [{ event: 'appliance.remote_tunnel', customerId: before.customerId, payload: { applianceId, serial: before.serial, remoteTunnel: enabled, by: user.role } }]);
  });
  return getAppliance(db, user, applianceId);
}

/** The audit trail of an appliance's remote tunnel, newest first. */
export async function remoteTunnelHistory(db: Db, user: UserPrincipal, applianceId: string, limit = 100) {
  const [appliance] = await db
    .select({ id: appliances.id })
    .from(appliances)
    .where(and(eq(appliances.id, applianceId), customerScope(user, appliances.customerId)))
    .limit(1);
  if (!appliance) throw notFound('appliance');
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'appliance.remote_tunnel'), eq(auditLog.targetType, 'appliance'), eq(auditLog.targetId, applianceId)))
    .orderBy(desc(auditLog.at))
    .limit(limit);
  return {
    items: rows.map((r) => ({ at: r.at.toISOString(), actorId: r.actorId, actorRole: r.actorRole, enabled: r.details.to === true, previous: r.details.from === true })),
  };
}
