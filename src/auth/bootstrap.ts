/**
 * The first administrator. When no user exists at start:
 * - with ADMIN_EMAIL and ADMIN_PASSWORD set, that account is created (the password must pass the
 *   policy, or the start fails naming ADMIN_PASSWORD);
 * - in the embedded default (no DATABASE_URL) with neither set, `admin@localhost` is created with
 *   a generated password printed once on standard output;
 * - on PostgreSQL with neither set, nothing is created: `npm run create-admin` does it.
 * The first administrator also belongs to a first organisation as its compliance officer (roles
 * admin + compliance_officer), so one account can try the whole flow at once.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { SYSTEM_ACTOR } from '../audit/record.js';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import type { DB } from '../db/schema.js';
import { createOrganization } from './organizations.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import type { Role } from './permissions.js';
import { normalizeEmail } from './sessions.js';
import { createUser, type User } from './users.js';

/** E-mail of the generated first administrator of the embedded mode. */
export const EMBEDDED_ADMIN_EMAIL = 'admin@localhost';
/** Name of the first organisation created with the first administrator. */
export const FIRST_ORGANIZATION_NAME = 'My organisation';
const FIRST_ADMIN_ROLES: readonly Role[] = ['admin', 'compliance_officer'];
/** Serialises concurrent first starts of several instances (any constant unique to us). */
const BOOTSTRAP_LOCK = 73_116_404;

/** A password of 24 random base64url characters (144 bits) that passes the policy. */
export function generatePassword(email: string): string {
  for (;;) {
    const candidate = randomBytes(18).toString('base64url');
    if (checkPasswordPolicy(candidate, { email }).length === 0) return candidate;
  }
}

/**
 * Creates an administrator (roles admin + compliance_officer) in a new or existing organisation,
 * in one transaction with its audit events (actor: system). With `onlyIfNoUser`, does nothing
 * (returns undefined) when any user exists, checked under an advisory lock so two instances
 * starting together create one administrator.
 * Guarantees: the password is checked against the policy first (throws an Error listing why).
 */
export async function createAdministrator(
  db: Kysely<DB>,
  input: { email: string; password: string; organizationName?: string; organizationId?: string; passwordHashCost: number; onlyIfNoUser?: boolean; now?: Date },
): Promise<{ user: User; organizationId: string } | undefined> {
  const email = normalizeEmail(input.email);
  const reasons = checkPasswordPolicy(input.password, { email });
  if (reasons.length > 0) throw new Error(`the password ${reasons.join('; ')}`);
  const passwordHash = await hashPassword(input.password, input.passwordHashCost);
  const now = input.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`.execute(trx);
    if (input.onlyIfNoUser) {
      const any = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      if (any) return undefined;
    }
    const audit = { actor: SYSTEM_ACTOR, request: null, now };
    let organizationId = input.organizationId;
    if (organizationId === undefined) {
      const name = input.organizationName ?? FIRST_ORGANIZATION_NAME;
      const existing = await trx.selectFrom('organizations').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).executeTakeFirst();
      organizationId = existing?.id ?? (await createOrganization(trx, { name }, audit)).id;
    }
    const user = await createUser(trx, { email, organizationId, roles: FIRST_ADMIN_ROLES, passwordHash }, audit);
    return { user, organizationId };
  });
}

/**
 * Runs the first-start bootstrap described above. Guarantees: never creates a second user when
 * one exists; prints a generated password once, to `out`, and nowhere else (not to the log).
 */
export async function bootstrapFirstAdmin(
  db: Kysely<DB>,
  config: Config,
  out: { write(text: string): unknown },
  warn: (message: string) => void = () => undefined,
): Promise<{ created: boolean; email?: string; generated?: boolean }> {
  const any = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (any) return { created: false };
  if (config.adminEmail !== undefined && config.adminPassword !== undefined) {
    const reasons = checkPasswordPolicy(config.adminPassword, { email: config.adminEmail });
    if (reasons.length > 0) throw new ConfigError('ADMIN_PASSWORD', reasons.join('; '));
    const made = await createAdministrator(db, { email: config.adminEmail, password: config.adminPassword, passwordHashCost: config.auth.passwordHashCost, onlyIfNoUser: true });
    return made ? { created: true, email: made.user.email, generated: false } : { created: false };
  }
  if (config.databaseUrl !== undefined) {
    warn('No user exists yet: create the first administrator with `npm run create-admin -- --email you@example.org` (or set ADMIN_EMAIL and ADMIN_PASSWORD).');
    return { created: false };
  }
  const password = generatePassword(EMBEDDED_ADMIN_EMAIL);
  const made = await createAdministrator(db, { email: EMBEDDED_ADMIN_EMAIL, password, passwordHashCost: config.auth.passwordHashCost, onlyIfNoUser: true });
  if (!made) return { created: false };
  const line = '='.repeat(72);
  out.write(
    [
      '',
      line,
      ' First start: an administrator account was created.',
      `   URL:       ${config.publicUrl}`,
      `   E-mail:    ${EMBEDDED_ADMIN_EMAIL}`,
      `   Password:  ${password}`,
      ` Roles: admin and compliance_officer of "${FIRST_ORGANIZATION_NAME}".`,
      ' This password is shown ONCE and is not stored anywhere in clear: note it now.',
      ' Change it after signing in, on the page "Change password":',
      `   ${config.publicUrl.replace(/\/+$/, '')}/account/password (or with POST /v1/me/password).`,
      line,
      '',
      '',
    ].join('\n'),
  );
  return { created: true, email: EMBEDDED_ADMIN_EMAIL, generated: true };
}
