#!/usr/bin/env bash
#-------------------------------------------------------------------------
# dispatch.sh
#	  Benchmark of the dispatcher workers against the provider emulator:
#
#	  throughput   20,000 jobs inserted in one statement, emulator at zero
#	               latency and without limits; jobs/s from the INSERT's
#	               commit until every job succeeded, and CPU time per job
#	               of the whole cluster (dispatchers and the rest), for
#	               several worker settings in the same run, each repeated
#	               (the settings take turns) and summed up by its median
#	  concurrency  5,000 jobs in one INSERT, emulator at 1 s latency: time
#	               until all succeeded, the emulator's peak concurrency,
#	               and the dispatchers' memory per request in flight
#	  pickup       500 single-row INSERTs ~20 ms apart on an idle system:
#	               attempts.started_at - requests.created_at per job
#	  views        the throughput run of VIEWS_CONFIG with a day's history
#	               present (VIEWS_HISTORY jobs and as many attempts in the
#	               history tables, finished over the last 24 hours), alone
#	               and with a client that reads every view and
#	               aigov.metrics() once a second, by turns, VIEWS_REPEAT
#	               times each: the ratio of the medians (not part of "all")
#
# Usage: bench/dispatch.sh [throughput] [concurrency] [pickup] [views]
#	(no argument: the first three; "cpu" = throughput, "memory" = concurrency)
#
# Environment (defaults in brackets):
#	TP_JOBS [20000]      jobs of the throughput runs
#	TP_REPEAT [3]        runs of each throughput setting
#	TP_CONFIGS           throughput settings, workers:claim_batch:max_in_flight,
#	                     ":known" = key limits configured in aigov.keys (far
#	                     above the load) instead of NULL
#	                     ["1:100:1000 1:500:2000 1:1000:4000 2:50:1000 2:100:1000
#	                       2:500:2000 2:1000:4000 2:100:1000:known"]
#	CONC_JOBS [5000]     jobs of the concurrency run
#	CONC_CONFIG          ["2:500:3000"]
#	LATENCY_MS [1000]    emulator latency of the concurrency run
#	PICKUP_JOBS [500]    jobs of the pickup run
#	PICKUP_GAP [0.02]    seconds between two pickup INSERTs
#	PICKUP_CONFIGS       ["1:100:1000 2:100:1000"]
#	VIEWS_CONFIG ["2:100:1000"]  VIEWS_HISTORY [1000000]  VIEWS_REPEAT [3]
#	VIEWS_METRICS [1]    0: the poller leaves out aigov.metrics()
#	BENCH_PERF [0]       1: perf samples the dispatchers in the throughput runs
#	BENCH_PERF_ARGS      more perf record options (e.g. -g for call graphs)
#	BENCH_PERF_OUT       keep each run's perf.data as $BENCH_PERF_OUT.<settings>
#
# Runs as root like the tests (the cluster runs as postgres).  Builds aigov
# and the emulator with test/lib.sh's aigov_build from a copy of the
# sources, into a private copy of the PostgreSQL installation
# (bench/lib/bench.sh; BENCH_PRIVATE_PG=0 installs into the machine's own
# instead).  Cluster and emulator listen on 127.0.0.1 ports 40000-44999
# and are stopped on exit.  docs/benchmarks.md explains every figure.
#
# IDENTIFICATION
#	  bench/dispatch.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 1
trap 'bench_session_close_all; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

TP_JOBS=${TP_JOBS:-20000}
TP_REPEAT=${TP_REPEAT:-3}
TP_CONFIGS=${TP_CONFIGS:-"1:100:1000 1:500:2000 1:1000:4000 2:50:1000 2:100:1000 2:500:2000 2:1000:4000 2:100:1000:known"}
CONC_JOBS=${CONC_JOBS:-5000}
CONC_CONFIG=${CONC_CONFIG:-"2:500:3000"}
LATENCY_MS=${LATENCY_MS:-1000}
PICKUP_JOBS=${PICKUP_JOBS:-500}
PICKUP_GAP=${PICKUP_GAP:-0.02}
PICKUP_CONFIGS=${PICKUP_CONFIGS:-"1:100:1000 2:100:1000"}
VIEWS_CONFIG=${VIEWS_CONFIG:-"2:100:1000"}
VIEWS_HISTORY=${VIEWS_HISTORY:-1000000}
VIEWS_REPEAT=${VIEWS_REPEAT:-3}
VIEWS_METRICS=${VIEWS_METRICS:-1}

want_tp=0 want_conc=0 want_pickup=0 want_views=0
[ $# -eq 0 ] && set -- throughput concurrency pickup
for a in "$@"; do
	case $a in
	throughput | cpu) want_tp=1 ;;
	concurrency | memory) want_conc=1 ;;
	pickup) want_pickup=1 ;;
	views) want_views=1 ;;
	*)
		echo "usage: $0 [throughput] [concurrency] [pickup] [views]" >&2
		exit 2
		;;
	esac
done

