import type { Db } from '../../drizzle/client.ts';
import { rules } from '../../drizzle/schema/index.ts';
import { RuleInput } from './rules.ts';

type PackRule = RuleInput & { key: string };

const kb = (slug: string) => `https://docs.vigil.dev/kb/${slug}`;
const MIN = 60;
const HOUR = 3600;
const DAY = 86_400;

// The shipped rules, one per automatic signal of the support guide (SPEC §2.3), plus
// node_exporter's own metrics. Keys are stable: seeding never duplicates or overwrites
// a rule an admin has edited.
const pack: ({ key: string } & Record<string, unknown>)[] = [
  // P1: system unavailable
  { key: 'pool-unavailable', kind: 'state', name: 'Pool faulted or unavailable', metric: 'pool_health', params: { equals: 2 }, priority: 'P1', componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} is FAULTED/UNAVAIL on {{appliance.serial}}', remediationUrl: kb('pool-faulted') },
  { key: 'psu-all-failed', kind: 'threshold', name: 'All power supplies failed', metric: 'psu_ok', params: { op: '<=', value: 0, aggregate: 'sum', members: { label: 'psu', kind: 'psu' } }, priority: 'P1', componentFrom: { kind: 'system' }, titleTemplate: 'All power supplies report failure on {{appliance.serial}}', remediationUrl: kb('psu-failure') },
  { key: 'heartbeat-lost-hypervisor-down', kind: 'absence', name: 'No heartbeat and hypervisor unreachable', metric: null, params: { source: 'heartbeat', seconds: 15 * MIN, and: { metric: 'hypervisor_up', op: '==', value: 0 } }, priority: 'P1', titleTemplate: '{{appliance.serial}} is silent and its hypervisor is unreachable', remediationUrl: kb('appliance-unreachable') },
  // P2: direct impact on productivity
  { key: 'pool-degraded', kind: 'state', name: 'Pool degraded', metric: 'pool_health', params: { equals: 1 }, priority: 'P2', componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} is DEGRADED on {{appliance.serial}}', remediationUrl: kb('pool-degraded') },
  { key: 'pool-capacity-90', kind: 'threshold', name: 'Pool 90 % full', metric: 'pool_capacity_ratio', params: { op: '>=', value: 0.9, recovery: 0.88 }, forSeconds: 5 * MIN, priority: 'P2', componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} is {{value | humanizePercentage}} full on {{appliance.serial}}', remediationUrl: kb('pool-capacity') },
  { key: 'psu-redundancy-lost', kind: 'state', name: 'Power supply redundancy lost', metric: 'psu_ok', params: { equals: 0 }, priority: 'P2', componentFrom: { label: 'psu', kind: 'psu' }, titleTemplate: 'Power supply {{labels.psu}} failed on {{appliance.serial}}: no redundancy', remediationUrl: kb('psu-failure') },
  { key: 'temperature-critical', kind: 'threshold', name: 'Critical temperature', metric: 'temperature_celsius', params: { op: '>=', value: 80, recovery: 75 }, forSeconds: 2 * MIN, priority: 'P2', componentFrom: { label: 'sensor', kind: 'sensor' }, titleTemplate: 'Sensor {{labels.sensor}} at {{value}} °C on {{appliance.serial}}', remediationUrl: kb('temperature') },
  { key: 'replication-lag', kind: 'threshold', name: 'Replication broken or lagging', metric: 'replication_lag_seconds', params: { op: '>=', value: HOUR, recovery: 30 * MIN }, forSeconds: 5 * MIN, priority: 'P2', componentFrom: { label: 'target', kind: 'replication_target' }, titleTemplate: 'Replication to {{labels.target}} is {{value | humanizeDuration}} behind on {{appliance.serial}}', remediationUrl: kb('replication') },
  { key: 'replication-broken-event', kind: 'event', name: 'Replication broken (appliance alert)', metric: null, params: { name: 'Replication*', severities: ['critical'] }, priority: 'P2', componentFrom: { label: 'target', kind: 'replication_target' }, titleTemplate: 'Replication to {{labels.target}} is broken on {{appliance.serial}}', remediationUrl: kb('replication') },
  { key: 'appliance-critical-event', kind: 'event', name: 'Critical alert raised by the appliance', metric: null, params: { name: '*', severities: ['critical'] }, priority: 'P2', titleTemplate: '{{labels.alertname}} on {{appliance.serial}}', remediationUrl: kb('appliance-alerts') },
  // P3: occasional issue
  { key: 'pool-capacity-80', kind: 'threshold', name: 'Pool 80 % full', metric: 'pool_capacity_ratio', params: { op: '>=', value: 0.8, recovery: 0.78 }, forSeconds: 5 * MIN, priority: 'P3', componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} is {{value | humanizePercentage}} full on {{appliance.serial}}', remediationUrl: kb('pool-capacity') },
  { key: 'pool-capacity-forecast-90', kind: 'forecast', name: 'Pool forecast to reach 90 % within 30 days', metric: 'pool_capacity_ratio', params: { windowSeconds: 7 * DAY, threshold: 0.9, horizonSeconds: 30 * DAY, direction: 'rising', minSamples: 3 }, priority: 'P3', componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} will reach 90 % within 30 days on {{appliance.serial}}', remediationUrl: kb('pool-capacity') },
  { key: 'smart-reallocated-rising', kind: 'rate', name: 'SMART reallocated sectors rising', metric: 'disk_smart_reallocated_sectors', params: { windowSeconds: 6 * HOUR, op: '>', value: 0 }, keepFiringForSeconds: 6 * HOUR, priority: 'P3', componentFrom: { label: 'disk', kind: 'disk' }, titleTemplate: 'Disk {{labels.disk}}: reallocated sectors rising (+{{value}}) on {{appliance.serial}}', remediationUrl: kb('disk-smart') },
  { key: 'smart-pending-rising', kind: 'rate', name: 'SMART pending sectors rising', metric: 'disk_smart_pending_sectors', params: { windowSeconds: 6 * HOUR, op: '>', value: 0 }, keepFiringForSeconds: 6 * HOUR, priority: 'P3', componentFrom: { label: 'disk', kind: 'disk' }, titleTemplate: 'Disk {{labels.disk}}: pending sectors rising (+{{value}}) on {{appliance.serial}}', remediationUrl: kb('disk-smart') },
  { key: 'backup-failed', kind: 'threshold', name: 'Backup job has not succeeded for 26 h', metric: 'backup_last_success_timestamp_seconds', params: { op: '>', value: 26 * HOUR, ageSeconds: true }, priority: 'P3', titleTemplate: 'Backup job {{labels.job}} last succeeded {{value | humanizeDuration}} ago on {{appliance.serial}}', remediationUrl: kb('backup') },
  { key: 'fan-failed', kind: 'state', name: 'Fan failure', metric: 'fan_ok', params: { equals: 0 }, forSeconds: MIN, priority: 'P3', componentFrom: { label: 'fan', kind: 'fan' }, titleTemplate: 'Fan {{labels.fan}} reports a failure on {{appliance.serial}}', remediationUrl: kb('fan') },
  { key: 'heartbeat-missing', kind: 'absence', name: 'Heartbeat missing for 15 minutes', metric: null, params: { source: 'heartbeat', seconds: 15 * MIN }, priority: 'P3', titleTemplate: 'No heartbeat from {{appliance.serial}} for 15 minutes', remediationUrl: kb('heartbeat') },
  { key: 'vm-latency-high', kind: 'threshold', name: 'VM disk latency high', metric: 'vm_disk_latency_seconds', params: { op: '>=', value: 0.1, recovery: 0.05 }, forSeconds: MIN, priority: 'P3', componentFrom: { label: 'vm', kind: 'vm' }, titleTemplate: 'VM {{labels.vm}} disk latency {{value | humanize}}s on {{appliance.serial}}', remediationUrl: kb('vm-latency') },
  { key: 'disk-latency-high', kind: 'threshold', name: 'Disk latency high', metric: 'disk_latency_seconds', params: { op: '>=', value: 0.2, recovery: 0.1 }, forSeconds: 2 * MIN, priority: 'P3', componentFrom: { label: 'disk', kind: 'disk' }, titleTemplate: 'Disk {{labels.disk}} latency {{value | humanize}}s on {{appliance.serial}}', remediationUrl: kb('disk-latency') },
  { key: 'memory-high', kind: 'threshold', name: 'Memory nearly exhausted', metric: 'memory_utilization_ratio', params: { op: '>=', value: 0.95, recovery: 0.9 }, forSeconds: 15 * MIN, priority: 'P3', titleTemplate: 'Memory {{value | humanizePercentage}} used on {{appliance.serial}}', remediationUrl: kb('memory') },
  { key: 'appliance-warning-event', kind: 'event', name: 'Warning raised by the appliance', metric: null, params: { name: '*', severities: ['warning'] }, priority: 'P3', titleTemplate: '{{labels.alertname}} on {{appliance.serial}}', remediationUrl: kb('appliance-alerts') },
  // node_exporter
  { key: 'node-memory-available', kind: 'threshold', name: 'Memory available low (node_exporter)', metric: 'node_memory_MemAvailable_bytes', params: { op: '<', value: 0.05, recovery: 0.1, divideBy: 'node_memory_MemTotal_bytes' }, forSeconds: 10 * MIN, priority: 'P3', titleTemplate: 'Only {{value | humanizePercentage}} of memory available on {{appliance.serial}}', remediationUrl: kb('memory') },
  { key: 'cpu-saturated', kind: 'threshold', name: 'CPU saturated', metric: 'cpu_utilization_ratio', params: { op: '>=', value: 0.95, recovery: 0.85 }, forSeconds: 30 * MIN, priority: 'P4', titleTemplate: 'CPU {{value | humanizePercentage}} busy on {{appliance.serial}}', remediationUrl: kb('cpu') },
  // Real exporters (SPEC §9), as PromQL: node_exporter's zfs, hwmon, filesystem and CPU
  // collectors and prometheus-community/smartctl_exporter, as scraped or remote-written.
  { key: 'node-zfs-pool-unavailable', kind: 'promql', name: 'ZFS pool faulted or unavailable (node_exporter)', params: { expr: 'node_zfs_zpool_state{state=~"faulted|unavail|suspended|removed|offline"} == 1' }, priority: 'P1', componentFrom: { label: 'zpool', kind: 'pool' }, titleTemplate: 'Pool {{ $labels.zpool }} is {{ $labels.state | toUpper }} on {{appliance.serial}}', remediationUrl: kb('pool-faulted') },
  { key: 'node-zfs-pool-degraded', kind: 'promql', name: 'ZFS pool degraded (node_exporter)', params: { expr: 'node_zfs_zpool_state{state="degraded"} == 1' }, priority: 'P2', componentFrom: { label: 'zpool', kind: 'pool' }, titleTemplate: 'Pool {{ $labels.zpool }} is DEGRADED on {{appliance.serial}}', remediationUrl: kb('pool-degraded') },
  // A chip that reports no critical limit exports 0: only real limits are compared.
  { key: 'node-hwmon-temp-critical', kind: 'promql', name: 'Temperature at its critical limit (node_exporter hwmon)', params: { expr: 'node_hwmon_temp_celsius >= on(chip, sensor) (node_hwmon_temp_crit_celsius > 0)' }, forSeconds: 2 * MIN, priority: 'P2', titleTemplate: 'Sensor {{ $labels.chip }} {{ $labels.sensor }} at {{ $value }} °C, at its critical limit, on {{appliance.serial}}', remediationUrl: kb('temperature') },
  { key: 'smartctl-smart-failed', kind: 'promql', name: 'SMART overall health failed (smartctl_exporter)', params: { expr: 'smartctl_device_smart_status == 0' }, priority: 'P2', componentFrom: { label: 'device', kind: 'disk' }, titleTemplate: 'Disk {{ $labels.device }} fails its SMART health check on {{appliance.serial}}', remediationUrl: kb('disk-smart') },
  { key: 'smartctl-reallocated-rising', kind: 'promql', name: 'SMART reallocated sectors rising (smartctl_exporter)', params: { expr: 'increase(smartctl_device_attribute{attribute_name="Reallocated_Sector_Ct",attribute_value_type="raw"}[6h]) > 0' }, keepFiringForSeconds: 6 * HOUR, priority: 'P3', componentFrom: { label: 'device', kind: 'disk' }, titleTemplate: 'Disk {{ $labels.device }}: reallocated sectors rising (+{{ $value | humanize }}) on {{appliance.serial}}', remediationUrl: kb('disk-smart') },
  { key: 'smartctl-pending-sectors', kind: 'promql', name: 'SMART pending sectors (smartctl_exporter)', params: { expr: 'smartctl_device_attribute{attribute_name="Current_Pending_Sector",attribute_value_type="raw"} > 0' }, priority: 'P3', componentFrom: { label: 'device', kind: 'disk' }, titleTemplate: 'Disk {{ $labels.device }} has {{ $value }} sectors pending reallocation on {{appliance.serial}}', remediationUrl: kb('disk-smart') },
  // Pseudo and image filesystems are always "full"; a read-only mount cannot fill up.
  { key: 'node-filesystem-almost-full', kind: 'promql', name: 'Filesystem almost full (node_exporter)', params: { expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes < 0.1 and node_filesystem_readonly == 0' }, forSeconds: 5 * MIN, priority: 'P3', componentFrom: { label: 'mountpoint', kind: 'filesystem' }, titleTemplate: 'Filesystem {{ $labels.mountpoint }} has {{ $value | humanizePercentage }} free on {{appliance.serial}}', remediationUrl: kb('filesystem') },
  { key: 'node-cpu-busy', kind: 'promql', name: 'CPU saturated (node_exporter)', params: { expr: '1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.95' }, forSeconds: 30 * MIN, priority: 'P4', titleTemplate: 'CPU {{ $value | humanizePercentage }} busy on {{appliance.serial}}', remediationUrl: kb('cpu') },
  { key: 'node-load-per-core', kind: 'promql', name: 'Sustained load above 2 per core (node_exporter)', params: { expr: 'node_load15 / on(instance) count by (instance) (node_cpu_seconds_total{mode="idle"}) > 2' }, forSeconds: 15 * MIN, priority: 'P4', titleTemplate: '15-minute load {{ $value | humanize }} per core on {{appliance.serial}}', remediationUrl: kb('load') },
  // P4: software currency
  { key: 'os-version-behind', kind: 'state', name: 'SynetoOS behind the current version', metric: null, params: { attribute: 'os_version' }, priority: 'P4', titleTemplate: 'SynetoOS {{appliance.osVersion}} on {{appliance.serial}} is behind the current version', remediationUrl: kb('upgrade') },
  { key: 'hypervisor-version-behind', kind: 'state', name: 'Hypervisor behind the current version', metric: null, params: { attribute: 'hypervisor_version' }, priority: 'P4', titleTemplate: 'Hypervisor {{appliance.hypervisorVersion}} on {{appliance.serial}} is behind the current version', remediationUrl: kb('upgrade') },
];

/** The pack, validated as the API would validate it. */
export const defaultPack: PackRule[] = pack.map(({ key, ...rule }) => {
  const parsed = RuleInput.safeParse(rule);
  if (!parsed.success) throw new Error(`default rule ${key}: ${parsed.error.message}`);
  return { ...parsed.data, key };
});

/** Seeds the pack idempotently: a key already present (perhaps edited by an admin) is left alone. */
export async function seedDefaultRules(db: Db): Promise<number> {
  const rows = await db
    .insert(rules)
    .values(
      defaultPack.map((r) => ({
        key: r.key,
        name: r.name,
        description: r.description,
        kind: r.kind,
        enabled: r.enabled,
        metric: r.metric ?? null,
        selector: r.selector,
        params: r.params as Record<string, unknown>,
        forSeconds: r.forSeconds,
        keepFiringForSeconds: r.keepFiringForSeconds,
        priority: r.priority,
        componentFrom: r.componentFrom,
        titleTemplate: r.titleTemplate,
        remediationUrl: r.remediationUrl,
      })),
    )
    .onConflictDoNothing({ target: rules.key })
    .returning({ id: rules.id });
  return rows.length;
}
