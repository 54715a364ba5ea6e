-- history: the retention pass moves jobs final for aigov.history_after,
-- with their attempts rows, into the day-partitioned history; result(),
-- wait() and cancel() still answer for them, under the same tenant rules;
-- partitions older than aigov.retention are dropped whole, and their jobs
-- then read as missing.  No worker serves this database: the pass runs
-- here by hand, with finished_at set in the past.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_hist_alpha, regress_hist_beta;
RESET client_min_messages;

INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('hist', 600, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('alpha', 'hist'), ('beta', 'hist');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
ALTER SEQUENCE aigov.requests_id_seq RESTART WITH 9000;

-- 9000..9007 for alpha, 9008 for beta.
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "h"}]}'
  FROM generate_series(1, 8);
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('beta', '{"model": "gpt-test", "messages": [{"role": "user", "content": "b"}]}');

-- 9000 stays queued, 9001 in flight; the others finished at various times.
UPDATE aigov.requests SET state = 'in_flight', claimed_by = 4242 WHERE id = 9001;
UPDATE aigov.requests SET state = 'succeeded', response = '{"choices": []}',
	   finished_at = now() - interval '1 hour'
 WHERE id IN (9002, 9008);
UPDATE aigov.requests SET state = 'failed', error = '{"http_status": 400, "message": "bad"}',
	   finished_at = now() - interval '1 hour'
 WHERE id = 9003;
UPDATE aigov.requests SET state = 'expired', finished_at = now() - interval '1 hour' WHERE id = 9004;
-- 9005 finished a minute ago: it stays, so wait() and recent polls read the queue.
UPDATE aigov.requests SET state = 'succeeded', finished_at = now() - interval '1 minute' WHERE id = 9005;
-- Cancelled six minutes ago: 9006 while queued, 9007 while its call was on
-- the wire (claimed_by kept), whose attempts row may still come.
UPDATE aigov.requests SET state = 'cancelled', finished_at = now() - interval '6 minutes'
 WHERE id = 9006;
UPDATE aigov.requests SET state = 'cancelled', claimed_by = 4242,
	   finished_at = now() - interval '6 minutes'
 WHERE id = 9007;
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, error_class, http_status, started_at, finished_at)
VALUES (9002, 'alpha', 1, 'server_error', 503, now() - interval '62 minutes', now() - interval '61 minutes'),
	   (9002, 'alpha', 2, 'success', 200, now() - interval '61 minutes', now() - interval '1 hour'),
	   (9003, 'alpha', 1, 'bad_request', 400, now() - interval '61 minutes', now() - interval '1 hour'),
	   (9005, 'alpha', 1, 'success', 200, now() - interval '2 minutes', now() - interval '1 minute'),
	   (9008, 'beta', 1, 'success', 200, now() - interval '61 minutes', now() - interval '1 hour');

-- The pass moves only final jobs older than history_after.
SET aigov.history_after = '5min';
SELECT moved_jobs, moved_attempts, purged_jobs, purged_attempts, partitions_dropped
  FROM aigov.run_retention();
SELECT id, state FROM aigov.requests ORDER BY id;
SELECT id, tenant_id, state FROM aigov.requests_history ORDER BY id;
SELECT job_id, attempt, error_class FROM aigov.attempts ORDER BY job_id, attempt;
SELECT job_id, attempt, error_class FROM aigov.attempts_history ORDER BY job_id, attempt;
-- Nothing more to move: a second pass does nothing.
SELECT moved_jobs, moved_attempts, purged_jobs, purged_attempts, partitions_dropped
  FROM aigov.run_retention();

-- Partitions: today's and tomorrow's at least, named by UTC day, owned
-- by the extension's owner, row-level security on, no grant to anyone.
SELECT p.relname AS parent,
	   count(*) >= 2 AS ahead,
	   bool_and(c.relname ~ ('^' || p.relname || '_[0-9]{8}$')) AS named_by_day,
	   bool_and(c.relrowsecurity) AS row_security,
	   bool_and(c.relowner = p.relowner) AS owned_by_owner,
	   bool_and(c.relacl IS NULL) AS no_grants
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_class p ON p.oid = i.inhparent
 WHERE i.inhparent IN ('aigov.requests_history'::regclass, 'aigov.attempts_history'::regclass)
 GROUP BY p.relname ORDER BY p.relname;

-- result(), wait() and cancel() answer for a job in the history.
SELECT job_id, state, http_status, response FROM aigov.result(9002);
SELECT state, http_status, error FROM aigov.wait(9003, '1 hour');
SELECT state, http_status FROM aigov.result(9004);
SELECT aigov.cancel(9002) AS cancelled;

