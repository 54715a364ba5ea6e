/* aigov--0.1.0.sql: the schema, queue and SQL API of aigov 0.1.0 */

\echo Use "CREATE EXTENSION aigov" to load this file. \quit

CREATE SCHEMA aigov;
COMMENT ON SCHEMA aigov IS 'aigov: quota-aware LLM gateway (configuration, queue, history)';

/*
 * Configuration tables.  These are the source of truth; the workers keep a
 * cache of them in shared memory.
 */

CREATE TABLE aigov.tiers (
	tier		text PRIMARY KEY
		CONSTRAINT tiers_tier_check CHECK (tier OPERATOR(pg_catalog.<>) ''),
	rpm			integer NOT NULL
		CONSTRAINT tiers_rpm_check CHECK (rpm OPERATOR(pg_catalog.>) 0),
	tpm			bigint NOT NULL
		CONSTRAINT tiers_tpm_check CHECK (tpm OPERATOR(pg_catalog.>) 0),
	tpd			bigint NOT NULL
		CONSTRAINT tiers_tpd_check CHECK (tpd OPERATOR(pg_catalog.>) 0),
	weight		integer NOT NULL DEFAULT 1
		CONSTRAINT tiers_weight_check CHECK (weight OPERATOR(pg_catalog.>) 0),
	max_priority integer NOT NULL DEFAULT 10
		CONSTRAINT tiers_max_priority_check CHECK (max_priority OPERATOR(pg_catalog.>=) 0)
);
COMMENT ON TABLE aigov.tiers IS 'Subscription tiers: default quotas, fair-share weight and highest job priority of their tenants';

CREATE TABLE aigov.tenants (
	tenant_id	text PRIMARY KEY
		CONSTRAINT tenants_tenant_id_check
		CHECK (tenant_id OPERATOR(pg_catalog.<>) ''
			   AND pg_catalog.octet_length(tenant_id) OPERATOR(pg_catalog.<=) 200),
	tier		text NOT NULL
		CONSTRAINT tenants_tier_fkey REFERENCES aigov.tiers (tier) ON UPDATE CASCADE,
	tenant_group text,
	rpm			integer
		CONSTRAINT tenants_rpm_check CHECK (rpm OPERATOR(pg_catalog.>) 0),
	tpm			bigint
		CONSTRAINT tenants_tpm_check CHECK (tpm OPERATOR(pg_catalog.>) 0),
	tpd			bigint
		CONSTRAINT tenants_tpd_check CHECK (tpd OPERATOR(pg_catalog.>) 0),
	soft_limit_pct integer NOT NULL DEFAULT 80
		CONSTRAINT tenants_soft_limit_pct_check
		CHECK (soft_limit_pct OPERATOR(pg_catalog.>=) 1
			   AND soft_limit_pct OPERATOR(pg_catalog.<=) 100),
	hard_cap	boolean NOT NULL DEFAULT true,
	enabled		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE aigov.tenants IS 'Tenants: tier, per-tenant quota overrides (NULL = the tier''s), soft and hard limits';

/*
 * Which database roles act for which tenants.  A role acts for the tenants
 * mapped to any role it is a member of; superusers, the extension's owner
 * and members of aigov_admin act for every tenant (see docs/security.md).
 */
CREATE TABLE aigov.tenant_roles (
	role_name	name NOT NULL,
	tenant_id	text NOT NULL
		CONSTRAINT tenant_roles_tenant_id_fkey REFERENCES aigov.tenants (tenant_id)
		ON UPDATE CASCADE ON DELETE CASCADE,
	PRIMARY KEY (role_name, tenant_id)
);
CREATE INDEX tenant_roles_tenant_id_idx ON aigov.tenant_roles (tenant_id);
COMMENT ON TABLE aigov.tenant_roles IS 'Database roles that act for each tenant: submit, read and cancel its jobs, see its rows';

CREATE TABLE aigov.providers (
	provider	text PRIMARY KEY
		CONSTRAINT providers_provider_check CHECK (provider OPERATOR(pg_catalog.<>) ''),
	api_style	text NOT NULL
		CONSTRAINT providers_api_style_check
		CHECK (api_style OPERATOR(pg_catalog.=) ANY (ARRAY['openai', 'anthropic', 'gemini', 'azure'])),
	base_url	text NOT NULL
		CONSTRAINT providers_base_url_check
		CHECK (base_url OPERATOR(pg_catalog.~) '^https?://[^/[:space:]]+(/[^[:space:]]*)?$'),
	enabled		boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE aigov.providers IS 'LLM providers: API dialect and base URL';

CREATE TABLE aigov.keys (
	key_id		bigserial PRIMARY KEY,
	provider	text NOT NULL
		CONSTRAINT keys_provider_fkey REFERENCES aigov.providers (provider) ON UPDATE CASCADE,
	label		text NOT NULL
		CONSTRAINT keys_label_key UNIQUE
		CONSTRAINT keys_label_check CHECK (label OPERATOR(pg_catalog.<>) ''),
	secret		text NOT NULL,
	workload_class text
		CONSTRAINT keys_workload_class_check
		CHECK (workload_class OPERATOR(pg_catalog.=) ANY (ARRAY['interactive', 'background', 'batch'])),
	tenant_group text,
	rpm_limit	integer
		CONSTRAINT keys_rpm_limit_check CHECK (rpm_limit OPERATOR(pg_catalog.>) 0),
	tpm_limit	bigint
		CONSTRAINT keys_tpm_limit_check CHECK (tpm_limit OPERATOR(pg_catalog.>) 0),
	tpd_limit	bigint
		CONSTRAINT keys_tpd_limit_check CHECK (tpd_limit OPERATOR(pg_catalog.>) 0),
	weight		integer NOT NULL DEFAULT 1
		CONSTRAINT keys_weight_check CHECK (weight OPERATOR(pg_catalog.>) 0),
	enabled		boolean NOT NULL DEFAULT true,
	disabled_reason text,
	disabled_at	timestamptz
);
COMMENT ON TABLE aigov.keys IS 'Provider API keys (the key pool); limits NULL = learned from rate-limit headers';
COMMENT ON COLUMN aigov.keys.secret IS 'The API key itself; readable by the extension owner only';

CREATE TABLE aigov.models (
	provider	text NOT NULL
		CONSTRAINT models_provider_fkey REFERENCES aigov.providers (provider)
		ON UPDATE CASCADE ON DELETE CASCADE,
	model		text NOT NULL
		CONSTRAINT models_model_check CHECK (model OPERATOR(pg_catalog.<>) ''),
	context_window integer NOT NULL
		CONSTRAINT models_context_window_check CHECK (context_window OPERATOR(pg_catalog.>) 0),
	max_output_tokens integer NOT NULL
		CONSTRAINT models_max_output_tokens_check CHECK (max_output_tokens OPERATOR(pg_catalog.>) 0),
	PRIMARY KEY (provider, model)
);
CREATE INDEX models_model_idx ON aigov.models (model);
COMMENT ON TABLE aigov.models IS 'Models each provider serves, with their context and output limits';

CREATE TABLE aigov.compat (
	task_type	text NOT NULL
		CONSTRAINT compat_task_type_check CHECK (task_type OPERATOR(pg_catalog.<>) ''),
	provider	text NOT NULL,
	model		text NOT NULL,
	rank		integer NOT NULL
		CONSTRAINT compat_rank_check CHECK (rank OPERATOR(pg_catalog.>=) 1),
	structured_output boolean NOT NULL DEFAULT false,
	tool_use	boolean NOT NULL DEFAULT false,
	validated	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (task_type, provider, model),
	CONSTRAINT compat_model_fkey FOREIGN KEY (provider, model)
		REFERENCES aigov.models (provider, model) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE aigov.compat IS 'Provider compatibility matrix per task type, for semantic fallback';

/*
 * The durable queue.  Finished jobs move to the history after
 * aigov.history_after (see "History and retention" below); the hot set is
 * kept small by a partial index on queued rows and fillfactor for HOT
 * updates.
 * tenant_id is part of the primary key so the table can be distributed by
 * tenant later.
 */
CREATE SEQUENCE aigov.requests_id_seq;
COMMENT ON SEQUENCE aigov.requests_id_seq IS 'Job ids; the enqueue trigger draws them';

CREATE TABLE aigov.requests (
	id			bigint NOT NULL,
	tenant_id	text NOT NULL,
	task_type	text NOT NULL DEFAULT 'chat'
		CONSTRAINT requests_task_type_check CHECK (task_type OPERATOR(pg_catalog.<>) ''),
	workload_class text NOT NULL DEFAULT 'interactive'
		CONSTRAINT requests_workload_class_check
		CHECK (workload_class OPERATOR(pg_catalog.=) ANY (ARRAY['interactive', 'background', 'batch'])),
	priority	integer NOT NULL DEFAULT 0,
	model		text,
	body		jsonb NOT NULL,
	est_tokens	bigint,
	est_prompt_tokens bigint,
	est_charged_prompt_tokens bigint,
	state		text NOT NULL DEFAULT 'queued'
		CONSTRAINT requests_state_check
		CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'in_flight', 'succeeded', 'failed',
														'rejected', 'expired', 'cancelled'])),
	attempts	integer NOT NULL DEFAULT 0,
	failures	integer NOT NULL DEFAULT 0,
	not_before	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	deadline	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	finished_at timestamptz,
	key_id		bigint,
	served_provider text,
	served_model text,
	degraded	boolean NOT NULL DEFAULT false,
	admitted	boolean NOT NULL DEFAULT false,
	response	jsonb,
	raw_response jsonb,
	error_class text,
	error		jsonb,
	prompt_tokens integer,
	completion_tokens integer,
	claimed_by	integer,
	claimed_at	timestamptz,
	vstart		bigint NOT NULL DEFAULT 0,
	fallback	boolean NOT NULL DEFAULT true,
	PRIMARY KEY (id, tenant_id)
) WITH (fillfactor = 70);

/*
 * Fair queuing (docs/scheduling.md): the enqueue trigger gives each job a
 * virtual start tag in its model's key pool, and a claim reads each pool's
 * queued jobs in tag order from requests_queued_idx.  The other two
 * indexes serve priority within a tenant: whether a pool holds any job of
 * a priority other than 0, and a tenant's best job in a pool and class.
 */
CREATE INDEX requests_queued_idx ON aigov.requests (model, vstart, id)
	WHERE state OPERATOR(pg_catalog.=) 'queued';
CREATE INDEX requests_queued_priority_idx ON aigov.requests (model)
	WHERE state OPERATOR(pg_catalog.=) 'queued' AND priority OPERATOR(pg_catalog.<>) 0;
CREATE INDEX requests_tenant_queue_idx
	ON aigov.requests (tenant_id, model, workload_class, priority DESC, vstart)
	WHERE state OPERATOR(pg_catalog.=) 'queued';
CREATE INDEX requests_in_flight_idx ON aigov.requests (claimed_by)
	WHERE state OPERATOR(pg_catalog.=) 'in_flight';
CREATE INDEX requests_deadline_idx ON aigov.requests (deadline)
	WHERE state OPERATOR(pg_catalog.=) 'queued' AND deadline IS NOT NULL;
ALTER SEQUENCE aigov.requests_id_seq OWNED BY aigov.requests.id;
COMMENT ON TABLE aigov.requests IS 'The durable job queue and its results';

CREATE TABLE aigov.attempts (
	id			bigserial,
	job_id		bigint NOT NULL,
	tenant_id	text NOT NULL,
	attempt		integer NOT NULL,
	key_id		bigint,
	provider	text,
	model		text,
	http_status integer,
	error_class text NOT NULL,
	latency_ms	double precision,
	started_at	timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	est_tokens	bigint,
	prompt_tokens integer,
	completion_tokens integer,
	limit_requests bigint,
	remaining_requests bigint,
	reset_requests timestamptz,
	limit_tokens bigint,
	remaining_tokens bigint,
	reset_tokens timestamptz,
	retry_after timestamptz,
	worker_pid	integer,
	PRIMARY KEY (id, tenant_id)
);
CREATE INDEX attempts_job_idx ON aigov.attempts (job_id);
CREATE INDEX attempts_key_finished_idx ON aigov.attempts (key_id, finished_at);
COMMENT ON TABLE aigov.attempts IS 'One row per provider call: outcome, latency and the parsed rate-limit headers';

