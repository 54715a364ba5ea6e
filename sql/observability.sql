-- observability: the shape of the views, their live figures from shared
-- memory, and who may read which (the role sets of docs/security.md and
-- docs/observability.md, statement by statement with SET ROLE).
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_obs_app, regress_obs_dash, regress_obs_ops;
RESET client_min_messages;

-- Every view runs with the caller's privileges, so row-level security
-- applies to the caller.
SELECT c.relname, c.reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'aigov' AND c.relkind = 'v'
 ORDER BY 1;

-- The columns of each view, as docs/observability.md lists them.
SELECT c.relname, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'aigov' AND c.relkind = 'v' AND a.attnum > 0
   AND c.relname NOT LIKE '\_%'
 ORDER BY 1, 2;

INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('obs_day', 600, 400000, 2100),
	('obs_std', 600, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('obs_a', 'obs_day'), ('obs_b', 'obs_std');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('obs_p', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('obs_p', 'gpt-obs', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit)
	VALUES ('obs_p', 'obs_k1', 'sk-obs-1', 100, 50000);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('obs_p', 'obs_k2', 'sk-obs-2');

-- Two jobs of about 1,000 tokens take more than 90% of obs_a's 2,100
-- tokens a day; the third is rejected.  The jobs wait a day (set before
-- they commit), so no worker sends them.
BEGIN;
SELECT status FROM aigov.submit('obs_a', '{"model": "gpt-obs", "messages": [{"role": "user", "content": "a"}], "max_tokens": 1000}', max_wait => '0');
SELECT status FROM aigov.submit('obs_a', '{"model": "gpt-obs", "messages": [{"role": "user", "content": "b"}], "max_tokens": 1000}', max_wait => '0');
SELECT status FROM aigov.submit('obs_a', '{"model": "gpt-obs", "messages": [{"role": "user", "content": "c"}], "max_tokens": 1000}', max_wait => '0');
SELECT status FROM aigov.submit('obs_b', '{"model": "gpt-obs", "messages": [{"role": "user", "content": "d"}]}', max_wait => '0');
UPDATE aigov.requests SET not_before = now() + interval '1 day'
 WHERE tenant_id IN ('obs_a', 'obs_b') AND state = 'queued';
INSERT INTO aigov.requests (tenant_id, body, workload_class, not_before)
SELECT 'obs_b', '{"model": "gpt-obs", "messages": [{"role": "user", "content": "e"}]}', 'batch',
	   now() + interval '1 day'
  FROM generate_series(1, 3);
COMMIT;

-- A tenant's usage: its limits, what is left, the counters since start.
SELECT tenant_id, rpm_limit, rpm_remaining BETWEEN 590 AND 600 AS rpm_left,
	   rpm_utilisation_pct < 2 AS rpm_low, tpm_utilisation_pct > 0 AS tpm_used,
	   tpd_limit, tpd_utilisation_pct >= 90 AS tpd_high,
	   tpd_reset_at > now() + interval '20 hours' AS tpd_resets_late,
	   accepted, rejected, deferred, queued, in_flight, started_5m, queue_wait_p50_s
  FROM aigov.tenant_usage WHERE tenant_id LIKE 'obs%' ORDER BY 1;

-- The soft limit's alert, in the alerts view.  (The utilisation alerts
-- come from the worker, which serves another database here: the TAP test
-- t/013_alerts.pl drives them.)
SELECT severity, kind, subject, axis, level, tenant_id, key_id, provider, runbook
  FROM aigov.alerts WHERE subject LIKE 'obs%' ORDER BY id;

-- The queue by state, class and tenant.
SELECT state, workload_class, tenant_id, jobs, due, est_tokens > 0 AS estimated
  FROM aigov.queue_depth WHERE tenant_id LIKE 'obs%' ORDER BY 1, 2, 3;

-- Keys no worker has used have their configuration and no live state yet.
SELECT label, enabled, rpm_configured, tpm_configured, rpm_limit, rpm_learned,
	   rpm_utilisation_pct, in_flight, breaker_state, completed
  FROM aigov.key_usage WHERE label LIKE 'obs%' ORDER BY 1;

SELECT provider, enabled, keys, breaker_state, breakers_open, rpm_utilisation_pct,
	   in_flight, calls_5m, error_rate_pct, errors_5m, latency_p50_ms, throttle_level
  FROM aigov.provider_health WHERE provider = 'obs_p';

-- Calls of the last five minutes: error rate, classes and latency.
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, provider, error_class, latency_ms,
							started_at, finished_at)
