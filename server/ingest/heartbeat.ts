import { and, eq, notInArray, sql } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import type { Db } from '../../drizzle/client.ts';
import { applianceChanges, appliances, components, heartbeats } from '../../drizzle/schema/index.ts';
import { componentKinds, type ApplianceStatus, type ChangeKind } from '../../drizzle/schema/enums.ts';
import { DomainError, notFound, validationFailed } from '../lib/errors.ts';
import type { TimeSlice } from '../lib/time-slice.ts';

const versionText = z.string().trim().min(1).max(100).refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
const componentId = z.string().min(1).max(200).refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');

export const HeartbeatComponent = z
  .object({
    kind: z.enum(componentKinds),
    id: componentId.describe('`${kind}:${name}`, e.g. pool:tank'),
    parentId: componentId.nullish(),
    name: z.string().max(200).nullish(),
  })
  .openapi('HeartbeatComponent');

/** What a heartbeat's topology may be (SPEC §10: TOPOLOGY_MAX_COMPONENTS, TOPOLOGY_MAX_DEPTH). */
export interface TopologyLimits {
  maxComponents: number;
  maxDepth: number;
}

/**
 * The depth of a topology: the most components on one chain from a root down (a lone root is 1),
 * in one linear pass (each component's depth is computed once and reused by its children).
 * A parent that is not in the list ends the chain; a cycle counts each of its members once.
 */
export function topologyDepth(parts: readonly { id: string; parentId?: string | null | undefined }[]): number {
  const parentOf = new Map<string, string | null>();
  for (const c of parts) parentOf.set(c.id, c.parentId ?? null);
  const depth = new Map<string, number>();
  let deepest = 0;
  const path: string[] = [];
  const onPath = new Set<string>();
  for (const start of parentOf.keys()) {
    let id: string | null = start;
    // Walk up until a component whose depth is known, a root, or a cycle.
    while (id !== null && !depth.has(id) && !onPath.has(id) && parentOf.has(id)) {
      path.push(id);
      onPath.add(id);
      id = parentOf.get(id) ?? null;
    }
    let base = id !== null && depth.has(id) ? depth.get(id)! : 0;
    while (path.length > 0) {
      const child = path.pop()!;
      onPath.delete(child);
      base += 1;
      depth.set(child, base);
      if (base > deepest) deepest = base;
    }
  }
  return deepest;
}

/** Throws `topology_too_large` (400) when the components exceed the limits. */
export function assertTopologyWithin(parts: readonly { id: string; parentId?: string | null | undefined }[], limits: TopologyLimits): void {
  if (parts.length > limits.maxComponents) {
    throw new DomainError('topology_too_large', `the topology has ${parts.length} components; at most ${limits.maxComponents} are accepted`, {
      components: parts.length,
      maxComponents: limits.maxComponents,
    });
  }
  const depth = topologyDepth(parts);
  if (depth > limits.maxDepth) {
    throw new DomainError('topology_too_large', `the topology is ${depth} components deep; at most ${limits.maxDepth} levels are accepted`, {
      depth,
      maxDepth: limits.maxDepth,
    });
  }
}

export const HeartbeatBody = z
  .object({
    osVersion: versionText,
    hypervisorVersion: versionText,
    uptimeSeconds: z.number().int().min(0).max(100 * 365 * 86_400),
    remoteTunnel: z.boolean().optional().describe('what the appliance has; the stored flag stays the customer’s choice'),
    components: z
      .array(HeartbeatComponent)
      .optional()
      .describe('the whole topology; when present it replaces the stored one. At most TOPOLOGY_MAX_COMPONENTS components (10 000) and TOPOLOGY_MAX_DEPTH levels (32), else 400 `topology_too_large`'),
  })
  .openapi('Heartbeat');
export type HeartbeatInput = z.infer<typeof HeartbeatBody>;

const HeartbeatEnvelope = HeartbeatBody.omit({ components: true });
const ComponentList = z.array(HeartbeatComponent);
/** Components validated per slice (a few ms of zod). */
const componentsPerSlice = 100;

/**
 * `HeartbeatBody.parse(body)`, with a long component list validated `componentsPerSlice` at a
 * time and `slice.pause()` between (SPEC §10: a 10 000-component topology is seconds of zod
 * otherwise, all on the event loop). The same result, and the same 400 as the route's
 * validation (the first 50 issues, in the schema's order, paths from the body's root).
 */
