// The component topology a simulated appliance reports in its heartbeat:
// disks → pools → datastores → VMs, plus PSUs, fans, NICs and replication targets.

export const componentKinds = ['disk', 'pool', 'datastore', 'vm', 'psu', 'fan', 'nic', 'replication_target'] as const;
export type ComponentKind = (typeof componentKinds)[number];

export interface Component {
  kind: ComponentKind;
  id: string;
  parentId: string | null;
  name: string;
}

export interface ApplianceTopology {
  pools: { name: string; disks: string[] }[];
  datastores: { name: string; pool: string }[];
  vms: { name: string; datastore: string }[];
  psus: string[];
  fans: string[];
  nics: string[];
  replicationTargets: string[];
  temperatureSensors: { name: string; normalCelsius: number }[];
  backupJobs: string[];
}

export function componentId(kind: ComponentKind, name: string): string {
  return `${kind}:${name}`;
}

/**
 * Every simulated appliance has the same shape, so a scenario can name the pool or
 * disk it breaks. The pool `tank` (spinning disks) carries datastore `ds1` with
 * two VMs; the pool `flash` carries `ds2` with one.
 */
export function applianceTopology(): ApplianceTopology {
  return {
    pools: [
      { name: 'tank', disks: ['sda', 'sdb', 'sdc', 'sdd'] },
      { name: 'flash', disks: ['nvme0n1', 'nvme1n1'] },
    ],
    datastores: [
      { name: 'ds1', pool: 'tank' },
      { name: 'ds2', pool: 'flash' },
    ],
    vms: [
      { name: 'web01', datastore: 'ds1' },
      { name: 'db01', datastore: 'ds1' },
      { name: 'app01', datastore: 'ds2' },
    ],
    psus: ['psu1', 'psu2'],
    fans: ['fan1', 'fan2', 'fan3', 'fan4'],
    nics: ['eth0', 'eth1'],
    replicationTargets: ['dr1'],
    temperatureSensors: [
      { name: 'cpu1', normalCelsius: 48 },
      { name: 'cpu2', normalCelsius: 46 },
      { name: 'inlet', normalCelsius: 24 },
    ],
    backupJobs: ['nightly'],
  };
}

export function topologyComponents(topology: ApplianceTopology): Component[] {
  const components: Component[] = [];
  const add = (kind: ComponentKind, name: string, parentId: string | null): void => {
    components.push({ kind, id: componentId(kind, name), parentId, name });
  };
  for (const pool of topology.pools) {
    add('pool', pool.name, null);
    for (const disk of pool.disks) add('disk', disk, componentId('pool', pool.name));
  }
  for (const ds of topology.datastores) add('datastore', ds.name, componentId('pool', ds.pool));
  for (const vm of topology.vms) add('vm', vm.name, componentId('datastore', vm.datastore));
  for (const psu of topology.psus) add('psu', psu, null);
  for (const fan of topology.fans) add('fan', fan, null);
  for (const nic of topology.nics) add('nic', nic, null);
  for (const target of topology.replicationTargets) add('replication_target', target, null);
  return components;
}

/** The VMs whose storage lives on `pool`. */
export function vmsOnPool(topology: ApplianceTopology, pool: string): string[] {
  const datastores = new Set(topology.datastores.filter((d) => d.pool === pool).map((d) => d.name));
  return topology.vms.filter((vm) => datastores.has(vm.datastore)).map((vm) => vm.name);
}