-- Tenant isolation: a role reads only its tenants' history, through the
-- API and through the tables, and no partition directly.
CREATE ROLE regress_hist_alpha;
GRANT USAGE ON SCHEMA aigov TO regress_hist_alpha;
GRANT EXECUTE ON FUNCTION aigov.result(bigint), aigov.wait(bigint, interval),
	  aigov.cancel(bigint) TO regress_hist_alpha;
GRANT SELECT ON aigov.requests_history, aigov.attempts_history TO regress_hist_alpha;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_hist_alpha', 'alpha');
CREATE ROLE regress_hist_beta;
GRANT USAGE ON SCHEMA aigov TO regress_hist_beta;
GRANT EXECUTE ON FUNCTION aigov.result(bigint), aigov.cancel(bigint) TO regress_hist_beta;
GRANT SELECT ON aigov.requests_history TO regress_hist_beta;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_hist_beta', 'beta');

SET ROLE regress_hist_alpha;
SELECT id, tenant_id FROM aigov.requests_history ORDER BY id;
SELECT DISTINCT tenant_id FROM aigov.attempts_history ORDER BY 1;
SELECT job_id, state FROM aigov.result(9002);
SELECT * FROM aigov.result(9008);
SELECT * FROM aigov.wait(9008, '1 second');
SELECT aigov.cancel(9008);
SELECT * FROM aigov.run_retention();
RESET ROLE;
SET ROLE regress_hist_beta;
SELECT id, tenant_id FROM aigov.requests_history ORDER BY id;
SELECT job_id, state FROM aigov.result(9008);
SELECT * FROM aigov.result(9002);
RESET ROLE;
SELECT count(*) AS partitions_readable
  FROM pg_inherits i
 WHERE i.inhparent IN ('aigov.requests_history'::regclass, 'aigov.attempts_history'::regclass)
   AND (has_table_privilege('regress_hist_alpha', i.inhrelid, 'SELECT')
		OR has_table_privilege('regress_hist_beta', i.inhrelid, 'SELECT'));

-- Retention: a job moved three days after it finished lives in that day's
-- partition; once retention is shorter, the partitions go whole and the
-- job reads as missing.
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "old"}]}');
UPDATE aigov.requests SET state = 'succeeded', finished_at = now() - interval '3 days' WHERE id = 9009;
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, error_class, started_at, finished_at)
	VALUES (9009, 'alpha', 1, 'success', now() - interval '3 days', now() - interval '3 days');
SELECT moved_jobs, moved_attempts, purged_jobs, purged_attempts, partitions_dropped
  FROM aigov.run_retention();
SELECT job_id, state FROM aigov.result(9009);
SET aigov.retention = '2d';
SELECT moved_jobs, moved_attempts, purged_jobs, purged_attempts, partitions_dropped
  FROM aigov.run_retention();
SELECT * FROM aigov.result(9009);
SELECT count(*) AS attempts_left FROM aigov.attempts_history WHERE job_id = 9009;
-- The other jobs' partitions are younger and stay.
SELECT id FROM aigov.requests_history ORDER BY id;

-- A job already older than retention when it moves is deleted, with its
-- attempts, and no partition is made for its day.
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "older"}]}');
UPDATE aigov.requests SET state = 'failed', finished_at = now() - interval '5 days' WHERE id = 9010;
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, error_class, started_at, finished_at)
	VALUES (9010, 'alpha', 1, 'timeout', now() - interval '5 days', now() - interval '5 days');
SELECT moved_jobs, moved_attempts, purged_jobs, purged_attempts, partitions_created, partitions_dropped
  FROM aigov.run_retention();
SELECT count(*) AS left_anywhere
  FROM (SELECT id FROM aigov.requests WHERE id = 9010
		UNION ALL SELECT id FROM aigov.requests_history WHERE id = 9010
		UNION ALL SELECT job_id FROM aigov.attempts WHERE job_id = 9010) x;

-- Batches: with retention_batch 2, one call still moves every due job.
RESET aigov.retention;
SET aigov.retention_batch = 2;
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'beta', '{"model": "gpt-test", "messages": [{"role": "user", "content": "n"}]}'
  FROM generate_series(1, 5);
UPDATE aigov.requests SET state = 'succeeded', finished_at = now() - interval '10 minutes'
 WHERE id BETWEEN 9011 AND 9015;
SELECT moved_jobs, purged_jobs FROM aigov.run_retention();
SELECT count(*) AS in_history FROM aigov.requests_history WHERE id BETWEEN 9011 AND 9015;

-- Settings out of range.
SET aigov.retention = '10min';
SET aigov.history_after = -1;
SET aigov.retention_batch = 0;
RESET aigov.history_after;
RESET aigov.retention_batch;

DELETE FROM aigov.tenant_roles;
DROP OWNED BY regress_hist_alpha, regress_hist_beta;
DROP ROLE regress_hist_alpha, regress_hist_beta;
DELETE FROM aigov.requests_history;
DELETE FROM aigov.attempts_history;
DELETE FROM aigov._history_totals;
DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
