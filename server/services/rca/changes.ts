// `change` root-cause candidates (SPEC §3): a SynetoOS or hypervisor version change, or a
// configuration change, on the appliance within 24 h before the onset. Pure.

export const CHANGE_WINDOW_MS = 24 * 3600_000;

export interface ApplianceChange {
  id: string;
  kind: 'os_version' | 'hypervisor_version' | 'configuration';
  fromValue: string | null;
  toValue: string | null;
  at: Date;
}

export interface ChangeCause {
  subject: string;
  score: number;
  evidence: Record<string, unknown>;
}

function describe(change: ApplianceChange): string {
  const from = change.fromValue ?? 'unknown';
  const to = change.toValue ?? 'unknown';
  switch (change.kind) {
    case 'os_version':
      return `SynetoOS ${from} → ${to}`;
    case 'hypervisor_version':
      return `Hypervisor ${from} → ${to}`;
    case 'configuration':
      return `Configuration change${change.toValue ? `: ${change.toValue}` : ''}`;
  }
}

/** Changes inside the window before onset, scored higher the closer they came to it. */
export function changeCauses(changes: readonly ApplianceChange[], onset: Date): ChangeCause[] {
  const bySubject = new Map<string, ChangeCause>();
  for (const change of changes) {
    const before = onset.getTime() - change.at.getTime();
    if (before < 0 || before > CHANGE_WINDOW_MS) continue;
    const closeness = 1 - before / CHANGE_WINDOW_MS;
    const software = change.kind === 'configuration' ? 0 : 0.1;
    const score = Math.round((0.3 + 0.5 * closeness + software) * 1000) / 1000;
    const subject = describe(change);
    const previous = bySubject.get(subject);
    if (previous && previous.score >= score) continue;
    bySubject.set(subject, {
      subject,
      score,
      evidence: {
        changeId: change.id,
        change: change.kind,
        from: change.fromValue,
        to: change.toValue,
        at: change.at.toISOString(),
        onset: onset.toISOString(),
        minutesBeforeOnset: Math.round(before / 60_000),
      },
    });
  }
  return [...bySubject.values()].sort((a, b) => b.score - a.score || a.subject.localeCompare(b.subject));
}
