-- tenant_roles: the role sets of docs/security.md, statement by statement.
-- A role acts only for the tenants aigov.tenant_roles maps to it (or to a
-- role it is a member of): another tenant's submit and INSERT are refused,
-- its jobs are answered as missing ones, its rows are invisible, and no
-- role but the owner reads a key's secret.  Members of aigov_admin act for
-- every tenant.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_app_alpha, regress_app_beta, regress_nobody,
	regress_batch, regress_alpha_group, regress_dashboard, regress_ops,
	regress_gone;
RESET client_min_messages;

INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, max_priority)
	VALUES ('std', 600, 400000, 10000000, 5);
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('one', 1, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('alpha', 'std'), ('beta', 'std'),
	('gamma', 'one');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'k1', 'sk-regress-roles-secret');
ALTER SEQUENCE aigov.requests_id_seq RESTART WITH 7000;

-- The application role set (docs/security.md, "An application role"),
-- with the optional SELECT for listing its own jobs, calls and alerts.
CREATE ROLE regress_app_alpha;
GRANT USAGE ON SCHEMA aigov TO regress_app_alpha;
GRANT EXECUTE ON FUNCTION
      aigov.submit(text, jsonb, text, text, interval, integer, boolean),
      aigov.result(bigint),
      aigov.wait(bigint, interval),
      aigov.cancel(bigint)
   TO regress_app_alpha;
GRANT SELECT ON aigov.requests, aigov.attempts, aigov.alert_events TO regress_app_alpha;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_app_alpha', 'alpha');

CREATE ROLE regress_app_beta;
GRANT USAGE ON SCHEMA aigov TO regress_app_beta;
GRANT EXECUTE ON FUNCTION
      aigov.submit(text, jsonb, text, text, interval, integer, boolean),
      aigov.result(bigint),
      aigov.wait(bigint, interval),
      aigov.cancel(bigint)
   TO regress_app_beta;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_app_beta', 'beta');

-- The same grants and no mapping: a role that acts for no tenant.
CREATE ROLE regress_nobody;
GRANT USAGE ON SCHEMA aigov TO regress_nobody;
GRANT EXECUTE ON FUNCTION
      aigov.submit(text, jsonb, text, text, interval, integer, boolean),
      aigov.result(bigint),
      aigov.wait(bigint, interval),
      aigov.cancel(bigint)
   TO regress_nobody;
GRANT SELECT ON aigov.requests TO regress_nobody;

-- The batch role set, acting for alpha through a group role.
CREATE ROLE regress_alpha_group;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_alpha_group', 'alpha');
CREATE ROLE regress_batch IN ROLE regress_alpha_group;
GRANT USAGE ON SCHEMA aigov TO regress_batch;
GRANT INSERT (tenant_id, body, task_type, workload_class, priority,
              not_before, deadline)
   ON aigov.requests TO regress_batch;
GRANT SELECT (id) ON aigov.requests TO regress_batch;

-- The dashboard role set, for every tenant.
CREATE ROLE regress_dashboard IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO regress_dashboard;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
              rpm_limit, tpm_limit, tpd_limit, weight, enabled,
              disabled_reason, disabled_at)
   ON aigov.keys TO regress_dashboard;
GRANT SELECT (id, tenant_id, task_type, workload_class, priority, model,
              est_tokens, state, attempts, failures, not_before, deadline,
              created_at, finished_at, key_id, served_provider, served_model,
              degraded, admitted, error_class, prompt_tokens,
              completion_tokens, claimed_by, claimed_at)
   ON aigov.requests TO regress_dashboard;
GRANT SELECT ON aigov.tiers, aigov.tenants, aigov.tenant_roles, aigov.providers,
                aigov.models, aigov.compat, aigov.attempts, aigov.alert_events
   TO regress_dashboard;
GRANT EXECUTE ON FUNCTION aigov.worker_status() TO regress_dashboard;

-- The administrator role set.
CREATE ROLE regress_ops IN ROLE aigov_admin;
GRANT USAGE ON SCHEMA aigov TO regress_ops;
GRANT SELECT, INSERT, UPDATE, DELETE
   ON aigov.tiers, aigov.tenants, aigov.tenant_roles, aigov.providers,
      aigov.models, aigov.compat
   TO regress_ops;
