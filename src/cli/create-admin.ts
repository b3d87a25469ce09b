/**
 * `npm run create-admin -- --email you@example.org [--organization NAME | --organization-id UUID] [--password-stdin]`
 *
 * Creates an administrator (roles admin + compliance_officer) in the configured database
 * (DATABASE_URL, else the embedded one under DATA_DIR: stop the service first, the embedded
 * database allows one process). The password comes from ADMIN_PASSWORD, or standard input with
 * --password-stdin, or is generated and printed once. It works whether or not users exist.
 */
import { parseArgs } from 'node:util';
import { createAdministrator, FIRST_ORGANIZATION_NAME, generatePassword } from '../auth/bootstrap.js';
import { loadConfig } from '../config/index.js';
import { migrate, migrationStatus } from '../db/migrate.js';
import { openConfiguredDatabase } from '../service.js';
import { EXIT, HELP_OPTION, parseCommandArgs, runIfMain, type CliCommand } from './main.js';

const HELP = `usage: npm run create-admin -- --email ADDRESS [--organization NAME | --organization-id UUID] [--password-stdin]

  --email ADDRESS          the administrator's e-mail (sign-in name)
  --organization NAME      organisation to create (or reuse, by name); default "${FIRST_ORGANIZATION_NAME}"
  --organization-id UUID   an existing organisation instead
  --password-stdin         read the password from standard input (first line)

Without --password-stdin the password is ADMIN_PASSWORD, or else generated and printed once.
The account gets the roles admin and compliance_officer.
`;

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/**
 * The create-admin command. Guarantees: the password passes the policy (exit 2 otherwise), the
 * account and its audit events are created in one transaction, a generated password is printed
 * once on standard output and nowhere else.
 */
export const createAdminCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    () => parseArgs({ args: [...argv], options: { email: { type: 'string' }, organization: { type: 'string' }, 'organization-id': { type: 'string' }, 'password-stdin': { type: 'boolean', default: false }, help: HELP_OPTION }, strict: true }),
    HELP,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (values.email === undefined || !/^[^\s@]+@[^\s@]+$/.test(values.email) || (values.organization !== undefined && values['organization-id'] !== undefined)) {
    io.stderr.write(HELP);
    return EXIT.usage;
  }
  // ADMIN_EMAIL/ADMIN_PASSWORD configure the service's first start; here --email names the account.
  const config = loadConfig({ ...io.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
  const fromEnv = io.env.ADMIN_PASSWORD?.trim() || undefined;
  const password = values['password-stdin'] ? await readStdinLine() : (fromEnv ?? generatePassword(values.email));
  const generated = !values['password-stdin'] && fromEnv === undefined;
  const database = await openConfiguredDatabase(config);
  try {
    if (database.kind === 'pglite') await migrate(database);
    else if (!(await migrationStatus(database)).current) {
      io.stderr.write('error: the database is not migrated: run `npm run migrate` first\n');
      return EXIT.failed;
    }
    let made;
    try {
      made = await createAdministrator(database.db, {
        email: values.email,
        password,
        organizationName: values.organization,
        organizationId: values['organization-id'],
        passwordHashCost: config.auth.passwordHashCost,
      });
    } catch (error) {
      io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.usage;
    }
    if (!made) return EXIT.failed;
    io.stdout.write(`Created administrator ${made.user.email} (id ${made.user.id}) in organisation ${made.organizationId}.\n`);
    if (generated) io.stdout.write(`Password (shown once, stored nowhere in clear): ${password}\n`);
    return EXIT.ok;
  } finally {
    await database.close();
  }
};

runIfMain(import.meta.url, createAdminCommand);
