import type { Role } from './types.ts';

export function canRateRootCause(role: Role): boolean {
  return role === 'engineer' || role === 'admin';
}

export function canToggleRemoteTunnel(role: Role): boolean {
  return role === 'customer' || role === 'admin';
}

export function canOpenTicket(role: Role): boolean {
  return role !== 'account_manager';
}
