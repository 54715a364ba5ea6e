-- crash_recovery: what a lost worker leaves behind, and the installation
-- id of the Idempotency-Key.  No worker serves this database; the claims
-- below are made under pids that are not dispatchers, as if by workers
-- that died.  The last part recreates the extension, so this suite runs
-- last.
DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('crash_tier', 600, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('crash_t', 'crash_tier');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('crash_p', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('crash_p', 'crash-model', 128000, 4096);
ALTER SEQUENCE aigov.requests_id_seq RESTART WITH 500;
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'crash_t', jsonb_build_object('model', 'crash-model', 'max_tokens', 8,
		'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || i)))
  FROM generate_series(1, 3) i;

-- The installation has one id, drawn at random when it was created.
SELECT count(*) AS installations,
	   bool_and(id IS NOT NULL) AS has_id,
	   bool_and(substr(id::text, 15, 1) = '4') AS random_uuid
  FROM aigov._installation;

-- Every claimed job carries it, for its Idempotency-Key.
SELECT id, attempts, installation = (SELECT id::text FROM aigov._installation) AS this_installation
  FROM aigov._claim_batch(2, 999999)
 ORDER BY id;

-- The worker died with both jobs in flight.  The requeue puts them back
-- and records the call each may have made: one attempts row per job,
-- worker_lost, under the claim's attempt number and the lost worker's pid.
SELECT aigov._requeue_orphans(0, false, 5) AS requeued;
SELECT id, state, attempts, failures, claimed_by, error_class
  FROM aigov.requests ORDER BY id;
SELECT a.job_id, a.attempt, a.error_class, a.worker_pid, a.model, a.key_id,
	   a.provider, a.http_status, a.est_tokens = r.est_tokens AS est_tokens_kept,
	   a.started_at <= a.finished_at AS ordered
  FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
 ORDER BY a.job_id, a.attempt;

-- A sweep finds nothing more: each lost call is recorded once.
SELECT aigov._requeue_orphans(0, false, 5) AS requeued_again;
SELECT count(*) AS attempts_rows FROM aigov.attempts;

-- Lost again at the last allowed attempt: the job fails as worker_lost,
-- and that call has its row too.
SELECT count(*) AS claimed FROM aigov._claim_batch(3, 999998);
SELECT aigov._requeue_orphans(0, false, 2) AS requeued;
SELECT id, state, attempts, failures, error_class, error->>'message' AS message
  FROM aigov.requests ORDER BY id;

-- Every claim that committed has its row: attempts rows = attempts.
SELECT r.id, r.attempts, count(a.id) AS attempts_rows,
	   string_agg(a.attempt::text || ':' || a.error_class || ':' || a.worker_pid, ' '
				  ORDER BY a.attempt) AS calls
  FROM aigov.requests r LEFT JOIN aigov.attempts a ON a.job_id = r.id
 GROUP BY r.id, r.attempts
 ORDER BY r.id;

-- A row deleted by hand is drawn again by the next claim, not left out.
CREATE TEMP TABLE first_installation AS SELECT id FROM aigov._installation;
DELETE FROM aigov._installation;
SELECT count(*) AS claimed FROM aigov._claim_batch(1, 999997);
SELECT count(*) AS installations,
	   bool_and(i.id <> f.id) AS drawn_anew
  FROM aigov._installation i, first_installation f;
SELECT aigov._requeue_orphans(0, false, 5) AS requeued;

-- There is one row at most.
INSERT INTO aigov._installation DEFAULT VALUES;
INSERT INTO aigov._installation (singleton, id, created_at)
	VALUES (false, '00000000-0000-4000-8000-000000000000', '2020-01-01 00:00 UTC');

-- The extension recreated draws a new id, so job ids that start again at
-- 1 never repeat an Idempotency-Key a provider may still remember.
DROP TABLE first_installation;
CREATE TEMP TABLE old_installation AS SELECT id FROM aigov._installation;
DROP EXTENSION aigov;
CREATE EXTENSION aigov;
SELECT count(*) AS installations, bool_and(i.id <> o.id) AS new_id
  FROM aigov._installation i, old_installation o;

-- Nothing of it is readable without a grant.
SELECT has_table_privilege('public', 'aigov._installation', 'SELECT') AS public_reads;
