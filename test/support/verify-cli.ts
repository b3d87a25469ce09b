import { runCommand } from '../../src/cli/main.js';
import { verifyCommand } from '../../src/cli/verify.js';

/** Runs `hipaa-ai-risk verify <args>` in this process, with its output captured. */
export async function runVerifyCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} };
  const code = await runCommand(verifyCommand, args, io);
  return { code, stdout, stderr };
}
