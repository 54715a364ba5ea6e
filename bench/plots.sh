#!/usr/bin/env bash
#-------------------------------------------------------------------------
# plots.sh
#	  Draws the dashboard plots of docs/observability.md from a real run:
#	  one cluster, three keys of one provider on the emulator, three
#	  tenants (one per workload class), and a demand that drains the keys'
#	  minute buckets past 70% and 90% and then stops, so they fill again.
#	  Once a second a sampler reads the views (aigov.key_usage,
#	  aigov.tenant_usage, aigov.queue_depth) into tables; at the end the
#	  samples, the goodput per tenant (successful jobs a second, from the
#	  jobs' finished_at) and the 429s a second (from aigov.attempts) are
#	  written out and drawn with gnuplot into PNG files:
#	    utilisation.png   requests-per-minute utilisation per key, 70%/90%
#	    goodput.png       successful jobs a second per tenant
#	    rate_limited.png  429 replies a second per key
#	    queue.png         queued jobs by workload class
#
#	  Demand (jobs a second, all tenants together; 50/30/20% to the
#	  interactive, background and batch tenants), each step PLOT_STEP
#	  seconds: PLOT_DEMAND ["2 18 18"].  The keys have PLOT_RPM [120]
#	  requests a minute each at the emulator, which tells aigov in its
#	  headers (aigov.keys.rpm_limit stays NULL: learned).  Two seconds
#	  into the last step another client of key k3 (a "neighbour", the
#	  script calling the emulator directly) sends PLOT_NEIGHBOUR [120]
#	  calls within 5 seconds, which takes k3 past 90%.  When the demand
#	  ends, aigov-top --once is captured into aigov-top.txt.
#	  The run ends when the queue is empty and every key is back under
#	  65%, or after PLOT_MAX [240] seconds.
#
# Usage: bench/plots.sh [OUTDIR]   (default docs/img; also keeps the data
#	files there as plots-*.dat only with PLOT_KEEP_DATA=1)
#
# Runs as root like the tests, in a private copy of the PostgreSQL
# installation (bench/lib/bench.sh), ports 40000-44999; everything is
# stopped on exit.  Installs gnuplot-nox if gnuplot is missing.
#
# IDENTIFICATION
#	  bench/plots.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 2
OUT=$(realpath -m "${1:-docs/img}")
SAMPLER_PID= DEMAND_PID= TOP_PID=
cleanup() {
	bench_stop_pids "$SAMPLER_PID" "$DEMAND_PID" "$TOP_PID"
	aigov_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PLOT_DEMAND=${PLOT_DEMAND:-"2 18 18"}
PLOT_STEP=${PLOT_STEP:-20}
PLOT_RPM=${PLOT_RPM:-120}
PLOT_NEIGHBOUR=${PLOT_NEIGHBOUR:-120}
PLOT_MAX=${PLOT_MAX:-240}

if [ $# -gt 1 ]; then
	echo "usage: $0 [OUTDIR] (settings in the environment, see the file's head)" >&2
	exit 2
fi
# bench_prepare installs what is missing, gnuplot with the rest
AIGOV_PACKAGES+=(gnuplot-nox)
mkdir -p "$OUT" || exit 2

bench_prepare || exit 2
bench_log "load average at start: $START_LOAD"

cat >"$AIGOV_TMP/emulator.json" <<JSON
{
  "faults": {"latency_ms": 100, "jitter_ms": 100},
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384}],
  "keys": [
    {"secret": "sk-plot-1", "label": "k1", "provider": "openai", "rpm": $PLOT_RPM},
    {"secret": "sk-plot-2", "label": "k2", "provider": "openai", "rpm": $PLOT_RPM},
    {"secret": "sk-plot-3", "label": "k3", "provider": "openai", "rpm": $PLOT_RPM}
  ]
}
JSON
chown -R postgres: "$AIGOV_TMP"
bench_emulator_start "$AIGOV_TMP/emulator.json" || exit 1
AIGOV_EXTRA_CONF="aigov.workers = 1
aigov.idle_poll_interval = 100ms" bench_cluster_start || exit 1

