/**
 * Bounded recording of denied requests (src/audit/denied.ts), on both databases.
 */
import { flushDenialWindows, recordDenied, type DeniedRequest } from '../../src/audit/denied.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';

const LIMIT = 20;

function denial(ip: string, status: 401 | 403 = 401): DeniedRequest {
  return { status, method: 'GET', route: '/v1/me', reason: 'no_credentials', actor: { type: 'anonymous', id: null, role: null, organizationId: null }, request: { id: 'req-1', ip, userAgent: 'test' } };
}

describe.each(DATABASE_KINDS)('denied requests in the audit trail on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await t.drop();
  });

  const events = async (ip: string): Promise<Record<string, unknown>[]> =>
    (await t.database.db.selectFrom('audit_events').select(['decision', 'source_ip']).where('action', '=', 'request.denied').where('source_ip', '=', ip).orderBy('seq').execute()).map((r) => r.decision as Record<string, unknown>);

  it('records the first 20 per (IP, status) and minute, then one summary with the count suppressed', async () => {
    const minute = Date.parse('2030-02-01T10:00:00Z');
    const outcomes: string[] = [];
    for (let i = 0; i < 27; i++) outcomes.push(await recordDenied(t.database.db, denial('198.51.100.1'), { limitPerMinute: LIMIT, now: new Date(minute + i * 1000) }));
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(LIMIT);
    expect(outcomes.filter((o) => o === 'suppressed')).toHaveLength(7);
    // Another status and another address have their own windows.
    expect(await recordDenied(t.database.db, denial('198.51.100.1', 403), { limitPerMinute: LIMIT, now: new Date(minute + 30_000) })).toBe('recorded');
    expect(await recordDenied(t.database.db, denial('198.51.100.2'), { limitPerMinute: LIMIT, now: new Date(minute + 30_000) })).toBe('recorded');
    expect(await events('198.51.100.1')).toHaveLength(LIMIT + 1);
    // The next denial in a new window writes the summary of the previous one first.
    expect(await recordDenied(t.database.db, denial('198.51.100.1'), { limitPerMinute: LIMIT, now: new Date(minute + 65_000) })).toBe('recorded');
    const all = await events('198.51.100.1');
    const summaries = all.filter((d) => d.reason === 'suppressed');
    expect(summaries).toEqual([{ status: 401, method: '*', route: '*', reason: 'suppressed', suppressed: 7, suppressedSince: minute / 1000 }]);
    expect(all.at(-1)).toMatchObject({ status: 401, route: '/v1/me', reason: 'no_credentials' });
  });

  it('flushDenialWindows summarises closed windows once and clears the counters', async () => {
    const minute = Date.parse('2030-02-01T11:00:00Z');
    for (let i = 0; i < 23; i++) await recordDenied(t.database.db, denial('198.51.100.3'), { limitPerMinute: LIMIT, now: new Date(minute + i * 100) });
    expect(await flushDenialWindows(t.database.db, { limitPerMinute: LIMIT, now: new Date(minute + 30_000) })).toBe(0); // window still open
    expect(await flushDenialWindows(t.database.db, { limitPerMinute: LIMIT, now: new Date(minute + 61_000) })).toBeGreaterThanOrEqual(1);
    expect(await flushDenialWindows(t.database.db, { limitPerMinute: LIMIT, now: new Date(minute + 62_000) })).toBe(0);
    const summaries = (await events('198.51.100.3')).filter((d) => d.reason === 'suppressed');
    expect(summaries).toEqual([{ status: 401, method: '*', route: '*', reason: 'suppressed', suppressed: 3, suppressedSince: minute / 1000 }]);
    const left = await t.database.db.selectFrom('audit_denial_windows').selectAll().where('window_start', '<', new Date(minute + 60_000)).execute();
    expect(left).toEqual([]);
  });

  it('records refusals (422, 409, …) as request.refused with outcome error, bounded and summarised the same way', async () => {
    const minute = Date.parse('2030-02-01T12:00:00Z');
    const refusal = { ...denial('198.51.100.4'), status: 422 as const, method: 'POST', route: '/v1/assessments', reason: 'validation-failed', pointers: ['/answers/uc.autonomy'], inputSha256: 'a'.repeat(64) };
    for (let i = 0; i < 4; i++) await recordDenied(t.database.db, refusal, { limitPerMinute: 3, now: new Date(minute + i * 100) });
    expect(await flushDenialWindows(t.database.db, { limitPerMinute: 3, now: new Date(minute + 61_000) })).toBeGreaterThanOrEqual(1);
    const rows = await t.database.db.selectFrom('audit_events').select(['action', 'outcome', 'decision', 'input_sha256']).where('source_ip', '=', '198.51.100.4').orderBy('seq').execute();
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([...Array<[string, string]>(4).fill(['request.refused', 'error'])]);
    expect(rows[0]).toMatchObject({ input_sha256: 'a'.repeat(64), decision: { status: 422, method: 'POST', route: '/v1/assessments', reason: 'validation-failed', pointers: ['/answers/uc.autonomy'] } });
    expect(rows[3]!.decision).toEqual({ status: 422, method: '*', route: '*', reason: 'suppressed', suppressed: 1, suppressedSince: minute / 1000 });
    // A denial from the same address counts in its own window.
    expect(await recordDenied(t.database.db, denial('198.51.100.4'), { limitPerMinute: 3, now: new Date(minute + 100) })).toBe('recorded');
  });
});
