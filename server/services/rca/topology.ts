// Topology root-cause candidates (SPEC §3): pure, no database. The alerts of a ticket are
// grouped by the component subtree they belong to; in each group the most upstream failing
// component (disk before pool before datastore before VM), earliest onset first, is the cause.

export interface TopologyAlert {
  id: string;
  name: string;
  component: string | null;
  startsAt: Date;
  priority: string;
}

export interface TopologyComponent {
  id: string;
  kind: string;
  parentId: string | null;
}

export interface TopologyCause {
  /** The component id (`disk:sda`), or `appliance` for alerts that name no component. */
  subject: string;
  kind: string;
  score: number;
  onset: Date;
  alerts: TopologyAlert[];
  /** From the cause downstream to the most affected component, e.g. disk → pool → datastore → VM. */
  path: string[];
  affected: string[];
  /** The alerts this cause explains, out of all the ticket's alerts. */
  explains: { alerts: number; of: number };
}

/**
 * Position in the failure chain: a disk fails before its pool degrades, a pool before the
 * datastores on it, a datastore before its VMs. Parentless hardware (PSU, fan) sits at the bottom.
 */
const LAYER: Record<string, number> = {
  disk: 0,
  psu: 0,
  fan: 0,
  sensor: 0,
  nic: 1,
  pool: 1,
  replication_target: 2,
  datastore: 2,
  vm: 3,
  system: 4,
  appliance: 5,
};

const APPLIANCE = 'appliance';

export function componentKindOf(id: string, known: Map<string, TopologyComponent>): string {
  if (id === APPLIANCE) return APPLIANCE;
  const kind = known.get(id)?.kind ?? id.split(':', 1)[0] ?? 'system';
  return kind in LAYER ? kind : 'system';
}

function layerOf(id: string, known: Map<string, TopologyComponent>): number {
  return LAYER[componentKindOf(id, known)] ?? 4;
}

/** The component and its ancestors up to the root of its tree (cycle-safe). O(depth). */
function chainToRoot(id: string, known: Map<string, TopologyComponent>): string[] {
  const chain = [id];
  const seen = new Set(chain);
  let parent = known.get(id)?.parentId ?? null;
  while (parent && !seen.has(parent)) {
    chain.push(parent);
    seen.add(parent);
    parent = known.get(parent)?.parentId ?? null;
  }
  return chain;
}

/**
 * Root and depth of every component, each computed once: a walk up stops at the first
 * component already known, so all the walks together are linear in the topology (SPEC §10),
 * where asking `chainToRoot` inside a sort comparator was depth × n log n. A parent missing
 * from the topology is a root; a cycle's members (and whatever hangs below them) take the
 * cycle's smallest member as their root, whichever member a walk starts from.
 */
function topologyIndex(known: Map<string, TopologyComponent>) {
  const root = new Map<string, string>();
  const depth = new Map<string, number>();
  const resolve = (start: string) => {
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let id: string | null = start;
    while (id !== null && !root.has(id) && !onPath.has(id)) {
      onPath.set(id, path.length);
      path.push(id);
      id = known.get(id)?.parentId ?? null;
    }
    let top: string;
    let base: number;
    if (id === null) {
      top = path.at(-1)!;
      base = 0;
    } else if (root.has(id)) {
      top = root.get(id)!;
      base = depth.get(id)!;
    } else {
      // A cycle: its members are path[onPath(id)…]; they share a root and count as one level each.
      const cycle = path.splice(onPath.get(id)!);
      top = [...cycle].sort()[0]!;
      cycle.forEach((member, i) => {
        root.set(member, top);
        depth.set(member, cycle.length - i);
      });
      base = cycle.length;
    }
    for (let i = path.length - 1; i >= 0; i--) {
      base += 1;
      root.set(path[i]!, top);
      depth.set(path[i]!, base);
    }
  };
  return {
    rootOf(id: string): string {
      if (!root.has(id)) resolve(id);
      return root.get(id)!;
    },
    /** Components from the root down to this one (a root is 1). */
    depthOf(id: string): number {
      if (!depth.has(id)) resolve(id);
      return depth.get(id)!;
    },
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** One cause per independent component subtree touched by the alerts, best first. */
export function topologyCauses(alerts: readonly TopologyAlert[], components: readonly TopologyComponent[]): TopologyCause[] {
  if (alerts.length === 0) return [];
  const known = new Map(components.map((c) => [c.id, c]));
  const subjectOf = (a: TopologyAlert) => a.component ?? APPLIANCE;
  const { rootOf, depthOf } = topologyIndex(known);

  const groups = new Map<string, TopologyAlert[]>();
  for (const alert of alerts) {
    const root = rootOf(subjectOf(alert));
    const list = groups.get(root) ?? [];
    list.push(alert);
    groups.set(root, list);
  }

  const causes: TopologyCause[] = [];
  for (const group of groups.values()) {
    const onsetOf = new Map<string, number>();
    for (const a of group) {
      const id = subjectOf(a);
      onsetOf.set(id, Math.min(onsetOf.get(id) ?? Infinity, a.startsAt.getTime()));
    }
    const ids = [...onsetOf.keys()].sort(
      (x, y) => layerOf(x, known) - layerOf(y, known) || onsetOf.get(x)! - onsetOf.get(y)! || x.localeCompare(y),
    );
    const cause = ids[0]!;
    const causeLayer = layerOf(cause, known);
    const deepest = [...ids].sort((x, y) => layerOf(y, known) - layerOf(x, known) || depthOf(y) - depthOf(x))[0]!;
    const onChains = new Set([...chainToRoot(cause, known), ...chainToRoot(deepest, known)]);
    const downstream = [...onChains]
      .filter((id) => id !== cause && layerOf(id, known) >= causeLayer)
      .sort((x, y) => layerOf(x, known) - layerOf(y, known) || depthOf(x) - depthOf(y));
    const path = [cause, ...downstream];

    const explained = group.length / alerts.length;
    // A cause sitting upstream of other failing components is the strongest topology signal.
    const upstreamOfOthers = ids.some((id) => layerOf(id, known) > causeLayer);
    const bonus = upstreamOfOthers ? 0.25 : group.length > 1 ? 0.1 : 0;
    causes.push({
      subject: cause,
      kind: componentKindOf(cause, known),
      score: round3(Math.min(1, 0.35 + 0.35 * explained + bonus)),
      onset: new Date(onsetOf.get(cause)!),
      alerts: [...group].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime()),
      path,
      affected: ids,
      explains: { alerts: group.length, of: alerts.length },
    });
  }
  return causes.sort((a, b) => b.score - a.score || a.onset.getTime() - b.onset.getTime() || a.subject.localeCompare(b.subject));
}