SESSION_OPEN=0
bench_session_close_all() {
	[ "$SESSION_OPEN" = 1 ] && bench_session_close s
	SESSION_OPEN=0
}

bench_prepare || exit 1
bench_log "load average at start: $START_LOAD"

# One key without any limit: the emulator sends no rate-limit headers and
# never refuses.
cat >"$AIGOV_TMP/emulator.json" <<'JSON'
{
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384}],
  "keys": [{"secret": "sk-bench-1", "label": "k1", "provider": "openai"}]
}
JSON
chown -R postgres: "$AIGOV_TMP"
bench_emulator_start "$AIGOV_TMP/emulator.json" || exit 1
AIGOV_EXTRA_CONF="aigov.workers = 1" bench_cluster_start || exit 1

bq -v emu="$EMU_URL" <<'SQL' || exit 1
CREATE EXTENSION aigov;
-- tenant quotas far above anything the benchmark sends
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('bench', 2000000000, 1000000000000, 1000000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('bench', 'bench');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-4o-mini', 128000, 16384);
INSERT INTO aigov.keys (provider, label, secret) VALUES ('openai', 'k1', 'sk-bench-1');
-- A fixed piece of CPU-bound work in a backend, timed before each
-- throughput run: how fast the machine is at that moment.  On this
-- virtual machine, the host's other guests slow every process by up to
-- half from one minute to the next, and the CPU time per job with them.
CREATE FUNCTION public.bench_reference() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	s bigint;
BEGIN
	SELECT sum(hashtext(i::text)) INTO s FROM generate_series(1, 1000000) i;
	RETURN round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 0);
END
$$;
SQL

BATCH_SQL="INSERT INTO aigov.requests (tenant_id, body)
SELECT 'bench', jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', 16,
	'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || i)))
  FROM generate_series(1, \$N) i;"

# apply_config W:CB:MIF[:known] [known]: the settings, then a restart so
# every run starts from the same state (fresh processes, fresh key state in
# shared memory).  With "known" (in the setting or as $2), the key's limits
# are configured far above any load, so the router never runs the key on
# its slow-start window; otherwise they are NULL, and since this emulator
# key has no limits, no response carries rate-limit headers.
apply_config() {
	local w cb mif mode limits="NULL, NULL"
	IFS=: read -r w cb mif mode <<<"$1"
	[ "${mode:-${2:-}}" = known ] && limits="100000000, 100000000000"
	bq <<SQL || return 1
ALTER SYSTEM SET aigov.workers = $w;
ALTER SYSTEM SET aigov.claim_batch = $cb;
ALTER SYSTEM SET aigov.max_in_flight = $mif;
UPDATE aigov.keys SET (rpm_limit, tpm_limit) = ($limits) WHERE label = 'k1';
SQL
	bench_cluster_restart || return 1
	bench_wait_workers "$w"
}

# others_pct BUSY0 BUSY1 OWN_TICKS SECONDS: CPU that processes other than
# the cluster and this benchmark (the script, its psql clients and the
# emulator: OWN_TICKS) used meanwhile, in % of the machine.
others_pct() {
	awk -v b=$(($2 - $1)) -v own="$3" -v s="$4" -v hz="$BENCH_CLK_TCK" -v n="$(nproc)" \
		'BEGIN {o = b - own; if (o < 0) o = 0; printf "%.0f %%", (s > 0 ? 100 * o / hz / s / n : 0)}'
}

# steal_pct STEAL0 STEAL1 SECONDS: the host's steal time meanwhile, in % of
# the machine.
steal_pct() {
	awk -v d=$(($2 - $1)) -v s="$3" -v hz="$BENCH_CLK_TCK" -v n="$(nproc)" \
		'BEGIN {printf "%.0f %%", (s > 0 ? 100 * d / hz / s / n : 0)}'
}

# fresh_queue: empty queue and history, a checkpoint, emulator counters 0.
fresh_queue() {
	bq -c "TRUNCATE aigov.requests, aigov.attempts" &&
		bq -c "CHECKPOINT" &&
		emu_post reset '{"buckets": true}'
}

# wait_done N: waits (in session s) until the dispatchers completed N more
# calls than $COMPLETED0 and no job is queued or in flight; 0 if so.
wait_done() {
	local n=$1 limit=$2 start c left
	start=$SECONDS
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		c=$(bench_session s "SELECT COALESCE(sum(completed), 0) FROM aigov.worker_status()")
		if [ "$c" -ge $((COMPLETED0 + n)) ]; then
			left=$(bench_session s "SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight')")
			[ "$left" = 0 ] && return 0
		fi
		sleep "${WAIT_STEP:-0.1}"
	done
	bench_log "jobs still pending after ${limit}s"
	return 1
}

open_session() {
	bench_session_open s
	SESSION_OPEN=1
	bench_session s "SELECT count(*) FROM aigov.requests" >/dev/null
}

close_session() {
	bench_session_close s
	SESSION_OPEN=0
}

