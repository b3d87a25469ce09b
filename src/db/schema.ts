/**
 * Kysely table types. One interface per table, named as in migrations/; each feature adds its
 * tables here. Columns with database defaults use Generated<>.
 */
import type { Generated } from 'kysely';

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface AuditEventsTable {
  seq: number;
  occurred_at: Date;
  action: string;
  outcome: 'success' | 'denied' | 'error';
  actor_type: 'user' | 'client' | 'anonymous' | 'system';
  actor_id: string | null;
  actor_role: string | null;
  actor_organization_id: string | null;
  organization_id: string | null;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  input_sha256: string | null;
  decision: unknown;
  decision_canonical: string;
  prev_hash: string;
  hash: string;
}

/**
 * An event waiting for its transaction to commit (migrations/0007_audit_link_at_commit.sql): a
 * deferred trigger links it into audit_events at commit and deletes it. Never seen committed.
 */
export interface AuditPendingTable {
  id: Generated<number>;
  occurred_at: Date;
  action: string;
  outcome: 'success' | 'denied' | 'error';
  actor_type: 'user' | 'client' | 'anonymous' | 'system';
  actor_id: string | null;
  actor_role: string | null;
  actor_organization_id: string | null;
  organization_id: string | null;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  input_sha256: string | null;
  decision_canonical: string;
  canonical_head: string;
  canonical_mid: string;
  canonical_tail: string;
}

export interface AuditCheckpointsTable {
  id: Generated<number>;
  seq: number;
  hash: string;
  created_at: Date;
  payload: string;
  jws: string;
  kid: string;
}

export interface AuditDenialWindowsTable {
  key: string;
  window_start: Date;
  count: number;
}

export interface SigningKeysTable {
  kid: string;
  purpose: 'report' | 'token';
  public_jwk: unknown;
  first_seen_at: Date;
}

export interface RulesetsUsedTable {
  sha256: string;
  ruleset_id: string;
  version: string;
  content: string;
  first_used_at: Date;
}

export interface AssessmentsTable {
  id: string;
  organization_id: string;
  title: string;
  created_by_type: 'user' | 'client';
  created_by_id: string;
  created_at: Date;
  idempotency_key: string | null;
  idempotency_sha256: string | null;
}

export interface AssessmentRevisionsTable {
  assessment_id: string;
  revision: number;
  status: 'draft' | 'submitted';
  questionnaire_version: string;
  answers: unknown;
  answers_canonical: string;
  answers_sha256: string;
  submitted_by_type: 'user' | 'client';
  submitted_by_id: string;
  submitted_by_name: string;
  submitted_at: Date;
  /** Idempotency-Key of the submitting request and the SHA-256 of its canonical body (migration 0009). */
  idempotency_key: string | null;
  idempotency_sha256: string | null;
}

export interface ReportsTable {
  id: string;
  assessment_id: string;
  revision: number;
  rulesets_key: string;
  bytes: Uint8Array;
  sha256: string;
  jws: string;
  kid: string;
  overall_risk: 'very_low' | 'low' | 'moderate' | 'high' | 'very_high';
  summary: unknown;
  created_at: Date;
}

export interface ReportRulesetsTable {
  report_id: string;
  ruleset_sha256: string;
}

export interface ReportPdfsTable {
  report_id: string;
  bytes: Uint8Array;
  sha256: string;
  created_at: Date;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: Date;
}

export interface UsersTable {
  id: string;
  organization_id: string;
  email: string;
  name: string | null;
  password_hash: string;
  roles: string[];
  authz_version: Generated<number>;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AuditorGrantsTable {
  id: string;
  auditor_id: string;
  organization_id: string;
  created_at: Date;
  created_by: string | null;
}

export interface AuthSessionsTable {
  id: string;
  user_id: string;
  created_at: Date;
  absolute_expires_at: Date;
  last_seen_at: Date;
  csrf_key: string;
  revoked_at: Date | null;
  revoked_reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
}

export interface AuthRefreshTokensTable {
  token_sha256: string;
  session_id: string;
  created_at: Date;
  used_at: Date | null;
}

export interface ApiClientsTable {
  id: string;
  organization_id: string;
  name: string;
  scopes: string[];
  secret_sha256: string;
  authz_version: Generated<number>;
  created_at: Date;
  created_by: string | null;
  secret_rotated_at: Date | null;
  revoked_at: Date | null;
}

export interface LoginFailuresTable {
  id: Generated<number>;
  key: string;
  failed_at: Date;
}

/** Shared rate-limit counters (migrations/0005_rate_limits.sql): mutable, not history. */
export interface RateLimitCountersTable {
  key: string;
  window_start: Date;
  hits: number;
  expires_at: Date;
}

export interface DB {
  signing_keys: SigningKeysTable;
  rulesets_used: RulesetsUsedTable;
  assessments: AssessmentsTable;
  assessment_revisions: AssessmentRevisionsTable;
  reports: ReportsTable;
  report_rulesets: ReportRulesetsTable;
  report_pdfs: ReportPdfsTable;
  schema_migrations: SchemaMigrationsTable;
  audit_events: AuditEventsTable;
  audit_pending: AuditPendingTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_denial_windows: AuditDenialWindowsTable;
  // authentication (migrations/0003_auth.sql)
  organizations: OrganizationsTable;
  users: UsersTable;
  auditor_grants: AuditorGrantsTable;
  auth_sessions: AuthSessionsTable;
  auth_refresh_tokens: AuthRefreshTokensTable;
  api_clients: ApiClientsTable;
  login_failures: LoginFailuresTable;
  // rate limits (migrations/0005_rate_limits.sql)
  rate_limit_counters: RateLimitCountersTable;
}

/**
 * Tables that hold history (legal documentation, 45 CFR §164.316(b)(2)(i)): made append-only by
 * `make_append_only()` in their migration. The tests prove UPDATE, DELETE and TRUNCATE fail on
 * each of them, on both databases; add every new history table here.
 */
export const APPEND_ONLY_TABLES = [
  'schema_migrations',
  'audit_events',
  'audit_checkpoints',
  'signing_keys',
  'rulesets_used',
  'assessments',
  'assessment_revisions',
  'reports',
  'report_rulesets',
  'report_pdfs',
] as const;
