#!/usr/bin/env bash
#-------------------------------------------------------------------------
# throttle.sh
#	  Benchmark of the provider throttle (layer 3) against the provider
#	  emulator, which counts every provider 429.  A shell loop inserts
#	  DEMAND jobs every second (a step from 0 at the start) into one key of
#	  RPM requests a minute:
#
#	  smoothing  the key's limit configured in aigov.keys, demand 1.5x the
#	             quota for SMOOTH_MIN minutes: provider 429s per 1,000
#	             requests, and the per-second send rate (from
#	             aigov.attempts.started_at): its peak against its mean,
#	             over the whole run and after the first minute
#	  unknown    the emulator sends no rate-limit headers and aigov.keys
#	             has no limit: the minute in which the send rate first
#	             reaches 85% of the hidden limit, and 429s per 1,000
#	             requests after that
#
#	  Each second the throttle's state (aigov.throttle_state()) is sampled;
#	  gnuplot draws the step response of the smoothing run: sends per
#	  second against the demand and the refill rate, and the utilisation
#	  and the controller's output against the knee (the samples also
#	  hold the throttle level and whether it is engaged).
#
# Usage: bench/throttle.sh [smoothing] [unknown]   (no argument: both)
#        bench/throttle.sh --plot DIR CODE  (the plot again, from a kept
#        run's DIR/sends.csv and DIR/samples.csv; AIGOV_KEEP_TMP=1 keeps)
#
# Environment (defaults in brackets):
#	RPM [600]            the key's limit in the emulator
#	DEMAND_X [1.5]       demand as a multiple of RPM
#	SMOOTH_MIN [5]       minutes of the smoothing run
#	UNKNOWN_MIN [4]      minutes of the unknown-limits run
#	PLOT_DIR [docs/img]  where the PNGs go
#
# The emulator's minute buckets refill continuously over 60 s; the run
# length is not scaled.  Runs as root like the tests; builds as
# bench/dispatch.sh does (a private copy of the PostgreSQL installation);
# installs gnuplot-nox if it is missing.  Ports 40000-44999; everything is
# stopped on exit.  docs/throttling.md and docs/benchmarks.md explain the
# figures.
#
# IDENTIFICATION
#	  bench/throttle.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 1
AIGOV_PACKAGES+=(gnuplot-nox)

LOAD_PID=
SAMPLER_PID=
stop_bg() {
	bench_stop_pids "$LOAD_PID" "$SAMPLER_PID"
	LOAD_PID= SAMPLER_PID=
}
trap 'stop_bg; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

RPM=${RPM:-600}
DEMAND_X=${DEMAND_X:-1.5}
SMOOTH_MIN=${SMOOTH_MIN:-5}
UNKNOWN_MIN=${UNKNOWN_MIN:-4}
PLOT_DIR=${PLOT_DIR:-$AIGOV_ROOT/docs/img}
PER_SEC=$(awk -v r="$RPM" -v x="$DEMAND_X" 'BEGIN {printf "%d", r / 60 * x + 0.5}')

SCENARIOS=("$@")
# --plot DIR CODE: draw the step response again from a kept run's
# sends.csv and samples.csv (no build, no cluster).
if [ "${1:-}" = --plot ]; then
	PLOT_FROM=${2:?usage: $0 --plot DIR CODE}
	BENCH_CODE=${3:-?}
	SCENARIOS=(replot)
fi
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(smoothing unknown)
for s in "${SCENARIOS[@]}"; do
	case $s in
	smoothing | unknown | replot) ;;
	*)
		echo "usage: $0 [smoothing] [unknown]" >&2
		exit 2
		;;
	esac
done

if [ "${SCENARIOS[0]}" != replot ]; then
	bench_prepare || exit 1
	bench_log "load average at start: $START_LOAD; $PER_SEC jobs/s against $RPM RPM"
fi

