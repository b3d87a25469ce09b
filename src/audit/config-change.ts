import type { Kysely } from 'kysely';
import type { Config } from '../config/index.js';
import type { DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { recordAuditEventAlone, SYSTEM_ACTOR } from './record.js';

const SECRET_NAME = /password|secret|passphrase|token$|privatekey/i;

/**
 * URL query parameters recorded as they are: where the server is and how the connection behaves.
 * Every other parameter's value is masked: pg and Redis clients take credentials there too
 * (`?password=…`, `sslpassword`, `sslkey`), and the audit trail can never be rewritten.
 */
const SAFE_URL_PARAMETERS = new Set(['host', 'hostaddr', 'port', 'dbname', 'sslmode', 'ssl', 'application_name', 'connect_timeout', 'target_session_attrs', 'keepalives', 'keepalives_idle', 'db', 'family']);

/** A connection URL without credentials: user masked, password dropped, unknown query values and the fragment masked. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    u.username = u.username ? '***' : '';
    u.password = '';
    const params = [...u.searchParams].map(([k, v]): [string, string] => [k, SAFE_URL_PARAMETERS.has(k.toLowerCase()) ? v : '***']);
    u.search = new URLSearchParams(params).toString();
    u.hash = u.hash ? '***' : '';
    return u.toString();
  } catch {
    return '[redacted]';
  }
}

/**
 * The configuration as it may be recorded: flattened to `a.b` names, secrets left out, URLs
 * without credentials. What an auditor needs to see that limits or timeouts changed.
 */
export function publicSettings(config: Config): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  const walk = (value: unknown, prefix: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
      return;
    }
    if (SECRET_NAME.test(prefix.split('.').at(-1) ?? '')) return;
    if (typeof value === 'string' && /^(postgres|postgresql|redis|rediss):/.test(value)) out[prefix] = redactUrl(value);
    else if (Array.isArray(value)) out[prefix] = value.join(',');
    else if (value === undefined) out[prefix] = null;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) out[prefix] = value;
  };
  walk(config, '');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Records a `config.changed` event when the running configuration differs from the last one
 * recorded (and on the first start), naming the settings that changed. Returns the names.
 */
export async function recordConfigurationIfChanged(db: Kysely<DB>, config: Config, now: Date = new Date()): Promise<string[] | null> {
  const settings = publicSettings(config);
  const fingerprint = sha256Hex(canonicalJson(settings));
  const last = await db.selectFrom('audit_events').select('decision_canonical').where('action', '=', 'config.changed').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const previous = last ? (JSON.parse(last.decision_canonical) as { fingerprint: string; settings?: Record<string, unknown> }) : undefined;
  if (previous?.fingerprint === fingerprint) return null;
  const before = previous?.settings ?? {};
  const changed = [...new Set([...Object.keys(before), ...Object.keys(settings)])].filter((k) => before[k] !== settings[k]).sort().slice(0, 100);
  await recordAuditEventAlone(db, { action: 'config.changed', outcome: 'success', actor: SYSTEM_ACTOR, organizationId: null, target: null, request: null, decision: { fingerprint, changed, settings } }, now);
  return changed;
}
