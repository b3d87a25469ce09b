/**
 * Over real HTTP, on every database kind: failed sign-ins are counted per IPv6 /64, so a guesser
 * rotating through the addresses of its /64 reaches LOGIN_MAX_FAILURES_PER_IP, while another /64 of
 * the same /56 (another subscriber of a carrier that gives each device a /64) is not locked out. Before, each address had a counter of its own: 25 wrong passwords
 * from 2001:db8:1:2::1…::25 all got 401, none 429. IPv4 addresses still count one by one.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { postJson, seedOrganization, seedUser } from './helpers.js';

const MAX_PER_IP = 5;

describe.each(DATABASE_KINDS)('failed sign-ins per IPv6 /64 (%s)', (kind) => {
  let app: TestApp;
  let emails: string[];

  beforeAll(async () => {
    // Per-account limit out of the way: only the IP limit is exercised.
    app = await startTestApp(kind, { TRUST_PROXY: 'loopback', LOGIN_MAX_FAILURES_PER_IP: String(MAX_PER_IP), LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000' });
    const org = await seedOrganization(app);
    emails = [];
    for (let i = 0; i < 3; i++) emails.push((await seedUser(app, org, ['compliance_officer'])).email);
  });
  afterAll(async () => {
    await app.stop();
  });

  const wrong = async (ip: string, i: number): Promise<number> => (await postJson(app, '/v1/auth/login', { email: emails[i % emails.length], password: 'wrong-Password-123456' }, { 'x-forwarded-for': ip })).status;

  it('limits a guesser rotating through the addresses of one /64, not the other /64s of its /56', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= MAX_PER_IP + 3; i++) statuses.push(await wrong(`2001:db8:1:2:${i.toString(16)}::${i.toString(16)}`, i));
    expect(statuses).toEqual([...Array<number>(MAX_PER_IP).fill(401), 429, 429, 429]);
    // Another /64 of the same /56: possibly another subscriber, not locked out by this one.
    expect(await wrong('2001:db8:1:ff::1', 0)).toBe(401);
    // Another /56 is someone else.
    expect(await wrong('2001:db8:1:100::1', 0)).toBe(401);
  });

  it('still counts IPv4 addresses one by one', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= MAX_PER_IP + 1; i++) statuses.push(await wrong(`198.51.100.${i}`, i));
    expect(statuses).toEqual([...Array<number>(MAX_PER_IP + 1).fill(401)]);
    for (let i = 0; i < MAX_PER_IP; i++) await wrong('198.51.100.50', i);
    expect(await wrong('198.51.100.50', 0)).toBe(429);
  });
});