# scenario_start NAME FAULTS LIMIT: fresh emulator and cluster, one key.
scenario_start() {
	local name=$1 faults=$2 limit=$3
	SC_DIR=$AIGOV_TMP/$name
	mkdir -p "$SC_DIR"
	cat >"$SC_DIR/emulator.json" <<JSON
{
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384}],
  "keys": [{"secret": "sk-th-1", "label": "k1", "provider": "openai", "rpm": $RPM,
            "faults": $faults}]
}
JSON
	chown -R postgres: "$AIGOV_TMP"
	bench_emulator_start "$SC_DIR/emulator.json" || return 1
	AIGOV_EXTRA_CONF= bench_cluster_start || return 1
	bq -v emu="$EMU_URL" <<SQL || return 1
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 1000000, 10000000000, 10000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('t1', 'big');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-4o-mini', 128000, 16384);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit) VALUES ('openai', 'k1', 'sk-th-1', $limit);
SQL
	bench_wait_workers 1
}

scenario_stop() {
	stop_bg
	aigov_cluster_stop
	bench_emulator_stop
	rm -rf "$AIGOV_TMP/data"
}

# run_demand SECONDS: PER_SEC jobs a second, from one psql session: each
# round inserts what the schedule owes by then, so a slow round (a loaded
# machine) delays jobs but never drops them.  The throttle is sampled
# about every second into $SC_DIR/samples.csv (seconds since T0,
# utilisation %, controller output %, level, engaged) from another
# session.  Sets T0.
run_demand() {
	local secs=$1
	T0=$(bq -c "SELECT extract(epoch FROM clock_timestamp())")
	(
		sent=0
		while :; do
			now=$EPOCHREALTIME
			owed=$(awk -v t0="$T0" -v now="$now" -v r="$PER_SEC" -v s="$secs" 'BEGIN {
				e = now - t0; if (e > s) e = s; printf "%d", (int(e) + 1) * r }')
			[ "$owed" -gt "$sent" ] && echo "INSERT INTO aigov.requests (tenant_id, body)
SELECT 't1', jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', 16,
	'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'job ' || g)))
  FROM generate_series($((sent + 1)), $owed) g;"
			sent=$owed
			awk -v t0="$T0" -v now="$now" -v s="$secs" 'BEGIN {exit !(now - t0 >= s)}' && break
			sleep "$(awk -v t0="$T0" -v now="$EPOCHREALTIME" 'BEGIN {d = 1 - (now - t0) % 1; print d}')"
		done
	) | bq >/dev/null &
	LOAD_PID=$!
	rm -f "$SC_DIR/stop"
	(
		while [ ! -e "$SC_DIR/stop" ]; do
			echo "SELECT round((extract(epoch FROM clock_timestamp()) - $T0)::numeric, 1),
	round(utilisation_pct::numeric, 1), round(rate_pct::numeric, 1), round(throttle_level::numeric, 3), engaged::int
  FROM aigov.throttle_state() WHERE workload_class = 'interactive';"
			sleep 1
		done
	) | bq -F, >"$SC_DIR/samples.csv" 2>/dev/null &
	SAMPLER_PID=$!
	wait "$LOAD_PID"
	LOAD_PID=
	# let the last jobs of the schedule go out; the sampler's loop ends
	# (killing its psql's shell would wait for the psql first)
	sleep 5
	touch "$SC_DIR/stop"
	wait "$SAMPLER_PID" 2>/dev/null
	SAMPLER_PID=
	emu_get stats >"$SC_DIR/stats.json"
	# sends per second since T0: second, sends, of which provider 429s
	bq -F, <<SQL >"$SC_DIR/sends.csv"
SELECT s, count(a.started_at), count(*) FILTER (WHERE a.error_class LIKE 'rate_limit%')
  FROM generate_series(0, $secs - 1) s
  LEFT JOIN (SELECT started_at, error_class FROM aigov.attempts
			 UNION ALL SELECT started_at, error_class FROM aigov.attempts_history) a
	ON floor(extract(epoch FROM a.started_at) - $T0) = s
 GROUP BY s ORDER BY s
SQL
}

# rate_stats FROM: "peak / mean / peak:mean" of sends per second from
# second FROM on.
rate_stats() {
	awk -F, -v from="$1" '$1 >= from {n++; s += $2; if ($2 > p) p = $2}
		END {m = s / n; printf "%d / %.2f / %.2f", p, m, p / m}' "$SC_DIR/sends.csv"
}

emu_req() { bq -v doc="$(cat "$SC_DIR/stats.json")" <<<"SELECT (:'doc')::jsonb #>> '{keys,k1,$1}'"; }

RESULTS=()

