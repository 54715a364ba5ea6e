#!/usr/bin/env bash
#-------------------------------------------------------------------------
# memory.sh
#	  Benchmark of a dispatcher worker's private memory under unsuccessful
#	  completions: does it stay flat, or grow with every 429 and 5xx?
#
#	  One worker (aigov.workers = 1) is kept busy with jobs that the
#	  emulator refuses or fails, until it has completed MEM_TARGET
#	  unsuccessful calls:
#
#	  429s   model "m429" is served by MEM_KEYS_429 keys whose emulator
#	         TPM (10) is below every job's charge, so every call gets
#	         OpenAI's 429 "Request too large" and the job fails at once;
#	         the keys send no rate-limit headers, so aigov never learns
#	         the limit (which would make it stop calling) and keeps each
#	         key at its slow-start window of two calls in flight
#	  5xx    model "m5xx" is served by MEM_KEYS_5XX keys that answer
#	         MEM_ERROR_RATE of their calls with a 500 or a 503 (half the
#	         keys each); the job is retried (aigov.max_attempts = 1000)
#	         after its back-off.  The rest of those calls succeed: a
#	         key whose every call fails opens its circuit breaker after
#	         five in a row and is not called for 30 s or more, so a
#	         failure rate near 1 would bring the 5xx to a stop
#
#	  Jobs are inserted MEM_BATCH at a time whenever fewer than
#	  MEM_BATCH / 2 are queued, so the worker never runs dry.  After the
#	  first MEM_STEP unsuccessful completions and then every MEM_STEP, the
#	  worker's memory is sampled: RssAnon and VmRSS from /proc/PID/status
#	  (RssAnon is private anonymous memory; VmRSS also counts the shared
#	  buffers the process has touched, which grows on its own) and the
#	  grand total of its memory contexts, which
#	  pg_log_backend_memory_contexts() writes to the server log.
#
#	  Target: RssAnon after MEM_TARGET unsuccessful completions within
#	  MEM_LIMIT_KB of RssAnon after the first MEM_STEP.
#
# Usage: bench/memory.sh
#
# Environment (defaults in brackets):
#	MEM_TARGET [200000]    unsuccessful completions to drive
#	MEM_STEP [20000]       sample every this many (the first sample is
#	                       the baseline)
#	MEM_LIMIT_KB [2048]    allowed RssAnon growth, first sample to last
#	MEM_KEYS_429 [200]     keys that answer every call with a 429
#	MEM_KEYS_5XX [40]      keys that answer a share of calls with a 5xx
#	MEM_ERROR_RATE [0.25]  that share
#	MEM_SHARE_5XX [0.25]   share of the jobs sent to the 5xx keys
#	MEM_BATCH [20000]      jobs per INSERT
#	MEM_TIMEOUT [900]      seconds the load may run at most
#	MEM_CONTEXTS_OUT       file to keep the last sample's memory-context
#	                       dump in (the worker's contexts, one a line)
#
# Exit status: 0 target met, 1 not met, 2 could not measure.
#
# Runs as root like the tests (the cluster runs as postgres).  Builds aigov
# and the emulator from a copy of the sources into a private copy of the
# PostgreSQL installation (bench/lib/bench.sh; BENCH_PRIVATE_PG=0 installs
# into the machine's own instead).  Cluster and emulator listen on
# 127.0.0.1 ports 40000-44999 and are stopped on exit.
# docs/benchmarks.md explains the figures.
#
# IDENTIFICATION
#	  bench/memory.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 2
trap 'bench_session_close_all; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

MEM_TARGET=${MEM_TARGET:-200000}
MEM_STEP=${MEM_STEP:-20000}
MEM_LIMIT_KB=${MEM_LIMIT_KB:-2048}
MEM_KEYS_429=${MEM_KEYS_429:-200}
MEM_KEYS_5XX=${MEM_KEYS_5XX:-40}
MEM_ERROR_RATE=${MEM_ERROR_RATE:-0.25}
MEM_SHARE_5XX=${MEM_SHARE_5XX:-0.25}
MEM_BATCH=${MEM_BATCH:-20000}
MEM_TIMEOUT=${MEM_TIMEOUT:-900}

