/**
 * `npm run -s assess -- <file>` on a file without a usable questionnaireVersion answers as the API
 * does for the same body (POST /v1/evaluate: `/questionnaireVersion: is required`), not with
 * "unknown questionnaire version undefined".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'assess-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function assess(body: unknown): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(body));
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'assess.ts'), file], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('assess CLI input checks', () => {
  it('a missing questionnaireVersion is "/questionnaireVersion: is required" (exit 1)', () => {
    const r = assess({ answers: {} });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('assess: /questionnaireVersion: is required\n/questionnaireVersion: is required\n');
    expect(r.stderr).not.toContain('undefined');
  });

  it('a questionnaireVersion that is not a string is refused at its pointer', () => {
    const r = assess({ questionnaireVersion: 1, answers: {} });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/questionnaireVersion: must be string');
    expect(r.stderr).not.toContain('unknown questionnaire version');
  });

  it('still evaluates a valid file, extra top-level fields such as a title included', () => {
    const well = JSON.parse(readFileSync(join(root, 'docs', 'examples', 'well-controlled.json'), 'utf8')) as Record<string, unknown>;
    const r = assess({ title: 'Scribe', ...well });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { summary: { overallRisk: string } }).summary.overallRisk).toBe('low');
  });
});
