import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ParseError,
  TooManySamplesError,
  defaultLimits,
  parseAlertmanagerWebhook,
  severityFromLabel,
} from '../../telemetry/parsers/index.ts';
import type { ParseContext } from '../../telemetry/parsers/index.ts';

const now = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z
const ctx: ParseContext = { now, limits: defaultLimits };

function parseErrorOf(parse: () => unknown): ParseError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    return error as ParseError;
  }
  throw new Error('expected a ParseError');
}

function webhook(alerts: unknown[]) {
  return {
    version: '4',
    groupKey: '{}:{}',
    status: 'firing',
    receiver: 'vigil',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  };
}

const alert = {
  status: 'firing',
  labels: { alertname: 'DiskSmartPending', disk: 'sdb', severity: 'warning' },
  annotations: {},
  startsAt: '2024-05-01T11:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
  fingerprint: 'abc123',
};

describe('parseAlertmanagerWebhook', () => {
  it('turns a version 4 webhook into events', () => {
    const body: unknown = JSON.parse(
      readFileSync(new URL('../fixtures/parsers/alertmanager-webhook.json', import.meta.url), 'utf8'),
    );
    expect(parseAlertmanagerWebhook(body, ctx)).toEqual([
      {
        id: 'am-5d3c4f1a9e2b7c60',
        name: 'ZpoolDegraded',
        severity: 'critical',
        status: 'firing',
        component: 'tank',
        labels: {
          alertname: 'ZpoolDegraded',
          instance: 'syn-appliance-01:9100',
          job: 'node',
          pool: 'tank',
          severity: 'critical',
        },
        summary: 'ZFS pool tank is DEGRADED',
        startsAt: Date.UTC(2024, 4, 1, 11, 58, 30, 123),
        endsAt: null,
      },
      {
        id: 'am-0a1b2c3d4e5f6071',
        name: 'HostHighCpuLoad',
        severity: 'warning',
        status: 'resolved',
        component: 'syn-appliance-01:9100',
        labels: {
          alertname: 'HostHighCpuLoad',
          instance: 'syn-appliance-01:9100',
          job: 'node',
          severity: 'Warning',
        },
        summary: 'CPU load is above 80 % for 10 minutes.',
        startsAt: Date.UTC(2024, 4, 1, 11, 40),
        endsAt: Date.UTC(2024, 4, 1, 11, 55),
      },
    ]);
  });

  it.each([
    ['critical', 'critical'],
    ['CRITICAL', 'critical'],
    ['page', 'critical'],
    ['warning', 'warning'],
    ['Warning', 'warning'],
    ['error', 'warning'],
    ['major', 'warning'],
    ['info', 'info'],
    ['none', 'info'],
    [undefined, 'warning'],
  ] as const)('maps severity %j to %s', (label, severity) => {
    expect(severityFromLabel(label)).toBe(severity);
  });

  it('takes the component from component, device, pool, disk, instance in that order', () => {
    const labelsOf = (extra: Record<string, string>) => ({ ...alert, labels: { alertname: 'A', ...extra } });
    const componentOf = (extra: Record<string, string>) => parseAlertmanagerWebhook(webhook([labelsOf(extra)]), ctx)[0]?.component;
    expect(componentOf({ instance: 'i', disk: 'd', pool: 'p', device: 'dev', component: 'c' })).toBe('c');
    expect(componentOf({ instance: 'i', disk: 'd', pool: 'p', device: 'dev' })).toBe('dev');
    expect(componentOf({ instance: 'i', disk: 'd', pool: 'p' })).toBe('p');
    expect(componentOf({ instance: 'i', disk: 'd' })).toBe('d');
    expect(componentOf({ instance: 'i', component: '' })).toBe('i');
    expect(componentOf({ job: 'node' })).toBeNull();
  });

  it('falls back to the description, then the alert name, for the summary', () => {
    const summaries = parseAlertmanagerWebhook(
      webhook([
        { ...alert, annotations: { summary: 'S', description: 'D' } },
        { ...alert, annotations: { summary: '', description: 'D' } },
        { ...alert, annotations: null },
        { ...alert, annotations: { summary: 'x'.repeat(5000) } },
      ]),
      ctx,
    ).map((event) => event.summary);
    expect(summaries.slice(0, 3)).toEqual(['S', 'D', 'DiskSmartPending']);
    expect(summaries[3]).toHaveLength(2000);
    expect(summaries[3]?.endsWith('…')).toBe(true);
  });

  it('derives a stable id from the labels and start when the fingerprint is missing', () => {
    const idOf = (a: unknown) => parseAlertmanagerWebhook(webhook([a]), ctx)[0]?.id;
    const { fingerprint: _omitted, ...withoutFingerprint } = alert;
    const id = idOf(withoutFingerprint);
    expect(id).toMatch(/^am-[0-9a-f]{16}$/);
    const reordered = { ...withoutFingerprint, labels: { severity: 'warning', disk: 'sdb', alertname: 'DiskSmartPending' } };
    expect(idOf(reordered)).toBe(id);
    expect(idOf({ ...withoutFingerprint, startsAt: '2024-05-01T13:00:00+02:00' })).toBe(id);
    expect(idOf({ ...withoutFingerprint, fingerprint: '' })).toBe(id);
    expect(idOf({ ...withoutFingerprint, startsAt: '2024-05-01T11:00:01Z' })).not.toBe(id);
    expect(idOf({ ...withoutFingerprint, labels: { ...alert.labels, disk: 'sdc' } })).not.toBe(id);
  });

  it('ignores a future endsAt on a firing alert and takes a resolved one', () => {
    const events = parseAlertmanagerWebhook(
      webhook([
        { ...alert, endsAt: '2024-05-01T13:00:00Z' },
        { ...alert, endsAt: undefined },
        { ...alert, status: 'resolved', endsAt: '2024-05-01T11:30:00Z' },
      ]),
      ctx,
    );
    expect(events.map((e) => [e.status, e.endsAt])).toEqual([
      ['firing', null],
      ['firing', null],
      ['resolved', Date.UTC(2024, 4, 1, 11, 30)],
    ]);
  });

  it('lists the bad alerts by index', () => {
    const error = parseErrorOf(() =>
      parseAlertmanagerWebhook(
        webhook([
          alert,
          { ...alert, labels: { disk: 'sdb' } },
          { ...alert, status: 'pending' },
          { ...alert, startsAt: 'now' },
          { ...alert, status: 'resolved', endsAt: '2024-05-01T10:00:00Z' },
          { ...alert, status: 'resolved', endsAt: '2024-05-01T13:00:00Z' },
          { ...alert, startsAt: '2024-05-01T13:00:00Z' },
          { ...alert, labels: { ...alert.labels, 'bad-name': 'x' } },
          { ...alert, fingerprint: 'not a fingerprint' },
          'alert',
        ]),
        ctx,
      ),
    );
    expect(error.message).toBe('9 of 10 alerts are invalid');
    const details = error.details as { problems: { index: number; field?: string; message: string }[] };
    expect(details.problems.map((p) => [p.index, p.field ?? null, p.message])).toEqual([
      [1, 'labels.alertname', 'labels.alertname is required'],
      [2, 'status', expect.stringContaining('Invalid option')],
      [3, 'startsAt', 'startsAt must be an RFC 3339 date-time'],
      [4, 'endsAt', 'endsAt is before startsAt'],
      [5, 'endsAt', 'endsAt of a resolved alert lies in the future'],
      [6, 'startsAt', 'timestamp is more than 10 min in the future'],
      [7, 'labels.bad-name', 'label name must match [a-zA-Z_][a-zA-Z0-9_]*'],
      [8, 'fingerprint', 'fingerprint must be 1–128 characters of [A-Za-z0-9._:-]'],
      [9, null, expect.stringContaining('expected object')],
    ]);
  });

  it('rejects a label named __proto__ rather than losing it', () => {
    const body: unknown = JSON.parse(
      '{"alerts":[{"status":"firing","labels":{"alertname":"A","__proto__":"x"},"annotations":{"__proto__":{"summary":"s"}},"startsAt":"2024-05-01T11:00:00Z"}]}',
    );
    expect((parseErrorOf(() => parseAlertmanagerWebhook(body, ctx)).details as { problems: unknown }).problems).toEqual([
      { index: 0, field: 'labels.__proto__', message: 'label names beginning with __ are reserved' },
    ]);
  });

  it('rejects another payload version or a missing alert list, and accepts a missing version', () => {
    expect(parseErrorOf(() => parseAlertmanagerWebhook({ ...webhook([]), version: '3' }, ctx)).details).toEqual({
      field: 'version',
      message: 'unsupported webhook payload version "3"; expected "4"',
    });
    expect(parseErrorOf(() => parseAlertmanagerWebhook({ version: '4' }, ctx)).details).toEqual({
      field: 'alerts',
      message: 'alerts must be an array',
    });
    expect(parseErrorOf(() => parseAlertmanagerWebhook(null, ctx)).details).toEqual({
      field: '',
      message: 'body must be a JSON object',
    });
    expect(parseAlertmanagerWebhook({ alerts: [alert] }, ctx)).toHaveLength(1);
  });

  it('answers TooManySamplesError above 1000 alerts', () => {
    expect(parseAlertmanagerWebhook(webhook(Array.from({ length: 1000 }, () => alert)), ctx)).toHaveLength(1000);
    expect(() => parseAlertmanagerWebhook(webhook(Array.from({ length: 1001 }, () => alert)), ctx)).toThrow(
      TooManySamplesError,
    );
  });
});