if [ $# -gt 0 ]; then
	echo "usage: $0 (settings in the environment, see the file's head)" >&2
	exit 2
fi

SESSION_OPEN=0
bench_session_close_all() {
	[ "$SESSION_OPEN" = 1 ] && bench_session_close s
	SESSION_OPEN=0
}

bench_prepare || exit 2
bench_log "load average at start: $START_LOAD"

# The emulator's keys: t1..tN refuse every call as too large (TPM 10, no
# rate-limit headers), e1..eM fail a share of their calls with 500 (odd
# keys) or 503 (even keys) and have no limits.  No models are listed, so
# the emulator takes any model name.
{
	echo '{"keys": ['
	for i in $(seq 1 "$MEM_KEYS_429"); do
		printf '{"secret": "sk-m429-%d", "label": "t%d", "provider": "openai", "tpm": 10, "faults": {"no_ratelimit_headers": true}},\n' "$i" "$i"
	done
	for i in $(seq 1 "$MEM_KEYS_5XX"); do
		[ "$i" -gt 1 ] && echo ','
		printf '{"secret": "sk-m5xx-%d", "label": "e%d", "provider": "openai", "faults": {"error_rate": %s, "error_status": %d}}' \
			"$i" "$i" "$MEM_ERROR_RATE" $((i % 2 ? 500 : 503))
	done
	echo ']}'
} >"$AIGOV_TMP/emulator.json"
chown -R postgres: "$AIGOV_TMP"
bench_emulator_start "$AIGOV_TMP/emulator.json" || exit 2
AIGOV_EXTRA_CONF="aigov.workers = 1
aigov.max_attempts = 1000" bench_cluster_start || exit 2

bq -v emu="$EMU_URL" -v n429="$MEM_KEYS_429" -v n5xx="$MEM_KEYS_5XX" <<'SQL' || exit 2
CREATE EXTENSION aigov;
-- tenant quotas far above anything the benchmark sends
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('bench', 2000000000, 1000000000000, 1000000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('bench', 'bench');
-- two providers of one emulator, so that each model has its own keys
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
	('p429', 'openai', :'emu'), ('p5xx', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
	('p429', 'm429', 128000, 16384), ('p5xx', 'm5xx', 128000, 16384);
-- limits NULL: nothing tells aigov that the t keys' TPM is 10
INSERT INTO aigov.keys (provider, label, secret)
	SELECT 'p429', 't' || i, 'sk-m429-' || i FROM generate_series(1, :n429) i;
INSERT INTO aigov.keys (provider, label, secret)
	SELECT 'p5xx', 'e' || i, 'sk-m5xx-' || i FROM generate_series(1, :n5xx) i;
SQL
bench_wait_workers 1 || exit 2

# insert_jobs: MEM_BATCH jobs, MEM_SHARE_5XX of them for the 5xx keys
# (max_tokens 16: every job's charge is above the t keys' TPM of 10).
insert_jobs() {
	bench_session s "INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bench', jsonb_build_object('model', CASE WHEN i % 1000 < $MEM_SHARE_5XX * 1000 THEN 'm5xx' ELSE 'm429' END,
	'max_tokens', 16,
	'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || i)))
  FROM generate_series($INSERTED + 1, $INSERTED + $MEM_BATCH) i" >/dev/null || return 1
	INSERTED=$((INSERTED + MEM_BATCH))
}

# emulator_counts: "unsuccessful 429s 5xx successes", the emulator's
# totals: every reply it sent that was not a success.
emulator_counts() {
	local doc
	doc=$(emu_get stats) || return 1
	bench_session s "SELECT t->>'too_large', t->>'rate_limited_total', t->>'server_errors', t->>'successes',
	(t->>'too_large')::bigint + (t->>'rate_limited_total')::bigint + (t->>'server_errors')::bigint
	  + (t->>'client_errors')::bigint + (t->>'insufficient_quota')::bigint
  FROM (SELECT \$j\$$doc\$j\$::jsonb->'totals' AS t) s" | tr '|' ' '
}

# context_total PID: the grand total of the memory contexts of PID, in
# bytes, from the lines pg_log_backend_memory_contexts() writes to the
# server log; empty if none came within 10 s.
context_total() {
	local pid=$1 log=$AIGOV_TMP/postgres.log off line i
	off=$(stat -c %s "$log")
	bench_session s "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null || return 0
	for i in $(seq 1 100); do
		line=$(tail -c +$((off + 1)) "$log" | grep -m1 'Grand total:')
		if [ -n "$line" ]; then
			[ -n "${MEM_CONTEXTS_OUT:-}" ] &&
				tail -c +$((off + 1)) "$log" | grep -E 'level: [0-9]+;|Grand total' >"$MEM_CONTEXTS_OUT"
			sed -E 's/.*Grand total: ([0-9]+) bytes.*/\1/' <<<"$line"
			return 0
		fi
		sleep 0.1
	done
}

worker_pid() { bench_session s "SELECT pid FROM pg_stat_activity WHERE backend_type = 'aigov dispatcher'"; }

bench_session_open s
SESSION_OPEN=1
INSERTED=0
WPID=$(worker_pid)
[ -n "$WPID" ] || {
	bench_log "no dispatcher found in pg_stat_activity"
	exit 2
}
bench_log "dispatcher pid $WPID; RssAnon $(bench_rss "$WPID" RssAnon) kB, VmRSS $(bench_rss "$WPID" VmRSS) kB before the load"

ROWS=()
NEXT=$MEM_STEP
FIRST_ANON='' FIRST_RSS='' FIRST_CTX='' FIRST_N=''
LAST_ANON='' LAST_RSS='' LAST_CTX='' LAST_N=0
T0=$SECONDS
RESTARTED=0
insert_jobs || exit 2
while [ $((SECONDS - T0)) -lt "$MEM_TIMEOUT" ]; do
	read -r n429 nrl n5xx nok nbad <<<"$(emulator_counts)"
	nbad=${nbad:-0}
	if [ "$nbad" -ge "$NEXT" ]; then
		pid=$(worker_pid)
		if [ "$pid" != "$WPID" ]; then
			bench_log "the dispatcher was restarted (pid $WPID, now ${pid:-none}): its memory is not comparable"
			RESTARTED=1
			break
		fi
		anon=$(bench_rss "$WPID" RssAnon)
		rss=$(bench_rss "$WPID" VmRSS)
		completed=$(bench_session s "SELECT completed FROM aigov.worker_status() WHERE pid = $WPID")
		inflight=$(bench_session s "SELECT in_flight FROM aigov.worker_status() WHERE pid = $WPID")
		sockets=$(find /proc/"$WPID"/fd -lname 'socket:*' 2>/dev/null | wc -l)
		ctx=$(context_total "$WPID")
		secs=$((SECONDS - T0))
		if [ -z "$FIRST_N" ]; then
			FIRST_ANON=$anon FIRST_RSS=$rss FIRST_CTX=${ctx:-0} FIRST_N=$nbad
		fi
		LAST_ANON=$anon LAST_RSS=$rss LAST_CTX=${ctx:-0} LAST_N=$nbad
		ROWS+=("$(bench_row "$nbad" "$n429 / $((nrl + 0)) / $n5xx / $nok" "$completed" "${secs} s" \
			"$inflight" "$sockets" \
			"$anon" "$((anon - FIRST_ANON))" "$rss" "$((rss - FIRST_RSS))" \
			"${ctx:-?}" "$(( ${ctx:-0} - FIRST_CTX ))")")
		bench_log "$nbad unsuccessful ($n429 too large, $n5xx 5xx, $nok successes) after ${secs} s: $inflight in flight, $sockets sockets, RssAnon $anon kB, VmRSS $rss kB, contexts ${ctx:-?} B"
		[ "$nbad" -ge "$MEM_TARGET" ] && break
		NEXT=$(((nbad / MEM_STEP + 1) * MEM_STEP))
	fi
	queued=$(bench_session s "SELECT count(*) FROM aigov.requests WHERE state = 'queued'")
	[ "${queued:-0}" -lt $((MEM_BATCH / 2)) ] && { insert_jobs || exit 2; }
	sleep 0.2
done
RUN_S=$((SECONDS - T0))

res=$(bench_session s "SELECT count(*), count(*) FILTER (WHERE http_status = 429),
	count(*) FILTER (WHERE http_status >= 500), count(*) FILTER (WHERE error_class = 'success'),
	(SELECT string_agg(error_class || ' ' || n, ', ' ORDER BY n DESC)
	   FROM (SELECT error_class, count(*) n FROM aigov.attempts GROUP BY 1) c)
  FROM aigov.attempts")
IFS='|' read -r att att429 att5xx attok classes <<<"$res"
bench_session_close_all

# per_step DELTA: growth per MEM_STEP unsuccessful completions
per_step() {
	awk -v d="$1" -v n=$((LAST_N - FIRST_N)) -v s="$MEM_STEP" 'BEGIN {printf "%.0f", (n > 0) ? d * s / n : 0}'
}

echo
echo "aigov worker memory under unsuccessful completions, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $START_LOAD"
echo "code: $BENCH_CODE"
echo "one dispatcher (pid $WPID), aigov.max_attempts = 1000; $MEM_KEYS_429 keys answering 429 (too large), $MEM_KEYS_5XX answering ${MEM_ERROR_RATE} of calls with 500/503; ${MEM_SHARE_5XX} of the jobs to the latter"
echo "$INSERTED jobs inserted; load ran ${RUN_S} s; aigov.attempts: $att rows, $att429 with status 429, $att5xx with 5xx, $attok successes ($classes)"
echo
bench_row "unsuccessful (emulator)" "too large / other 429 / 5xx / successes" "worker completed" "time" \
	"in flight" "sockets" \
	"RssAnon kB" "Δ kB" "VmRSS kB" "Δ kB" "contexts B" "Δ B"
bench_row --- --- --- --- --- --- --- --- --- --- --- ---
printf '%s\n' "${ROWS[@]}"
echo
if [ -z "$FIRST_N" ] || [ "$RESTARTED" = 1 ] || [ "$LAST_N" -lt "$MEM_TARGET" ]; then
	echo "verdict: could not measure (reached $LAST_N of $MEM_TARGET unsuccessful completions in ${RUN_S} s)"
	exit 2
fi
d_anon=$((LAST_ANON - FIRST_ANON))
d_rss=$((LAST_RSS - FIRST_RSS))
d_ctx=$((LAST_CTX - FIRST_CTX))
echo "from $FIRST_N to $LAST_N unsuccessful completions: RssAnon $FIRST_ANON -> $LAST_ANON kB ($d_anon kB, $(per_step "$d_anon") kB per $MEM_STEP);" \
	"VmRSS $FIRST_RSS -> $LAST_RSS kB ($d_rss kB, $(per_step "$d_rss") kB per $MEM_STEP);" \
	"memory contexts $FIRST_CTX -> $LAST_CTX B ($d_ctx B, $(per_step "$d_ctx") B per $MEM_STEP)"
if [ "$d_anon" -le "$MEM_LIMIT_KB" ]; then
	echo "verdict: met (RssAnon grew $d_anon kB <= $MEM_LIMIT_KB kB from $FIRST_N to $LAST_N unsuccessful completions)"
	exit 0
fi
echo "verdict: NOT met (RssAnon grew $d_anon kB > $MEM_LIMIT_KB kB from $FIRST_N to $LAST_N unsuccessful completions)"
exit 1