us_per_job() { awk -v t="$1" -v hz="$BENCH_CLK_TCK" -v n="$2" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}'; }

# ---------- (a) throughput and CPU time per job ----------

# With BENCH_PERF=1, perf samples the dispatchers during each throughput
# run (which slows them: the figures of such a run are not the
# benchmark's) and the hottest symbols are printed at the end.
PERF_PID=
PERF_REPORTS=()
start_perf() {
	[ "${BENCH_PERF:-0}" = 1 ] || return 0
	# shellcheck disable=SC2086 # BENCH_PERF_ARGS is a list of options
	perf record -q -F 1999 ${BENCH_PERF_ARGS:-} -o "$AIGOV_TMP/perf.data" -p "$(bench_worker_pids | tr ' ' ,)" \
		>/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
}
stop_perf() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID"
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=
	[ -n "${BENCH_PERF_OUT:-}" ] && cp "$AIGOV_TMP/perf.data" "$BENCH_PERF_OUT.$1"
	PERF_REPORTS+=("perf, dispatchers, $1, by library:
$(perf report -q -i "$AIGOV_TMP/perf.data" --no-children --sort dso 2>/dev/null |
		grep -v '^$' | head -8)
by symbol:
$(perf report -q -i "$AIGOV_TMP/perf.data" --no-children --sort dso,symbol 2>/dev/null |
		grep -v '^$' | head -25)")
}

