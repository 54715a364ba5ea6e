-- threat_model: the statements of docs/security.md that the other suites
-- do not check, one block each, in the order of that page (its threat
-- model table names this file for each of them).
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_tm_plain, regress_tm_alpha, regress_tm_cr;
RESET client_min_messages;

-- Only a superuser installs, updates or drops the extension: it is not
-- trusted, and its objects belong to the superuser who installed it.
SELECT version, superuser, trusted FROM pg_available_extension_versions
 WHERE name = 'aigov';
CREATE ROLE regress_tm_plain;
GRANT USAGE ON SCHEMA aigov TO regress_tm_plain;
SET ROLE regress_tm_plain;
DROP EXTENSION aigov;
ALTER EXTENSION aigov UPDATE;
RESET ROLE;
SELECT r.rolsuper AS owner_is_superuser,
	   n.nspowner = e.extowner AS schema_owned_by_installer
  FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner,
	   pg_namespace n
 WHERE e.extname = 'aigov' AND n.nspname = 'aigov';
SELECT count(*) AS objects_of_another_owner
  FROM (SELECT relowner AS owner FROM pg_class
		 WHERE relnamespace = 'aigov'::regnamespace
		UNION ALL
		SELECT proowner FROM pg_proc
		 WHERE pronamespace = 'aigov'::regnamespace) o
 WHERE o.owner <> (SELECT extowner FROM pg_extension WHERE extname = 'aigov');

-- PUBLIC has no USAGE on the schema: acting_tenants(), the one function
-- PUBLIC may execute, still needs a grant of USAGE.  The other entry
-- points need EXECUTE as well.
SELECT has_schema_privilege('public', 'aigov', 'USAGE') AS public_usage;
REVOKE USAGE ON SCHEMA aigov FROM regress_tm_plain;
SET ROLE regress_tm_plain;
SELECT aigov.acting_tenants();
RESET ROLE;
GRANT USAGE ON SCHEMA aigov TO regress_tm_plain;
SET ROLE regress_tm_plain;
SELECT aigov.acting_tenants();
SELECT aigov.version();
SELECT aigov.estimate_tokens('{"model": "m", "messages": []}');
SELECT count(*) FROM aigov.worker_status();
RESET ROLE;

-- A superuser acts for every tenant.
SELECT aigov.acting_tenants() IS NULL AS superuser_every_tenant;

-- The four functions of the SQL API fix their search_path, so a caller's
-- cannot redirect them, and are not SECURITY DEFINER.
SELECT proname, proconfig, prosecdef FROM pg_proc
 WHERE pronamespace = 'aigov'::regnamespace
   AND proname IN ('submit', 'result', 'wait', 'cancel')
 ORDER BY proname;

-- Another tenant's submit or INSERT is refused before the body is looked
-- at: a body that would fail validation gets the same permission error.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('tm', 600, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('tm_alpha', 'tm'), ('tm_beta', 'tm');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
CREATE ROLE regress_tm_alpha;
GRANT USAGE ON SCHEMA aigov TO regress_tm_alpha;
GRANT EXECUTE ON FUNCTION aigov.submit(text, jsonb, text, text, interval, integer, boolean)
	TO regress_tm_alpha;
GRANT SELECT, INSERT, UPDATE, DELETE ON aigov.requests, aigov.attempts,
	aigov.alert_events TO regress_tm_alpha;
INSERT INTO aigov.tenant_roles (role_name, tenant_id) VALUES ('regress_tm_alpha', 'tm_alpha');
SET ROLE regress_tm_alpha;
SELECT * FROM aigov.submit('tm_beta', '{"stream": true}');
INSERT INTO aigov.requests (tenant_id, body) VALUES ('tm_beta', '[]');
-- its own tenant's bad body is judged on the body
SELECT * FROM aigov.submit('tm_alpha', '{"stream": true}');
RESET ROLE;

-- Row-level security bounds UPDATE and DELETE as it bounds SELECT: a role
-- with both privileges changes only its tenants' rows.
INSERT INTO aigov.requests (tenant_id, body)
SELECT t, '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}'
  FROM unnest(ARRAY['tm_alpha', 'tm_beta']) t;
INSERT INTO aigov.attempts (job_id, tenant_id, attempt, error_class, started_at, finished_at)
	VALUES (0, 'tm_alpha', 1, 'server', now(), now()),
		   (0, 'tm_beta', 1, 'server', now(), now());
INSERT INTO aigov.alert_events (severity, kind, tenant_id, message)
	VALUES ('warning', 'tenant_soft_limit', 'tm_alpha', 'a'),
		   ('warning', 'tenant_soft_limit', 'tm_beta', 'b'),
		   ('critical', 'key_disabled', NULL, 'k');
SET ROLE regress_tm_alpha;
UPDATE aigov.requests SET priority = 3;
DELETE FROM aigov.attempts;
DELETE FROM aigov.alert_events;
RESET ROLE;
SELECT tenant_id, priority FROM aigov.requests ORDER BY tenant_id;
SELECT tenant_id FROM aigov.attempts ORDER BY tenant_id;
SELECT tenant_id, message FROM aigov.alert_events ORDER BY message;

-- Quota is charged in shared memory, outside the transaction: a submit
-- that is rolled back has still spent its tenant's request.
UPDATE aigov.tiers SET rpm = 1 WHERE tier = 'tm';
BEGIN;
SET LOCAL ROLE regress_tm_alpha;
SELECT status FROM aigov.submit('tm_alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "r"}]}');
ROLLBACK;
SELECT status, reason FROM aigov.submit('tm_alpha',
	'{"model": "gpt-test", "messages": [{"role": "user", "content": "r"}]}');

-- A role with CREATEROLE can make itself a member of aigov_admin, and so
-- act for every tenant: CREATEROLE is administrator access.
CREATE ROLE regress_tm_cr CREATEROLE;
SET ROLE regress_tm_cr;
GRANT aigov_admin TO regress_tm_cr;
RESET ROLE;
SELECT pg_has_role('regress_tm_cr', 'aigov_admin', 'MEMBER') AS became_admin;

-- Settings: four are superuser-only, every other one is set in the server
-- configuration only; none may be set by an ordinary role.
SELECT name, context FROM pg_settings
 WHERE name LIKE 'aigov.%' AND context NOT IN ('sighup', 'postmaster')
 ORDER BY name;
SET ROLE regress_tm_plain;
SET aigov.max_body_bytes = 100000000;
SET aigov.default_max_tokens = 1;
RESET ROLE;
SET aigov.max_in_flight = 1;

DELETE FROM aigov.requests;
DELETE FROM aigov.attempts;
DELETE FROM aigov.alert_events;
DELETE FROM aigov.tenant_roles;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
DROP OWNED BY regress_tm_plain, regress_tm_alpha;
DROP ROLE regress_tm_plain, regress_tm_alpha, regress_tm_cr;