CREATE TABLE aigov.alert_events (
	id			bigserial PRIMARY KEY,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	severity	text NOT NULL
		CONSTRAINT alert_events_severity_check
		CHECK (severity OPERATOR(pg_catalog.=) ANY (ARRAY['info', 'warning', 'critical'])),
	kind		text NOT NULL,
	tenant_id	text,
	key_id		bigint,
	provider	text,
	message		text NOT NULL,
	detail		jsonb
);
COMMENT ON TABLE aigov.alert_events IS 'Alerts raised by aigov (soft limits crossed, keys disabled, ...)';

/*
 * This installation's id, drawn at random when the extension is created.
 * Every provider call carries Idempotency-Key: aigov-<id>-<job id>, so job
 * ids that start again at 1 after the extension is recreated never repeat
 * a key a provider may still remember.  One row, not dumped: a database
 * restored from pg_dump is a new installation and draws its own (see
 * docs/security.md); a physical copy keeps it.
 */
CREATE TABLE aigov._installation (
	singleton	boolean NOT NULL DEFAULT true PRIMARY KEY
		CONSTRAINT _installation_singleton_check CHECK (singleton),
	id			uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
INSERT INTO aigov._installation DEFAULT VALUES;
COMMENT ON TABLE aigov._installation IS 'This installation''s random id, part of every Idempotency-Key (internal)';

/* Configuration survives pg_dump; the queue and history are data too. */
SELECT pg_catalog.pg_extension_config_dump('aigov.tiers', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.tenant_roles', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.providers', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.keys', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.keys_key_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.models', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.compat', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.requests', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.attempts', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.attempts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.alert_events', '');
SELECT pg_catalog.pg_extension_config_dump('aigov.alert_events_id_seq', '');

/*
 * Enqueue path: one trigger validates every new job, estimates its tokens
 * and fills defaults, so aigov.submit() and a plain INSERT behave the same.
 */
CREATE FUNCTION aigov._requests_before_insert()
	RETURNS trigger
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'aigov_requests_before_insert';
COMMENT ON FUNCTION aigov._requests_before_insert() IS 'Validates a new job and fills its defaults (internal)';

CREATE TRIGGER requests_before_insert
	BEFORE INSERT ON aigov.requests
	FOR EACH ROW EXECUTE FUNCTION aigov._requests_before_insert();

CREATE FUNCTION aigov.estimate_tokens(body jsonb)
	RETURNS bigint
	LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aigov_estimate_tokens';
COMMENT ON FUNCTION aigov.estimate_tokens(jsonb) IS 'Estimated prompt tokens of an OpenAI chat-completions body (without the output budget)';

CREATE FUNCTION aigov.submit(
	tenant_id text,
	body jsonb,
	task_type text DEFAULT 'chat',
	workload_class text DEFAULT 'interactive',
	max_wait interval DEFAULT NULL,
	priority integer DEFAULT 0,
	fallback boolean DEFAULT true)
	RETURNS TABLE (job_id bigint, status text, http_status integer,
				   retry_at timestamptz, reason text, poll text)
	LANGUAGE c VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'aigov_submit';
COMMENT ON FUNCTION aigov.submit(text, jsonb, text, text, interval, integer, boolean) IS 'Enqueues a chat-completion job for a tenant; answers accepted/202 or rejected/429';

CREATE FUNCTION aigov.result(job_id bigint)
	RETURNS TABLE (job_id bigint, state text, http_status integer, response jsonb,
				   error jsonb, retry_at timestamptz, provider text, model text,
				   degraded boolean)
	LANGUAGE c STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'aigov_result';
COMMENT ON FUNCTION aigov.result(bigint) IS 'The state of a job; http_status is 202 while it is pending';

CREATE FUNCTION aigov.wait(job_id bigint, timeout interval DEFAULT '30 seconds')
	RETURNS TABLE (job_id bigint, state text, http_status integer, response jsonb,
				   error jsonb, retry_at timestamptz, provider text, model text,
				   degraded boolean)
	LANGUAGE c VOLATILE STRICT
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'aigov_wait';
COMMENT ON FUNCTION aigov.wait(bigint, interval) IS 'Blocks until a job is final or the timeout passes, then returns what aigov.result returns';

CREATE FUNCTION aigov.cancel(job_id bigint)
	RETURNS boolean
	LANGUAGE c VOLATILE STRICT
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'aigov_cancel';
COMMENT ON FUNCTION aigov.cancel(bigint) IS 'Cancels a job that is not final yet; false if it already was';

CREATE FUNCTION aigov.acting_tenants()
	RETURNS text[]
	LANGUAGE c STABLE
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'aigov_acting_tenants';
COMMENT ON FUNCTION aigov.acting_tenants() IS 'The tenants the current role acts for, sorted; NULL when it acts for every tenant';

CREATE FUNCTION aigov.version()
	RETURNS text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'aigov_version';
COMMENT ON FUNCTION aigov.version() IS 'The version of the loaded aigov library';

CREATE FUNCTION aigov.worker_status()
	RETURNS TABLE (worker integer, pid integer, in_flight bigint, claimed bigint,
				   completed bigint, config_reloads bigint)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_worker_status';
COMMENT ON FUNCTION aigov.worker_status() IS 'The dispatcher workers: pid, calls in flight and counters since they started';

CREATE FUNCTION aigov.key_breakers()
	RETURNS TABLE (key_id bigint, state text, consecutive_failures integer,
				   window_successes integer, window_failures integer,
				   opened_total bigint, probe_after timestamptz)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_key_breakers';
COMMENT ON FUNCTION aigov.key_breakers() IS 'The circuit breaker of each key used since the server started: state, failures, times opened';

CREATE FUNCTION aigov.provider_breakers()
	RETURNS TABLE (provider text, state text, consecutive_failures integer,
				   window_successes integer, window_failures integer,
				   opened_total bigint, probe_after timestamptz)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_provider_breakers';
COMMENT ON FUNCTION aigov.provider_breakers() IS 'The circuit breaker of each provider called since the server started: state, failures, times opened';

/*
 * Workers cache the configuration; a statement trigger on each config
 * table tells them to reload it when the change commits.
 */
CREATE FUNCTION aigov._config_changed()
	RETURNS trigger
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'aigov_config_changed';
COMMENT ON FUNCTION aigov._config_changed() IS 'Tells the workers to reload the configuration at commit (internal)';

CREATE TRIGGER tiers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.tiers
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.tenants
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();
CREATE TRIGGER providers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.providers
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();
CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.keys
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();
CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.models
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();
CREATE TRIGGER compat_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aigov.compat
	FOR EACH STATEMENT EXECUTE FUNCTION aigov._config_changed();

/*
 * Where calls may go and which secrets may be read: a provider's base_url
 * must be allowed by aigov.allowed_hosts, and an "env:NAME" secret must
 * name a variable that aigov.secret_env_names allows.  The workers check
 * both again when they call, since a restore loads these tables with
 * triggers off.
 */
CREATE FUNCTION aigov._providers_check_url()
	RETURNS trigger
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'aigov_providers_check_url';
COMMENT ON FUNCTION aigov._providers_check_url() IS 'Refuses a provider base_url that aigov.allowed_hosts does not allow (internal)';
CREATE TRIGGER providers_check_url AFTER INSERT OR UPDATE OF base_url ON aigov.providers
	FOR EACH ROW EXECUTE FUNCTION aigov._providers_check_url();

CREATE FUNCTION aigov._keys_check_secret()
	RETURNS trigger
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'aigov_keys_check_secret';
COMMENT ON FUNCTION aigov._keys_check_secret() IS 'Refuses an env: secret that aigov.secret_env_names does not allow (internal)';
CREATE TRIGGER keys_check_secret AFTER INSERT OR UPDATE OF secret ON aigov.keys
	FOR EACH ROW EXECUTE FUNCTION aigov._keys_check_secret();

/*
 * Replaces a key's secret without an UPDATE statement, which
 * log_statement = 'mod' would write to the server log with the key in it.
 * It runs as its caller, who needs UPDATE on aigov.keys.
 */
CREATE FUNCTION aigov.set_key_secret(label text, secret text)
	RETURNS void
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_set_key_secret';
COMMENT ON FUNCTION aigov.set_key_secret(text, text) IS 'Replaces the secret of the key with this label, keeping the key out of statement logs';

/*
 * The workers' queue operations.  They are functions, not strings in the
 * C code, so the isolation tests run exactly what the workers run; and
 * PL/pgSQL, not SQL, because PL/pgSQL keeps a statement's plan for the
 * session where an SQL function is parsed and planned again at every
 * call (most of a dispatcher's time when calls carry a job or two).
 * A kept plan may have been made while aigov.requests was nearly empty,
 * so each of them turns sequential scans off and reaches rows only
 * through the index or row address meant for it: finished jobs pile up in
 * this table, and no queue operation may read them.
 */

/*
 * One workload class of one key pool, for aigov._claim_batch: up to n of
 * its due jobs with tags from lo to hi (its class's range, so one range of
 * requests_queued_idx), in tag order, priority applied within each tenant,
 * claimed for the worker.
 */
CREATE FUNCTION aigov._claim_range(pool text, lo bigint, hi bigint, n integer,
								   worker_pid integer, now_ts timestamptz, inst text)
	RETURNS TABLE (id bigint, tenant_id text, model text, body text,
				   attempts integer, failures integer, est_tokens bigint,
				   workload_class text, deadline timestamptz, tenant_group text,
				   admitted boolean, rpm bigint, tpm bigint, tpd bigint,
				   soft_limit_pct integer, hard_cap boolean, weight integer,
				   est_prompt_tokens bigint, est_charged_prompt_tokens bigint,
				   deferred boolean, installation text, vstart bigint,
				   task_type text, fallback boolean)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
#variable_conflict use_column
DECLARE
	tids tid[];
	tags bigint[];
	tenants text[];
	classes text[];
	prios integer[];
	sub record;
	j integer;
BEGIN
-- The class's due jobs with the smallest virtual start tags, read in tag
-- order from requests_queued_idx (one range of it) and locked.
SELECT pg_catalog.array_agg(c.tid ORDER BY c.vstart, c.id),
	   pg_catalog.array_agg(c.vstart ORDER BY c.vstart, c.id),
	   pg_catalog.array_agg(c.tenant_id ORDER BY c.vstart, c.id),
	   pg_catalog.array_agg(c.workload_class ORDER BY c.vstart, c.id),
	   pg_catalog.array_agg(c.priority ORDER BY c.vstart, c.id)
  INTO tids, tags, tenants, classes, prios
  FROM (SELECT q.ctid AS tid, q.id, q.vstart, q.tenant_id, q.workload_class,
			   q.priority
		  FROM aigov.requests q
		 WHERE q.state OPERATOR(pg_catalog.=) 'queued'
		   AND q.model OPERATOR(pg_catalog.=) pool
		   AND q.vstart OPERATOR(pg_catalog.>=) lo
		   AND q.vstart OPERATOR(pg_catalog.<=) hi
		   AND q.not_before OPERATOR(pg_catalog.<=) now_ts
		 ORDER BY q.vstart, q.id
		 LIMIT n FOR UPDATE SKIP LOCKED) c;
IF tids IS NULL THEN
	RETURN;
END IF;

-- Priority orders jobs within a tenant and workload class only: a
-- candidate gives its tag to its tenant's best due job of a higher
-- priority in the same class, which is claimed in its place; the
-- candidate takes that job's later tag.  The tags a tenant holds do not
-- change, so neither does its share.  Skipped unless the pool holds a
-- job of a priority other than 0 (requests_queued_priority_idx).
IF EXISTS (SELECT 1 FROM aigov.requests q
			WHERE q.state OPERATOR(pg_catalog.=) 'queued'
			  AND q.priority OPERATOR(pg_catalog.<>) 0
			  AND q.model OPERATOR(pg_catalog.=) pool) THEN
	FOR i IN 1 .. pg_catalog.array_length(tids, 1) LOOP
		SELECT q.ctid AS tid, q.vstart, q.priority INTO sub
		  FROM aigov.requests q
		 WHERE q.state OPERATOR(pg_catalog.=) 'queued'
		   AND q.tenant_id OPERATOR(pg_catalog.=) tenants[i]
		   AND q.model OPERATOR(pg_catalog.=) pool
		   AND q.workload_class OPERATOR(pg_catalog.=) classes[i]
		   AND q.priority OPERATOR(pg_catalog.>) prios[i]
		   AND q.not_before OPERATOR(pg_catalog.<=) now_ts
		   AND q.ctid OPERATOR(pg_catalog.<>) ALL (tids[1:i])
		 ORDER BY q.priority DESC, q.vstart
		 LIMIT 1 FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		j := pg_catalog.array_position(tids, sub.tid);
		IF j IS NOT NULL THEN
			-- both are claimed now: they trade places
			tids[j] := tids[i];
			prios[j] := prios[i];
		ELSE
			UPDATE aigov.requests q SET vstart = sub.vstart
			 WHERE q.ctid OPERATOR(pg_catalog.=) tids[i];
		END IF;
		tids[i] := sub.tid;
		prios[i] := sub.priority;
	END LOOP;
END IF;

-- The claimed rows are reached by the addresses locked above, and
-- sequential scans are off, so a plan the session kept from a nearly
-- empty table cannot scan the whole table once per claimed job.  Each
-- row keeps the tag of the place it was claimed at, which the worker
-- advances its pool's virtual clock to.
RETURN QUERY
UPDATE aigov.requests r
   SET state = 'in_flight', claimed_by = worker_pid,
	   claimed_at = pg_catalog.clock_timestamp(),
	   attempts = r.attempts OPERATOR(pg_catalog.+) 1,
	   vstart = c.tag
  FROM ROWS FROM (pg_catalog.unnest(tids), pg_catalog.unnest(tags),
				  pg_catalog.unnest(tenants)) AS c(tid, tag, tenant)
  LEFT JOIN aigov.tenants t ON t.tenant_id OPERATOR(pg_catalog.=) c.tenant
  LEFT JOIN aigov.tiers tr ON tr.tier OPERATOR(pg_catalog.=) t.tier
 WHERE r.ctid OPERATOR(pg_catalog.=) c.tid
RETURNING r.id, r.tenant_id, r.model, r.body::pg_catalog.text, r.attempts,
		  r.failures, r.est_tokens, r.workload_class, r.deadline, t.tenant_group,
		  r.admitted, COALESCE(t.rpm, tr.rpm)::pg_catalog.int8,
		  COALESCE(t.tpm, tr.tpm), COALESCE(t.tpd, tr.tpd), t.soft_limit_pct,
		  t.hard_cap, tr.weight, r.est_prompt_tokens, r.est_charged_prompt_tokens,
		  r.not_before OPERATOR(pg_catalog.>) r.created_at, inst, r.vstart,
		  r.task_type, r.fallback;
END
$$;
COMMENT ON FUNCTION aigov._claim_range(text, bigint, bigint, integer, integer, timestamptz, text) IS 'Claims due jobs of one class of one key pool (internal, for _claim_batch)';

/* The claim's plan across the workload classes of a pool (classshares.c). */
CREATE FUNCTION aigov._class_plan(model text, jobs integer)
	RETURNS TABLE (workload_class text, lo bigint, hi bigint, jobs_asked integer)
	LANGUAGE c VOLATILE STRICT
	AS 'MODULE_PATHNAME', 'aigov_class_plan';
COMMENT ON FUNCTION aigov._class_plan(text, integer) IS 'How many jobs a claim asks of each workload class of a key pool, most behind its share first (internal)';

CREATE FUNCTION aigov._claim_batch(batch integer, worker_pid integer)
	RETURNS TABLE (id bigint, tenant_id text, model text, body text,
				   attempts integer, failures integer, est_tokens bigint,
				   workload_class text, deadline timestamptz, tenant_group text,
				   admitted boolean, rpm bigint, tpm bigint, tpd bigint,
				   soft_limit_pct integer, hard_cap boolean, weight integer,
				   est_prompt_tokens bigint, est_charged_prompt_tokens bigint,
				   deferred boolean, installation text, vstart bigint,
				   task_type text, fallback boolean)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
#variable_conflict use_column
DECLARE
	inst text;
	pools text[];
	pool text;
	npools integer;
	wanted integer := $1;
	share integer;
	got integer;
	now_ts timestamptz := pg_catalog.clock_timestamp();
	los bigint[];
	his bigint[];
	counts integer[];
	take integer;
	unused integer;
BEGIN
-- The installation id goes out in every call's Idempotency-Key; read with
-- each claim, so a worker never sends a key of an extension since dropped.
-- A row deleted by hand is drawn again rather than stopping the queue;
-- when two workers draw at once, the second waits and reads the first's.
SELECT i.id::pg_catalog.text INTO inst FROM aigov._installation i;
IF inst IS NULL THEN
	INSERT INTO aigov._installation DEFAULT VALUES ON CONFLICT DO NOTHING;
	SELECT i.id::pg_catalog.text INTO inst FROM aigov._installation i;
END IF;

-- The key pools (models) with queued jobs, one probe of requests_queued_idx
-- each, in a random order so that no pool always comes first.
WITH RECURSIVE p(m) AS (
	(SELECT q.model FROM aigov.requests q
	  WHERE q.state OPERATOR(pg_catalog.=) 'queued' AND q.model IS NOT NULL
	  ORDER BY q.model LIMIT 1)
	UNION ALL
	SELECT (SELECT q.model FROM aigov.requests q
			 WHERE q.state OPERATOR(pg_catalog.=) 'queued'
			   AND q.model OPERATOR(pg_catalog.>) p.m
			 ORDER BY q.model LIMIT 1)
	  FROM p WHERE p.m IS NOT NULL)
SELECT pg_catalog.array_agg(p.m ORDER BY pg_catalog.random()) INTO pools
  FROM p WHERE p.m IS NOT NULL;
npools := COALESCE(pg_catalog.array_length(pools, 1), 0);

FOREACH pool IN ARRAY COALESCE(pools, '{}'::text[]) LOOP
	-- Each pool gets its share of what is left, and at least one job, so
	-- that a worker claiming one job at a time (waiting for keys) serves
	-- every pool; what a pool does not take goes to the pools after it.
	share := GREATEST(1, (wanted OPERATOR(pg_catalog.+) npools OPERATOR(pg_catalog.-) 1)
					  OPERATOR(pg_catalog./) npools);
	npools := npools OPERATOR(pg_catalog.-) 1;

	-- Each workload class is asked for its part of the pool's share, the
	-- class most behind its minimum share (aigov.class_shares) first; what
	-- a class cannot use goes to the classes after it, then round again.
	SELECT pg_catalog.array_agg(p.lo ORDER BY p.ord),
		   pg_catalog.array_agg(p.hi ORDER BY p.ord),
		   pg_catalog.array_agg(p.n ORDER BY p.ord)
	  INTO los, his, counts
	  FROM aigov._class_plan(pool, share) WITH ORDINALITY AS p(c, lo, hi, n, ord);
	unused := 0;
	FOR r IN 1 .. 2 LOOP
		FOR k IN 1 .. pg_catalog.array_length(los, 1) LOOP
			take := unused OPERATOR(pg_catalog.+) CASE WHEN r OPERATOR(pg_catalog.=) 1
												  THEN counts[k] ELSE 0 END;
			CONTINUE WHEN take OPERATOR(pg_catalog.<=) 0;
			RETURN QUERY
			SELECT * FROM aigov._claim_range(pool, los[k], his[k], take, $2, now_ts, inst);
			GET DIAGNOSTICS got = ROW_COUNT;
			wanted := wanted OPERATOR(pg_catalog.-) got;
			unused := take OPERATOR(pg_catalog.-) got;
		END LOOP;
		EXIT WHEN unused OPERATOR(pg_catalog.=) 0;
	END LOOP;
END LOOP;
END
$$;
COMMENT ON FUNCTION aigov._claim_batch(integer, integer) IS 'Claims due jobs for a worker with SKIP LOCKED (internal)';

/*
 * One job's completion as a dispatcher passes it to aigov._complete: the
 * job's new state, and its attempts row when has_attempt.  A NULL field
 * keeps the job's column where the function says COALESCE.  Replies and
 * errors are JSON text, made jsonb here.
 */
CREATE TYPE aigov._completion_row AS (
	id			bigint,
	tenant_id	text,
	state		text,
	attempts	integer,
	failures	integer,
	admitted	boolean,
	not_before	timestamptz,
	response	text,
	raw_response text,
	error_class	text,
	error		text,
	prompt_tokens bigint,		/* as the provider reported them: an absurd */
	completion_tokens bigint,	/* count fails the write, not the worker */
	key_id		bigint,
	provider	text,
	model		text,
	has_attempt	boolean,
	http_status	integer,
	latency_ms	double precision,
	started_at	timestamptz,
	finished_at	timestamptz,
	est_tokens	bigint,
	limit_requests bigint,
	remaining_requests bigint,
	reset_requests timestamptz,
	limit_tokens bigint,
	remaining_tokens bigint,
	reset_tokens timestamptz,
	retry_after	timestamptz,
	degraded	boolean			/* served by a fallback alternative */
);
COMMENT ON TYPE aigov._completion_row IS 'A job''s completion as the workers write it (internal)';

/*
 * The group drives the UPDATE, whatever the planner thinks of
 * aigov.requests: the session keeps the plan, and a join planned while the
 * table was nearly empty may scan the jobs and check each against the
 * group, which is quadratic once thousands are in flight.  So the jobs'
 * row addresses are found first, one primary-key probe per record (LATERAL
 * leaves no other order), and the UPDATE reaches each row by its address;
 * with sequential scans off, no other path to the rows remains.  A row a
 * concurrent cancel changed meanwhile is skipped, as the tests below would
 * skip it.
 */
CREATE FUNCTION aigov._complete(records aigov._completion_row[], worker_pid integer)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
#variable_conflict use_column
DECLARE
	n bigint;
BEGIN
WITH t AS MATERIALIZED (
	SELECT c.*, l.tid
	  FROM pg_catalog.unnest($1) AS c,
		   LATERAL (SELECT q.ctid AS tid FROM aigov.requests q
					 WHERE q.id OPERATOR(pg_catalog.=) c.id
					   AND q.tenant_id OPERATOR(pg_catalog.=) c.tenant_id
					 LIMIT 1) AS l),
done AS (
	UPDATE aigov.requests r
	   SET state = t.state,
		   attempts = COALESCE(t.attempts, r.attempts),
		   admitted = COALESCE(t.admitted, r.admitted),
		   failures = COALESCE(t.failures, r.failures),
		   not_before = COALESCE(t.not_before, r.not_before),
		   finished_at = CASE WHEN t.state OPERATOR(pg_catalog.=) 'queued' THEN NULL
						 ELSE pg_catalog.clock_timestamp() END,
		   claimed_by = NULL,
		   response = t.response::pg_catalog.jsonb,
		   raw_response = t.raw_response::pg_catalog.jsonb,
		   error_class = t.error_class, error = t.error::pg_catalog.jsonb,
		   prompt_tokens = t.prompt_tokens, completion_tokens = t.completion_tokens,
		   key_id = COALESCE(t.key_id, r.key_id),
		   served_provider = COALESCE(t.provider, r.served_provider),
		   served_model = COALESCE(t.model, r.served_model),
		   degraded = COALESCE(t.degraded, r.degraded)
	  FROM t
	 WHERE r.ctid OPERATOR(pg_catalog.=) t.tid
	   -- "|| ''" and "+ 0": filters, never index conditions, and not the
	   -- predicate of requests_in_flight_idx, which would be a way to read
	   -- every job in flight for the worker.
	   AND r.state OPERATOR(pg_catalog.||) '' OPERATOR(pg_catalog.=) 'in_flight'
	   AND r.claimed_by OPERATOR(pg_catalog.+) 0 OPERATOR(pg_catalog.=) $2
	RETURNING 1),
calls AS (
	INSERT INTO aigov.attempts (job_id, tenant_id, attempt, key_id, provider,
			model, http_status, error_class, latency_ms, started_at, finished_at,
			est_tokens, prompt_tokens, completion_tokens, limit_requests,
			remaining_requests, reset_requests, limit_tokens, remaining_tokens,
			reset_tokens, retry_after, worker_pid)
	SELECT a.id, a.tenant_id, a.attempts, a.key_id, a.provider, a.model,
		   a.http_status, COALESCE(a.error_class, 'success'), a.latency_ms,
		   a.started_at, a.finished_at, a.est_tokens,
		   a.prompt_tokens, a.completion_tokens, a.limit_requests,
		   a.remaining_requests, a.reset_requests, a.limit_tokens,
		   a.remaining_tokens, a.reset_tokens, a.retry_after, $2
	  FROM pg_catalog.unnest($1) AS a
	 WHERE a.has_attempt
	RETURNING 1)
SELECT pg_catalog.count(*) INTO n FROM done;
-- Each call served by a fallback alternative is announced when written.
PERFORM pg_catalog.pg_notify('aigov_degraded',
			pg_catalog.json_build_object('job_id', d.id, 'tenant_id', d.tenant_id,
										 'state', d.state, 'provider', d.provider,
										 'model', d.model)::pg_catalog.text)
   FROM pg_catalog.unnest($1) AS d
  WHERE d.degraded AND d.has_attempt;
RETURN n;
END
$$;
COMMENT ON FUNCTION aigov._complete(aigov._completion_row[], integer) IS 'Writes a group of completions and their attempts rows; returns the jobs updated (internal)';

/*
 * A job left in flight by a worker that stopped may have reached its
 * provider: the call went out after the claim committed, and its result
 * died with the worker.  So each requeue also records that call in
 * aigov.attempts, as worker_lost, under the claim's attempt number; the
 * key it went out on was only in the lost worker's memory.  SKIP LOCKED:
 * a row another sweeper (or a cancel) holds is theirs this time, and the
 * next sweep sees what they left.
 */
CREATE FUNCTION aigov._requeue_orphans(worker_pid integer, at_startup boolean,
									   max_attempts integer)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
#variable_conflict use_column
DECLARE
	n bigint;
BEGIN
WITH o AS (
	SELECT q.ctid AS tid, q.claimed_by AS lost_pid, q.claimed_at AS lost_at
	  FROM aigov.requests q
	 WHERE q.state OPERATOR(pg_catalog.=) 'in_flight'
	   AND ((q.claimed_by OPERATOR(pg_catalog.=) $1 AND $2)
			OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
							WHERE a.pid OPERATOR(pg_catalog.=) q.claimed_by
							  AND a.backend_type OPERATOR(pg_catalog.=) 'aigov dispatcher'))
	   FOR UPDATE SKIP LOCKED),
