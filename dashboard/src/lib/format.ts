import { formatDateTime as formatLocaleDateTime, formatNumber, hasMessage, t } from './i18n.svelte.ts';
import type { ApplianceStatus, Priority, Tier, TicketStatus } from './types.ts';

// Everything here is text a person reads, so it follows the reader's language
// (`i18n.current`): labels come from `locales/format.ts`, dates and numbers from Intl.

/** "30 Nov 2026, 14:05" / "30 nov 2026, 14:05" in the browser's time zone; "—" when absent. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatLocaleDateTime(d, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A calendar date ("2026-12-25" is read at noon UTC so no time zone moves it a day). */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso.length === 10 ? `${iso}T12:00:00Z` : iso);
  return Number.isNaN(d.getTime()) ? iso : formatLocaleDateTime(d, { dateStyle: 'medium' });
}

/** "3 min ago", "in 2 h" ("3 min fa", "tra 2 h"); `now` in epoch milliseconds. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const secs = Math.round((ms - now) / 1000);
  const abs = Math.abs(secs);
  const span =
    abs < 60
      ? `${formatNumber(abs)} s`
      : abs < 3600
        ? `${formatNumber(Math.round(abs / 60))} min`
        : abs < 86400
          ? `${formatNumber(Math.round(abs / 3600))} h`
          : t('format.days', { n: formatNumber(Math.round(abs / 86400)) });
  return secs <= 0 ? t('format.ago', { span }) : t('format.in', { span });
}

/** 8125 → "2h 15m 25s"; 200000 → "2d 7h 33m" (Italian "2g 7h 33m"). Sign is dropped: callers say "overdue". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.floor(Math.abs(totalSeconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}${t('format.dayUnit')} ${h}h ${pad(m)}m`;
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  return `${m}m ${pad(sec)}s`;
}

/** A label table whose entries are read from the catalogue each time (so they follow the language). */
function labels<K extends string>(prefix: string, values: readonly K[]): Record<K, string> {
  const table = {} as Record<K, string>;
  for (const value of values) Object.defineProperty(table, value, { enumerable: true, get: () => t(`${prefix}.${value}`) });
  return table;
}

/** The guide's tier names. */
export const TIER_LABEL = labels<Tier>('format.tier', ['basic', 'pro', 'mission_critical']);

/** The guide's priority names (P1 Emergency … P4 Low). */
export const PRIORITY_LABEL = labels<Priority>('format.priority', ['P1', 'P2', 'P3', 'P4']);

export const STATUS_LABEL = labels<ApplianceStatus>('format.status', ['healthy', 'warning', 'critical', 'offline', 'unknown']);

export const TICKET_STATUS_LABEL = labels<TicketStatus>('format.ticketStatus', ['new', 'acknowledged', 'in_progress', 'waiting_on_customer', 'resolved', 'closed']);

/**
 * A code from the server as words: its catalogue label (`value.<code>` in `locales/values.ts`)
 * when there is one, else the code spelled out ("diskFailure" → "Disk failure").
 */
export function humanize(s: string): string {
  if (hasMessage(`value.${s}`)) return t(`value.${s}`);
  const words = s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_.-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}
