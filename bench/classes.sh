#!/usr/bin/env bash
#-------------------------------------------------------------------------
# classes.sh
#	  Benchmark of workload classes on a saturated key pool: with a batch
#	  backlog of 100,000 jobs queued, interactive jobs of the same tenant
#	  arrive at a quarter of the pool's rate (phase A), then at one and a
#	  half times it (phase B).  Reports, per phase and after a warm-up: interactive queue wait
#	  (enqueue to send) p50 / p99 (target p99 < 1 s in phase A), provider
#	  429s (target none for interactive), each class's share of the calls
#	  (batch's minimum share is aigov.class_shares' batch part; when only
#	  interactive and batch compete, batch is due 20 / (50 + 20) = 28.6 %
#	  under the default shares), and goodput, the successful calls as a
#	  share of the pool's quota (target >= 97 %).
#
# Usage: bench/classes.sh [--rpm N] [--batch N] [--phase S] [--warmup S]
#	(defaults: 1,200 rpm, 100,000 batch jobs, 60 s per phase, 10 s warm-up)
#
# Scaled to run in about four minutes on a shared 2-core machine: one key
# of 1,200 rpm (the emulator enforces it, aigov.keys states it), one
# dispatcher, phases of one minute.  The batch backlog is the full 100,000
# jobs, inserted with the enqueue trigger disabled and tagged as the
# trigger would tag them (one tenant, weight 1, batch range), so the fill
# takes seconds.  Builds like the other benchmarks (a private copy of the
# PostgreSQL installation); ports 40000-44999; everything is stopped on
# exit.  docs/benchmarks.md records the figures.  Exits non-zero only if
# the benchmark could not run, not if a target is missed.
#
# IDENTIFICATION
#	  bench/classes.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 1

LOAD_PID=
stop_load() {
	bench_stop_pids "$LOAD_PID"
	LOAD_PID=
}
trap 'stop_load; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

RPM=1200
BATCH=100000
PHASE=60
WARMUP=10
while [ $# -gt 0 ]; do
	case $1 in
		--rpm) RPM=$2; shift 2 ;;
		--batch) BATCH=$2; shift 2 ;;
		--phase) PHASE=$2; shift 2 ;;
		--warmup) WARMUP=$2; shift 2 ;;
		*) echo "usage: $0 [--rpm N] [--batch N] [--phase S] [--warmup S]" >&2; exit 2 ;;
	esac
done

bench_prepare || exit 1
cat >"$AIGOV_TMP/emulator.json" <<JSON
{
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384}],
  "keys": [{"secret": "sk-c-1", "label": "k1", "provider": "openai", "rpm": $RPM, "tpm": 1000000000}]
}
JSON
chown -R postgres: "$AIGOV_TMP"
bench_emulator_start "$AIGOV_TMP/emulator.json" || exit 1
AIGOV_EXTRA_CONF="aigov.workers = 1" bench_cluster_start || exit 1

BODY='{"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}'
bench_log "filling the queue with $BATCH batch jobs"
bq -v emu="$EMU_URL" -v body="$BODY" -v n="$BATCH" -v rpm="$RPM" <<'SQL' || exit 1
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 1000000, 10000000000, 10000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('bulk', 'big');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-4o-mini', 128000, 16384);
-- one job through the trigger gives the estimate every job of this body gets
INSERT INTO aigov.requests (tenant_id, workload_class, body) VALUES ('bulk', 'batch', :'body');
CREATE TEMP TABLE est AS SELECT est_tokens, est_prompt_tokens, est_charged_prompt_tokens, vstart
  FROM aigov.requests;
ALTER TABLE aigov.requests DISABLE TRIGGER USER;
INSERT INTO aigov.requests (id, tenant_id, workload_class, model, body, est_tokens,
		est_prompt_tokens, est_charged_prompt_tokens, state, vstart)
SELECT nextval('aigov.requests_id_seq'), 'bulk', 'batch', 'gpt-4o-mini', :'body',
	   e.est_tokens, e.est_prompt_tokens, e.est_charged_prompt_tokens, 'queued',
	   e.vstart + i * e.est_tokens * 1000000
  FROM est e, generate_series(1, :n - 1) i;
