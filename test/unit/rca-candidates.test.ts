import { describe, expect, it } from 'vitest';
import { changeCauses } from '../../server/services/rca/changes.ts';
import { fleetScore } from '../../server/services/rca/fleet.ts';
import { topologyCauses, type TopologyAlert, type TopologyComponent } from '../../server/services/rca/topology.ts';

const t0 = new Date('2026-03-02T10:00:00Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

// The shape every appliance reports: disks under pools, datastores on pools, VMs on datastores.
const topology: TopologyComponent[] = [
  { id: 'pool:tank', kind: 'pool', parentId: null },
  { id: 'disk:sda', kind: 'disk', parentId: 'pool:tank' },
  { id: 'disk:sdb', kind: 'disk', parentId: 'pool:tank' },
  { id: 'datastore:ds1', kind: 'datastore', parentId: 'pool:tank' },
  { id: 'vm:web01', kind: 'vm', parentId: 'datastore:ds1' },
  { id: 'vm:db01', kind: 'vm', parentId: 'datastore:ds1' },
  { id: 'pool:flash', kind: 'pool', parentId: null },
  { id: 'disk:nvme0n1', kind: 'disk', parentId: 'pool:flash' },
  { id: 'psu:psu1', kind: 'psu', parentId: null },
];

const alert = (id: string, component: string | null, minutes: number, priority = 'P2'): TopologyAlert => ({
  id,
  name: `alert ${id}`,
  component,
  startsAt: at(minutes),
  priority,
});

describe('topology candidates', () => {
  it('ranks a failing disk first under a degraded pool and slow VMs, even when the VMs alerted first', () => {
    const causes = topologyCauses(
      [alert('vm1', 'vm:web01', 0, 'P3'), alert('vm2', 'vm:db01', 1, 'P3'), alert('pool', 'pool:tank', 2), alert('disk', 'disk:sda', 3, 'P3')],
      topology,
    );
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatchObject({ subject: 'disk:sda', kind: 'disk', explains: { alerts: 4, of: 4 } });
    expect(causes[0]!.path).toEqual(['disk:sda', 'pool:tank', 'datastore:ds1', expect.stringMatching(/^vm:/)]);
    expect(causes[0]!.affected).toEqual(expect.arrayContaining(['vm:web01', 'vm:db01', 'pool:tank', 'disk:sda']));
    expect(causes[0]!.score).toBeGreaterThan(0.9);
    expect(causes[0]!.score).toBeLessThanOrEqual(1);
  });

  it('picks the earliest of two failing disks of one pool', () => {
    const causes = topologyCauses([alert('b', 'disk:sdb', 5), alert('a', 'disk:sda', 7), alert('p', 'pool:tank', 8)], topology);
    expect(causes[0]!.subject).toBe('disk:sdb');
  });

  it('keeps an unrelated concurrent alert out of the cause and ranks it below', () => {
    const causes = topologyCauses(
      [alert('psu', 'psu:psu1', -5, 'P2'), alert('pool', 'pool:tank', 0), alert('disk', 'disk:sda', 1), alert('vm', 'vm:web01', 2, 'P3')],
      topology,
    );
    expect(causes.map((c) => c.subject)).toEqual(['disk:sda', 'psu:psu1']);
    expect(causes[0]!.alerts.map((a) => a.id)).toEqual(['pool', 'disk', 'vm']);
    expect(causes[0]!.score).toBeGreaterThan(causes[1]!.score);
    expect(causes[1]!.alerts.map((a) => a.id)).toEqual(['psu']);
  });

  it('does not merge a disk of another pool into the cause', () => {
    const causes = topologyCauses([alert('pool', 'pool:tank', 0), alert('vm', 'vm:web01', 1), alert('nvme', 'disk:nvme0n1', 2)], topology);
    expect(causes[0]!.subject).toBe('pool:tank');
    expect(causes[0]!.affected).not.toContain('disk:nvme0n1');
  });

  it('handles components missing from the topology and alerts without a component', () => {
    const causes = topologyCauses([alert('x', 'fan:fan9', 0), alert('y', null, 1)], []);
    expect(causes.map((c) => c.subject).sort()).toEqual(['appliance', 'fan:fan9']);
    expect(topologyCauses([], topology)).toEqual([]);
  });

  it('survives a cycle in reported parents', () => {
    const cyclic: TopologyComponent[] = [
      { id: 'pool:a', kind: 'pool', parentId: 'disk:b' },
      { id: 'disk:b', kind: 'disk', parentId: 'pool:a' },
    ];
    expect(topologyCauses([alert('1', 'pool:a', 0), alert('2', 'disk:b', 1)], cyclic)[0]!.subject).toBe('disk:b');
  });
});

describe('change candidates', () => {
  const change = (id: string, minutesBefore: number, kind: 'os_version' | 'hypervisor_version' | 'configuration' = 'os_version') => ({
    id,
    kind,
    fromValue: '6.0.0',
    toValue: '6.1.0',
    at: at(-minutesBefore),
  });

  it('scores a SynetoOS upgrade an hour before onset high, with its versions and times', () => {
    const [cause] = changeCauses([change('c1', 60)], t0);
    expect(cause).toMatchObject({
      subject: 'SynetoOS 6.0.0 → 6.1.0',
      evidence: { from: '6.0.0', to: '6.1.0', at: at(-60).toISOString(), minutesBeforeOnset: 60 },
    });
    expect(cause!.score).toBeGreaterThan(0.8);
  });

  it('scores closer changes higher and ignores changes outside the 24 h before onset', () => {
    const causes = changeCauses([change('old', 23 * 60, 'hypervisor_version'), change('near', 30, 'configuration'), change('late', -10), change('ancient', 25 * 60)], t0);
    expect(causes.map((c) => c.evidence.changeId)).toEqual(['near', 'old']);
    expect(causes[0]!.score).toBeGreaterThan(causes[1]!.score);
    for (const c of causes) expect(c.score).toBeGreaterThanOrEqual(0), expect(c.score).toBeLessThanOrEqual(1);
  });
});

describe('fleet correlation score', () => {
  it('needs three appliances on the shared value, and the rest of the scope quiet', () => {
    expect(fleetScore({ sameTotal: 5, sameFiring: 5, otherTotal: 20, otherFiring: 0 })).toBeGreaterThan(0.85);
    expect(fleetScore({ sameTotal: 5, sameFiring: 2, otherTotal: 20, otherFiring: 0 })).toBeNull();
    // Firing everywhere: the version explains nothing.
    expect(fleetScore({ sameTotal: 5, sameFiring: 5, otherTotal: 20, otherFiring: 15 })).toBeNull();
    // Nothing to compare with.
    expect(fleetScore({ sameTotal: 5, sameFiring: 5, otherTotal: 0, otherFiring: 0 })).toBeNull();
    const some = fleetScore({ sameTotal: 10, sameFiring: 6, otherTotal: 20, otherFiring: 1 })!;
    expect(some).toBeLessThan(fleetScore({ sameTotal: 10, sameFiring: 6, otherTotal: 20, otherFiring: 0 })!);
  });
});
