-- prometheus: aigov.metrics() in the text exposition format (0.0.4), its
-- escaping, its histograms, and who may call it.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_prom_dash, regress_prom_app;
RESET client_min_messages;

-- Jobs, calls and keys whose figures the metrics must show.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('prom_tier', 600, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('prom_t', 'prom_tier');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('prom_p', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('prom_p', 'gpt-prom', 128000, 4096);
-- Label values escape backslash, double quote and newline (the labels of
-- these keys); the second key is out of rotation.
INSERT INTO aigov.keys (provider, label, secret) VALUES ('prom_p', E'prom "k"\\1', 'sk-prom-1');
INSERT INTO aigov.keys (provider, label, secret, enabled)
	VALUES ('prom_p', E'prom\nk2\\', 'sk-prom-2', false);
INSERT INTO aigov.requests (tenant_id, body, workload_class, not_before)
SELECT 'prom_t', '{"model": "gpt-prom", "messages": [{"role": "user", "content": "m"}]}',
	   c, now() + interval '1 day'
  FROM unnest('{interactive,interactive,interactive,batch,batch}'::text[]) c;
-- Two jobs succeeded, one failed on a rate limit; two still wait.
UPDATE aigov.requests SET state = 'succeeded', finished_at = now()
 WHERE id IN (SELECT id FROM aigov.requests WHERE tenant_id = 'prom_t' ORDER BY id LIMIT 2);
UPDATE aigov.requests SET state = 'failed', error_class = 'rate_limit_rpm', finished_at = now()
 WHERE id = (SELECT id FROM aigov.requests WHERE tenant_id = 'prom_t' ORDER BY id OFFSET 2 LIMIT 1);
-- Their calls: waits of 0.2 s, 3 s and 40 s; latencies of 0.1 s, 0.5 s, 2 s
-- (a value equal to a bucket's bound counts in that bucket).
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, provider, error_class, http_status,
							latency_ms, started_at, finished_at)
SELECT r.id, 'prom_t', 1, 'prom_p', w.cls, w.http, w.lat,
	   r.created_at + w.wait * interval '1 second', now()
  FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n
		  FROM aigov.requests WHERE tenant_id = 'prom_t') r
  JOIN (VALUES (1, 0.2, 100, 'success', 200), (2, 3, 500, 'success', 200),
			   (3, 40, 2000, 'rate_limit_rpm', 429)) w(n, wait, lat, cls, http)
	ON w.n = r.n;

-- The samples of this test's objects, as a scrape shows them.
SELECT line
  FROM regexp_split_to_table(aigov.metrics(), E'\n') WITH ORDINALITY AS l(line, n)
 WHERE (line LIKE '%prom%' OR line LIKE 'aigov_queue_wait%') AND line NOT LIKE '#%'
 ORDER BY n;

-- Every family has one HELP and one TYPE line, before its samples, and
-- every sample line has a name, optional labels and a number.
WITH l AS (
	SELECT line, n FROM regexp_split_to_table(aigov.metrics(), E'\n') WITH ORDINALITY AS l(line, n)
	 WHERE line <> ''),
fam AS (
	SELECT substring(line FROM '^# TYPE (\S+) ') AS family, n,
		   substring(line FROM ' (\S+)$') AS type
	  FROM l WHERE line LIKE '# TYPE %')
SELECT (SELECT count(*) FROM l WHERE line LIKE '# HELP %') = (SELECT count(*) FROM fam) AS help_per_type,
	   (SELECT count(DISTINCT family) FROM fam) = (SELECT count(*) FROM fam) AS one_type_each,
	   (SELECT bool_and(type IN ('counter', 'gauge', 'histogram')) FROM fam) AS known_types,
	   (SELECT bool_and(line ~ '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\+Inf|-Inf|NaN|-?[0-9.e+-]+)$')
		  FROM l WHERE line NOT LIKE '#%') AS samples_parse,
	   (SELECT bool_and(EXISTS (SELECT FROM fam f WHERE f.n < l.n
								  AND (l.line LIKE f.family || ' %' OR l.line LIKE f.family || '{%'
									   OR (f.type = 'histogram' AND l.line ~ ('^' || f.family || '_(bucket|sum|count)[ {]')))))
		  FROM l WHERE line NOT LIKE '#%') AS samples_follow_their_type;

-- Counters and histograms keep their suffixes.
SELECT substring(line FROM '^# TYPE (\S+) ') AS family, substring(line FROM ' (\S+)$') AS type
  FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line
 WHERE line LIKE '# TYPE %' AND (line LIKE '% counter' OR line LIKE '% histogram')
 ORDER BY 1;

-- Who may call it.  Nothing is granted to PUBLIC.
SELECT has_function_privilege('public', 'aigov.metrics()', 'EXECUTE') AS public_may;

-- The dashboard role set, with EXECUTE on metrics(): every tenant.
CREATE ROLE regress_prom_dash IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO regress_prom_dash;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
			  rpm_limit, tpm_limit, tpd_limit, weight, enabled,
			  disabled_reason, disabled_at)
   ON aigov.keys TO regress_prom_dash;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
			  est_tokens, state, attempts, failures, not_before, deadline,
			  created_at, finished_at, key_id, served_provider, served_model,
			  degraded, admitted, error_class, prompt_tokens,
			  completion_tokens, claimed_by, claimed_at)
   ON aigov.requests TO regress_prom_dash;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
			  est_tokens, state, attempts, failures, not_before, deadline,
			  created_at, finished_at, key_id, served_provider, served_model,
			  degraded, admitted, error_class, prompt_tokens,
			  completion_tokens, claimed_by, claimed_at)
   ON aigov.requests_history TO regress_prom_dash;