bq -v emu="$EMU_URL" <<'SQL' || exit 1
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('plot', 100000, 100000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('acme', 'plot'), ('beta', 'plot'), ('gamma', 'plot');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-4o-mini', 128000, 16384);
INSERT INTO aigov.keys (provider, label, secret) VALUES
	('openai', 'k1', 'sk-plot-1'), ('openai', 'k2', 'sk-plot-2'), ('openai', 'k3', 'sk-plot-3');

CREATE TABLE public.s_key (t timestamptz, key text, rpm_pct numeric, in_flight integer);
CREATE TABLE public.s_tenant (t timestamptz, tenant text, accepted bigint, rejected bigint,
							  deferred bigint, queued bigint);
CREATE TABLE public.s_queue (t timestamptz, class text, queued bigint, in_flight bigint);
CREATE TABLE public.s_run (started timestamptz, step_s integer);

-- Once a second until stopped: one sample of each view, committed.
CREATE PROCEDURE public.sampler() LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz;
BEGIN
	LOOP
		t := clock_timestamp();
		INSERT INTO public.s_key SELECT t, label, rpm_utilisation_pct, in_flight FROM aigov.key_usage;
		INSERT INTO public.s_tenant
			SELECT t, tenant_id, accepted, rejected, deferred, queued FROM aigov.tenant_usage;
		INSERT INTO public.s_queue
			SELECT t, c, coalesce(sum(d.jobs) FILTER (WHERE d.state = 'queued'), 0),
				   coalesce(sum(d.jobs) FILTER (WHERE d.state = 'in_flight'), 0)
			  FROM unnest(ARRAY['interactive', 'background', 'batch']) c
			  LEFT JOIN aigov.queue_depth d ON d.workload_class = c
			 GROUP BY c;
		COMMIT;
		PERFORM pg_sleep(greatest(0, 1 - extract(epoch FROM clock_timestamp() - t)::float8));
	END LOOP;
END
$$;

-- The demand: for each step of `steps` seconds, rate jobs a second in
-- all, shared 50/30/20% among the three tenants (fractions carried over,
-- so the totals are exact).
CREATE PROCEDURE public.demand(rates integer[], steps integer) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	sec integer := 0;
	r integer;
	owed numeric[] := ARRAY[0, 0, 0];
	share numeric[] := ARRAY[0.5, 0.3, 0.2];
	tenant text[] := ARRAY['acme', 'beta', 'gamma'];
	class text[] := ARRAY['interactive', 'background', 'batch'];
	n integer;
BEGIN
	INSERT INTO public.s_run VALUES (t0, steps);
	COMMIT;
	WHILE sec < steps * array_length(rates, 1) LOOP
		r := rates[sec / steps + 1];
		FOR i IN 1 .. 3 LOOP
			owed[i] := owed[i] + r * share[i];
			n := floor(owed[i]);
			owed[i] := owed[i] - n;
			PERFORM aigov.submit(tenant[i],
					jsonb_build_object('model', 'gpt-4o-mini', 'max_tokens', 8,
						'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'plot ' || g))),
					workload_class => class[i])
			   FROM generate_series(1, n) g;
		END LOOP;
		COMMIT;
		sec := sec + 1;
		PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 + sec * interval '1 second' - clock_timestamp())::float8));
	END LOOP;
END
$$;
SQL

# every key loaded by the workers before the demand starts
for i in $(seq 1 100); do
	[ "$(bq -c 'SELECT count(breaker_state) FROM aigov.key_usage')" = 3 ] && break
	sleep 0.1
done

bq -c 'CALL public.sampler()' >/dev/null 2>&1 &
SAMPLER_PID=$!
sleep 1
bq -c "CALL public.demand('{${PLOT_DEMAND// /,}}', $PLOT_STEP)" &
DEMAND_PID=$!
steps=$(wc -w <<<"$PLOT_DEMAND")
# the dashboard as the demand ends
(
	sleep $((steps * PLOT_STEP))
	"$HERE/../contrib/dashboard/aigov-top" --once -d postgres >"$OUT/aigov-top.txt" 2>&1
) &
TOP_PID=$!

# the neighbour: 2 s into the last step, PLOT_NEIGHBOUR calls with k3's
# secret within 5 s
sleep $(((steps - 1) * PLOT_STEP + 2))
bench_log "neighbour spends $PLOT_NEIGHBOUR of key k3's requests"
NEIGHBOUR_PIDS=()
for i in $(seq 1 "$PLOT_NEIGHBOUR"); do
	curl -s -o /dev/null -H 'Authorization: Bearer sk-plot-3' -H 'Content-Type: application/json' \
		--data-binary '{"model": "gpt-4o-mini", "max_tokens": 1, "messages": [{"role": "user", "content": "n"}]}' \
		"$EMU_URL/v1/chat/completions" &
	NEIGHBOUR_PIDS+=($!)
	sleep "$(echo "scale=3; 5 / $PLOT_NEIGHBOUR" | bc)"
