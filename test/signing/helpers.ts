import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir; keys made by tests never touch the repository. */
export async function makeTempDir(prefix = 'signing-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion and returns its exit code and output (never rejects on a non-zero exit). */
export function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd: options.cwd, env: options.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${file}: ${error.message}`, { cause: error }));
        return;
      }
      resolve({ code: error ? (error.code as unknown as number) : 0, stdout, stderr });
    });
  });
}

/** Whether an executable is on the PATH. */
export async function hasExecutable(name: string, versionArg = '-v'): Promise<boolean> {
  try {
    await run(name, [versionArg]);
    return true;
  } catch {
    return false;
  }
}

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