export async function readHeartbeat(body: unknown, slice: TimeSlice): Promise<HeartbeatInput> {
  const components = typeof body === 'object' && body !== null ? (body as { components?: unknown }).components : undefined;
  if (!Array.isArray(components) || components.length <= componentsPerSlice) {
    const whole = HeartbeatBody.safeParse(body);
    if (!whole.success) throw validationFailed(whole.error.issues);
    return whole.data;
  }
  const envelope = HeartbeatEnvelope.safeParse(body);
  const issues: z.core.$ZodIssue[] = envelope.success ? [] : [...envelope.error.issues];
  const valid: z.infer<typeof HeartbeatComponent>[] = [];
  for (let from = 0; from < components.length; from += componentsPerSlice) {
    const part = ComponentList.safeParse(components.slice(from, from + componentsPerSlice));
    if (part.success) for (const component of part.data) valid.push(component);
    else for (const issue of part.error.issues) issues.push({ ...issue, path: ['components', from + Number(issue.path[0]), ...issue.path.slice(1)] });
    await slice.pause();
  }
  if (issues.length > 0 || !envelope.success) throw validationFailed(issues);
  return { ...envelope.data, components: valid };
}

export const HeartbeatAck = z
  .object({
    receivedAt: z.string(),
    remoteTunnel: z.boolean().describe('the remote-tunnel setting chosen by the customer; the appliance applies it'),
    components: z.number().int().optional(),
  })
  .openapi('HeartbeatAck');

export interface HeartbeatOutcome {
  receivedAt: Date;
  remoteTunnel: boolean;
  osVersion: string;
  hypervisorVersion: string;
  versionChanged: boolean;
  previousStatus: ApplianceStatus;
  components?: number;
}

/**
 * Records a heartbeat: versions, uptime and arrival time on the appliance; a version change
 * as a dated change (for change root-cause candidates); the per-minute arrival for
 * availability reports; and, when sent, the component topology (replacing the stored set).
 * The remote-tunnel flag is not taken from the appliance: only the customer or an admin
 * sets it, and the reply tells the appliance what it should be.
 */
export async function recordHeartbeat(db: Db, applianceId: string, at: Date, input: HeartbeatInput, limits: TopologyLimits): Promise<HeartbeatOutcome> {
  if (input.components !== undefined) assertTopologyWithin([...new Map(input.components.map((c) => [c.id, c])).values()], limits);
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ osVersion: appliances.osVersion, hypervisorVersion: appliances.hypervisorVersion, remoteTunnel: appliances.remoteTunnel, status: appliances.status })
      .from(appliances)
      .where(eq(appliances.id, applianceId))
      .for('update')
      .limit(1);
    if (!before) throw notFound('appliance');

    const changes: { kind: ChangeKind; fromValue: string; toValue: string }[] = [];
    if (before.osVersion !== null && before.osVersion !== input.osVersion) {
      changes.push({ kind: 'os_version', fromValue: before.osVersion, toValue: input.osVersion });
    }
    if (before.hypervisorVersion !== null && before.hypervisorVersion !== input.hypervisorVersion) {
      changes.push({ kind: 'hypervisor_version', fromValue: before.hypervisorVersion, toValue: input.hypervisorVersion });
    }
    if (changes.length > 0) await tx.insert(applianceChanges).values(changes.map((c) => ({ ...c, applianceId, at })));

    await tx
      .update(appliances)
      .set({ osVersion: input.osVersion, hypervisorVersion: input.hypervisorVersion, uptimeSeconds: input.uptimeSeconds, lastHeartbeatAt: at })
      .where(eq(appliances.id, applianceId));

    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    await tx
      .insert(heartbeats)
      .values({ applianceId, minute, uptimeSeconds: input.uptimeSeconds })
      .onConflictDoUpdate({ target: [heartbeats.applianceId, heartbeats.minute], set: { uptimeSeconds: input.uptimeSeconds } });

    let componentCount: number | undefined;
    if (input.components !== undefined) {
      // Last one wins when the appliance repeats an id.
      const byId = new Map(input.components.map((c) => [c.id, c]));
      const list = [...byId.values()];
      componentCount = list.length;
      if (list.length === 0) {
        await tx.delete(components).where(eq(components.applianceId, applianceId));
      } else {
        await tx
          .delete(components)
          .where(and(eq(components.applianceId, applianceId), notInArray(components.id, list.map((c) => c.id))));
        await tx
          .insert(components)
          .values(list.map((c) => ({ applianceId, id: c.id, kind: c.kind, parentId: c.parentId ?? null, name: c.name ?? null, updatedAt: at })))
          .onConflictDoUpdate({
            target: [components.applianceId, components.id],
            set: { kind: sql`excluded.kind`, parentId: sql`excluded.parent_id`, name: sql`excluded.name`, updatedAt: sql`excluded.updated_at` },
            // Unchanged components are not rewritten every heartbeat.
            setWhere: sql`(${components.kind}, ${components.parentId}, ${components.name}) is distinct from (excluded.kind, excluded.parent_id, excluded.name)`,
          });
      }
    }
    return {
      receivedAt: at,
      remoteTunnel: before.remoteTunnel,
      osVersion: input.osVersion,
      hypervisorVersion: input.hypervisorVersion,
      versionChanged: changes.length > 0,
      previousStatus: before.status,
      ...(componentCount === undefined ? {} : { components: componentCount }),
    };
  });
}