done
wait "$DEMAND_PID"
DEMAND_PID=
wait "${NEIGHBOUR_PIDS[@]}" "$TOP_PID"
bench_log "demand done; waiting for the queue to empty and the keys to cool down"
start=$SECONDS
while [ $((SECONDS - start)) -lt "$PLOT_MAX" ]; do
	left=$(bq -c "SELECT (SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight'))
		+ (SELECT count(*) FROM aigov.key_usage WHERE rpm_utilisation_pct >= 65)")
	[ "$left" = 0 ] && break
	sleep 1
done
sleep 3
kill "$SAMPLER_PID" 2>/dev/null
wait "$SAMPLER_PID" 2>/dev/null
SAMPLER_PID=
# the sampler's backend ends with its client
bq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL public.sampler%'" >/dev/null

# ---------- data files: seconds since the demand started ----------
D=$AIGOV_TMP/plots
mkdir -p "$D" && chown postgres: "$D"
# one row a second, one column per series (no value: NaN, a gap)
bq <<SQL || exit 1
\pset format unaligned
\pset fieldsep ' '
\pset tuples_only on
\pset null NaN
\o $D/utilisation.dat
SELECT round(extract(epoch FROM t - (SELECT started FROM s_run)))::int,
	   max(rpm_pct) FILTER (WHERE key = 'k1'), max(rpm_pct) FILTER (WHERE key = 'k2'),
	   max(rpm_pct) FILTER (WHERE key = 'k3')
  FROM s_key GROUP BY 1 ORDER BY 1;
\o $D/queue.dat
SELECT round(extract(epoch FROM t - (SELECT started FROM s_run)))::int,
	   max(queued) FILTER (WHERE class = 'interactive'), max(queued) FILTER (WHERE class = 'background'),
	   max(queued) FILTER (WHERE class = 'batch')
  FROM s_queue GROUP BY 1 ORDER BY 1;
\o $D/goodput.dat
WITH s AS (SELECT floor(extract(epoch FROM finished_at - (SELECT started FROM s_run)))::int AS sec, tenant_id
			 FROM aigov.requests WHERE state = 'succeeded'
		   UNION ALL
		   SELECT floor(extract(epoch FROM finished_at - (SELECT started FROM s_run)))::int, tenant_id
			 FROM aigov.requests_history WHERE state = 'succeeded')
SELECT g, round(avg(a) OVER w, 2), round(avg(b) OVER w, 2), round(avg(c) OVER w, 2)
  FROM (SELECT g, count(s.sec) FILTER (WHERE tenant_id = 'acme') AS a,
			   count(s.sec) FILTER (WHERE tenant_id = 'beta') AS b,
			   count(s.sec) FILTER (WHERE tenant_id = 'gamma') AS c
		  FROM generate_series(0, (SELECT max(sec) FROM s)) g LEFT JOIN s ON s.sec = g
		 GROUP BY g) p
WINDOW w AS (ORDER BY g ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING)
 ORDER BY g;
\o $D/rate_limited.dat
WITH a AS (SELECT floor(extract(epoch FROM a.finished_at - (SELECT started FROM s_run)))::int AS sec, k.label
			 FROM (SELECT key_id, finished_at, error_class FROM aigov.attempts
				   UNION ALL SELECT key_id, finished_at, error_class FROM aigov.attempts_history) a
			 JOIN aigov.keys k USING (key_id)
			WHERE a.error_class LIKE 'rate_limit%')
SELECT g, count(a.sec) FILTER (WHERE label = 'k1'), count(a.sec) FILTER (WHERE label = 'k2'),
	   count(a.sec) FILTER (WHERE label = 'k3')
  FROM generate_series(0, (SELECT max(round(extract(epoch FROM t - (SELECT started FROM s_run))))::int FROM s_key)) g
  LEFT JOIN a ON a.sec = g
 GROUP BY g ORDER BY g;
\o
SQL

SUMMARY=$(bq -F ' ' <<'SQL'
SELECT (SELECT count(*) FROM aigov.requests WHERE state = 'succeeded'),
	   (SELECT count(*) FROM aigov.requests),
	   (SELECT count(*) FROM aigov.attempts WHERE error_class LIKE 'rate_limit%'),
	   (SELECT max(rpm_pct) FROM s_key),
	   (SELECT max(queued) FROM (SELECT t, sum(queued) AS queued FROM s_queue GROUP BY t) q),
	   (SELECT count(DISTINCT t) FROM s_key),
	   (SELECT string_agg(kind || ' ' || subject || ' ' || axis || ' ' || previous_level || '->' || level, ', ' ORDER BY id)
		  FROM aigov.alerts WHERE kind = 'key_utilisation');
SQL
)
read -r ok jobs r429 maxpct maxq samples alerts <<<"$SUMMARY"

# ---------- plots ----------
marks=""
for i in $(seq 1 $((steps - 1))); do
	marks="$marks
set arrow from $((i * PLOT_STEP)), graph 0 to $((i * PLOT_STEP)), graph 1 nohead dashtype 3 linecolor rgb '#999999'"
done
common="set terminal pngcairo size 800,300 font 'sans,9' noenhanced
set xrange [0:*]
set key outside right top
set grid ytics
set xlabel 'seconds since the demand started (dotted: demand steps $PLOT_DEMAND jobs/s, ${PLOT_STEP} s each)'
$marks"
(
	cd "$D" && gnuplot <<GP
$common
set output '$OUT/utilisation.png'
set title 'Requests-per-minute utilisation per key (aigov.key_usage), ${PLOT_RPM} rpm each'
set ylabel '%'
set yrange [0:110]
set arrow from graph 0, first 70 to graph 1, first 70 nohead dashtype 2 linecolor rgb '#d08000'
set arrow from graph 0, first 90 to graph 1, first 90 nohead dashtype 2 linecolor rgb '#c00000'
plot 'utilisation.dat' using 1:2 with lines lw 2 title 'k1', '' using 1:3 with lines lw 2 title 'k2', \
	'' using 1:4 with lines lw 2 title 'k3 (neighbour)', \
	NaN with lines dashtype 2 lc rgb '#d08000' title '70%', NaN with lines dashtype 2 lc rgb '#c00000' title '90%'
unset arrow
$marks
set autoscale y
set yrange [0:*]
set output '$OUT/goodput.png'
set title 'Goodput per tenant: successful jobs a second (by finished_at, 5 s moving average)'
set ylabel 'jobs/s'
plot 'goodput.dat' using 1:2 with lines lw 2 title 'acme (interactive)', '' using 1:3 with steps lw 2 title 'beta (background)', \
	'' using 1:4 with lines lw 2 title 'gamma (batch)'
set output '$OUT/rate_limited.png'
set title '429 replies a second per key (aigov.attempts)'
set ylabel '429s/s'
plot 'rate_limited.dat' using 1:2 with steps lw 2 title 'k1', '' using 1:3 with steps lw 2 title 'k2', \
	'' using 1:4 with steps lw 2 title 'k3 (neighbour)'
set output '$OUT/queue.png'
set title 'Queued jobs by workload class (aigov.queue_depth)'
set ylabel 'jobs'
plot 'queue.dat' using 1:2 with lines lw 2 title 'interactive', '' using 1:3 with lines lw 2 title 'background', \
	'' using 1:4 with lines lw 2 title 'batch'
GP
) || exit 1
[ "${PLOT_KEEP_DATA:-0}" = 1 ] && for f in "$D"/*.dat; do cp "$f" "$OUT/plots-$(basename "$f")"; done

echo
echo "bench/plots.sh, code $BENCH_CODE, $(date -u '+%Y-%m-%d %H:%M UTC'), load average at start $START_LOAD, at end $(bench_loadavg)"
echo "demand $PLOT_DEMAND jobs/s, $PLOT_STEP s a step; 3 keys of $PLOT_RPM rpm; neighbour $PLOT_NEIGHBOUR calls on k3"
echo "jobs $jobs, succeeded $ok, 429 replies $r429, highest key utilisation $maxpct%, most jobs queued $maxq, $samples samples"
echo "key alerts: ${alerts:-none}"
cat "$OUT/aigov-top.txt"
ls -l "$OUT"/utilisation.png "$OUT"/goodput.png "$OUT"/rate_limited.png "$OUT"/queue.png
