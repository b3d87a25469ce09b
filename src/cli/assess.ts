/**
 * `npm run -s assess -- <file.json>` (or `npx tsx src/cli/assess.ts <file.json>`): evaluates
 * `{questionnaireVersion, answers, rulesets?}` from a file ("-" for standard input) and prints the
 * evaluation result as canonical JSON (RFC 8785) on standard output, nothing else. No database, no
 * server. Invalid input: exit code 1 and the field-level errors on standard error; usage errors: 2;
 * `--help`: the usage on standard output, exit 0.
 */
import { readFileSync } from 'node:fs';
import { AppError } from '../errors.js';
import { EvaluateBody } from '../http/schemas/assessments.js';
import { validateBody } from '../http/validate.js';
import { evaluate, evaluationToCanonicalJson } from '../rules/index.js';

/**
 * The fields of POST /v1/evaluate's body, checked with the schema the API validates with, so a
 * missing or mistyped field reads as the API's answer (`/questionnaireVersion: is required`).
 * Other top-level fields are tolerated, as before (a file may carry a `title`).
 */
const INPUT_SCHEMA = { type: 'object', required: EvaluateBody.required, properties: EvaluateBody.properties } as const;

const USAGE = 'usage: assess <file.json | ->\n  prints the evaluation of {questionnaireVersion, answers, rulesets?} as canonical JSON\n';

async function main(argv: readonly string[]): Promise<number> {
  const file = argv[0];
  if (argv.length === 1 && (file === '--help' || file === '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length !== 1 || file === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (e) {
    process.stderr.write(`assess: cannot read JSON from ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    process.stderr.write('assess: the file must hold an object {questionnaireVersion, answers, rulesets?}\n');
    return 1;
  }
  try {
    const input = validateBody<{ questionnaireVersion: string; answers: unknown; rulesets?: { id: string; version: string }[] }>(INPUT_SCHEMA, body);
    const result = await evaluate({
      questionnaireVersion: input.questionnaireVersion,
      answers: input.answers,
      ...(input.rulesets === undefined ? {} : { rulesets: input.rulesets }),
    });
    process.stdout.write(`${evaluationToCanonicalJson(result)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof AppError) {
      process.stderr.write(`assess: ${e.detail}\n`);
      for (const fe of e.errors) process.stderr.write(`${fe.pointer}: ${fe.detail}\n`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`assess: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