GRANT SELECT (key_id, provider, label, workload_class, tenant_group,
              rpm_limit, tpm_limit, tpd_limit, weight, enabled,
              disabled_reason, disabled_at),
      INSERT, UPDATE, DELETE
   ON aigov.keys TO regress_ops;
GRANT USAGE ON SEQUENCE aigov.keys_key_id_seq TO regress_ops;
GRANT SELECT, UPDATE, DELETE ON aigov.requests TO regress_ops;
GRANT SELECT, DELETE ON aigov.attempts, aigov.alert_events TO regress_ops;
GRANT EXECUTE ON FUNCTION aigov.worker_status(), aigov.version(),
                         aigov.set_key_secret(text, text) TO regress_ops;

-- A job of beta, submitted by a superuser, and its history.
SELECT job_id AS job_beta FROM aigov.submit('beta',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "beta"}]}') \gset
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, error_class, started_at, finished_at)
	VALUES (:job_beta, 'beta', 1, 'server', now(), now()),
		   (0, 'alpha', 1, 'success', now(), now());
INSERT INTO aigov.alert_events (severity, kind, tenant_id, message)
	VALUES ('warning', 'tenant_soft_limit', 'alpha', 'alpha alert'),
		   ('warning', 'tenant_soft_limit', 'beta', 'beta alert'),
		   ('critical', 'key_disabled', NULL, 'key alert');

-- The application role of alpha.
SET ROLE regress_app_alpha;
SELECT aigov.acting_tenants();
SELECT status, http_status FROM aigov.submit('alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "alpha"}]}');
SELECT job_id AS job_alpha FROM aigov.submit('alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "alpha 2"}]}') \gset
SELECT state, http_status FROM aigov.result(:job_alpha);
SELECT state, http_status FROM aigov.wait(:job_alpha, '10 milliseconds');
-- Another tenant's submit is refused, as is one for a tenant that does not
-- exist: the same error, so it tells nothing about which tenants exist.
SELECT * FROM aigov.submit('beta',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.submit('no_such_tenant',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
-- Another tenant's job is answered exactly as a job that does not exist.
SELECT * FROM aigov.result(:job_beta);
SELECT * FROM aigov.result(999999);
SELECT * FROM aigov.wait(:job_beta, '10 milliseconds');
SELECT aigov.cancel(:job_beta);
SELECT aigov.cancel(999999);
-- Row-level security: its own tenant's rows only.
SELECT tenant_id, count(*) FROM aigov.requests GROUP BY tenant_id ORDER BY 1;
SELECT tenant_id, count(*) FROM aigov.attempts GROUP BY tenant_id ORDER BY 1;
SELECT tenant_id, message FROM aigov.alert_events WHERE kind NOT LIKE '%\_utilisation' ORDER BY id;
-- No secret, no writes but through the functions.
SELECT secret FROM aigov.keys;
SELECT count(*) FROM aigov.tenant_roles;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_app_alpha', 'beta');
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
UPDATE aigov.requests SET priority = 5 WHERE id = :job_alpha;
-- A priority above the tier's max_priority is refused.
SELECT status FROM aigov.submit('alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "p"}]}', priority => 5);
SELECT * FROM aigov.submit('alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "p"}]}', priority => 6);
SELECT aigov.cancel(:job_alpha);
RESET ROLE;

-- A refused tenant is refused before its quota is charged: gamma allows
-- one request a minute, and it is still there after alpha's attempt.
SET ROLE regress_app_alpha;
SELECT * FROM aigov.submit('gamma',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "g"}]}');
RESET ROLE;
SELECT status, http_status FROM aigov.submit('gamma',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "g"}]}');
SELECT status, http_status, reason FROM aigov.submit('gamma',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "g"}]}');

-- The application role of beta sees beta's job and none of alpha's.
SET ROLE regress_app_beta;
SELECT state, http_status FROM aigov.result(:job_beta);
SELECT * FROM aigov.result(:job_alpha);
SELECT count(*) FROM aigov.requests;
RESET ROLE;