ALTER TABLE aigov.requests ENABLE TRIGGER USER;
VACUUM ANALYZE aigov.requests;
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit)
	VALUES ('openai', 'k1', 'sk-c-1', :rpm, 1000000000);
SQL
bench_wait_workers 1 || exit 1

SCRIPT=$AIGOV_TMP/interactive.sql
printf "INSERT INTO aigov.requests (tenant_id, workload_class, body) VALUES ('bulk', 'interactive', '%s');\n" \
	"$BODY" >"$SCRIPT"
chown postgres: "$SCRIPT"

# phase NAME RATE: interactive jobs at RATE per second for PHASE seconds;
# sets T_<NAME> (epoch seconds of its start).
phase() {
	local name=$1 rate=$2
	bench_log "phase $name: interactive at $rate jobs/s for $PHASE s"
	eval "T_$name=$(bq -c "SELECT extract(epoch FROM clock_timestamp())")"
	aigov_as_pg pgbench -n -c 1 -T "$PHASE" --rate="$rate" -f "$SCRIPT" postgres \
		>"$AIGOV_TMP/pgbench-$name.log" 2>&1 &
	LOAD_PID=$!
	wait "$LOAD_PID" || { tail -5 "$AIGOV_TMP/pgbench-$name.log" >&2; LOAD_PID=; return 1; }
	LOAD_PID=
}

per_s=$(awk -v r="$RPM" 'BEGIN {print r / 60}')
phase A "$(awk -v p="$per_s" 'BEGIN {printf "%.2f", p * 0.25}')" || exit 1
phase B "$(awk -v p="$per_s" 'BEGIN {printf "%.2f", p * 1.5}')" || exit 1
sleep 2		# the last calls of phase B finish

# report NAME: the figures of one phase's window (after the warm-up).
report() {
	local name=$1 t0
	eval "t0=\$T_$name"
	bq -v w0="to_timestamp($t0 + $WARMUP)" -v w1="to_timestamp($t0 + $PHASE)" \
		-v wmin="$(awk -v p="$PHASE" -v w="$WARMUP" 'BEGIN {print (p - w) / 60}')" \
		-v rpm="$RPM" -v name="$name" <<'SQL'
WITH a AS (
	SELECT a.*, r.workload_class, r.created_at
	  FROM aigov.attempts a JOIN aigov.requests r ON r.id = a.job_id
	 WHERE a.started_at >= :w0 AND a.started_at < :w1),
first AS (
	SELECT extract(epoch FROM a.started_at - a.created_at) AS wait
	  FROM a WHERE a.workload_class = 'interactive' AND a.attempt = 1)
SELECT '| ' || :'name' || ' | '
	|| (SELECT count(*) FROM first) || ' | '
	|| COALESCE((SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY wait)::numeric, 3)
				   || ' / ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY wait)::numeric, 3)
				   FROM first), '-') || ' | '
	|| (SELECT count(*) FILTER (WHERE http_status = 429 AND workload_class = 'interactive')
			   || ' / ' || count(*) FILTER (WHERE http_status = 429) FROM a) || ' | '
	|| (SELECT round(100.0 * count(*) FILTER (WHERE workload_class = 'interactive')
					 / nullif(count(*), 0), 1) || ' / '
			   || round(100.0 * count(*) FILTER (WHERE workload_class = 'batch')
						/ nullif(count(*), 0), 1)
		  FROM a WHERE error_class = 'success') || ' | '
	|| (SELECT round(100.0 * count(*) / (:rpm * :wmin), 1)
		  FROM a WHERE error_class = 'success') || ' % |'
SQL
}

echo
echo "code: $BENCH_CODE; key rpm $RPM; $BATCH batch jobs of one tenant queued at the start, its interactive jobs on top; phases of $PHASE s, figures after $WARMUP s"
echo "| phase | interactive jobs sent | interactive wait p50 / p99 (s) | 429s interactive / all | calls interactive / batch (%) | goodput (% of quota) |"
echo "| --- | --- | --- | --- | --- | --- |"
report A || exit 1
report B || exit 1
echo "batch jobs still queued: $(bq -c "SELECT count(*) FROM aigov.requests WHERE workload_class = 'batch' AND state = 'queued'")"
echo "load average before / after: $START_LOAD / $(bench_loadavg)"