SELECT 0, 'obs_b', 1, 'obs_p', CASE WHEN i <= 8 THEN 'success' WHEN i = 9 THEN 'server'
									ELSE 'rate_limited' END,
	   i * 10, now() - interval '1 minute', now() - interval '1 minute'
  FROM generate_series(1, 10) i;
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, provider, error_class, latency_ms,
							started_at, finished_at)
	VALUES (0, 'obs_b', 1, 'obs_p', 'server', 5000, now() - interval '1 hour',
			now() - interval '1 hour');
SELECT provider, calls_5m, successes_5m, error_rate_pct, errors_5m, latency_p50_ms,
	   latency_p99_ms
  FROM aigov.provider_health WHERE provider = 'obs_p';

-- Alerts name their subject, axis, level and runbook entry.
INSERT INTO aigov.alert_events (severity, kind, tenant_id, message, detail)
	VALUES ('warning', 'tenant_utilisation', 'obs_b', 'tenant "obs_b" reached 70% of its rpm quota (71.0%)',
			'{"kind": "tenant_utilisation", "subject": "obs_b", "axis": "rpm", "level": 70,
			  "previous_level": 0, "utilisation": 71.0}'),
		   ('info', 'tenant_utilisation', 'obs_b', 'tenant "obs_b" fell under 65% of its tpm quota (60.0%)',
			'{"kind": "tenant_utilisation", "subject": "obs_b", "axis": "tpm", "level": 0,
			  "previous_level": 70, "utilisation": 60.0}'),
		   ('critical', 'provider_utilisation', NULL, 'provider "obs_p" reached 90% of its rpm quota (90.5%)',
			'{"kind": "provider_utilisation", "subject": "obs_p", "axis": "rpm", "level": 90,
			  "previous_level": 70, "utilisation": 90.5}');
SELECT severity, kind, subject, axis, level, previous_level, utilisation_pct, tenant_id,
	   runbook
  FROM aigov.alerts WHERE kind LIKE '%utilisation' AND subject LIKE 'obs%' ORDER BY id;

-- The application role set with the optional views: its tenant's rows only.
CREATE ROLE regress_obs_app;
GRANT USAGE ON SCHEMA aigov TO regress_obs_app;
GRANT SELECT ON aigov.requests, aigov.attempts, aigov.alert_events TO regress_obs_app;
GRANT SELECT ON aigov.tenant_usage, aigov.queue_depth, aigov.alerts TO regress_obs_app;
GRANT EXECUTE ON FUNCTION aigov.tenant_state() TO regress_obs_app;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_obs_app', 'obs_b');

-- The dashboard role set with the views: every tenant, every key.
CREATE ROLE regress_obs_dash IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO regress_obs_dash;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
			  rpm_limit, tpm_limit, tpd_limit, weight, enabled,
			  disabled_reason, disabled_at)
   ON aigov.keys TO regress_obs_dash;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
			  est_tokens, state, attempts, failures, not_before, deadline,
			  created_at, finished_at, key_id, served_provider, served_model,
			  degraded, admitted, error_class, prompt_tokens,
			  completion_tokens, claimed_by, claimed_at)
   ON aigov.requests TO regress_obs_dash;
GRANT SELECT ON aigov.tiers, aigov.tenants, aigov.tenant_roles,
				aigov.providers, aigov.models, aigov.compat,
				aigov.attempts, aigov.alert_events
   TO regress_obs_dash;
GRANT EXECUTE ON FUNCTION aigov.worker_status() TO regress_obs_dash;
GRANT SELECT ON aigov.key_usage, aigov.tenant_usage, aigov.provider_health,
				aigov.queue_depth, aigov.alerts
   TO regress_obs_dash;
GRANT EXECUTE ON FUNCTION aigov.key_state(), aigov.tenant_state(), aigov.provider_breakers() TO regress_obs_dash;

