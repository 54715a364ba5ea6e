#!/usr/bin/env bash
#-------------------------------------------------------------------------
# retention.sh
#	  Benchmark of history and retention: does a million finished jobs
#	  slow the claim or bloat the queue's indexes, and does the retention
#	  pass give back what they took?
#
#	  One cluster, no dispatcher (aigov.workers = 0), RET_QUEUED due jobs
#	  in the queue.  Three phases, measured the same way:
#	    empty    only the due jobs
#	    full     plus RET_JOBS finished jobs (inserted as queued jobs with a
#	             far not_before, then finished by one UPDATE, so each leaves
#	             the index entries a real job leaves), then VACUUM, as
#	             autovacuum would
#	    after    aigov.run_retention() with aigov.history_after = 0 (its
#	             time is printed), then VACUUM
#	  Each phase prints the claim's latency, the median of RET_REPS
#	  transactions BEGIN; aigov._claim_batch(10, ...); ROLLBACK (pgbench,
#	  one client, per-transaction log), the size of aigov.requests, and
#	  for every index on it both its file's size (pg_relation_size) and
#	  what of it is in use (pgstattuple's pgstatindex: the meta page,
#	  internal and leaf pages not deleted or half-dead, and the
#	  tree's height); then the ratios full/empty and after/empty.
#
# Usage: bench/retention.sh   (settings in the environment: RET_JOBS
#	default 1000000, RET_QUEUED 100, RET_REPS 2000)
#
# Runs as root like the tests, in a private copy of the PostgreSQL
# installation (bench/lib/bench.sh), ports 40000-44999; everything is
# stopped on exit.  docs/benchmarks.md explains the figures.
#
# IDENTIFICATION
#	  bench/retention.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 2
trap 'aigov_cleanup' EXIT
trap 'exit 130' INT TERM

RET_JOBS=${RET_JOBS:-1000000}
RET_QUEUED=${RET_QUEUED:-100}
RET_REPS=${RET_REPS:-2000}