GRANT SELECT ON aigov.tiers, aigov.tenants, aigov.providers, aigov.attempts, aigov.attempts_history,
				aigov._history_totals, aigov.key_usage, aigov.tenant_usage, aigov.provider_health,
				aigov.queue_depth
   TO regress_prom_dash;
GRANT EXECUTE ON FUNCTION aigov.key_state(), aigov.tenant_state(), aigov.provider_breakers(), aigov.metrics(),
	aigov.queue_wait_histogram(), aigov.provider_latency_histogram()
   TO regress_prom_dash;
CREATE TEMP TABLE prom_lines AS
SELECT line FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line
 WHERE line LIKE '%prom%' AND line NOT LIKE 'aigov_tenant%';
GRANT SELECT ON prom_lines TO regress_prom_dash;
-- It sees what a superuser sees (the tenant quota figures, which refill
-- by the second, left aside).
SET ROLE regress_prom_dash;
SELECT (SELECT array_agg(line ORDER BY line) FROM prom_lines) =
	   (SELECT array_agg(line ORDER BY line)
		  FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line
		 WHERE line LIKE '%prom%' AND line NOT LIKE 'aigov_tenant%') AS dashboard_sees_all,
	   (SELECT count(*) FROM prom_lines) > 20 AS lines_compared;
RESET ROLE;

-- A role mapped to a tenant is refused even with EXECUTE, so no scrape
-- passes part of the figures off as all of them.
CREATE ROLE regress_prom_app;
GRANT USAGE ON SCHEMA aigov TO regress_prom_app;
GRANT EXECUTE ON FUNCTION aigov.metrics() TO regress_prom_app;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_prom_app', 'prom_t');
SET ROLE regress_prom_app;
SELECT aigov.metrics();
RESET ROLE;
-- Without EXECUTE, the error is PostgreSQL's own.
REVOKE EXECUTE ON FUNCTION aigov.metrics() FROM regress_prom_app;
SET ROLE regress_prom_app;
SELECT aigov.metrics();
RESET ROLE;

-- The retention pass moving the finished jobs and their calls to the
-- history lowers no counter and no histogram.
CREATE TEMP TABLE prom_before AS
SELECT line FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line
 WHERE (line ~ '^aigov_(jobs_finished_total|provider_attempts_total|provider_latency_seconds)'
		AND line LIKE '%prom%')
	OR line LIKE 'aigov_queue_wait_seconds%';
SET aigov.history_after = 0;
SELECT moved_jobs >= 3 AS jobs_moved, moved_attempts >= 3 AS attempts_moved FROM aigov.run_retention();
RESET aigov.history_after;
SELECT (SELECT count(*) FROM aigov.requests_history WHERE tenant_id = 'prom_t') AS jobs_in_history,
	   (SELECT count(*) FROM aigov.attempts WHERE tenant_id = 'prom_t') AS attempts_left;
SELECT line AS changed FROM (
	(SELECT line FROM prom_before
	 EXCEPT
	 SELECT line FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line)) d
 ORDER BY 1;
SELECT count(*) > 10 AS lines_compared FROM prom_before;

-- The scrape reads the rollup, not the history: emptying the history (as
-- dropping its expired partitions does) changes no line either, and the
-- rollup holds exactly the jobs and calls the pass took.
SELECT (SELECT sum(n) FROM aigov._history_totals WHERE family = 'jobs' AND tenant_id = 'prom_t') =
	   (SELECT count(*) FROM aigov.requests_history WHERE tenant_id = 'prom_t') AS jobs_rolled_up,
	   (SELECT sum(n) FROM aigov._history_totals WHERE family = 'attempts' AND provider LIKE '%prom%') =
	   (SELECT count(*) FROM aigov.attempts_history WHERE provider LIKE '%prom%') AS attempts_rolled_up;
DELETE FROM aigov.requests_history;
DELETE FROM aigov.attempts_history;
SELECT line AS changed_without_history FROM (
	(SELECT line FROM prom_before
	 EXCEPT
	 SELECT line FROM regexp_split_to_table(aigov.metrics(), E'\n') AS line)) d
 ORDER BY 1;
-- A role mapped to a tenant reads no row of the rollup, even granted it.
GRANT USAGE ON SCHEMA aigov TO regress_prom_app;
GRANT SELECT ON aigov._history_totals TO regress_prom_app;
SET ROLE regress_prom_app;
SELECT count(*) AS totals_seen_by_tenant_role FROM aigov._history_totals;
RESET ROLE;
SET ROLE regress_prom_dash;
SELECT count(*) > 0 AS totals_seen_by_dashboard FROM aigov._history_totals;
RESET ROLE;
DROP TABLE prom_before;

DELETE FROM aigov.tenant_roles;
DELETE FROM aigov.requests_history;
DELETE FROM aigov.attempts_history;
DELETE FROM aigov._history_totals;
DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
DELETE FROM aigov.keys;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
DROP TABLE prom_lines;
DROP OWNED BY regress_prom_dash, regress_prom_app;
DROP ROLE regress_prom_dash, regress_prom_app;