smoothing() {
	local secs=$((SMOOTH_MIN * 60)) req rl whole after
	scenario_start smoothing '{}' "$RPM" || return 1
	run_demand "$secs" || return 1
	req=$(emu_req requests)
	rl=$(emu_req rate_limited_total)
	whole=$(rate_stats 0)
	after=$(rate_stats 60)
	RESULTS+=("$(bench_row smoothing "$SMOOTH_MIN min, $PER_SEC jobs/s" "$req" "$rl" \
		"$(awk -v r="$rl" -v q="$req" 'BEGIN {printf "%.2f", 1000 * r / q}')" "$whole" "$after")")
	plot_smoothing
	scenario_stop
}

unknown() {
	local secs=$((UNKNOWN_MIN * 60)) conv res
	scenario_start unknown '{"no_ratelimit_headers": true}' NULL || return 1
	run_demand "$secs" || return 1
	# the bucket starts full, so the limit is found at the first 429: the
	# first second from then on from which the sends of the next 30 s
	# reach 85% of RPM
	conv=$(awk -F, -v need="$(awk -v r="$RPM" 'BEGIN {print r / 60 * 0.85 * 30}')" '
		{n[NR] = $2; s[NR] = $1; if ($3 > 0 && !f) f = NR} END {
			for (i = (f ? f : 1); i + 29 <= NR; i++) {
				t = 0; for (j = i; j < i + 30; j++) t += n[j]
				if (t >= need) {print s[i]; exit}
			}
			print -1 }' "$SC_DIR/sends.csv")
	res=$(awk -F, -v c="$conv" '$1 >= c && c >= 0 {q += $2; r += $3}
		END {printf "%d|%d|%.2f", q, r, (q ? 1000 * r / q : 0)}' "$SC_DIR/sends.csv")
	IFS='|' read -r q r per <<<"$res"
	RESULTS+=("$(bench_row unknown "$UNKNOWN_MIN min, $PER_SEC jobs/s, no headers" \
		"$(emu_req requests)" "$(emu_req rate_limited_total)" \
		"converged at ${conv}s; after: $q sent, $r 429s = $per per 1,000" \
		"$(rate_stats 0)" "$(rate_stats "$((conv < 0 ? 0 : conv))")")")
	cp "$SC_DIR/sends.csv" "$AIGOV_TMP/unknown-sends.csv"
	scenario_stop
}

# plot_smoothing: the step response, two panels, into $PLOT_DIR.
plot_smoothing() {
	mkdir -p "$PLOT_DIR"
	gnuplot <<GP || bench_log "gnuplot failed"
set terminal pngcairo size 1000,700 font ",10" noenhanced
set output "$PLOT_DIR/throttle-step.png"
set datafile separator ","
set multiplot layout 2,1 title "Step to ${DEMAND_X}x demand on one key of $RPM RPM (aigov $BENCH_CODE)"
set xlabel "seconds since the step"
set xrange [0:$((SMOOTH_MIN * 60 + 20))]
set ylabel "requests per second"
set key top right
set grid
plot "$SC_DIR/sends.csv" using 1:2 with steps title "sent (aigov.attempts)", \
	$PER_SEC with lines dt 2 title "demand", \
	$RPM / 60.0 with lines dt 3 title "refill rate (limit)"
set ylabel "percent"
set yrange [0:110]
plot "$SC_DIR/samples.csv" using 1:2 with lines title "aggregate utilisation", \
	"" using 1:3 with lines title "controller output (rate, % of refill)", \
	70 with lines dt 2 title "knee (aigov.throttle_start_pct)"
unset multiplot
GP
}

replot() {
	SC_DIR=$PLOT_FROM
	plot_smoothing
}

for s in "${SCENARIOS[@]}"; do
	bench_log "scenario $s"
	"$s" || {
		bench_log "scenario $s could not run"
		scenario_stop
	}
done
[ "${SCENARIOS[0]}" = replot ] && exit 0

echo "aigov $BENCH_CODE, load average at start $START_LOAD, at end $(bench_loadavg)"
bench_row scenario load "requests (emulator)" "429s (emulator)" "429s per 1,000 / after convergence" \
	"sends/s peak / mean / ratio (whole run)" "sends/s peak / mean / ratio (after 60 s or convergence)"
bench_row --- --- --- --- --- --- ---
printf '%s\n' "${RESULTS[@]}"