lost AS (
	UPDATE aigov.requests r
	   SET state = CASE WHEN r.failures OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.>=) $3
					THEN 'failed' ELSE 'queued' END,
		   failures = r.failures OPERATOR(pg_catalog.+) 1,
		   error_class = CASE WHEN r.failures OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.>=) $3
						 THEN 'worker_lost' ELSE r.error_class END,
		   error = CASE WHEN r.failures OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.>=) $3
				   THEN pg_catalog.jsonb_build_object('class', 'worker_lost', 'message',
						'the worker sending this job stopped while it was in flight, '
						OPERATOR(pg_catalog.||) (r.failures OPERATOR(pg_catalog.+) 1)
						OPERATOR(pg_catalog.||) ' times')
				   ELSE r.error END,
		   finished_at = CASE WHEN r.failures OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.>=) $3
						 THEN pg_catalog.clock_timestamp() END,
		   claimed_by = NULL, claimed_at = NULL
	  FROM o
	 WHERE r.ctid OPERATOR(pg_catalog.=) o.tid
	RETURNING r.id, r.tenant_id, r.attempts, r.model, r.est_tokens, o.lost_pid,
			  o.lost_at),
calls AS (
	INSERT INTO aigov.attempts (job_id, tenant_id, attempt, model, error_class,
			started_at, finished_at, est_tokens, worker_pid)
	SELECT l.id, l.tenant_id, l.attempts, l.model, 'worker_lost',
		   COALESCE(l.lost_at, pg_catalog.clock_timestamp()),
		   pg_catalog.clock_timestamp(), l.est_tokens, l.lost_pid
	  FROM lost l
	RETURNING 1)
