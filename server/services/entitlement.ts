import type { Tier } from '../../drizzle/schema/index.ts';

/** SERENITY entitlement (SPEC §2.1): Mission Critical always, Pro with the add-on, Basic never. */
export function isEntitled(tier: Tier, serenity: boolean): boolean {
  return tier === 'mission_critical' || (tier === 'pro' && serenity);
}
