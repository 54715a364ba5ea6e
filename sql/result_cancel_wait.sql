-- result_cancel_wait: polling, waiting and cancelling jobs.  No worker
-- serves this database, so jobs stay queued until cancelled.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('basic', 60, 40000, 1000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'basic');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);

-- Job ids in messages are deterministic from here on.
ALTER SEQUENCE aigov.requests_id_seq RESTART WITH 1000;
SELECT job_id AS job FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}') \gset

-- A queued job answers 202 and no retry time.
SELECT job_id = :job AS same_job, state, http_status, response, error, retry_at,
	   provider, model, degraded
  FROM aigov.result(:job);

-- A job scheduled for later shows when it will be tried.
UPDATE aigov.requests SET not_before = now() + interval '1 hour' WHERE id = :job;
SELECT state, http_status, retry_at > now() + interval '59 minutes' AS retry_at_is_not_before
  FROM aigov.result(:job);

-- wait() returns after its timeout with the job still pending.
SELECT state, http_status FROM aigov.wait(:job, '20 milliseconds');

-- cancel() ends a pending job once; the result then says 499.
SELECT aigov.cancel(:job) AS cancelled;
SELECT aigov.cancel(:job) AS cancelled_again;
SELECT state, http_status FROM aigov.result(:job);
SELECT finished_at IS NOT NULL AS finished FROM aigov.requests WHERE id = :job;

-- wait() on a final job returns at once.
SELECT state, http_status FROM aigov.wait(:job, '1 hour');

-- Final states map to HTTP statuses.
SELECT job_id AS job2 FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "y"}]}') \gset
UPDATE aigov.requests SET state = 'succeeded', response = '{"choices": []}' WHERE id = :job2;
SELECT state, http_status, response FROM aigov.result(:job2);
UPDATE aigov.requests SET state = 'failed', error = '{"http_status": 400, "message": "bad"}' WHERE id = :job2;
SELECT state, http_status, error FROM aigov.result(:job2);
UPDATE aigov.requests SET state = 'failed', error = '{"message": "connection refused"}' WHERE id = :job2;
SELECT state, http_status FROM aigov.result(:job2);
UPDATE aigov.requests SET state = 'expired' WHERE id = :job2;
SELECT state, http_status FROM aigov.result(:job2);
UPDATE aigov.requests SET state = 'rejected', error = '{"reason": "tenant_rpm", "retry_at": "2030-01-01 00:00:00+00"}' WHERE id = :job2;
SELECT state, http_status, retry_at = '2030-01-01 00:00:00+00' AS retry_at_from_error FROM aigov.result(:job2);

-- Jobs that do not exist.
SELECT * FROM aigov.result(-1);
SELECT * FROM aigov.wait(-1, '1 second');
SELECT aigov.cancel(-1);
SELECT * FROM aigov.result(NULL);

-- Bad timeouts and transactions where waiting could never end.
SELECT * FROM aigov.wait(:job, '-1 second');
BEGIN;
SELECT job_id AS job3 FROM aigov.submit('acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "z"}]}') \gset
SELECT * FROM aigov.wait(:job3, '1 second');
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM aigov.wait(:job, '1 second');
ROLLBACK;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