SELECT pg_catalog.count(*) INTO n FROM lost;
RETURN n;
END
$$;
COMMENT ON FUNCTION aigov._requeue_orphans(integer, boolean, integer) IS 'Requeues jobs left in flight by a stopped worker (internal)';

CREATE FUNCTION aigov._expire_overdue()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
#variable_conflict use_column
DECLARE
	n bigint;
BEGIN
WITH gone AS (
	UPDATE aigov.requests
	   SET state = 'expired', error_class = 'deadline',
		   finished_at = pg_catalog.clock_timestamp(),
		   error = pg_catalog.jsonb_build_object('class', 'deadline', 'message',
					'the job''s deadline passed while it waited in the queue')
	 WHERE state OPERATOR(pg_catalog.=) 'queued'
	   AND deadline OPERATOR(pg_catalog.<) pg_catalog.clock_timestamp()
	RETURNING 1)
SELECT pg_catalog.count(*) INTO n FROM gone;
RETURN n;
END
$$;
COMMENT ON FUNCTION aigov._expire_overdue() IS 'Expires queued jobs whose deadline passed (internal)';

/*
 * Observability: live figures from shared memory, views for operators and
 * tenants, and the utilisation alerts (docs/observability.md).  The views
 * run with the caller's privileges (security_invoker), so the row-level
 * security of the queue and history applies to the caller, and
 * aigov.tenant_state() reports only the caller's tenants.
 */
CREATE INDEX attempts_finished_idx ON aigov.attempts (finished_at);

CREATE FUNCTION aigov.key_state()
	RETURNS TABLE (key_id bigint, disabled boolean,
				   rpm_limit bigint, rpm_remaining bigint,
				   rpm_utilisation double precision, rpm_reset_at timestamptz,
				   tpm_limit bigint, tpm_remaining bigint,
				   tpm_utilisation double precision, tpm_reset_at timestamptz,
				   tpd_limit bigint, tpd_remaining bigint,
				   tpd_utilisation double precision, tpd_reset_at timestamptz,
				   rpm_learned bigint, tpm_learned bigint,
				   paced_rpm bigint, paced_tpm bigint,
				   in_flight integer, in_flight_tokens bigint,
				   breaker_state text, breaker_opened bigint,
				   rate_limited_until timestamptz, rate_limited bigint,
				   completed bigint, last_report_at timestamptz,
				   throttle_level double precision)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_key_state';
COMMENT ON FUNCTION aigov.key_state() IS 'Live state of every key used since the server started, from shared memory (operators only)';

CREATE FUNCTION aigov.throttle_state()
	RETURNS TABLE (provider text, workload_class text, engaged boolean,
				   utilisation_pct double precision, rate_pct double precision,
				   share_pct double precision, release_rate_pct double precision,
				   released bigint, held bigint, throttle_level double precision)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_throttle_state';
COMMENT ON FUNCTION aigov.throttle_state() IS 'Live state of each provider throttle (layer 3) by workload class, from shared memory (operators only)';

CREATE FUNCTION aigov.tenant_state()
	RETURNS TABLE (tenant_id text,
				   rpm_limit bigint, rpm_remaining bigint,
				   rpm_utilisation double precision, rpm_reset_at timestamptz,
				   tpm_limit bigint, tpm_remaining bigint,
				   tpm_utilisation double precision, tpm_reset_at timestamptz,
				   tpd_limit bigint, tpd_remaining bigint,
				   tpd_utilisation double precision, tpd_reset_at timestamptz,
				   admitted bigint, rejected bigint, deferred bigint)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_tenant_state';
COMMENT ON FUNCTION aigov.tenant_state() IS 'Live buckets and admission counters of the caller''s tenants, from shared memory';

CREATE VIEW aigov.key_usage WITH (security_invoker = true) AS
SELECT k.key_id, k.provider, k.label, k.enabled,
	   k.rpm_limit AS rpm_configured, s.rpm_learned, s.rpm_limit, s.rpm_remaining,
	   pg_catalog.round(s.rpm_utilisation::pg_catalog.numeric, 1) AS rpm_utilisation_pct,
	   s.rpm_reset_at,
	   k.tpm_limit AS tpm_configured, s.tpm_learned, s.tpm_limit, s.tpm_remaining,
	   pg_catalog.round(s.tpm_utilisation::pg_catalog.numeric, 1) AS tpm_utilisation_pct,
	   s.tpm_reset_at,
	   k.tpd_limit AS tpd_configured, s.tpd_limit, s.tpd_remaining,
	   pg_catalog.round(s.tpd_utilisation::pg_catalog.numeric, 1) AS tpd_utilisation_pct,
	   s.tpd_reset_at,
	   s.in_flight, s.in_flight_tokens, s.paced_rpm, s.paced_tpm,
	   s.breaker_state, s.breaker_opened, s.rate_limited_until,
	   s.completed, s.rate_limited, s.last_report_at
  FROM aigov.keys k
  LEFT JOIN aigov.key_state() s ON s.key_id OPERATOR(pg_catalog.=) k.key_id;
COMMENT ON VIEW aigov.key_usage IS 'Per key: configured and learned limits, remaining, utilisation and next reset per axis, in flight, pacing, breaker';

CREATE VIEW aigov.tenant_usage WITH (security_invoker = true) AS
SELECT s.tenant_id,
	   s.rpm_limit, s.rpm_remaining,
	   pg_catalog.round(s.rpm_utilisation::pg_catalog.numeric, 1) AS rpm_utilisation_pct,
	   s.rpm_reset_at,
	   s.tpm_limit, s.tpm_remaining,
	   pg_catalog.round(s.tpm_utilisation::pg_catalog.numeric, 1) AS tpm_utilisation_pct,
	   s.tpm_reset_at,
	   s.tpd_limit, s.tpd_remaining,
	   pg_catalog.round(s.tpd_utilisation::pg_catalog.numeric, 1) AS tpd_utilisation_pct,
	   s.tpd_reset_at,
	   s.admitted AS accepted, s.rejected, s.deferred,
	   COALESCE(q.queued, 0) AS queued, COALESCE(q.in_flight, 0) AS in_flight,
	   w.started AS started_5m, w.wait_p50_s AS queue_wait_p50_s,
	   w.wait_p99_s AS queue_wait_p99_s
  FROM aigov.tenant_state() s
  LEFT JOIN (SELECT r.tenant_id,
					pg_catalog.count(*) FILTER (WHERE r.state OPERATOR(pg_catalog.=) 'queued') AS queued,
					pg_catalog.count(*) FILTER (WHERE r.state OPERATOR(pg_catalog.=) 'in_flight') AS in_flight
			   FROM aigov.requests r
			  WHERE r.state OPERATOR(pg_catalog.=) 'queued'
				 OR r.state OPERATOR(pg_catalog.=) 'in_flight'
			  GROUP BY r.tenant_id) q ON q.tenant_id OPERATOR(pg_catalog.=) s.tenant_id
  LEFT JOIN (SELECT a.tenant_id, pg_catalog.count(*) AS started,
					pg_catalog.round(pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY
						extract(epoch FROM a.started_at OPERATOR(pg_catalog.-) r.created_at))::pg_catalog.numeric, 3) AS wait_p50_s,
					pg_catalog.round(pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY
						extract(epoch FROM a.started_at OPERATOR(pg_catalog.-) r.created_at))::pg_catalog.numeric, 3) AS wait_p99_s
			   FROM aigov.attempts a
			   JOIN aigov.requests r ON r.id OPERATOR(pg_catalog.=) a.job_id
				AND r.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
			  WHERE a.attempt OPERATOR(pg_catalog.=) 1
				AND a.finished_at OPERATOR(pg_catalog.>)
					(pg_catalog.now() OPERATOR(pg_catalog.-) interval '5 minutes')
			  GROUP BY a.tenant_id) w ON w.tenant_id OPERATOR(pg_catalog.=) s.tenant_id;
