import { eq } from 'drizzle-orm';
import type { Db } from '../../../drizzle/client.ts';
import { users, type Language } from '../../../drizzle/schema/index.ts';
import type { NotificationPreferences } from '../../../drizzle/schema/users.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { notFound } from '../../lib/errors.ts';
import { userView } from '../users.ts';
import { customerKinds, notificationKinds, type NotificationKind } from './templates.ts';

/** The kinds a user of this role can receive, for the settings page. */
export function kindsFor(role: string): NotificationKind[] {
  return role === 'customer' ? [...customerKinds] : notificationKinds.filter((k) => !customerKinds.includes(k));
}

async function view(db: Db, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  if (!row) throw notFound('user');
  return {
    ...userView(row),
    phone: row.phone,
    timeZone: row.timeZone,
    language: row.language,
    preferences: {
      email: row.notificationPreferences.email !== false,
      muted: row.notificationPreferences.muted ?? [],
      allTickets: row.notificationPreferences.allTickets === true,
    },
    notificationKinds: kindsFor(row.role),
  };
}

/** The caller's own profile, language and notification preferences (SPEC §8). */
export function getMe(db: Db, user: UserPrincipal) {
  return view(db, user.id);
}

export interface MeUpdate {
  name?: string | undefined;
  /** null clears it. */
  phone?: string | null | undefined;
  /** An IANA zone (validated at the edge); null clears it. */
  timeZone?: string | null | undefined;
  language?: Language | undefined;
  preferences?: NotificationPreferences | undefined;
}

/**
 * Changes the caller's profile (name, phone, time zone), language and notification
 * preferences; fields not given are kept. `allTickets` applies to customer users (engineers are told per assignment).
 */
export async function updateMe(db: Db, user: UserPrincipal, input: MeUpdate) {
  const current = await view(db, user.id);
  const preferences: NotificationPreferences = { ...current.preferences, ...(input.preferences ?? {}) };
  if (user.role !== 'customer') delete preferences.allTickets;
  await db
    .update(users)
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.phone !== undefined ? { phone: input.phone } : {}),
      ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}),
      ...(input.language ? { language: input.language } : {}),
      notificationPreferences: preferences,
    })
    .where(eq(users.id, user.id));
  return view(db, user.id);
}