-- A role mapped to no tenant acts for none.
SET ROLE regress_nobody;
SELECT aigov.acting_tenants();
SELECT * FROM aigov.submit('alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
SELECT * FROM aigov.result(:job_alpha);
SELECT count(*) FROM aigov.requests;
RESET ROLE;

-- The caller is the role current when the function is called: a SECURITY
-- DEFINER function of beta's role, called by a superuser, still acts for
-- beta only.
CREATE FUNCTION public.regress_peek(job bigint) RETURNS text
	LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
	AS 'SELECT state FROM aigov.result(job)';
ALTER FUNCTION public.regress_peek(bigint) OWNER TO regress_app_beta;
SELECT public.regress_peek(:job_beta);
SELECT public.regress_peek(:job_alpha);
DROP FUNCTION public.regress_peek(bigint);

-- The batch role inserts for alpha through its group, and for no one else.
SET ROLE regress_batch;
INSERT INTO aigov.requests (tenant_id, body, workload_class, priority)
SELECT 'alpha', jsonb_build_object('model', 'gpt-test', 'messages',
		jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'item ' || i))),
	   'batch', -1
  FROM generate_series(1, 3) AS i;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "r"}]}')
	RETURNING id > 0 AS returned_id;
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('beta', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}');
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "a"}]}'),
		   ('beta', '{"model": "gpt-test", "messages": [{"role": "user", "content": "b"}]}');
INSERT INTO aigov.requests (tenant_id, body, priority)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 6);
INSERT INTO aigov.requests (tenant_id, body, state)
	VALUES ('alpha', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}', 'succeeded');
SELECT body FROM aigov.requests;
SELECT secret FROM aigov.keys;
SELECT * FROM aigov.tenants;
RESET ROLE;
SELECT tenant_id, workload_class, priority, count(*) FROM aigov.requests
 WHERE tenant_id = 'alpha' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- The dashboard sees every tenant's rows, and no secret or body.
SET ROLE regress_dashboard;
SELECT aigov.acting_tenants() IS NULL AS every_tenant;
SELECT tenant_id, count(*) FROM aigov.requests GROUP BY tenant_id ORDER BY 1;
SELECT tenant_id, message FROM aigov.alert_events WHERE kind NOT LIKE '%\_utilisation' ORDER BY id;
SELECT label, enabled FROM aigov.keys ORDER BY label;
SELECT secret FROM aigov.keys;
SELECT * FROM aigov.keys;
SELECT body FROM aigov.requests;
UPDATE aigov.requests SET priority = 0;
SELECT aigov.set_key_secret('k1', 'sk-regress-roles-stolen');
RESET ROLE;

-- The administrator manages tenants and keys, and does not read secrets.
SET ROLE regress_ops;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_app_beta', 'gamma');
UPDATE aigov.keys SET enabled = false, disabled_reason = 'rotation' WHERE label = 'k1';
SELECT label, enabled FROM aigov.keys ORDER BY label;
SELECT secret FROM aigov.keys;
SELECT aigov.set_key_secret('k1', 'sk-regress-roles-rotated');
UPDATE aigov.requests SET priority = 1 WHERE tenant_id = 'beta' AND state = 'queued';
SELECT tenant_id, count(*) FROM aigov.requests GROUP BY tenant_id ORDER BY 1;
RESET ROLE;
SELECT secret = 'sk-regress-roles-rotated' AS rotated FROM aigov.keys WHERE label = 'k1';

-- The mapping the administrator added takes effect at once.
SET ROLE regress_app_beta;
SELECT aigov.acting_tenants();
RESET ROLE;

-- pg_dump turns row_security off, and a role it would apply to gets an
-- error instead of part of the table.
SET ROLE regress_app_alpha;
SET row_security = off;
SELECT count(*) FROM aigov.requests;
RESET row_security;
RESET ROLE;

-- A tenant that is deleted takes its mappings with it, one that is renamed
-- keeps them; a dropped role's mapping stays until it is deleted.
DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
DELETE FROM aigov.alert_events;
DELETE FROM aigov.tenants WHERE tenant_id = 'gamma';
UPDATE aigov.tenants SET tenant_id = 'beta2' WHERE tenant_id = 'beta';
CREATE ROLE regress_gone;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_gone', 'alpha');
DROP ROLE regress_gone;
SELECT role_name, tenant_id FROM aigov.tenant_roles ORDER BY 1, 2;

DELETE FROM aigov.tenant_roles;
DELETE FROM aigov.keys;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
DROP OWNED BY regress_app_alpha, regress_app_beta, regress_nobody, regress_batch,
	regress_dashboard, regress_ops;
DROP ROLE regress_app_alpha, regress_app_beta, regress_nobody, regress_batch,
	regress_alpha_group, regress_dashboard, regress_ops;
