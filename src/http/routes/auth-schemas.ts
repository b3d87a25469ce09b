/**
 * JSON Schemas of the auth and administration request bodies (and of their answers, for the
 * OpenAPI fragment). One source of truth: the routes validate with these objects (ajv, strict,
 * additionalProperties false) and src/http/openapi/auth.ts publishes them.
 */
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords.js';
import { ROLES, SCOPES } from '../../auth/permissions.js';

const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$', description: 'e-mail address (compared case-insensitively)' } as const;
// Any case is accepted; the service stores, answers and records ids in lower case (canonicalUuid).
const uuid = { type: 'string', format: 'uuid', description: 'a UUID, in any case; stored and answered in lower case' } as const;
const newPassword = { type: 'string', minLength: 12, maxLength: PASSWORD_MAX_LENGTH, description: 'at least 12 characters; not a common password, not containing the e-mail local part, not one repeated character (docs/auth.md)' } as const;
const roles = { type: 'array', items: { enum: [...ROLES] }, uniqueItems: true, maxItems: ROLES.length } as const;
const scopes = { type: 'array', items: { enum: [...SCOPES] }, uniqueItems: true, minItems: 1, maxItems: SCOPES.length } as const;
const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export const LoginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: { type: 'string', minLength: 1, maxLength: 254 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;
export interface LoginInput {
  email: string;
  password: string;
}

export const ChangePasswordBody = {
  type: 'object',
  additionalProperties: false,
  required: ['currentPassword', 'newPassword'],
  properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword },
} as const;
export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
}

export const CreateOrganizationBody = { type: 'object', additionalProperties: false, required: ['name'], properties: { name } } as const;
export interface CreateOrganizationInput {
  name: string;
}

export const CreateUserBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'organizationId', 'roles', 'password'],
  properties: {
    email,
    name: { ...name, description: 'display name' },
    organizationId: uuid,
    roles: { ...roles, minItems: 1 },
    password: { ...newPassword, description: `initial password, told to the user out of band; they change it with POST /v1/me/password. ${newPassword.description}` },
  },
} as const;
export interface CreateUserInput {
  email: string;
  name?: string;
  organizationId: string;
  roles: (typeof ROLES)[number][];
  password: string;
}

export const UpdateUserBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    roles: { ...roles, minItems: 1, description: 'the roles the user holds from now on: one or more (a user with none could do nothing)' },
    disabled: { type: 'boolean', description: 'true revokes every session of the user at once' },
    name: { anyOf: [name, { type: 'null' }] },
    organizationId: uuid,
    password: { ...newPassword, description: `a new password set by an administrator (revokes every session). ${newPassword.description}` },
  },
} as const;
export interface UpdateUserInput {
  roles?: (typeof ROLES)[number][];
  disabled?: boolean;
  name?: string | null;
  organizationId?: string;
  password?: string;
}

export const CreateApiClientBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: { name, organizationId: { ...uuid, description: "the client's organisation; default: the administrator's own" }, scopes },
} as const;
export interface CreateApiClientInput {
  name: string;
  organizationId?: string;
  scopes: (typeof SCOPES)[number][];
}

export const CreateAuditorGrantBody = {
  type: 'object',
  additionalProperties: false,
  required: ['auditorId', 'organizationId'],
  properties: { auditorId: uuid, organizationId: uuid },
} as const;
export interface CreateAuditorGrantInput {
  auditorId: string;
  organizationId: string;
}

/** RFC 6749 §4.4.2 token request, as a form or JSON body. */
export const TokenRequestBody = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { const: 'client_credentials' },
    scope: { type: 'string', description: 'space-separated scopes; omitted = every scope the client holds; a scope the client lacks is `invalid_scope`' },
    client_id: { type: 'string', description: 'with client_secret, instead of HTTP Basic authentication' },
    client_secret: { type: 'string' },
  },
} as const;
