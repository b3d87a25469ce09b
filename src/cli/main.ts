/**
 * `hipaa-ai-risk <command> ...`: the command-line entry point. Each command lives in its own
 * module, loaded only when named, and is a function of (argv, io) → exit code, so commands can be
 * run in-process by tests and added without touching the others.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { AppError } from '../errors.js';
import { readRegularFile } from '../util/read-regular-file.js';

/** Where a command writes. Tests pass buffers; the CLI passes the process streams. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A command: parses its own argv (after the command name) and returns the exit code. */
export type CliCommand = (argv: readonly string[], io: CliIo) => Promise<number>;

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The `-h`/`--help` option every command takes (add it to the command's parseArgs options). */
export const HELP_OPTION = { type: 'boolean', short: 'h', default: false } as const;

/**
 * Runs a command's `parse` (node:util parseArgs, strict, with HELP_OPTION among its options).
 * Returns what it parsed, or the exit code the command ends with: EXIT.ok after writing `help`
 * to stdout when -h/--help was given; EXIT.usage after writing the parser's message and `help` to
 * stderr when the arguments do not parse (an unknown option, a missing option value).
 */
export function parseCommandArgs<R extends { readonly values: { readonly help?: boolean | undefined } }>(parse: () => R, help: string, io: CliIo): R | number {
  let parsed: R;
  try {
    parsed = parse();
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.stdout.write(help);
    return EXIT.ok;
  }
  return parsed;
}

const COMMANDS: Readonly<Record<string, { readonly summary: string; readonly load: () => Promise<CliCommand> }>> = {
  verify: { summary: 'verify a signed report offline (report JSON + detached JWS + JWKS)', load: async () => (await import('./verify.js')).verifyCommand },
  keys: { summary: 'rotate or list the embedded signing keys', load: async () => (await import('./keys.js')).keysCommand },
  migrate: { summary: 'apply pending database migrations (as the owner role: MIGRATION_DATABASE_URL)', load: async () => (await import('./migrate.js')).migrateCommand },
  'create-admin': { summary: 'create the first administrator (or another one) in the configured database', load: async () => (await import('./create-admin.js')).createAdminCommand },
  'audit-verify': { summary: 'verify the audit hash chain and signed checkpoints in the database', load: async () => (await import('./audit-verify.js')).auditVerifyCommand },
  'audit-verify-export': { summary: 'verify an audit trail export (JSON Lines) offline', load: async () => (await import('./audit-verify.js')).auditVerifyExportCommand },
};

/** The process's own streams and environment. */
export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/**
 * Dispatches `argv` (without node and script) to a command and returns its exit code.
 * Guarantees: never throws; an unknown command or a thrown error is reported on stderr with
 * exit code 2 (usage) or 1 (failure).
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`unknown command: ${name}\n\n${usage()}`);
    return EXIT.usage;
  }
  return runCommand(await command.load(), rest, io);
}

/** Runs a command, turning a thrown error into a message and exit code instead of a stack trace. */
export async function runCommand(command: CliCommand, argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await command(argv, io);
  } catch (error) {
    if (error instanceof AppError) {
      io.stderr.write(`error: ${error.detail}\n`);
      return error.status < 500 ? EXIT.usage : EXIT.failed;
    }
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

/** The default cap of an input file: reports, signatures and PDFs are far smaller (~160 KB, ~220 KB). */
const MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a file a command was given; one that cannot be read, is not a regular file (a FIFO, a
 * device such as /dev/zero) or is larger than `maxBytes` is a usage or input error (exit 2).
 */
export async function readInputFile(path: string, what: string, maxBytes: number = MAX_INPUT_FILE_BYTES): Promise<Buffer> {
  return readRegularFile(path, { what, shown: path, maxBytes, tooLarge: `${Math.round(maxBytes / 1024 / 1024)} MiB` });
}

/**
 * Runs `command` with the process's arguments if the module at `moduleUrl` is the script node was
 * started with (`tsx src/cli/verify.ts ...`); does nothing when it is imported.
 */
export function runIfMain(moduleUrl: string, command: CliCommand): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let scriptUrl: string;
  try {
    scriptUrl = pathToFileURL(realpathSync(script)).href;
  } catch {
    return;
  }
  if (scriptUrl !== moduleUrl) return;
  void runCommand(command, process.argv.slice(2), processIo).then((code) => {
    process.exitCode = code;
  });
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: hipaa-ai-risk <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "hipaa-ai-risk <command> --help" for a command's options.\n`;
}