if [ $# -gt 0 ]; then
	echo "usage: $0 (settings in the environment, see the file's head)" >&2
	exit 2
fi

bench_prepare || exit 2
bench_log "load average at start: $START_LOAD"
AIGOV_EXTRA_CONF="aigov.workers = 0" bench_cluster_start || exit 2

bq -v queued="$RET_QUEUED" <<'SQL' || exit 2
CREATE EXTENSION aigov;
CREATE EXTENSION pgstattuple;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('bench', 1000000, 1000000000, 100000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'bench');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', 'http://127.0.0.1:9');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
INSERT INTO aigov.requests (tenant_id, body)
SELECT 'acme', '{"model": "gpt-test", "max_tokens": 16, "messages": [{"role": "user", "content": "due"}]}'
  FROM generate_series(1, :queued);
SQL

cat >"$AIGOV_TMP/claim.sql" <<'SQL'
BEGIN;
SELECT count(*) FROM aigov._claim_batch(10, 1);
ROLLBACK;
SQL
chown -R postgres: "$AIGOV_TMP"

# claim_median PHASE: median latency (ms) of the claim transaction.
claim_median() {
	local dir=$AIGOV_TMP/log-$1
	mkdir -p "$dir" && chown postgres: "$dir"
	(cd "$dir" && aigov_as_pg pgbench -n -c 1 -t "$RET_REPS" -f "$AIGOV_TMP/claim.sql" \
		-l --log-prefix="$dir/claim" postgres >"$dir/pgbench.out" 2>&1) || {
		cat "$dir/pgbench.out" >&2
		return 1
	}
	cat "$dir"/claim* | awk '{print $3}' | sort -n |
		awk '{v[NR] = $1} END {printf "%.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000}'
}

# measure PHASE: one row of figures, also kept in $AIGOV_TMP/PHASE.
measure() {
	local phase=$1 med sizes
	bq -c 'VACUUM aigov.requests' || return 1
	med=$(claim_median "$phase") || return 1
	sizes=$(bq -F ' ' <<'SQL'
SELECT (SELECT count(*) FROM aigov.requests),
	   pg_relation_size('aigov.requests');
SQL
)
	echo "$med $sizes" >"$AIGOV_TMP/$phase"
	# per index: name, file bytes, bytes in use, tree levels
	bq -F ' ' >"$AIGOV_TMP/$phase.idx" <<'SQL' || return 1
SELECT c.relname, pg_relation_size(c.oid),
	   (1 + s.internal_pages + s.leaf_pages) * current_setting('block_size')::bigint,
	   s.tree_level
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
 CROSS JOIN LATERAL pgstatindex(c.oid::regclass) s
 WHERE i.indrelid = 'aigov.requests'::regclass
 ORDER BY c.relname;
SQL
	bench_log "$phase: claim median $med ms; rows, table bytes: $sizes"
}

measure empty || exit 1

bench_log "filling $RET_JOBS finished jobs"
t0=$(date +%s.%N)
bq -v n="$RET_JOBS" <<'SQL' || exit 1
SET session_replication_role = replica;
INSERT INTO aigov.requests (id, tenant_id, body, model, est_tokens, state, not_before)
SELECT nextval('aigov.requests_id_seq'), 'acme',
	   '{"model": "gpt-test", "max_tokens": 16, "messages": [{"role": "user", "content": "old"}]}',
	   'gpt-test', 20, 'queued', now() + interval '10 years'
  FROM generate_series(1, :n);
UPDATE aigov.requests
   SET state = 'succeeded', attempts = 1, response = '{"choices": []}',
	   finished_at = now() - (id % 2880) * interval '1 minute'
 WHERE state = 'queued' AND not_before > now() + interval '1 year';
SQL
t1=$(date +%s.%N)
bench_log "filled in $(echo "$t1 - $t0" | bc) s"
measure full || exit 1

t0=$(date +%s.%N)
pass=$(bq -F ' ' <<'SQL'
SET aigov.history_after = 0;
SET aigov.retention_batch = 10000;
SELECT moved_jobs, purged_jobs, partitions_created FROM aigov.run_retention();
SQL
) || exit 1
t1=$(date +%s.%N)
pass_s=$(echo "$t1 - $t0" | bc)
bench_log "retention pass: moved, purged, partitions created: $pass, in $pass_s s"
measure after || exit 1

read -r e_lat e_rows e_tab <"$AIGOV_TMP/empty"
read -r f_lat f_rows f_tab <"$AIGOV_TMP/full"
read -r a_lat a_rows a_tab <"$AIGOV_TMP/after"
ratio() { echo "scale=2; $1 / $2" | bc; }
kb() { echo "$(($1 / 1024)) kB"; }

echo
echo "bench/retention.sh, code $BENCH_CODE, $RET_JOBS jobs, $RET_QUEUED due, $RET_REPS claims per phase"
echo "load average at start: $START_LOAD, at end: $(bench_loadavg)"
echo "retention pass: moved, purged, partitions created = $pass; $pass_s s"
echo
bench_row figure empty full after full/empty after/empty
bench_row --- --- --- --- --- ---
bench_row "rows in aigov.requests" "$e_rows" "$f_rows" "$a_rows" "" ""
bench_row "claim median (ms)" "$e_lat" "$f_lat" "$a_lat" "$(ratio "$f_lat" "$e_lat")" "$(ratio "$a_lat" "$e_lat")"
bench_row "aigov.requests" "$(kb "$e_tab")" "$(kb "$f_tab")" "$(kb "$a_tab")" "$(ratio "$f_tab" "$e_tab")" "$(ratio "$a_tab" "$e_tab")"
# every index: its file, then what of it is in use (and its height)
while read -r name e_file e_use e_lvl; do
	read -r _ f_file f_use f_lvl < <(grep "^$name " "$AIGOV_TMP/full.idx")
	read -r _ a_file a_use a_lvl < <(grep "^$name " "$AIGOV_TMP/after.idx")
	bench_row "$name, file" "$(kb "$e_file")" "$(kb "$f_file")" "$(kb "$a_file")" "$(ratio "$f_file" "$e_file")" "$(ratio "$a_file" "$e_file")"
	bench_row "$name, in use (levels)" "$(kb "$e_use") ($e_lvl)" "$(kb "$f_use") ($f_lvl)" "$(kb "$a_use") ($a_lvl)" "$(ratio "$f_use" "$e_use")" "$(ratio "$a_use" "$e_use")"
done <"$AIGOV_TMP/empty.idx"