COMMENT ON VIEW aigov.tenant_usage IS 'Per tenant: usage of each quota axis, admission counters, queue depth and queue wait over 5 minutes';

CREATE VIEW aigov.provider_health WITH (security_invoker = true) AS
SELECT p.provider, p.enabled,
	   COALESCE(ks.keys, 0) AS keys,
	   CASE WHEN pb.state OPERATOR(pg_catalog.<>) 'closed' THEN pb.state
			WHEN ks.breakers_open OPERATOR(pg_catalog.>) 0
				 AND ks.breakers_open OPERATOR(pg_catalog.=) ks.keys THEN 'open'
			WHEN ks.breakers_open OPERATOR(pg_catalog.+) ks.breakers_half_open
				 OPERATOR(pg_catalog.=) ks.keys
				 AND ks.breakers_half_open OPERATOR(pg_catalog.>) 0 THEN 'half_open'
			ELSE 'closed' END AS breaker_state,
	   COALESCE(ks.breakers_open, 0) AS breakers_open,
	   COALESCE(ks.breakers_half_open, 0) AS breakers_half_open,
	   ks.rpm_utilisation_pct, ks.tpm_utilisation_pct, ks.tpd_utilisation_pct,
	   COALESCE(ks.in_flight, 0) AS in_flight,
	   COALESCE(c.calls, 0) AS calls_5m,
	   COALESCE(c.successes, 0) AS successes_5m,
	   pg_catalog.round(100.0 OPERATOR(pg_catalog.*) (c.calls OPERATOR(pg_catalog.-) c.successes)
			OPERATOR(pg_catalog./) NULLIF(c.calls, 0), 1) AS error_rate_pct,
	   (SELECT pg_catalog.jsonb_object_agg(e.error_class, e.n ORDER BY e.error_class)
		  FROM (SELECT a.error_class, pg_catalog.count(*) AS n
				  FROM aigov.attempts a
				 WHERE a.provider OPERATOR(pg_catalog.=) p.provider
				   AND a.error_class OPERATOR(pg_catalog.<>) 'success'
				   AND a.finished_at OPERATOR(pg_catalog.>)
					(pg_catalog.now() OPERATOR(pg_catalog.-) interval '5 minutes')
				 GROUP BY a.error_class) e) AS errors_5m,
	   c.latency_p50_ms, c.latency_p99_ms,
	   ks.throttle_level
  FROM aigov.providers p
  LEFT JOIN (SELECT k.provider, pg_catalog.count(*) AS keys,
					pg_catalog.count(*) FILTER (WHERE s.breaker_state OPERATOR(pg_catalog.=) 'open') AS breakers_open,
					pg_catalog.count(*) FILTER (WHERE s.breaker_state OPERATOR(pg_catalog.=) 'half_open') AS breakers_half_open,
					pg_catalog.round((pg_catalog.sum(s.rpm_limit OPERATOR(pg_catalog.*) s.rpm_utilisation)
						OPERATOR(pg_catalog./) pg_catalog.sum(s.rpm_limit))::pg_catalog.numeric, 1) AS rpm_utilisation_pct,
					pg_catalog.round((pg_catalog.sum(s.tpm_limit OPERATOR(pg_catalog.*) s.tpm_utilisation)
						OPERATOR(pg_catalog./) pg_catalog.sum(s.tpm_limit))::pg_catalog.numeric, 1) AS tpm_utilisation_pct,
					pg_catalog.round((pg_catalog.sum(s.tpd_limit OPERATOR(pg_catalog.*) s.tpd_utilisation)
						OPERATOR(pg_catalog./) pg_catalog.sum(s.tpd_limit))::pg_catalog.numeric, 1) AS tpd_utilisation_pct,
					pg_catalog.sum(s.in_flight) AS in_flight,
					pg_catalog.max(s.throttle_level) AS throttle_level
			   FROM aigov.keys k
			   LEFT JOIN aigov.key_state() s ON s.key_id OPERATOR(pg_catalog.=) k.key_id
			  WHERE k.enabled
			  GROUP BY k.provider) ks ON ks.provider OPERATOR(pg_catalog.=) p.provider
  LEFT JOIN (SELECT a.provider, pg_catalog.count(*) AS calls,
					pg_catalog.count(*) FILTER (WHERE a.error_class OPERATOR(pg_catalog.=) 'success') AS successes,
					pg_catalog.round(pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY a.latency_ms)::pg_catalog.numeric, 1) AS latency_p50_ms,
					pg_catalog.round(pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY a.latency_ms)::pg_catalog.numeric, 1) AS latency_p99_ms
			   FROM aigov.attempts a
			  WHERE a.finished_at OPERATOR(pg_catalog.>)
					(pg_catalog.now() OPERATOR(pg_catalog.-) interval '5 minutes')
				AND a.provider IS NOT NULL
			  GROUP BY a.provider) c ON c.provider OPERATOR(pg_catalog.=) p.provider
  LEFT JOIN aigov.provider_breakers() pb ON pb.provider OPERATOR(pg_catalog.=) p.provider;
COMMENT ON VIEW aigov.provider_health IS 'Per provider: breakers, aggregate utilisation, calls, error rates by class and latency over 5 minutes';

CREATE VIEW aigov.queue_depth WITH (security_invoker = true) AS
SELECT r.state, r.workload_class, r.tenant_id, pg_catalog.count(*) AS jobs,
	   pg_catalog.count(*) FILTER (WHERE r.state OPERATOR(pg_catalog.=) 'queued'
								   AND r.not_before OPERATOR(pg_catalog.<=) pg_catalog.now()) AS due,
	   pg_catalog.sum(r.est_tokens) AS est_tokens,
	   pg_catalog.min(r.created_at) AS oldest_created_at
  FROM aigov.requests r
 WHERE r.state OPERATOR(pg_catalog.=) 'queued'
	OR r.state OPERATOR(pg_catalog.=) 'in_flight'
 GROUP BY r.state, r.workload_class, r.tenant_id;
COMMENT ON VIEW aigov.queue_depth IS 'Jobs waiting and in flight, by state, workload class and tenant';

CREATE VIEW aigov.alerts WITH (security_invoker = true) AS
SELECT e.id, e.created_at, e.severity, e.kind,
	   COALESCE(e.detail OPERATOR(pg_catalog.->>) 'subject', e.tenant_id, e.provider) AS subject,
	   e.detail OPERATOR(pg_catalog.->>) 'axis' AS axis,
	   (e.detail OPERATOR(pg_catalog.->>) 'level')::integer AS level,
	   (e.detail OPERATOR(pg_catalog.->>) 'previous_level')::integer AS previous_level,
	   (e.detail OPERATOR(pg_catalog.->>) 'utilisation')::pg_catalog.numeric AS utilisation_pct,
	   e.tenant_id, e.key_id, e.provider, e.message,
	   'docs/runbooks.md#' OPERATOR(pg_catalog.||) e.kind AS runbook
  FROM aigov.alert_events e;
COMMENT ON VIEW aigov.alerts IS 'Alerts, with the subject, axis, level and runbook entry of each';

/*
 * What the utilisation alerts evaluate: every key, tenant and provider
 * aggregate, per axis with a limit.  A provider's figure is its enabled
 * keys' utilisation weighted by their limits.  Read by worker 0 (alerts.c).
 */
CREATE VIEW aigov._utilisation WITH (security_invoker = true) AS
SELECT 'key' AS kind, k.label AS subject, a.axis, a.utilisation
  FROM aigov.key_state() s
  JOIN aigov.keys k ON k.key_id OPERATOR(pg_catalog.=) s.key_id,
	   LATERAL (VALUES ('rpm', s.rpm_utilisation), ('tpm', s.tpm_utilisation),
					   ('tpd', s.tpd_utilisation)) a(axis, utilisation)
 WHERE a.utilisation IS NOT NULL AND k.enabled AND NOT s.disabled
UNION ALL
SELECT 'tenant', s.tenant_id, a.axis, a.utilisation
  FROM aigov.tenant_state() s
  JOIN aigov.tenants t ON t.tenant_id OPERATOR(pg_catalog.=) s.tenant_id,
	   LATERAL (VALUES ('rpm', s.rpm_utilisation), ('tpm', s.tpm_utilisation),
					   ('tpd', s.tpd_utilisation)) a(axis, utilisation)
 WHERE a.utilisation IS NOT NULL
UNION ALL
SELECT 'provider', k.provider, a.axis,
	   pg_catalog.sum(a.lim OPERATOR(pg_catalog.*) a.utilisation)
	   OPERATOR(pg_catalog./) pg_catalog.sum(a.lim)
  FROM aigov.key_state() s
  JOIN aigov.keys k ON k.key_id OPERATOR(pg_catalog.=) s.key_id,
	   LATERAL (VALUES ('rpm', s.rpm_limit, s.rpm_utilisation),
					   ('tpm', s.tpm_limit, s.tpm_utilisation),
					   ('tpd', s.tpd_limit, s.tpd_utilisation)) a(axis, lim, utilisation)
 WHERE a.utilisation IS NOT NULL AND k.enabled AND NOT s.disabled
 GROUP BY k.provider, a.axis;
COMMENT ON VIEW aigov._utilisation IS 'Utilisation per key, tenant and provider and quota axis, for the alerts (internal)';

/*
 * One change of a utilisation alert level: its alert_events row and its
 * NOTIFY aigov_alert, whose JSON payload is the row's detail plus its id
 * and time.  Called by worker 0 (alerts.c).
 */
CREATE FUNCTION aigov._raise_utilisation_alert(severity text, subject_kind text,
											   subject text, axis text,
											   level integer, previous_level integer,
											   utilisation double precision,
											   message text)
	RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
WITH k AS (
	SELECT k.key_id, k.provider FROM aigov.keys k
	 WHERE subject_kind OPERATOR(pg_catalog.=) 'key'
	   AND k.label OPERATOR(pg_catalog.=) subject),
ev AS (
	INSERT INTO aigov.alert_events (severity, kind, tenant_id, key_id, provider,
									message, detail)
	SELECT severity, subject_kind OPERATOR(pg_catalog.||) '_utilisation',
		   CASE WHEN subject_kind OPERATOR(pg_catalog.=) 'tenant' THEN subject END,
		   (SELECT k.key_id FROM k),
		   CASE WHEN subject_kind OPERATOR(pg_catalog.=) 'provider' THEN subject
				ELSE (SELECT k.provider FROM k) END,
		   message,
		   pg_catalog.jsonb_build_object(
			   'kind', subject_kind OPERATOR(pg_catalog.||) '_utilisation',
			   'subject', subject, 'axis', axis, 'level', level,
			   'previous_level', previous_level,
			   'utilisation', pg_catalog.round(utilisation::pg_catalog.numeric, 1),
			   'runbook', 'docs/runbooks.md#' OPERATOR(pg_catalog.||) subject_kind
				   OPERATOR(pg_catalog.||) '_utilisation')
	RETURNING id, created_at, detail)
SELECT pg_catalog.pg_notify('aigov_alert',
		   (ev.detail OPERATOR(pg_catalog.||)
			pg_catalog.jsonb_build_object('id', ev.id, 'at', ev.created_at))::pg_catalog.text)
  FROM ev;
$$;
COMMENT ON FUNCTION aigov._raise_utilisation_alert(text, text, text, text, integer, integer, double precision, text) IS 'Writes and notifies one utilisation alert (internal)';

