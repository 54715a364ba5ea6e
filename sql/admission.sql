-- admission: layer 1, the tenant's buckets, answers submit() before any
-- provider is involved.  Tenant ids are unique to this file because the
-- buckets live in shared memory for the life of the server.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('tiny', 2, 100000, 1000000);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('narrow', 1000, 300, 1000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('adm_hard', 'tiny');
INSERT INTO aigov.tenants (tenant_id, tier, hard_cap) VALUES ('adm_soft', 'tiny', false);
INSERT INTO aigov.tenants (tenant_id, tier, soft_limit_pct) VALUES ('adm_narrow', 'narrow', 50);
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);

-- A hard-capped tenant gets its two requests per minute, then a 429 that
-- says which quota and exactly when it allows the next one.
SELECT status, http_status, retry_at IS NULL AS no_retry_at, reason
  FROM aigov.submit('adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "one"}], "max_tokens": 10}');
SELECT status, http_status, retry_at IS NULL AS no_retry_at, reason
  FROM aigov.submit('adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "two"}], "max_tokens": 10}');
SELECT job_id IS NULL AS no_job, status, http_status, reason, poll,
	   retry_at > now() AND retry_at <= now() + interval '31 seconds' AS retry_within_a_refill
  FROM aigov.submit('adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "three"}], "max_tokens": 10}');
SELECT count(*) AS enqueued, bool_and(admitted) AS charged_at_submit
  FROM aigov.requests WHERE tenant_id = 'adm_hard';

-- Without a hard cap the excess is accepted and waits in the queue; the
-- answer still says when the quota allows it.
SELECT status, http_status, reason FROM aigov.submit('adm_soft', '{"model": "gpt-test", "messages": [{"role": "user", "content": "a"}], "max_tokens": 10}');
SELECT status, http_status, reason FROM aigov.submit('adm_soft', '{"model": "gpt-test", "messages": [{"role": "user", "content": "b"}], "max_tokens": 10}');
SELECT status, http_status, reason, retry_at > now() AS waits
  FROM aigov.submit('adm_soft', '{"model": "gpt-test", "messages": [{"role": "user", "content": "c"}], "max_tokens": 10}');
-- Its third job has booked the first slot its quota allows.
SELECT admitted, count(*), count(*) FILTER (WHERE not_before > now()) AS booked_ahead
  FROM aigov.requests WHERE tenant_id = 'adm_soft' GROUP BY admitted ORDER BY admitted;
-- The booked slot is a time within the next refill, never the unix epoch
-- (a booking that found no slot once wrote 1970-01-01).
SELECT count(*) AS booked,
	   bool_and(not_before > created_at AND not_before <= now() + interval '31 seconds') AS within_a_refill
  FROM aigov.requests WHERE tenant_id = 'adm_soft' AND not_before > now();

-- A job bigger than a whole minute of the tenant's tokens can never run.
SELECT job_id IS NULL AS no_job, status, http_status, reason, retry_at
  FROM aigov.submit('adm_narrow', '{"model": "gpt-test", "messages": [{"role": "user", "content": "big"}], "max_tokens": 400}');

-- Crossing the soft limit writes one alert row, once.
SELECT status FROM aigov.submit('adm_narrow', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 150}');
SELECT status FROM aigov.submit('adm_narrow', '{"model": "gpt-test", "messages": [{"role": "user", "content": "y"}], "max_tokens": 20}');
SELECT severity, kind, tenant_id, message, detail
  FROM aigov.alert_events WHERE tenant_id LIKE 'adm_%' AND kind = 'tenant_soft_limit' ORDER BY id;

-- Cancelling a queued job gives its charge back to the tenant.
SELECT aigov.cancel(min(id)) AS cancelled FROM aigov.requests WHERE tenant_id = 'adm_hard';
SELECT status, http_status
  FROM aigov.submit('adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "four"}], "max_tokens": 10}');
SELECT status, reason
  FROM aigov.submit('adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "five"}], "max_tokens": 10}');

-- A plain INSERT is never refused for quota: its jobs are charged when a
-- worker dispatches them.
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'adm_hard', '{"model": "gpt-test", "messages": [{"role": "user", "content": "batch"}], "max_tokens": 10}'
  FROM generate_series(1, 5);
SELECT admitted, state, count(*) FROM aigov.requests WHERE tenant_id = 'adm_hard'
 GROUP BY admitted, state ORDER BY admitted, state;

DELETE FROM aigov.alert_events;
DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
