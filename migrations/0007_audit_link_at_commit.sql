-- 0007: link audit events into the chain at commit, so the chain-head lock is held only while a
-- transaction commits (bench/api and docs/audit.md have the figures).
--
-- Before, the service took the chain-head lock, read the head, hashed and inserted the event in
-- three statements and then committed; the lock is held until commit, and every round trip
-- inside it waited for the service's busy event loop. Under load most connections queued on that
-- one lock (pg_stat_activity sampled during bench/api: 260 of 440 samples `Lock:advisory`) while
-- a quarter of the CPU stayed idle.
--
-- Now the service inserts the event, unlinked, into audit_pending, anywhere in its transaction.
-- A deferred constraint trigger runs audit_link() for each pending row when the transaction
-- commits, in insertion order: it takes the same transaction-scoped advisory lock as before
-- (released when the commit completes, so writers still commit in sequence order), reads the
-- head with a fresh snapshot (a VOLATILE PL/pgSQL function takes one per statement under READ
-- COMMITTED, so it sees the previous holder's committed event), links and hashes the event,
-- inserts it into audit_events and deletes the pending row. A transaction that rolls back leaves
-- neither row; one whose linking fails does not commit.
--
-- The hash is unchanged: SHA-256 of the RFC 8785 canonical JSON of the content. The service
-- builds that text in three parts around the two values only the head decides, `prevHash` (64
-- hex digits) and `seq` (an integer, in decimal as JSON writes it), and audit_link() hashes
-- `head || prev_hash || mid || seq || tail` as UTF-8. test/audit/chain.test.ts checks the split
-- against canonicalJson() and re-verifies the stored chain in the service's own code.
--
-- audit_pending is UNLOGGED: its rows live only inside their own transaction, and a crash
-- empties it exactly as a rollback would. The application role may insert its own rows and the
-- trigger, running as that role, deletes them.

CREATE UNLOGGED TABLE audit_pending (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  action text NOT NULL,
  outcome text NOT NULL,
  actor_type text NOT NULL,
  actor_id text,
  actor_role text,
  actor_organization_id text,
  organization_id text,
  target_type text,
  target_id text,
  request_id text,
  source_ip text,
  user_agent text,
  input_sha256 text,
  decision_canonical text NOT NULL,
  canonical_head text NOT NULL,
  canonical_mid text NOT NULL,
  canonical_tail text NOT NULL
);
REVOKE ALL ON audit_pending FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON audit_pending TO hipaa_app;
GRANT USAGE ON SEQUENCE audit_pending_id_seq TO hipaa_app;

CREATE FUNCTION audit_link() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_seq bigint;
  v_prev text;
  v_hash text;
BEGIN
  -- The same key as the service's lockAuditHead() (src/audit/record.ts), held until commit ends.
  PERFORM pg_advisory_xact_lock(73116403);
  SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  v_seq := coalesce(v_seq, 0) + 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_hash := encode(sha256(convert_to(NEW.canonical_head || v_prev || NEW.canonical_mid || v_seq::text || NEW.canonical_tail, 'UTF8')), 'hex');
  INSERT INTO audit_events (
    seq, occurred_at, action, outcome, actor_type, actor_id, actor_role, actor_organization_id,
    organization_id, target_type, target_id, request_id, source_ip, user_agent, input_sha256,
    decision, decision_canonical, prev_hash, hash
  ) VALUES (
    v_seq, NEW.occurred_at, NEW.action, NEW.outcome, NEW.actor_type, NEW.actor_id, NEW.actor_role, NEW.actor_organization_id,
    NEW.organization_id, NEW.target_type, NEW.target_id, NEW.request_id, NEW.source_ip, NEW.user_agent, NEW.input_sha256,
    NEW.decision_canonical::jsonb, NEW.decision_canonical, v_prev, v_hash
  );
  DELETE FROM audit_pending WHERE id = NEW.id;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER audit_pending_link AFTER INSERT ON audit_pending
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_link();
