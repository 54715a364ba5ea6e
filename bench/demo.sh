#!/usr/bin/env bash
# bench/demo.sh: the demo (`./bench/demo.sh`).
#
# Installs what is missing (as root), builds aigov and the provider
# emulator, starts both on 127.0.0.1, and shows tenants submitting jobs,
# polling and waiting for them, a tenant batch, a provider that rate
# limits, and the history aigov keeps.  Everything is stopped at the end.
set -uo pipefail

. "$(dirname "$0")/../test/lib.sh"
cd "$AIGOV_ROOT" || exit 1
trap aigov_cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

aigov_install_deps || exit 1
say "building aigov and the provider emulator"
aigov_build || exit 1
aigov_scratch

# The emulator plays OpenAI, Anthropic and Gemini on one port.
EMU_PORT=$(aigov_free_port 30000 30999)
cat >"$AIGOV_TMP/emulator.json" <<JSON
{
  "models": [
    {"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384},
    {"name": "claude-sonnet", "provider": "anthropic", "max_output_tokens": 8192},
    {"name": "gemini-flash", "provider": "gemini", "max_output_tokens": 8192}
  ],
  "keys": [
    {"secret": "sk-demo-openai-1", "label": "openai-1", "provider": "openai", "rpm": 600, "tpm": 200000},
    {"secret": "sk-demo-openai-2", "label": "openai-2", "provider": "openai", "rpm": 30, "tpm": 20000},
    {"secret": "sk-demo-anthropic", "label": "anthropic-1", "provider": "anthropic", "rpm": 100, "itpm": 100000, "otpm": 20000},
    {"secret": "demo-gemini", "label": "gemini-1", "provider": "gemini", "rpm": 100, "tpm": 100000}
  ]
}
JSON
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$AIGOV_TMP"
emulator/aigov-emulator --listen "127.0.0.1:$EMU_PORT" --config "$AIGOV_TMP/emulator.json" \
	>"$AIGOV_TMP/emulator.log" 2>&1 &
AIGOV_EMULATOR_PID=$!
for _ in $(seq 1 100); do grep -q listening "$AIGOV_TMP/emulator.log" && break; sleep 0.05; done

say "starting PostgreSQL with aigov preloaded"
AIGOV_EXTRA_CONF="aigov.database = 'postgres'" aigov_cluster_start || exit 1

psql_demo() { aigov_as_pg psql -X -v ON_ERROR_STOP=1 -v emu="http://127.0.0.1:$EMU_PORT" -d postgres "$@"; }

say "configuring tiers, tenants, providers, models and the key pool"
psql_demo -q <<'SQL'
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight) VALUES
  ('free', 30, 20000, 500000, 1), ('pro', 600, 400000, 20000000, 4),
  ('team', 1200, 1000000, 50000000, 2);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES
  ('acme', 'pro'), ('globex', 'team'), ('hooli', 'free');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('openai', 'openai', :'emu'), ('anthropic', 'anthropic', :'emu'), ('gemini', 'gemini', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('openai', 'gpt-4o-mini', 128000, 16384),
  ('anthropic', 'claude-sonnet', 200000, 8192),
  ('gemini', 'gemini-flash', 1000000, 8192);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('openai', 'openai-1', 'sk-demo-openai-1'), ('openai', 'openai-2', 'sk-demo-openai-2'),
  ('anthropic', 'anthropic-1', 'sk-demo-anthropic'), ('gemini', 'gemini-1', 'demo-gemini');
SQL

say "tenant acme submits a job: 202 Accepted with a poll statement"
psql_demo <<'SQL'
SELECT * FROM aigov.submit('acme',
  '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarise our Q3 churn in one line."}], "max_tokens": 200}') \gset
\echo job :job_id is :status (:http_status); poll with: :poll
SELECT job_id, state, http_status, provider, model,
       response->'choices'->0->'message'->>'content' AS answer
  FROM aigov.wait(:job_id, '10 seconds');
SQL

say "the same OpenAI-style body served by Anthropic and Gemini, normalised back"
psql_demo <<'SQL'
SELECT (aigov.submit('acme', '{"model": "claude-sonnet", "max_tokens": 100, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello from claude-sonnet"}]}')).job_id AS claude \gset
SELECT (aigov.submit('acme', '{"model": "gemini-flash", "max_tokens": 100, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello from gemini-flash"}]}')).job_id AS gemini \gset
SELECT w.provider, w.model, w.http_status, w.response->'choices'->0->'message'->>'content' AS answer,
       w.response->'usage' AS usage
  FROM unnest(ARRAY[:claude, :gemini]::bigint[]) j(id), LATERAL aigov.wait(j.id, '10 seconds') w
 ORDER BY 1;
SQL

say "bad input is refused with a clear error"
psql_demo <<'SQL' 2>&1 | grep -E 'ERROR|HINT'
SELECT * FROM aigov.submit('acme', '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 999999}');
SQL
psql_demo <<'SQL' 2>&1 | grep -E 'ERROR|HINT'
SELECT * FROM aigov.submit('initech', '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}');
SQL

# globex's tier allows 1,200 requests a minute, so the key pool sets the
# pace of its batch: under a minute.  (On the free tier, 30 a minute, the
# same batch would take ten; hooli shows that tier below.)
say "tenant globex (tier team) enqueues a batch of 300 jobs with one INSERT"
psql_demo <<'SQL'
INSERT INTO aigov.requests (tenant_id, body, workload_class)
SELECT 'globex', jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', 50,
         'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'ticket ' || i))),
       'batch'
  FROM generate_series(1, 300) i;
DO $$
DECLARE
  give_up timestamptz := clock_timestamp() + interval '3 minutes';
BEGIN
  WHILE (SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight')) > 0 LOOP
    IF clock_timestamp() > give_up THEN
      RAISE WARNING 'jobs still pending after 3 minutes';
      EXIT;
    END IF;
    PERFORM pg_sleep(0.2);
  END LOOP;
END $$;
SELECT state, count(*) FROM aigov.requests WHERE tenant_id = 'globex' GROUP BY state;
SQL

say "tenant hooli (tier free, 30 requests/min, hard cap) submits 40 jobs at once: the excess is refused with 429 and a retry time"
psql_demo <<'SQL'
SELECT s.status, s.http_status, s.reason, count(*) AS calls,
       round(extract(epoch FROM min(s.retry_at) - now())::numeric, 1) AS first_retry_in_s
  FROM generate_series(1, 40) i,
       LATERAL aigov.submit('hooli', jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', 20,
         'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'question ' || i)))) s
 GROUP BY 1, 2, 3 ORDER BY 1;
SQL

say "what aigov recorded: one attempts row per provider call, with the parsed rate-limit headers"
psql_demo <<'SQL'
SELECT k.label, a.error_class, count(*) AS calls, round(avg(a.latency_ms)::numeric, 2) AS avg_ms,
       min(a.remaining_requests) AS min_remaining_requests, max(a.limit_requests) AS limit_requests
  FROM aigov.attempts a JOIN aigov.keys k USING (key_id)
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT worker, in_flight, claimed, completed FROM aigov.worker_status();
SQL

say "the emulator's own count of what it received"
curl -s "http://127.0.0.1:$EMU_PORT/admin/stats" >"$AIGOV_TMP/stats.json"
psql_demo -v stats="$(cat "$AIGOV_TMP/stats.json")" <<'SQL'
SELECT key AS emulator_key, (value->>'requests')::int AS requests,
       (value->>'successes')::int AS answered, (value->>'rate_limited_total')::int AS rate_limited
  FROM jsonb_each((:'stats')::jsonb->'keys') ORDER BY 1;
SQL

say "done: the cluster and the emulator are stopped"