TP_ROWS=()
# per setting, the figures of its runs (space-separated), and whether
# every run succeeded in full
declare -A TP_RATES TP_CPUS TP_WCPUS TP_REFS TP_FAILED
run_throughput() {
	local cfg=$1 run=$2 load t0 t1 out cpu0 cpu1 emu0 emu1 res total workers rest emu_us busy0 busy1 w0 w1 self0 self1 others
	local steal0 steal1 secs ref
	apply_config "$cfg" || return 1
	fresh_queue || return 1
	[ -n "${TP_HOOK_START:-}" ] && $TP_HOOK_START
	COMPLETED0=$(bq -c "SELECT COALESCE(sum(completed), 0) FROM aigov.worker_status()")
	open_session
	ref=$(bench_session s "SELECT public.bench_reference()")
	load=$(bench_loadavg)
	w0=$EPOCHREALTIME
	busy0=$(bench_sys_busy)
	steal0=$(bench_sys_steal)
	self0=$(bench_tree_ticks $$)
	read -r -a cpu0 <<<"$(bench_cpu_snapshot)"
	emu0=$(bench_proc_ticks "$AIGOV_EMULATOR_PID")
	start_perf
	out=$(bench_session s "SELECT clock_timestamp();
${BATCH_SQL//\$N/$TP_JOBS}
SELECT clock_timestamp();")
	t0=$(sed -n 1p <<<"$out")
	t1=$(sed -n 2p <<<"$out")
	wait_done "$TP_JOBS" 300
	stop_perf "$cfg.$run"
	[ -n "${TP_HOOK_STOP:-}" ] && $TP_HOOK_STOP
	read -r -a cpu1 <<<"$(bench_cpu_snapshot)"
	emu1=$(bench_proc_ticks "$AIGOV_EMULATOR_PID")
	self1=$(bench_tree_ticks $$)
	busy1=$(bench_sys_busy)
	steal1=$(bench_sys_steal)
	w1=$EPOCHREALTIME
	res=$(bench_session s "SELECT count(*) FILTER (WHERE state = 'succeeded'),
		round(extract(epoch FROM '$t1'::timestamptz - '$t0'::timestamptz)::numeric, 3),
		round(extract(epoch FROM max(finished_at) - '$t1'::timestamptz)::numeric, 3),
		round(($TP_JOBS / extract(epoch FROM max(finished_at) - '$t1'::timestamptz))::numeric),
		(SELECT count(*) FROM aigov.attempts),
		(SELECT sum(claimed) FROM aigov.worker_status())
		FROM aigov.requests")
	close_session
	IFS='|' read -r ok ins_s run_s rate attempts claimed <<<"$res"
	total=$((cpu1[0] - cpu0[0]))
	workers=$((cpu1[1] - cpu0[1]))
	rest=$((total - workers))
	emu_us=$(us_per_job $((emu1 - emu0)) "$TP_JOBS")
	secs=$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')
	others=$(others_pct "$busy0" "$busy1" $((total + self1 - self0)) "$secs")
	TP_ROWS+=("$(bench_row "${cfg//:/ \/ }" "$run" "$load / $others / $(steal_pct "$steal0" "$steal1" "$secs")" "$ref ms" "$ins_s s" "$run_s s" "**$rate**" "$ok / $attempts / $claimed" \
		"$(us_per_job "$total" "$TP_JOBS")" "$(us_per_job "$workers" "$TP_JOBS")" \
		"$(us_per_job "$rest" "$TP_JOBS")" "$emu_us")")
	bench_log "throughput $cfg, run $run: $rate jobs/s (insert $ins_s s, run $run_s s), CPU $(us_per_job "$total" "$TP_JOBS") us/job"
	TP_RATES[$cfg]+="${rate:-0} "
	TP_CPUS[$cfg]+="$(us_per_job "$total" "$TP_JOBS") "
	TP_WCPUS[$cfg]+="$(us_per_job "$workers" "$TP_JOBS") "
	TP_REFS[$cfg]+="$ref "
	[ "$ok" = "$TP_JOBS" ] || TP_FAILED[$cfg]=1
}

# median / spread LIST: the median of a list of numbers, or "min-max"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }

# the setting of the highest median throughput among those whose every
# run succeeded in full: TP_BEST, with its medians
tp_summarise() {
	local cfg rate
	TP_BEST= TP_BEST_RATE=0
	TP_SUMMARY_ROWS=()
	for cfg in $TP_CONFIGS; do
		[ -n "${TP_RATES[$cfg]:-}" ] || continue
		rate=$(median <<<"${TP_RATES[$cfg]}")
		TP_SUMMARY_ROWS+=("$(bench_row "${cfg//:/ \/ }" "**$rate** ($(spread <<<"${TP_RATES[$cfg]}"))" \
			"**$(median <<<"${TP_CPUS[$cfg]}")** ($(spread <<<"${TP_CPUS[$cfg]}"))" \
			"$(median <<<"${TP_WCPUS[$cfg]}") ($(spread <<<"${TP_WCPUS[$cfg]}"))" \
			"$(median <<<"${TP_REFS[$cfg]}") ms ($(spread <<<"${TP_REFS[$cfg]}"))")")
		if [ -z "${TP_FAILED[$cfg]:-}" ] && awk -v a="$rate" -v b="$TP_BEST_RATE" 'BEGIN {exit !(a > b)}'; then
			TP_BEST=$cfg TP_BEST_RATE=$rate
		fi
	done
	[ -n "$TP_BEST" ] || return 0
	TP_BEST_CPU="$(median <<<"${TP_CPUS[$TP_BEST]}") us (runs: $(spread <<<"${TP_CPUS[$TP_BEST]}"))"
	TP_BEST_WCPU=$(median <<<"${TP_WCPUS[$TP_BEST]}")
}

# ---------- (b) concurrency and (d) memory per request in flight ----------

CONC_ROWS=()
run_concurrency() {
	local cfg=$1 mode=$2 pids idle_rss idle_anon out t1 load sample inflight rss anon
	local max_inflight=0 rss_at_max=0 anon_at_max=0 max_rss=0 max_anon=0 peak stats res pid
	apply_config "$cfg" "$mode" || return 1
	fresh_queue || return 1
	emu_post faults "{\"key\": \"k1\", \"clear\": true, \"latency_ms\": $LATENCY_MS}" || return 1
	open_session
	# warm-up: a few calls so curl, caches and plans exist before the idle reading
	COMPLETED0=$(bench_session s "SELECT COALESCE(sum(completed), 0) FROM aigov.worker_status()")
	bench_session s "${BATCH_SQL//\$N/20}" >/dev/null
	wait_done 20 60
	pids=$(bench_worker_pids)
	idle_rss=0 idle_anon=0
	for pid in $pids; do
		idle_rss=$((idle_rss + $(bench_rss "$pid" VmRSS)))
		idle_anon=$((idle_anon + $(bench_rss "$pid" RssAnon)))
	done
	emu_post reset '{}'
	# announced: from now on the provider states its (huge) limits in its
	# headers, as OpenAI does; aigov.keys says nothing, so the first replies
	# of the run teach them
	if [ "$mode" = announced ]; then
		emu_post keys '{"key": "k1", "rpm": 1000000000, "tpm": 1000000000000}' || return 1
	fi
	bench_session s "DELETE FROM aigov.attempts; DELETE FROM aigov.requests" >/dev/null
	COMPLETED0=$(bench_session s "SELECT COALESCE(sum(completed), 0) FROM aigov.worker_status()")
	load=$(bench_loadavg)
	out=$(bench_session s "${BATCH_SQL//\$N/$CONC_JOBS}
SELECT clock_timestamp();")
	t1=$(tail -1 <<<"$out")
	# sample the calls in flight and the dispatchers' memory until done
	local until=$((SECONDS + 300))
	while [ $SECONDS -lt $until ]; do
		sample=$(bench_session s "SELECT COALESCE(sum(in_flight), 0), COALESCE(sum(completed), 0),
			(SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight'))
			FROM aigov.worker_status()")
		IFS='|' read -r inflight done left <<<"$sample"
		rss=0 anon=0
		for pid in $pids; do
			rss=$((rss + $(bench_rss "$pid" VmRSS)))
			anon=$((anon + $(bench_rss "$pid" RssAnon)))
		done
		if [ "$inflight" -gt "$max_inflight" ]; then
			max_inflight=$inflight rss_at_max=$rss anon_at_max=$anon
		fi
		[ "$rss" -gt "$max_rss" ] && max_rss=$rss
		[ "$anon" -gt "$max_anon" ] && max_anon=$anon
		[ "$done" -ge $((COMPLETED0 + CONC_JOBS)) ] && [ "$left" = 0 ] && break
		sleep 0.05
	done
	stats=$(emu_get stats)
	peak=$(emu_stat "$stats" '{keys,k1,peak_concurrent}')
	res=$(bench_session s "SELECT count(*) FILTER (WHERE state = 'succeeded'),
		round(extract(epoch FROM max(finished_at) - '$t1'::timestamptz)::numeric, 3),
		(SELECT count(*) FROM aigov.attempts)
		FROM aigov.requests")
	close_session
	emu_post faults '{"key": "k1", "clear": true}'
	[ "$mode" = announced ] && emu_post keys '{"key": "k1", "rpm": null, "tpm": null}'
	IFS='|' read -r ok run_s attempts <<<"$res"
	CONC_ROWS+=("$(bench_row "${cfg//:/ \/ }" "$mode" "$load" "**$run_s s**" "$ok / $attempts" "**$peak**" "$max_inflight" \
		"$((idle_rss / 1024)) MB" "$(((rss_at_max - idle_rss) / 1024)) MB" \
		"$(awk -v d=$((rss_at_max - idle_rss)) -v n="$max_inflight" 'BEGIN {printf "%.1f", n ? d / n : 0}') kB" \
		"$(awk -v d=$((anon_at_max - idle_anon)) -v n="$max_inflight" 'BEGIN {printf "%.1f", n ? d / n : 0}') kB")")
	bench_log "concurrency $cfg ($mode limits): all done $run_s s after commit, peak_concurrent $peak"
	[ "$mode" = announced ] && CONC_ANNOUNCED="$run_s s (peak_concurrent $peak)"
	if [ "$mode" = known ]; then
		CONC_TIME=$run_s CONC_PEAK=$peak
		CONC_MEM=$(awk -v d=$((rss_at_max - idle_rss)) -v n="$max_inflight" 'BEGIN {printf "%.1f", n ? d / n : 0}')
		CONC_ANON=$(awk -v d=$((anon_at_max - idle_anon)) -v n="$max_inflight" 'BEGIN {printf "%.1f", n ? d / n : 0}')
	fi
}

# ---------- (c) pickup latency on an idle system ----------

PICKUP_ROWS=()
run_pickup() {
	local cfg=$1 load i res busy0 busy1 cpu0 cpu1 w0 w1 others self0 self1
	apply_config "$cfg" || return 1
	fresh_queue || return 1
	emu_post faults '{"key": "k1", "clear": true}'
	for i in $(seq 1 "$PICKUP_JOBS"); do
		printf "INSERT INTO aigov.requests (tenant_id, body) VALUES ('bench', '{\"model\": \"gpt-4o-mini\", \"max_tokens\": 16, \"messages\": [{\"role\": \"user\", \"content\": \"ping %d\"}]}');\nSELECT pg_sleep(%s);\n" "$i" "$PICKUP_GAP"
	done >"$AIGOV_TMP/pickup.sql"
	chown postgres: "$AIGOV_TMP/pickup.sql"
	sleep 5
	load=$(bench_loadavg)
	w0=$EPOCHREALTIME
	busy0=$(bench_sys_busy)
	self0=$(bench_tree_ticks $$)
	read -r -a cpu0 <<<"$(bench_cpu_snapshot)"
	bq -f "$AIGOV_TMP/pickup.sql" >/dev/null || return 1
	read -r -a cpu1 <<<"$(bench_cpu_snapshot)"
	self1=$(bench_tree_ticks $$)
	busy1=$(bench_sys_busy)
	w1=$EPOCHREALTIME
	others=$(others_pct "$busy0" "$busy1" $((cpu1[0] - cpu0[0] + self1 - self0)) "$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')")
	open_session
	COMPLETED0=0
	wait_done "$PICKUP_JOBS" 60
	res=$(bench_session s "WITH d AS (
		SELECT extract(epoch FROM a.started_at - r.created_at) * 1000 AS ms,
		       extract(epoch FROM r.claimed_at - r.created_at) * 1000 AS claim_ms
		  FROM aigov.requests r JOIN aigov.attempts a ON a.job_id = r.id AND a.attempt = 1)
		SELECT count(*),
		  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
		  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
		  round(max(ms)::numeric, 2),
		  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY claim_ms)::numeric, 2),
		  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY claim_ms)::numeric, 2)
		FROM d")
	close_session
	IFS='|' read -r n p50 p99 max c50 c99 <<<"$res"
	PICKUP_ROWS+=("$(bench_row "${cfg//:/ \/ }" "$load / $others" "$n" "$p50 ms" "**$p99 ms**" "$max ms" "$c50 / $c99 ms")")
	PICKUP_SUMMARY="${PICKUP_SUMMARY:+$PICKUP_SUMMARY; }${cfg//:/\/}: $p50 / $p99 / $max ms"
	bench_log "pickup $cfg: p50 $p50 ms, p99 $p99 ms, max $max ms"
}

# ---------- (e) the views' cost, with a day's history ----------

# fill_history: VIEWS_HISTORY finished jobs, one attempt each, spread
# evenly over the last 24 hours, in the history tables' day partitions
# (as the retention pass leaves them).
fill_history() {
	bq -v n="$VIEWS_HISTORY" <<'SQL'
SELECT aigov._history_partitions('requests_history', now() - interval '1 day', now()),
	   aigov._history_partitions('attempts_history', now() - interval '1 day', now());
INSERT INTO aigov.requests_history (id, tenant_id, task_type, workload_class, priority, model, body,
		est_tokens, state, attempts, failures, not_before, created_at, finished_at, key_id,
		served_provider, served_model, degraded, admitted, response, error_class, prompt_tokens,
		completion_tokens, vstart)
SELECT -i, 'bench', 'chat', (ARRAY['interactive', 'background', 'batch'])[i % 3 + 1], 0, 'gpt-4o-mini',
	   '{"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "old"}]}',
	   26, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1, (i % 50 = 0)::int,
	   f - interval '2 seconds', f - interval '2 seconds', f, k.key_id, 'openai', 'gpt-4o-mini',
	   false, true, '{"choices": [{"message": {"role": "assistant", "content": "ok"}}]}',
	   CASE WHEN i % 50 = 0 THEN 'server_error' END, 10, 16, 0
  FROM generate_series(1, :n) i,
	   LATERAL (SELECT now() - interval '5 minutes' - (i::float8 / :n) * interval '23 hours 54 minutes' AS f) t,
	   (SELECT key_id FROM aigov.keys WHERE label = 'k1') k;
INSERT INTO aigov.attempts_history (id, job_id, tenant_id, attempt, key_id, provider, model, http_status,
		error_class, latency_ms, started_at, finished_at, est_tokens, prompt_tokens, completion_tokens)
SELECT -r.id, r.id, r.tenant_id, 1, r.key_id, 'openai', r.model,
	   CASE WHEN r.state = 'failed' THEN 500 ELSE 200 END,
	   CASE WHEN r.state = 'failed' THEN 'server_error' ELSE 'success' END,
	   200 + (r.id % 300), r.finished_at - interval '300 ms', r.finished_at, 26, 10, 16
  FROM aigov.requests_history r;
-- what the retention pass would have added up while moving them
INSERT INTO aigov._history_totals (family, tenant_id, workload_class, state, error_class, n)
SELECT 'jobs', tenant_id, workload_class, state, error_class, count(*)
  FROM aigov.requests_history GROUP BY 2, 3, 4, 5;
INSERT INTO aigov._history_totals (family, error_class, provider, n)
SELECT 'attempts', error_class, provider, count(*) FROM aigov.attempts_history GROUP BY 2, 3;
INSERT INTO aigov._history_totals (family, workload_class, le, n, s)
SELECT 'queue_wait', r.workload_class, aigov._bucket(v, aigov._queue_wait_bounds()), count(*), sum(v::numeric)
  FROM aigov.requests_history r
  JOIN aigov.attempts_history a ON a.job_id = r.id AND a.tenant_id = r.tenant_id AND a.attempt = 1,
	   LATERAL (SELECT extract(epoch FROM a.started_at - r.created_at)::float8 AS v) x
 GROUP BY 2, 3;
INSERT INTO aigov._history_totals (family, provider, le, n, s)
SELECT 'provider_latency', provider, aigov._bucket(latency_ms / 1000.0::float8, aigov._provider_latency_bounds()),
	   count(*), sum((latency_ms / 1000.0::float8)::numeric)
  FROM aigov.attempts_history GROUP BY 2, 3;
VACUUM ANALYZE aigov.requests_history, aigov.attempts_history;
SQL
}

# The poller: once a second, each in a new connection as a dashboard
# would, every view, the terminal dashboard's screen and (VIEWS_METRICS)
# a Prometheus scrape; the time of each is summed.
cat >"$AIGOV_TMP/views.sql" <<'SQL'
SELECT * FROM aigov.key_usage;
SELECT * FROM aigov.tenant_usage;
SELECT * FROM aigov.provider_health;
SELECT * FROM aigov.queue_depth;
SELECT * FROM aigov.alerts ORDER BY id DESC LIMIT 100;
SQL
echo 'SELECT aigov.metrics();' >"$AIGOV_TMP/metrics.sql"
chown postgres: "$AIGOV_TMP/views.sql" "$AIGOV_TMP/metrics.sql"
VIEWS_POLLER_PID=
views_poller_start() {
	(
		polls=0 tv=0 tt=0 tm=0
		trap 'echo "$polls $tv $tt $tm" >"$AIGOV_TMP/poller.out"; exit 0' TERM
		while :; do
			t0=$EPOCHREALTIME
			bq -f "$AIGOV_TMP/views.sql" >/dev/null
			t1=$EPOCHREALTIME
			"$HERE/../contrib/dashboard/aigov-top" --once -d postgres >/dev/null
			t2=$EPOCHREALTIME
			[ "$VIEWS_METRICS" = 1 ] && bq -f "$AIGOV_TMP/metrics.sql" >/dev/null
			t3=$EPOCHREALTIME
			polls=$((polls + 1))
			read -r tv tt tm <<<"$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v v="$tv" -v t="$tt" -v m="$tm" \
				'BEGIN {print v + b - a, t + c - b, m + d - c}')"
			sleep "$(awk -v a="$t0" -v b="$t3" 'BEGIN {d = 1 - (b - a); print (d > 0 ? d : 0)}')" &
			wait $!
		done
	) &
	VIEWS_POLLER_PID=$!
}
views_poller_stop() {
	[ -n "$VIEWS_POLLER_PID" ] || return 0
	kill -TERM "$VIEWS_POLLER_PID" 2>/dev/null
	wait "$VIEWS_POLLER_PID" 2>/dev/null
	VIEWS_POLLER_PID=
	read -r p tv tt tm <"$AIGOV_TMP/poller.out"
	VIEWS_POLLS+=("$(awk -v p="$p" -v v="$tv" -v t="$tt" -v m="$tm" 'BEGIN {
		if (!p) p = 1; printf "%d polls, each: views %.0f ms, aigov-top %.0f ms, metrics() %.0f ms", p, 1000 * v / p, 1000 * t / p, 1000 * m / p}')")
}

# run_views: the throughput run of VIEWS_CONFIG, without and with the
# poller by turns; the rates are kept apart from the throughput mode's.
VIEWS_ROWS=() VIEWS_POLLS=()
VIEWS_WITHOUT="" VIEWS_WITH=""
run_views() {
	local run rate
	bench_log "views: filling $VIEWS_HISTORY jobs of history"
	local t0=$SECONDS
	fill_history >/dev/null || return 1
	VIEWS_FILL="$VIEWS_HISTORY jobs and attempts in $((SECONDS - t0)) s, history $(bq -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'aigov' AND c.relname LIKE '%history_2%' AND c.relkind = 'r'")"
	for run in $(seq 1 "$VIEWS_REPEAT"); do
		TP_RATES[$VIEWS_CONFIG]=""
		run_throughput "$VIEWS_CONFIG" "$run, without views" || return 1
		rate=${TP_RATES[$VIEWS_CONFIG]% }
		VIEWS_WITHOUT+="$rate "
		TP_RATES[$VIEWS_CONFIG]=""
		TP_HOOK_START=views_poller_start TP_HOOK_STOP=views_poller_stop \
			run_throughput "$VIEWS_CONFIG" "$run, views every second" || return 1
		rate=${TP_RATES[$VIEWS_CONFIG]% }
		VIEWS_WITH+="$rate "
	done
	VIEWS_RATIO=$(awk -v a="$(median <<<"$VIEWS_WITH")" -v b="$(median <<<"$VIEWS_WITHOUT")" 'BEGIN {printf "%.3f", b ? a / b : 0}')
}

FAILED=0
if [ $want_tp = 1 ]; then
	# the settings take turns, so that a slow spell of the machine does
	# not fall on one setting's runs only
	for run in $(seq 1 "$TP_REPEAT"); do
		for cfg in $TP_CONFIGS; do
			run_throughput "$cfg" "$run" || {
				bench_log "throughput $cfg could not run"
				TP_FAILED[$cfg]=1
				FAILED=1
			}
		done
	done
	tp_summarise
fi
if [ $want_conc = 1 ]; then
	run_concurrency "$CONC_CONFIG" known || { bench_log "concurrency could not run"; FAILED=1; }
	run_concurrency "$CONC_CONFIG" announced || { bench_log "concurrency (announced) could not run"; FAILED=1; }
	run_concurrency "$CONC_CONFIG" learned || { bench_log "concurrency (learned) could not run"; FAILED=1; }
fi
if [ $want_pickup = 1 ]; then
	for cfg in $PICKUP_CONFIGS; do
		run_pickup "$cfg" || { bench_log "pickup $cfg could not run"; FAILED=1; }
	done
fi

if [ $want_views = 1 ]; then
	run_views || { bench_log "views could not run"; FAILED=1; }
fi

# ---------- report ----------

echo
echo "aigov dispatch benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $START_LOAD"
echo "code: $BENCH_CODE"
echo "PostgreSQL $(bq -c 'SHOW server_version'), logged tables, synchronous_commit = $(bq -c 'SHOW synchronous_commit'), fsync = $(bq -c 'SHOW fsync'), shared_buffers = $(bq -c 'SHOW shared_buffers'); emulator: 2 threads"
if [ $want_tp = 1 ]; then
	echo
	echo "(a) throughput: $TP_JOBS jobs in one INSERT, emulator at zero latency, key without limits"
	echo "    settings = aigov.workers / claim_batch / max_in_flight; CPU in us per job (whole cluster incl. the inserting backend)"
	echo "    reference = time of a fixed CPU-bound query just before the run (public.bench_reference()): the machine's speed at the time"
	echo
	bench_row settings run "load avg / others' CPU / steal" reference INSERT "commit -> all succeeded" "jobs/s" "succeeded / attempts / claims" "CPU total" "CPU dispatchers" "CPU rest" "emulator CPU"
	bench_row --- --- --- --- --- --- --- --- --- --- --- ---
	printf '%s\n' "${TP_ROWS[@]}"
	echo
	echo "per setting, median of $TP_REPEAT runs (lowest-highest)"
	echo
	bench_row settings "jobs/s" "CPU total, us/job" "CPU dispatchers, us/job" "reference"
	bench_row --- --- --- --- ---
	printf '%s\n' "${TP_SUMMARY_ROWS[@]}"
	echo
	echo "best (highest median jobs/s): ${TP_BEST:-none} at $TP_BEST_RATE jobs/s"
	for r in "${PERF_REPORTS[@]}"; do
		echo
		echo "$r"
	done
fi
if [ $want_conc = 1 ]; then
	echo
	echo "(b) concurrency and (d) memory: $CONC_JOBS jobs in one INSERT, emulator latency ${LATENCY_MS} ms"
	echo "    limits: known = aigov.keys rpm/tpm set far above the load; announced = NULL, the emulator's headers state huge limits from the run's first reply on;"
	echo "    learned = NULL and no headers (slow start)"
	echo
	bench_row settings limits "load avg" "commit -> all succeeded" "succeeded / attempts" "emulator peak_concurrent" "max in flight (sampled)" "idle RSS" "RSS growth at max" "VmRSS / in flight" "RssAnon / in flight"
	bench_row --- --- --- --- --- --- --- --- --- --- ---
	printf '%s\n' "${CONC_ROWS[@]}"
fi
if [ $want_pickup = 1 ]; then
	echo
	echo "(c) pickup latency: $PICKUP_JOBS single-row autocommit INSERTs, ${PICKUP_GAP}s apart; attempts.started_at - requests.created_at"
	echo
	bench_row settings "load avg / others' CPU" jobs p50 p99 max "claimed_at - created_at p50 / p99"
	bench_row --- --- --- --- --- --- ---
	printf '%s\n' "${PICKUP_ROWS[@]}"
fi

if [ $want_views = 1 ]; then
	echo
	echo "(e) views: throughput of ${VIEWS_CONFIG//:/ \/ } with a day's history (${VIEWS_FILL:-?}),"
	echo "    alone and with every view, aigov-top --once and (VIEWS_METRICS=$VIEWS_METRICS) aigov.metrics() read once a second, by turns"
	echo
	bench_row settings run "load avg / others' CPU / steal" reference INSERT "commit -> all succeeded" "jobs/s" "succeeded / attempts / claims" "CPU total" "CPU dispatchers" "CPU rest" "emulator CPU"
	bench_row --- --- --- --- --- --- --- --- --- --- --- ---
	printf '%s\n' "${TP_ROWS[@]}"
	echo
	echo "poller: ${VIEWS_POLLS[*]}"
	echo "median jobs/s without views: $(median <<<"$VIEWS_WITHOUT") ($VIEWS_WITHOUT), with: $(median <<<"$VIEWS_WITH") ($VIEWS_WITH)"
fi

echo
echo "summary: target vs measured"
bench_row figure target measured
bench_row --- --- ---
[ $want_tp = 1 ] && bench_row "(a) throughput, best setting (${TP_BEST//:/\/}), median of $TP_REPEAT runs" ">= 5,000 jobs/s" "$TP_BEST_RATE jobs/s"
[ $want_tp = 1 ] && bench_row "(d) CPU per job, best setting, median of $TP_REPEAT runs (dispatchers' median)" "< 100 us" "${TP_BEST_CPU:-?} (${TP_BEST_WCPU:-?} us)"
[ $want_conc = 1 ] && bench_row "(b) $CONC_JOBS jobs at ${LATENCY_MS} ms, commit -> all succeeded" "<= 4 s" "${CONC_TIME:-?} s (peak_concurrent ${CONC_PEAK:-?}) with known limits; ${CONC_ANNOUNCED:-?} with limits announced in headers"
[ $want_conc = 1 ] && bench_row "(d) memory per request in flight (VmRSS / RssAnon)" "-" "${CONC_MEM:-?} kB / ${CONC_ANON:-?} kB"
[ $want_views = 1 ] && bench_row "(e) throughput with the views read every second / without, medians" ">= 0.90" "${VIEWS_RATIO:-?}"
[ $want_pickup = 1 ] && bench_row "(c) pickup latency p50 / p99 / max" "p99 < 10 ms" "${PICKUP_SUMMARY:-?}"
echo "load average at end: $(bench_loadavg)"
exit $FAILED
