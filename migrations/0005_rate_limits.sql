-- 0005: shared rate-limit counters (src/http/rate-limit/sql-store.ts).
--
-- Fixed windows: one row per (limiter-prefixed key, window start). Every instance increments
-- the same row with one atomic INSERT … ON CONFLICT … DO UPDATE … RETURNING, and the window
-- start is computed from the database clock, so instances with skewed clocks still share one
-- window. Rows are counters, not history: expired ones are deleted in bounded batches by every
-- instance (DELETE … WHERE (key, window_start) IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)).
CREATE TABLE rate_limit_counters (
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
  window_start timestamptz NOT NULL,
  hits integer NOT NULL CHECK (hits >= 0),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limit_counters_expires_at ON rate_limit_counters (expires_at);
SELECT grant_app_read_write('rate_limit_counters');
