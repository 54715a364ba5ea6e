#!/usr/bin/env bash
#-------------------------------------------------------------------------
# claim.sh
#	  Benchmark of the claim's cost as the queue grows: the median latency
#	  of one aigov._claim_batch(100, pid) with 1,000 and with 1,000,000
#	  queued jobs, their ratio (target: within 2x), and the plans of the
#	  statements the claim runs, which must read requests_queued_idx.
#
# Usage: bench/claim.sh [--small N] [--large N] [--claims N]
#	(defaults: 1,000, 1,000,000 and 300 claims per size)
#
# The cluster runs no dispatcher (aigov.workers = 0), so only the benchmark
# claims.  The queue is filled with INSERT ... SELECT generate_series with
# the enqueue trigger disabled, so the fill is quick: each row gets what
# the trigger would give it (an id from the sequence, the estimate, state
# queued) and a virtual start tag as start-time fair queuing would, for ten
# tenants of weights 1 to 10 sharing one key pool.  Each claim runs in a
# transaction that is rolled back (pgbench, one client), so every claim
# sees the same queue; the latency is pgbench's per-transaction time.
# Builds like the other benchmarks (a private copy of the PostgreSQL
# installation); ports 40000-44999; everything is stopped on exit.
# docs/benchmarks.md explains the figures.  Exits non-zero only if the
# benchmark could not run, not if the target is missed.
#
# IDENTIFICATION
#	  bench/claim.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 1
trap aigov_cleanup EXIT
trap 'exit 130' INT TERM

SMALL=1000
LARGE=1000000
CLAIMS=300
while [ $# -gt 0 ]; do
	case $1 in
		--small) SMALL=$2; shift 2 ;;
		--large) LARGE=$2; shift 2 ;;
		--claims) CLAIMS=$2; shift 2 ;;
		*) echo "usage: $0 [--small N] [--large N] [--claims N]" >&2; exit 2 ;;
	esac
done

bench_prepare || exit 1
chown -R postgres: "$AIGOV_TMP"
AIGOV_EXTRA_CONF="aigov.workers = 0
shared_preload_libraries = 'aigov, auto_explain'" bench_cluster_start || exit 1

bq <<'SQL' || exit 1
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd, weight)
SELECT 'bench_w' || w, 100000, 100000000, 1000000000, w FROM generate_series(1, 10) w;
INSERT INTO aigov.tenants (tenant_id, tier)
SELECT 'bench_t' || w, 'bench_w' || w FROM generate_series(1, 10) w;
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('bench_p', 'openai', 'http://127.0.0.1:1');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('bench_p', 'bench-model', 128000, 4096);
SQL

# fill N: the queue holds exactly N queued jobs, tagged as SFQ would tag
# ten backlogged tenants' jobs of 100 tokens.
fill() {
	bq <<SQL
TRUNCATE aigov.requests;
ALTER TABLE aigov.requests DISABLE TRIGGER USER;
INSERT INTO aigov.requests (id, tenant_id, model, body, est_tokens, est_prompt_tokens,
		est_charged_prompt_tokens, state, vstart)
SELECT nextval('aigov.requests_id_seq'), 'bench_t' || (1 + i % 10), 'bench-model',
	   '{"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}',
	   100, 92, 92, 'queued',
	   (i / 10)::bigint * (100 * 1000000 / (1 + i % 10))
  FROM generate_series(0, $1 - 1) i;
ALTER TABLE aigov.requests ENABLE TRIGGER USER;
VACUUM ANALYZE aigov.requests;
SQL
}

# median of pgbench's per-transaction latencies (µs) in the given logs
median_us() {
	awk '{ print $3 }' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

SCRIPT=$AIGOV_TMP/claim.sql
cat >"$SCRIPT" <<'SQL'
BEGIN;
SELECT count(*) FROM aigov._claim_batch(100, 999999);
ROLLBACK;
SQL
chown postgres: "$SCRIPT"

declare -A MEDIAN
for n in "$SMALL" "$LARGE"; do
	bench_log "filling the queue with $n jobs"
	fill "$n" >/dev/null || exit 1
	queued=$(bq -c "SELECT count(*) FROM aigov.requests WHERE state = 'queued'")
	rm -f "$AIGOV_TMP"/claimlog*
	(cd "$AIGOV_TMP" && aigov_as_pg pgbench -n -d postgres -c 1 -t "$CLAIMS" -f "$SCRIPT" \
		-l --log-prefix=claimlog >"$AIGOV_TMP/pgbench-$n.out" 2>&1) || {
		cat "$AIGOV_TMP/pgbench-$n.out" >&2
		exit 1
	}
	MEDIAN[$n]=$(median_us "$AIGOV_TMP"/claimlog*)
	printf '%10d queued: median claim of 100 jobs %8.3f ms (%d claims)\n' \
		"$queued" "$(echo "${MEDIAN[$n]} / 1000" | bc -l)" "$CLAIMS"
	if [ "$n" = "$LARGE" ]; then
		echo "plans of the claim's statements that read the queue, with $queued queued:"
		bq <<'SQL' 2>&1 | grep -v '^$' | sed -n '/Query Text/,$p' | grep -E 'Query Text|Index|Scan|Limit|Sort|Rows' | sed 's/^/  /'
SET client_min_messages = log;
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = log;
BEGIN;
SELECT count(*) FROM aigov._claim_batch(100, 999999);
ROLLBACK;
SQL
	fi
done

ratio=$(echo "${MEDIAN[$LARGE]} / ${MEDIAN[$SMALL]}" | bc -l)
printf 'ratio %d / %d queued: %.2f (target: <= 2)\n' "$LARGE" "$SMALL" "$ratio"
echo "load average before / after: $START_LOAD / $(bench_loadavg)"
