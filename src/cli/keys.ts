/**
 * `hipaa-ai-risk keys <rotate|list|jwks> [--purpose report|token] [--data-dir DIR]`
 * (also `npm run keys -- rotate`).
 *
 * Manages the embedded key directories under DATA_DIR (default ./data). Keys configured from the
 * environment (REPORT_SIGNING_KEY[_FILE], TOKEN_SIGNING_KEY[_FILE]) are rotated in the secrets
 * manager instead; see docs/signing.md.
 */
import { parseArgs } from 'node:util';
import { keySourceFromEnv, loadKeyRing, rotateKeyDirectory } from '../signing/key-ring.js';
import type { KeyPurpose, KeyRing } from '../signing/key-ring.js';
import { EXIT, HELP_OPTION, parseCommandArgs, runIfMain } from './main.js';
import type { CliCommand } from './main.js';

const HELP = `usage: hipaa-ai-risk keys <rotate|list|jwks> [--purpose report|token] [--data-dir DIR]

  rotate   add a new current key to the embedded key directory; older keys stay published
  list     list the keys (current first) with their kid and creation time
  jwks     print the public JWKS

  --purpose report|token  which ring (default report)
  --data-dir DIR          embedded data directory (default $DATA_DIR, else ./data)

list and jwks only read: they create nothing, and fail (exit 1) when the ring holds no key (a
wrong --data-dir or DATA_DIR). The first key of an embedded ring is created by the server's
first start, or by rotate.
`;

/** list and jwks: never create a key (a JWKS with a key minted here would publish an unrelated key). */
const READ_ONLY = { create: false, dataDirSetting: '--data-dir or DATA_DIR' } as const;

/**
 * The `keys` command. Guarantees: `rotate` only ever adds a key file (never rewrites or deletes
 * one) and refuses when the ring is configured from the environment; prints the new kid. `list`
 * and `jwks` write no file: a missing or empty key directory is an error, not a new key.
 */
export const keysCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    () => parseArgs({ args: [...argv], options: { purpose: { type: 'string', default: 'report' }, 'data-dir': { type: 'string' }, help: HELP_OPTION }, allowPositionals: true, strict: true }),
    HELP,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const purpose = values.purpose;
  const [action, ...extra] = positionals;
  if ((purpose !== 'report' && purpose !== 'token') || action === undefined || extra.length > 0) {
    io.stderr.write(HELP);
    return EXIT.usage;
  }
  const dataDir = values['data-dir'] ?? (io.env.DATA_DIR || './data');
  const source = await keySourceFromEnv(purpose, io.env, dataDir);

  switch (action) {
    case 'rotate': {
      if (source.kind !== 'directory') {
        io.stderr.write(`the ${purpose} key is configured from the environment (${envPrefix(purpose)}_KEY or _KEY_FILE): rotate it in your secrets manager and publish the old public key in ${envPrefix(purpose)}_RETIRED_JWKS_FILE (docs/signing.md)\n`);
        return EXIT.failed;
      }
      const ring = await rotateKeyDirectory(purpose, source.dir);
      const previous = ring.all[1];
      io.stderr.write(
        previous === undefined
          ? `created the first ${purpose} signing key in ${source.dir}\n`
          : `rotated the ${purpose} signing key in ${source.dir}; previous key ${previous.kid} stays published\n`,
      );
      io.stdout.write(`${ring.current.kid}\n`);
      return EXIT.ok;
    }
    case 'list':
      io.stdout.write(listLines(await loadKeyRing(purpose, source, READ_ONLY)));
      return EXIT.ok;
    case 'jwks':
      io.stdout.write(`${JSON.stringify((await loadKeyRing(purpose, source, READ_ONLY)).jwks(), null, 2)}\n`);
      return EXIT.ok;
    default:
      io.stderr.write(`unknown action: ${action}\n\n${HELP}`);
      return EXIT.usage;
  }
};

function listLines(ring: KeyRing): string {
  return `# ${ring.purpose} keys from ${ring.source}\n` + ring.all.map((k) => `${k.status.padEnd(8)} ${k.kid}  ${k.createdAt ?? '-'}\n`).join('');
}

function envPrefix(purpose: KeyPurpose): string {
  return purpose === 'report' ? 'REPORT_SIGNING' : 'TOKEN_SIGNING';
}

runIfMain(import.meta.url, keysCommand);