/*
 * Tenant scope.  Members of aigov_admin act for every tenant; the role
 * holds no privilege of its own (docs/security.md).  It is shared by the
 * whole cluster, so an existing one is used as it is and DROP EXTENSION
 * leaves it.
 */
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
					WHERE rolname OPERATOR(pg_catalog.=) 'aigov_admin') THEN
		CREATE ROLE aigov_admin NOLOGIN;
		COMMENT ON ROLE aigov_admin IS 'aigov: its members act for every tenant (no privileges of its own)';
	END IF;
END
$$;

/*
 * Row-level security: a role other than the owner and the superusers (the
 * workers) sees and writes only the rows of the tenants it acts for.
 * aigov.acting_tenants() is NULL for a role that acts for every tenant;
 * each call is a sub-select, so it runs once per statement, not per row.
 * Alerts without a tenant (keys, providers) are for those roles only.
 */
ALTER TABLE aigov.requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY requests_tenant_scope ON aigov.requests
	USING ((SELECT aigov.acting_tenants()) IS NULL
		   OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]))
	WITH CHECK ((SELECT aigov.acting_tenants()) IS NULL
				OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]));
ALTER TABLE aigov.attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY attempts_tenant_scope ON aigov.attempts
	USING ((SELECT aigov.acting_tenants()) IS NULL
		   OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]))
	WITH CHECK ((SELECT aigov.acting_tenants()) IS NULL
				OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]));
ALTER TABLE aigov.alert_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_events_tenant_scope ON aigov.alert_events
	USING ((SELECT aigov.acting_tenants()) IS NULL
		   OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]))
	WITH CHECK ((SELECT aigov.acting_tenants()) IS NULL
				OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]));

/*
 * History and retention (docs/operations.md#history-and-retention).
 *
 * A job that has been final for aigov.history_after moves, with its
 * aigov.attempts rows, out of the hot queue into aigov.requests_history and
 * aigov.attempts_history, in batches found through requests_finished_idx.
 * Both are partitioned by UTC day of finished_at; the pass creates the
 * partitions it needs (today's and tomorrow's ahead) and drops whole
 * partitions once every row in them is older than aigov.retention, so
 * nothing is ever deleted row by row from the history.  The history
 * tables have the queue tables' columns in the same order (LIKE), so a
 * moved row is copied as it is; a column added to one must be added to
 * the other.  Their partitions are not members of the extension: pg_dump
 * dumps them with their rows, and DROP EXTENSION drops them with their
 * parents.
 */
CREATE INDEX requests_finished_idx ON aigov.requests (finished_at)
	WHERE finished_at IS NOT NULL;

/*
 * The parents have no index and no key: each day partition gets its own
 * (aigov._history_partitions).  An index on a parent, which belongs to the
 * extension, would exist again before pg_restore attaches the dumped
 * partitions, and attaching would build each partition's copy of it ahead
 * of the dump's own, which then fails ("multiple primary keys").
 */
CREATE TABLE aigov.requests_history (
	LIKE aigov.requests
) PARTITION BY RANGE (finished_at);
COMMENT ON TABLE aigov.requests_history IS 'Finished jobs moved out of aigov.requests, partitioned by day of finished_at and kept for aigov.retention';

CREATE TABLE aigov.attempts_history (
	LIKE aigov.attempts
) PARTITION BY RANGE (finished_at);
COMMENT ON TABLE aigov.attempts_history IS 'The aigov.attempts rows of the jobs in aigov.requests_history, partitioned by day of finished_at';

ALTER TABLE aigov.requests_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY requests_history_tenant_scope ON aigov.requests_history
	USING ((SELECT aigov.acting_tenants()) IS NULL
		   OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]));
ALTER TABLE aigov.attempts_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY attempts_history_tenant_scope ON aigov.attempts_history
	USING ((SELECT aigov.acting_tenants()) IS NULL
		   OR tenant_id OPERATOR(pg_catalog.=) ANY ((SELECT aigov.acting_tenants())::pg_catalog.text[]));

/*
 * The history's totals (docs/observability.md#prometheus): what every
 * job and attempts row the retention pass took out of the hot queue adds
 * to the counters and histograms of aigov.metrics(), added up in the same
 * statement that moves or purges the rows, so a row is counted once,
 * either in the queue or here.  The scrape reads the queue and this table
 * only, never the history partitions, so its cost does not grow with the
 * history; and a dropped partition or a purged row lowers no counter.
 * One row per family and labels: 'jobs' (tenant, class, state, error
 * class), 'attempts' (provider, error class), 'queue_wait' (class, le)
 * and 'provider_latency' (provider, le), where le is the bucket's bound
 * (NULL above the last bound), n the count and s the sum of the values
 * (numeric, so the sums add up the same in any order).  It holds figures
 * of every tenant, so only roles that act for every tenant read it.
 */
CREATE TABLE aigov._history_totals (
	family			text NOT NULL
		CHECK (family OPERATOR(pg_catalog.=) ANY (ARRAY['jobs', 'attempts', 'queue_wait', 'provider_latency'])),
	tenant_id		text,
	workload_class	text,
	state			text,
	error_class		text,
	provider		text,
	le				double precision,
	n				bigint NOT NULL,
	s				numeric,
	UNIQUE NULLS NOT DISTINCT (family, tenant_id, workload_class, state, error_class, provider, le)
);
COMMENT ON TABLE aigov._history_totals IS 'Counts and sums of the jobs and calls moved or purged out of the hot queue, for aigov.metrics() (internal)';
ALTER TABLE aigov._history_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_totals_all_tenants ON aigov._history_totals
	USING ((SELECT aigov.acting_tenants()) IS NULL);
SELECT pg_catalog.pg_extension_config_dump('aigov._history_totals', '');

CREATE FUNCTION aigov._queue_wait_bounds()
	RETURNS double precision[]
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT '{0.1,0.25,0.5,1,2.5,5,10,30,60,300,900,3600}'::pg_catalog.float8[] $$;
COMMENT ON FUNCTION aigov._queue_wait_bounds() IS 'Bucket bounds of the queue wait histogram, in seconds (internal)';

CREATE FUNCTION aigov._provider_latency_bounds()
	RETURNS double precision[]
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT '{0.05,0.1,0.25,0.5,1,2.5,5,10,30,60}'::pg_catalog.float8[] $$;
COMMENT ON FUNCTION aigov._provider_latency_bounds() IS 'Bucket bounds of the provider latency histogram, in seconds (internal)';

/* The smallest bound at or above v: its bucket (NULL above the last). */
CREATE FUNCTION aigov._bucket(v double precision, bounds double precision[])
	RETURNS double precision
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT pg_catalog.min(b) FROM pg_catalog.unnest(bounds) b WHERE b OPERATOR(pg_catalog.>=) v $$;
COMMENT ON FUNCTION aigov._bucket(double precision, double precision[]) IS 'The histogram bucket of a value (internal)';

/*
 * Creates the missing day partitions of a history table from the day of
 * first to the day of last (UTC), named <table>_YYYYMMDD, with their key
 * and indexes; returns how many it created.  A partition has row-level
 * security on and no policy, so only the owner reads it other than
 * through its parent.  Two passes that
 * create the same day at once: the second finds it made.
 */
CREATE FUNCTION aigov._history_partitions(history_table text, from_day timestamptz,
										  to_day timestamptz)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	d timestamptz := pg_catalog.date_trunc('day', from_day, 'UTC');
	part text;
	made integer := 0;
BEGIN
IF history_table OPERATOR(pg_catalog.<>) ALL (ARRAY['requests_history', 'attempts_history']) THEN
	RAISE EXCEPTION 'no history table "%"', history_table USING ERRCODE = 'invalid_parameter_value';
END IF;
WHILE d OPERATOR(pg_catalog.<=) to_day LOOP
	part := history_table OPERATOR(pg_catalog.||) '_'
		OPERATOR(pg_catalog.||) pg_catalog.to_char(d AT TIME ZONE 'UTC', 'YYYYMMDD');
	IF pg_catalog.to_regclass(pg_catalog.quote_ident('aigov') OPERATOR(pg_catalog.||) '.'
							  OPERATOR(pg_catalog.||) pg_catalog.quote_ident(part)) IS NULL THEN
		BEGIN
			EXECUTE pg_catalog.format(
				'CREATE TABLE aigov.%I PARTITION OF aigov.%I FOR VALUES FROM (%L) TO (%L)',
				part, history_table,
				pg_catalog.to_char(d AT TIME ZONE 'UTC', 'YYYY-MM-DD') OPERATOR(pg_catalog.||) ' 00:00:00+00',
				pg_catalog.to_char((d OPERATOR(pg_catalog.+) interval '1 day') AT TIME ZONE 'UTC',
								   'YYYY-MM-DD') OPERATOR(pg_catalog.||) ' 00:00:00+00');
			EXECUTE pg_catalog.format('ALTER TABLE aigov.%I ENABLE ROW LEVEL SECURITY', part);
			EXECUTE pg_catalog.format('ALTER TABLE aigov.%I ADD PRIMARY KEY (id, tenant_id)', part);
			IF history_table OPERATOR(pg_catalog.=) 'attempts_history' THEN
				EXECUTE pg_catalog.format('CREATE INDEX ON aigov.%I (job_id)', part);
				EXECUTE pg_catalog.format('CREATE INDEX ON aigov.%I (key_id, finished_at)', part);
				EXECUTE pg_catalog.format('CREATE INDEX ON aigov.%I (tenant_id, finished_at)', part);
			END IF;
			made := made OPERATOR(pg_catalog.+) 1;
		EXCEPTION WHEN duplicate_table THEN
			NULL;
		END;
	END IF;
	d := d OPERATOR(pg_catalog.+) interval '1 day';
END LOOP;
RETURN made;
END
$$;
COMMENT ON FUNCTION aigov._history_partitions(text, timestamptz, timestamptz) IS 'Creates the missing day partitions of a history table (internal)';

/*
 * One step of the retention pass, in the caller's transaction: moves up
 * to batch jobs final for history_after (oldest first) with their attempts
 * rows, and drops the partitions older than retention.  Rows already older
 * than retention are deleted, not moved.  A job cancelled while its call
 * was on the wire (claimed_by kept) waits in_flight_grace longer, so the
 * attempts row of that call is written before the job moves.  It never
 * waits for a row: rows another transaction holds are moved by a later
 * step; and it waits at most lock_timeout for the history tables, which
 * only readers of the history use.  The moved rows are reached by the
 * addresses the batch locked, as aigov._complete reaches its rows.
 */
CREATE FUNCTION aigov._retention_step(history_after interval, retention interval,
									  batch integer, in_flight_grace interval)
	RETURNS TABLE (moved_jobs bigint, moved_attempts bigint, purged_jobs bigint,
				   purged_attempts bigint, partitions_created integer,
				   partitions_dropped integer)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	SET lock_timeout = '1s'
	AS $$
#variable_conflict use_variable
DECLARE
	move_before timestamptz := pg_catalog.now() OPERATOR(pg_catalog.-) history_after;
	keep_from timestamptz := pg_catalog.now() OPERATOR(pg_catalog.-) retention;
	tids tid[];
	lo timestamptz;
	hi timestamptz;
	alo timestamptz;
	ahi timestamptz;
	part record;
BEGIN
partitions_created := 0;
partitions_dropped := 0;
SELECT pg_catalog.array_agg(c.tid), pg_catalog.min(c.finished_at), pg_catalog.max(c.finished_at)
  INTO tids, lo, hi
  FROM (SELECT q.ctid AS tid, q.finished_at FROM aigov.requests q
		 WHERE q.finished_at IS NOT NULL
		   AND q.finished_at OPERATOR(pg_catalog.<) move_before
		   AND q.state OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'in_flight'])
		   AND (q.claimed_by IS NULL
				OR q.finished_at OPERATOR(pg_catalog.<) (move_before OPERATOR(pg_catalog.-) in_flight_grace))
		 ORDER BY q.finished_at
		 LIMIT batch
		 FOR UPDATE SKIP LOCKED) c;
