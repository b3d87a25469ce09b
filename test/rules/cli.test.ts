import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, evaluationToCanonicalJson } from '../../src/rules/index.js';

const root = join(import.meta.dirname, '..', '..');
const cli = (file: string, env: Record<string, string> = {}): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'assess.ts'), file], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });

describe('assess CLI', () => {
  it('prints only the canonical JSON of the evaluation, byte-identical across time zones and locales', async () => {
    const file = join(root, 'docs', 'examples', 'well-controlled.json');
    const a = cli(file, { TZ: 'Pacific/Kiritimati', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' });
    const b = cli(file, { TZ: 'America/Los_Angeles', LANG: 'C', LC_ALL: 'C' });
    expect(a.status).toBe(0);
    expect(a.stderr).toBe('');
    const expected = evaluationToCanonicalJson(await evaluate(JSON.parse(readFileSync(file, 'utf8')) as { questionnaireVersion: string; answers: unknown }));
    expect(a.stdout).toBe(`${expected}\n`);
    expect(b.stdout).toBe(a.stdout);
  });

  it('exits non-zero with field-level errors on standard error for invalid input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'assess-'));
    const file = join(dir, 'bad.json');
    const body = JSON.parse(readFileSync(join(root, 'docs', 'examples', 'well-controlled.json'), 'utf8')) as { answers: Record<string, unknown> };
    writeFileSync(file, JSON.stringify({ questionnaireVersion: '1', answers: { ...body.answers, 'uc.domain': 'astrology', 'no.such': 1 } }));
    const r = cli(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('/answers/uc.domain: must be one of');
    expect(r.stderr).toContain('/answers/no.such: unknown question');
  });

  it('prints its usage for --help (exit 0) and refuses no argument or two (exit 2)', () => {
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: assess <file.json | ->');
    expect(help.stderr).toBe('');
    const none = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'assess.ts')], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('usage: assess');
  });
});
