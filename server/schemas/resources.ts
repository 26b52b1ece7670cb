import { z } from '@hono/zod-openapi';
import { applianceStatuses, componentKinds, integrationKinds, roles, tiers } from '../../drizzle/schema/enums.ts';

export const Tier = z.enum(tiers).openapi('Tier');
export const Role = z.enum(roles).openapi('Role');

export const Customer = z
  .object({
    id: z.string(),
    name: z.string(),
    tier: Tier,
    serenity: z.boolean(),
    // Whether detections open tickets automatically (SPEC §2.1).
    entitled: z.boolean(),
    accountManagerId: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Customer');

export const CreateCustomer = z
  .object({
    name: z.string().trim().min(1).max(200),
    tier: Tier,
    serenity: z.boolean().default(false),
    accountManagerId: z.uuid().nullable().optional(),
  })
  .openapi('CreateCustomer');

export const UpdateCustomer = CreateCustomer.partial().openapi('UpdateCustomer');

export const Component = z
  .object({
    kind: z.enum(componentKinds),
    id: z.string(),
    parentId: z.string().nullable(),
    name: z.string().nullable(),
  })
  .openapi('Component');

export const Appliance = z
  .object({
    id: z.string(),
    customerId: z.string(),
    serial: z.string(),
    hardwareId: z.string(),
    model: z.string(),
    siteId: z.string().nullable().openapi({ description: 'The customer site it stands at (`/customers/{id}/sites`)' }),
    site: z.string().nullable(),
    osVersion: z.string().nullable(),
    hypervisorVersion: z.string().nullable(),
    lastHeartbeatAt: z.string().nullable(),
    remoteTunnel: z.boolean(),
    status: z.enum(applianceStatuses),
    healthScore: z.number().nullable(),
    components: z.array(Component),
  })
  .openapi('Appliance');

const label = z.string().trim().min(1).max(200);

export const CreateAppliance = z
  .object({
    customerId: z.uuid(),
    serial: label,
    hardwareId: label,
    model: label,
    site: label.optional().openapi({ description: 'A site name of the customer; created when new' }),
    siteId: z.uuid().optional().openapi({ description: 'A site of the customer (`/customers/{id}/sites`); instead of `site`' }),
  })
  .openapi('CreateAppliance');

export const ApplianceWithToken = z.object({ appliance: Appliance, token: z.string() }).openapi('ApplianceWithToken');

export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: Role,
    customerId: z.string().nullable(),
    senior: z.boolean(),
    customerAdmin: z.boolean(),
    /** The user's language for the dashboard, e-mails and reports. */
    language: z.enum(['en', 'it']),
    createdAt: z.string(),
    disabledAt: z.string().nullable(),
  })
  .openapi('User');

export const CreateUser = z
  .object({
    email: z.email().max(254).transform((e) => e.toLowerCase()),
    name: z.string().trim().min(1).max(200),
    role: Role,
    customerId: z.uuid().optional(),
    senior: z.boolean().default(false),
    password: z.string().min(12).max(200).optional(),
  })
  .refine((u) => (u.role === 'customer') === (u.customerId !== undefined), {
    message: 'customerId is required for role customer and not allowed for other roles',
    path: ['customerId'],
  })
  .openapi('CreateUser');

export const UserWithKey = z.object({ user: User, apiKey: z.string() }).openapi('UserWithKey');

/** An integration as admins see it (SPEC §8, §9): never its token or hash. */
export const Integration = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(integrationKinds),
    customerId: z.string().nullable(),
    applianceLabel: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    skippedPoints: z.number().int().describe('points of accepted requests left out as invalid (NaN, too old or too far ahead, bad names, histograms)'),
    lastSkippedAt: z.string().nullable(),
  })
  .openapi('Integration');

export const UnknownAppliance = z
  .object({
    serial: z.string().describe('the value of the appliance label; "" when the label was missing'),
    count: z.number().int().describe('points or alerts skipped'),
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
  })
  .openapi('UnknownAppliance');