SELECT pg_catalog.min(a.finished_at), pg_catalog.max(a.finished_at) INTO alo, ahi
  FROM aigov.requests q
  JOIN aigov.attempts a ON a.job_id OPERATOR(pg_catalog.=) q.id
					   AND a.tenant_id OPERATOR(pg_catalog.=) q.tenant_id
 WHERE q.ctid OPERATOR(pg_catalog.=) ANY (tids);

-- today's and tomorrow's partitions ahead, then those of the batch's days
partitions_created := aigov._history_partitions('requests_history',
		GREATEST(pg_catalog.now(), keep_from), pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 day')
	OPERATOR(pg_catalog.+) aigov._history_partitions('attempts_history',
		GREATEST(pg_catalog.now(), keep_from), pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 day');
IF hi IS NOT NULL AND hi OPERATOR(pg_catalog.>=) keep_from THEN
	partitions_created := partitions_created OPERATOR(pg_catalog.+)
		aigov._history_partitions('requests_history', GREATEST(lo, keep_from), hi);
END IF;
IF ahi IS NOT NULL AND ahi OPERATOR(pg_catalog.>=) keep_from THEN
	partitions_created := partitions_created OPERATOR(pg_catalog.+)
		aigov._history_partitions('attempts_history', GREATEST(alo, keep_from), ahi);
END IF;

WITH moved AS (
	DELETE FROM aigov.requests r
	 WHERE r.ctid OPERATOR(pg_catalog.=) ANY (tids)
	RETURNING r.*),
kept AS (
	INSERT INTO aigov.requests_history
	SELECT m.* FROM moved m WHERE m.finished_at OPERATOR(pg_catalog.>=) keep_from
	RETURNING 1),
calls AS (
	DELETE FROM aigov.attempts a
	 USING moved m
	 WHERE a.job_id OPERATOR(pg_catalog.=) m.id
	   AND a.tenant_id OPERATOR(pg_catalog.=) m.tenant_id
	RETURNING a.*),
kept_calls AS (
	INSERT INTO aigov.attempts_history
	SELECT c.* FROM calls c WHERE c.finished_at OPERATOR(pg_catalog.>=) keep_from
	RETURNING 1),
totals AS (
	INSERT INTO aigov._history_totals AS t
		(family, tenant_id, workload_class, state, error_class, provider, le, n, s)
	SELECT 'jobs', m.tenant_id, m.workload_class, m.state, m.error_class, NULL::pg_catalog.text,
		   NULL::pg_catalog.float8, pg_catalog.count(*), NULL::pg_catalog.numeric
	  FROM moved m GROUP BY m.tenant_id, m.workload_class, m.state, m.error_class
	UNION ALL
	SELECT 'attempts', NULL, NULL, NULL, c.error_class, c.provider, NULL, pg_catalog.count(*), NULL
	  FROM calls c WHERE c.provider IS NOT NULL GROUP BY c.provider, c.error_class
	UNION ALL
	SELECT 'queue_wait', NULL, w.g, NULL, NULL, NULL, w.le, pg_catalog.count(*), pg_catalog.sum(w.v)
	  FROM (SELECT m.workload_class AS g,
				   aigov._bucket(EXTRACT(epoch FROM c.started_at OPERATOR(pg_catalog.-) m.created_at)::pg_catalog.float8,
								 aigov._queue_wait_bounds()) AS le,
				   EXTRACT(epoch FROM c.started_at OPERATOR(pg_catalog.-) m.created_at)::pg_catalog.float8::pg_catalog.numeric AS v
			  FROM calls c
			  JOIN moved m ON m.id OPERATOR(pg_catalog.=) c.job_id
						  AND m.tenant_id OPERATOR(pg_catalog.=) c.tenant_id
			 WHERE c.attempt OPERATOR(pg_catalog.=) 1) w
	 GROUP BY w.g, w.le
	UNION ALL
	SELECT 'provider_latency', NULL, NULL, NULL, NULL, l.g, l.le, pg_catalog.count(*), pg_catalog.sum(l.v)
	  FROM (SELECT c.provider AS g,
				   aigov._bucket(c.latency_ms OPERATOR(pg_catalog./) 1000.0::pg_catalog.float8,
								 aigov._provider_latency_bounds()) AS le,
				   (c.latency_ms OPERATOR(pg_catalog./) 1000.0::pg_catalog.float8)::pg_catalog.numeric AS v
			  FROM calls c
			 WHERE c.provider IS NOT NULL AND c.latency_ms IS NOT NULL) l
	 GROUP BY l.g, l.le
	ON CONFLICT (family, tenant_id, workload_class, state, error_class, provider, le) DO UPDATE
	   SET n = t.n OPERATOR(pg_catalog.+) excluded.n,
		   s = CASE WHEN t.s IS NULL THEN excluded.s
					WHEN excluded.s IS NULL THEN t.s
					ELSE t.s OPERATOR(pg_catalog.+) excluded.s END
	RETURNING 1)
-- (a data-modifying WITH runs whether or not it is read: totals is not)
SELECT (SELECT pg_catalog.count(*) FROM kept),
	   (SELECT pg_catalog.count(*) FROM kept_calls),
	   (SELECT pg_catalog.count(*) FROM moved) OPERATOR(pg_catalog.-) (SELECT pg_catalog.count(*) FROM kept),
	   (SELECT pg_catalog.count(*) FROM calls) OPERATOR(pg_catalog.-) (SELECT pg_catalog.count(*) FROM kept_calls)
  INTO moved_jobs, moved_attempts, purged_jobs, purged_attempts;

-- whole partitions whose every row is older than retention
FOR part IN
	SELECT c.relname
	  FROM pg_catalog.pg_inherits i
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
	 WHERE i.inhparent OPERATOR(pg_catalog.=) ANY (ARRAY['aigov.requests_history'::pg_catalog.regclass,
														'aigov.attempts_history'::pg_catalog.regclass])
	   AND c.relname OPERATOR(pg_catalog.~) '_history_[0-9]{8}$'
	   AND (pg_catalog.to_date(pg_catalog.right(c.relname, 8), 'YYYYMMDD')::pg_catalog.timestamp
			AT TIME ZONE 'UTC') OPERATOR(pg_catalog.+) interval '1 day' OPERATOR(pg_catalog.<=) keep_from
	 ORDER BY c.relname
LOOP
	BEGIN
		EXECUTE pg_catalog.format('DROP TABLE aigov.%I', part.relname);
		partitions_dropped := partitions_dropped OPERATOR(pg_catalog.+) 1;
	EXCEPTION WHEN lock_not_available THEN
		-- a long reader of the history holds it: the next pass drops it
		NULL;
	END;
END LOOP;
RETURN NEXT;
END
$$;
COMMENT ON FUNCTION aigov._retention_step(interval, interval, integer, interval) IS 'Moves one batch of finished jobs into the history and drops expired partitions (internal)';

CREATE FUNCTION aigov.run_retention()
	RETURNS TABLE (moved_jobs bigint, moved_attempts bigint, purged_jobs bigint,
				   purged_attempts bigint, partitions_created integer,
				   partitions_dropped integer)
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'aigov_run_retention';
COMMENT ON FUNCTION aigov.run_retention() IS 'Moves every job final for aigov.history_after into the history and drops partitions older than aigov.retention; returns what it did';

REVOKE ALL ON aigov.requests_history, aigov.attempts_history, aigov._history_totals FROM PUBLIC;
REVOKE ALL ON FUNCTION aigov._history_partitions(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION aigov._retention_step(interval, interval, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION aigov.run_retention() FROM PUBLIC;

/*
 * Prometheus: aigov.metrics() renders the figures of the views, the
 * finished jobs and the histograms below in the text exposition format
 * (version 0.0.4); contrib/prometheus/queries.yaml exposes the same
 * figures through prometheus-postgres-exporter (docs/observability.md).
 * Counters are cumulative: shared-memory counters since the server
 * started, and counts of finished jobs and attempts in the queue plus
 * those the retention pass took out of it (aigov._history_totals), so
 * neither its moves nor its purges and dropped partitions lower them, and
 * a scrape never reads the history partitions.
 * Figures of a window would not be monotonic, so none is exposed as a
 * counter or histogram.
 */

CREATE FUNCTION aigov.queue_wait_histogram()
	RETURNS TABLE (workload_class text, le double precision[], bucket bigint[],
				   sum double precision, count bigint)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
WITH obs AS (
	SELECT r.workload_class AS g,
		   extract(epoch FROM a.started_at - r.created_at)::double precision AS v
	  FROM aigov.attempts a
	  JOIN aigov.requests r ON r.id = a.job_id AND r.tenant_id = a.tenant_id
	 WHERE a.attempt = 1),
bounds AS (
	-- aigov._queue_wait_bounds(), which the retention pass uses
	SELECT b FROM unnest('{0.1,0.25,0.5,1,2.5,5,10,30,60,300,900,3600}'::double precision[]) b),
hit AS (
	SELECT u.g, u.le, sum(u.n) AS n, sum(u.s) AS s
	  FROM (SELECT obs.g, (SELECT min(bounds.b) FROM bounds WHERE bounds.b >= obs.v) AS le,
				   count(*) AS n, sum(obs.v::numeric) AS s
			  FROM obs GROUP BY 1, 2
			UNION ALL
			SELECT t.workload_class, t.le, t.n, t.s
			  FROM aigov._history_totals t WHERE t.family = 'queue_wait') u
	 GROUP BY u.g, u.le),
grid AS (
	SELECT g.g, bounds.b AS le,
		   sum(COALESCE(h.n, 0)) OVER (PARTITION BY g.g ORDER BY bounds.b) AS cum
	  FROM (SELECT DISTINCT hit.g FROM hit) g CROSS JOIN bounds
	  LEFT JOIN hit h ON h.g = g.g AND h.le = bounds.b)
SELECT grid.g, array_agg(grid.le ORDER BY grid.le),
	   array_agg(grid.cum::bigint ORDER BY grid.le), t.s::double precision, t.n
  FROM grid
  JOIN (SELECT hit.g, sum(hit.s) AS s, sum(hit.n)::bigint AS n
		  FROM hit GROUP BY hit.g) t ON t.g = grid.g
 GROUP BY grid.g, t.s, t.n
 ORDER BY 1
$$;
COMMENT ON FUNCTION aigov.queue_wait_histogram() IS 'Queue wait (first call''s start less the job''s creation) of every job called so far, by workload class, as cumulative histogram buckets';

CREATE FUNCTION aigov.provider_latency_histogram()
	RETURNS TABLE (provider text, le double precision[], bucket bigint[],
				   sum double precision, count bigint)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
WITH obs AS (
	SELECT a.provider AS g, a.latency_ms / 1000.0::double precision AS v
	  FROM aigov.attempts a
	 WHERE a.provider IS NOT NULL AND a.latency_ms IS NOT NULL),
bounds AS (
	-- aigov._provider_latency_bounds(), which the retention pass uses
	SELECT b FROM unnest('{0.05,0.1,0.25,0.5,1,2.5,5,10,30,60}'::double precision[]) b),
hit AS (
	SELECT u.g, u.le, sum(u.n) AS n, sum(u.s) AS s
	  FROM (SELECT obs.g, (SELECT min(bounds.b) FROM bounds WHERE bounds.b >= obs.v) AS le,
				   count(*) AS n, sum(obs.v::numeric) AS s
			  FROM obs GROUP BY 1, 2
			UNION ALL
			SELECT t.provider, t.le, t.n, t.s
			  FROM aigov._history_totals t WHERE t.family = 'provider_latency') u
	 GROUP BY u.g, u.le),
grid AS (
	SELECT g.g, bounds.b AS le,
		   sum(COALESCE(h.n, 0)) OVER (PARTITION BY g.g ORDER BY bounds.b) AS cum
	  FROM (SELECT DISTINCT hit.g FROM hit) g CROSS JOIN bounds
	  LEFT JOIN hit h ON h.g = g.g AND h.le = bounds.b)
SELECT grid.g, array_agg(grid.le ORDER BY grid.le),
	   array_agg(grid.cum::bigint ORDER BY grid.le), t.s::double precision, t.n
  FROM grid
  JOIN (SELECT hit.g, sum(hit.s) AS s, sum(hit.n)::bigint AS n
		  FROM hit GROUP BY hit.g) t ON t.g = grid.g
 GROUP BY grid.g, t.s, t.n
 ORDER BY 1
$$;
COMMENT ON FUNCTION aigov.provider_latency_histogram() IS 'Latency of every provider call so far, by provider, as cumulative histogram buckets';

/*
 * The Prometheus text exposition format of every figure: a HELP and a
 * TYPE line per family, then its samples, whose labels come as name and
 * value pairs (a NULL or empty value leaves its label out, as Prometheus
 * reads it) and are escaped here, in one place.  It runs as the caller,
 * so row-level security applies, and only for roles that act for every
 * tenant, so a scrape never passes part of the figures off as all.
 * JIT is off: the plan's estimated cost is high enough to compile it,
 * which took seconds, for a query that runs in milliseconds.
 */
CREATE FUNCTION aigov.metrics()
	RETURNS text
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	SET jit = off
	AS $$
BEGIN
	IF aigov.acting_tenants() IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied to read aigov metrics'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only roles that act for every tenant may read the metrics.',
				  HINT = 'Make the role a member of aigov_admin, as the dashboard role set does.';
	END IF;
	RETURN (
WITH ku AS (SELECT * FROM aigov.key_usage),
tu AS (SELECT * FROM aigov.tenant_usage),
ph AS (SELECT * FROM aigov.provider_health),
kq AS (
	SELECT ku.label, ku.provider, q.axis, q.lim, q.remaining, q.pct
	  FROM ku, LATERAL (VALUES ('rpm', ku.rpm_limit, ku.rpm_remaining, ku.rpm_utilisation_pct),
							   ('tpm', ku.tpm_limit, ku.tpm_remaining, ku.tpm_utilisation_pct),
							   ('tpd', ku.tpd_limit, ku.tpd_remaining, ku.tpd_utilisation_pct))
		   q(axis, lim, remaining, pct)),
tq AS (
	SELECT tu.tenant_id, q.axis, q.lim, q.remaining, q.pct
	  FROM tu, LATERAL (VALUES ('rpm', tu.rpm_limit, tu.rpm_remaining, tu.rpm_utilisation_pct),
							   ('tpm', tu.tpm_limit, tu.tpm_remaining, tu.tpm_utilisation_pct),
							   ('tpd', tu.tpd_limit, tu.tpd_remaining, tu.tpd_utilisation_pct))
		   q(axis, lim, remaining, pct)),
simple (family, type, help, lab, value) AS (
	SELECT 'aigov_key_quota_utilisation_ratio', 'gauge',
		   'Share of a key''s limit used on a quota axis (0 to 1)',
		   ARRAY['key', kq.label, 'provider', kq.provider, 'axis', kq.axis],
		   kq.pct / 100.0 FROM kq
	UNION ALL
	SELECT 'aigov_key_quota_limit', 'gauge',
		   'A key''s limit on a quota axis, configured or learned',
		   ARRAY['key', kq.label, 'provider', kq.provider, 'axis', kq.axis], kq.lim FROM kq
	UNION ALL
	SELECT 'aigov_key_quota_remaining', 'gauge',
		   'What remains of a key''s limit on a quota axis',
		   ARRAY['key', kq.label, 'provider', kq.provider, 'axis', kq.axis], kq.remaining FROM kq
	UNION ALL
	SELECT 'aigov_key_in_flight', 'gauge', 'Calls in flight on a key',
		   ARRAY['key', ku.label, 'provider', ku.provider], COALESCE(ku.in_flight, 0) FROM ku
	UNION ALL
	SELECT 'aigov_key_enabled', 'gauge', '1 when a key is in rotation, 0 when it is not',
		   ARRAY['key', ku.label, 'provider', ku.provider], ku.enabled::integer FROM ku
	UNION ALL
	SELECT 'aigov_key_breaker_open', 'gauge', '1 when a key''s circuit breaker is open, else 0',
		   ARRAY['key', ku.label, 'provider', ku.provider],
		   COALESCE(ku.breaker_state = 'open', false)::integer FROM ku
	UNION ALL
	SELECT 'aigov_key_completed_total', 'counter',
		   'Calls a key completed since the server started',
		   ARRAY['key', ku.label, 'provider', ku.provider], COALESCE(ku.completed, 0) FROM ku
	UNION ALL
	SELECT 'aigov_key_rate_limited_total', 'counter',
		   'Rate-limit replies (429) a key received since the server started',
		   ARRAY['key', ku.label, 'provider', ku.provider], COALESCE(ku.rate_limited, 0)
	  FROM ku
	UNION ALL
	SELECT 'aigov_tenant_quota_utilisation_ratio', 'gauge',
		   'Share of a tenant''s quota used on an axis (0 to 1)',
		   ARRAY['tenant', tq.tenant_id, 'axis', tq.axis], tq.pct / 100.0 FROM tq
	UNION ALL
	SELECT 'aigov_tenant_quota_limit', 'gauge', 'A tenant''s quota on an axis',
		   ARRAY['tenant', tq.tenant_id, 'axis', tq.axis], tq.lim FROM tq
	UNION ALL
	SELECT 'aigov_tenant_quota_remaining', 'gauge',
		   'What remains of a tenant''s quota on an axis',
		   ARRAY['tenant', tq.tenant_id, 'axis', tq.axis], tq.remaining FROM tq
	UNION ALL
	SELECT 'aigov_tenant_submits_total', 'counter',
		   'Submits of a tenant since the server started, by admission outcome',
		   ARRAY['tenant', tu.tenant_id, 'outcome', o.outcome], o.n
	  FROM tu, LATERAL (VALUES ('accepted', tu.accepted), ('rejected', tu.rejected),
							   ('deferred', tu.deferred)) o(outcome, n)
	UNION ALL
	SELECT 'aigov_provider_quota_utilisation_ratio', 'gauge',
		   'Share of the limits of a provider''s enabled keys used on an axis (0 to 1)',
		   ARRAY['provider', ph.provider, 'axis', q.axis], q.pct / 100.0
	  FROM ph, LATERAL (VALUES ('rpm', ph.rpm_utilisation_pct), ('tpm', ph.tpm_utilisation_pct),
							   ('tpd', ph.tpd_utilisation_pct)) q(axis, pct)
	UNION ALL
	SELECT 'aigov_provider_keys', 'gauge', 'Enabled keys of a provider',
		   ARRAY['provider', ph.provider], ph.keys FROM ph
	UNION ALL
	SELECT 'aigov_provider_breakers_open', 'gauge', 'Keys of a provider whose breaker is open',
		   ARRAY['provider', ph.provider], ph.breakers_open FROM ph
	UNION ALL
	SELECT 'aigov_provider_in_flight', 'gauge', 'Calls in flight to a provider',
		   ARRAY['provider', ph.provider], ph.in_flight FROM ph
	UNION ALL
	SELECT 'aigov_provider_attempts_total', 'counter',
		   'Provider calls recorded in aigov.attempts, by outcome class',
		   ARRAY['provider', a.provider, 'error_class', a.error_class], sum(a.n)::bigint
	  FROM (SELECT provider, error_class, 1 AS n FROM aigov.attempts
			UNION ALL
			SELECT provider, error_class, n FROM aigov._history_totals
			 WHERE family = 'attempts') a
	 WHERE a.provider IS NOT NULL GROUP BY a.provider, a.error_class
	UNION ALL
	SELECT 'aigov_queue_jobs', 'gauge', 'Jobs queued or in flight',
		   ARRAY['state', d.state, 'workload_class', d.workload_class, 'tenant', d.tenant_id],
		   d.jobs
	  FROM aigov.queue_depth d
	UNION ALL
	SELECT 'aigov_jobs_finished_total', 'counter',
		   'Jobs in a final state, by state and error class',
		   ARRAY['tenant', r.tenant_id, 'workload_class', r.workload_class,
				 'state', r.state, 'error_class', r.error_class], sum(r.n)::bigint
	  FROM (SELECT tenant_id, workload_class, state, error_class, 1 AS n FROM aigov.requests
			UNION ALL
			SELECT tenant_id, workload_class, state, error_class, n
			  FROM aigov._history_totals WHERE family = 'jobs') r
	 WHERE r.state IN ('succeeded', 'failed', 'rejected', 'expired', 'cancelled')
	 GROUP BY r.tenant_id, r.workload_class, r.state, r.error_class),
hist (family, help, label, grp, le, bucket, sum, count) AS (
	SELECT 'aigov_queue_wait_seconds',
		   'Time from a job''s creation to the start of its first provider call',
		   'workload_class', h.workload_class, h.le, h.bucket, h.sum, h.count
	  FROM aigov.queue_wait_histogram() h
	UNION ALL
	SELECT 'aigov_provider_latency_seconds', 'Latency of provider calls',
		   'provider', h.provider, h.le, h.bucket, h.sum, h.count
	  FROM aigov.provider_latency_histogram() h),
samples (family, type, help, sample, lab, value, series, ord) AS (
	SELECT s.family, s.type, s.help, s.family, s.lab, s.value, s.lab::text, 0
	  FROM simple s WHERE s.value IS NOT NULL
	UNION ALL
	SELECT h.family, 'histogram', h.help, h.family || '_bucket',
		   ARRAY[h.label, h.grp, 'le', b.le::text], b.bucket, h.grp, b.i::integer
	  FROM hist h, LATERAL unnest(h.le, h.bucket) WITH ORDINALITY b(le, bucket, i)
	UNION ALL
	SELECT h.family, 'histogram', h.help, h.family || x.suffix,
		   CASE WHEN x.suffix = '_bucket' THEN ARRAY[h.label, h.grp, 'le', '+Inf']
				ELSE ARRAY[h.label, h.grp] END,
		   CASE WHEN x.suffix = '_sum' THEN h.sum ELSE h.count END, h.grp, x.ord
	  FROM hist h, (VALUES ('_bucket', 1000), ('_sum', 1001), ('_count', 1002)) x(suffix, ord)),
lines AS (
	SELECT s.family, s.type, s.help, s.series, s.ord,
		   s.sample ||
		   (SELECT COALESCE('{' || string_agg(s.lab[i] || '="' ||
											  replace(replace(replace(s.lab[i + 1], E'\\', E'\\\\'),
															  '"', E'\\"'), E'\n', E'\\n') || '"',
											  ',' ORDER BY i) || '}', '')
			  FROM generate_series(1, array_length(s.lab, 1), 2) i
			 WHERE s.lab[i + 1] <> '') || ' ' ||
		   CASE WHEN s.value = 'Infinity' THEN '+Inf'
				WHEN s.value = '-Infinity' THEN '-Inf'
				WHEN s.value = 'NaN' THEN 'NaN'
				ELSE s.value::double precision::text END AS line
	  FROM samples s)
SELECT COALESCE(string_agg(f.block, '' ORDER BY f.family), '')
  FROM (SELECT l.family,
			   '# HELP ' || l.family || ' ' || l.help || E'\n' ||
			   '# TYPE ' || l.family || ' ' || l.type || E'\n' ||
			   string_agg(l.line || E'\n', '' ORDER BY l.series COLLATE "C", l.ord) AS block
		  FROM lines l
		 GROUP BY l.family, l.type, l.help) f);
END
$$;
COMMENT ON FUNCTION aigov.metrics() IS 'Every aigov metric in the Prometheus text exposition format (roles that act for every tenant)';

/*
 * Privileges: nothing for PUBLIC but aigov.acting_tenants(), which the
 * policies call as the querying role and which answers only about that
 * role (PUBLIC still has no USAGE on the schema); see docs/security.md
 * for the grants to give.
 */
REVOKE ALL ON ALL TABLES IN SCHEMA aigov FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA aigov FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA aigov FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aigov.acting_tenants() TO PUBLIC;

