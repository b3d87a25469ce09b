-- 0009: Idempotency-Key of POST /v1/assessments/{id}/revisions.
--
-- A revision submitted with an Idempotency-Key records the key and the SHA-256 of the request's
-- canonical body, as 0004 does for the creating request of an assessment: the same key and body
-- replay the original revision and report, the same key with another body is refused (409). Keys
-- are scoped to the assessment. Both columns are nullable (revisions submitted without a key, and
-- every revision stored before this migration, have none), so the previous release keeps
-- inserting revisions unchanged. ADD COLUMN does not fire the append-only row triggers, and the
-- table-level SELECT and INSERT of hipaa_app cover the new columns.

ALTER TABLE assessment_revisions ADD COLUMN idempotency_key text;
ALTER TABLE assessment_revisions ADD COLUMN idempotency_sha256 text CHECK (idempotency_sha256 ~ '^[0-9a-f]{64}$');

-- One revision per key and assessment: a second request with the key, concurrent or later, cannot
-- add another revision.
CREATE UNIQUE INDEX assessment_revisions_idempotency_key ON assessment_revisions (assessment_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