-- The administrator role set with the views.
CREATE ROLE regress_obs_ops IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO regress_obs_ops;
GRANT SELECT, INSERT, UPDATE, DELETE
   ON aigov.tiers, aigov.tenants, aigov.tenant_roles, aigov.providers,
	  aigov.models, aigov.compat
   TO regress_obs_ops;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
			  rpm_limit, tpm_limit, tpd_limit, weight, enabled,
			  disabled_reason, disabled_at),
	  INSERT, UPDATE, DELETE
   ON aigov.keys TO regress_obs_ops;
GRANT SELECT, UPDATE, DELETE ON aigov.requests TO regress_obs_ops;
GRANT SELECT, DELETE ON aigov.attempts, aigov.alert_events TO regress_obs_ops;
GRANT SELECT ON aigov.key_usage, aigov.tenant_usage, aigov.provider_health,
				aigov.queue_depth, aigov.alerts
   TO regress_obs_ops;
GRANT EXECUTE ON FUNCTION aigov.key_state(), aigov.tenant_state(), aigov.provider_breakers() TO regress_obs_ops;

SET ROLE regress_obs_app;
SELECT tenant_id, rpm_limit, accepted, rejected, queued FROM aigov.tenant_usage ORDER BY 1;
SELECT tenant_id FROM aigov.tenant_state() ORDER BY 1;
SELECT state, workload_class, tenant_id, jobs FROM aigov.queue_depth ORDER BY 1, 2, 3;
SELECT kind, subject, axis, level FROM aigov.alerts WHERE kind LIKE '%utilisation' ORDER BY id;
-- The operators' views are not the application's.
SELECT label FROM aigov.key_usage;
SELECT provider FROM aigov.provider_health;
SELECT key_id FROM aigov.key_state();
SELECT kind FROM aigov._utilisation;
RESET ROLE;

SET ROLE regress_obs_dash;
SELECT tenant_id, accepted, rejected FROM aigov.tenant_usage WHERE tenant_id LIKE 'obs%' ORDER BY 1;
SELECT tenant_id, count(*) FROM aigov.queue_depth WHERE tenant_id LIKE 'obs%' GROUP BY 1 ORDER BY 1;
SELECT label, rpm_configured FROM aigov.key_usage WHERE label LIKE 'obs%' ORDER BY 1;
SELECT provider, keys, calls_5m FROM aigov.provider_health WHERE provider = 'obs_p';
SELECT kind, subject FROM aigov.alerts WHERE kind LIKE '%utilisation' AND subject LIKE 'obs%' ORDER BY id;
-- Nothing to write through the views.
DELETE FROM aigov.alerts;
RESET ROLE;

SET ROLE regress_obs_ops;
SELECT label, rpm_configured FROM aigov.key_usage WHERE label LIKE 'obs%' ORDER BY 1;
SELECT provider, keys FROM aigov.provider_health WHERE provider = 'obs_p';
SELECT tenant_id, queued FROM aigov.tenant_usage WHERE tenant_id LIKE 'obs%' ORDER BY 1;
RESET ROLE;

-- The queries over the history use the index on finished_at, not a scan
-- of every call (100,000 rows of history).
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, provider, error_class, latency_ms,
							started_at, finished_at)
SELECT i, 'obs_b', 1, 'obs_p', 'success', 100,
	   now() - interval '3 days' + i * interval '2 seconds',
	   now() - interval '3 days' + i * interval '2 seconds'
  FROM generate_series(1, 100000) i;
ANALYZE aigov.attempts;
-- the aggregate is the planner's choice either way; the index is the point
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT a.provider, count(*) FROM aigov.attempts a
 WHERE a.finished_at > now() - interval '5 minutes' AND a.provider IS NOT NULL
 GROUP BY a.provider;
RESET enable_hashagg;

DELETE FROM aigov.tenant_roles;
DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
DELETE FROM aigov.alert_events;
DELETE FROM aigov.keys;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
DROP OWNED BY regress_obs_app, regress_obs_dash, regress_obs_ops;
DROP ROLE regress_obs_app, regress_obs_dash, regress_obs_ops;
