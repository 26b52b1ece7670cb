// Client for sign-up, verification, approval and the profile (issue 21); the shapes mirror
// server/routes/signups.ts and server/routes/me.ts.
import { request } from './api.ts';
import type { Page } from './types.ts';

export type SignupStatus = 'pending_verification' | 'pending_approval' | 'approved' | 'rejected';
export const SIGNUP_STATUSES: readonly SignupStatus[] = ['pending_verification', 'pending_approval', 'approved', 'rejected'];

export interface SignupForm {
  email: string;
  name: string;
  company: string;
  serial: string;
  password: string;
  language: 'en' | 'it';
}

export interface Signup {
  id: string;
  email: string;
  name: string;
  company: string;
  serial: string;
  language: 'en' | 'it';
  status: SignupStatus;
  emailVerified: boolean;
  createdAt: string;
  serialKnown: boolean;
  suggestedCustomer: { id: string; name: string } | null;
  customerId: string | null;
  userId: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
}

export interface Profile {
  id: string;
  email: string;
  name: string;
  role: string;
  customerId: string | null;
  customerAdmin: boolean;
  phone: string | null;
  timeZone: string | null;
}

const enc = encodeURIComponent;

export const signupApi = {
  signup: (body: SignupForm) => request<{ status: 'received' }>('POST', '/signup', { body, expect401: true }),
  verify: (token: string, password: string) => request<{ status: 'pending_approval' }>('POST', '/signup/verify', { body: { token, password }, expect401: true }),
  list: (q: { status?: SignupStatus | undefined; cursor?: string | undefined }) => request<Page<Signup>>('GET', '/signups', { query: { limit: 50, ...q } }),
  approve: (id: string, customerId?: string) => request<Signup>('POST', `/signups/${enc(id)}/approve`, { body: customerId ? { customerId } : {} }),
  reject: (id: string, reason?: string) => request<Signup>('POST', `/signups/${enc(id)}/reject`, { body: reason ? { reason } : {} }),
  setCustomerAdmin: (userId: string, customerAdmin: boolean) => request<{ id: string; customerAdmin: boolean }>('PATCH', `/users/${enc(userId)}`, { body: { customerAdmin } }),
  profile: () => request<Profile>('GET', '/users/me'),
  updateProfile: (body: { name?: string; phone?: string | null; timeZone?: string | null }) => request<Profile>('PATCH', '/users/me', { body }),
};
