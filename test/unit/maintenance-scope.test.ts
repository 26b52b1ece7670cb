import { describe, expect, it } from 'vitest';
import { windowScopeMatches } from '../../server/services/maintenance.ts';

const target = { customerId: 'c1', applianceId: 'a1', labels: { site: 'Milano', pool: 'tank' } };

describe('maintenance window scope (issue 17 item 8)', () => {
  it('an unscoped window — no customer, no appliance, an empty label set — matches nothing rather than the whole fleet', () => {
    expect(windowScopeMatches({ customerId: null, applianceId: null, labels: {} }, target)).toBe(false);
    expect(windowScopeMatches({ customerId: null, applianceId: null, labels: null }, target)).toBe(false);
  });

  it('labels match when every named label is equal; customer and appliance narrow the scope', () => {
    expect(windowScopeMatches({ customerId: null, applianceId: null, labels: { site: 'Milano' } }, target)).toBe(true);
    expect(windowScopeMatches({ customerId: null, applianceId: null, labels: { site: 'Roma' } }, target)).toBe(false);
    expect(windowScopeMatches({ customerId: 'c1', applianceId: null, labels: {} }, target)).toBe(true);
    expect(windowScopeMatches({ customerId: 'c2', applianceId: null, labels: { site: 'Milano' } }, target)).toBe(false);
    expect(windowScopeMatches({ customerId: null, applianceId: 'a1', labels: null }, target)).toBe(true);
  });
});
