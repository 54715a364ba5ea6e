#!/usr/bin/env bash
#-------------------------------------------------------------------------
# outage.sh
#	  The outage scenario of the fallback orchestrator against the
#	  provider emulator: provider A (openai, model gpt-test) answers 503 to
#	  every call for --outage seconds while a steady load of chat jobs
#	  arrives; aigov.compat lets provider B (anthropic, claude-test) take
#	  plain chat, and only A is validated for structured output.
#
#	  load     pgbench inserts jobs at --rate per second for --before
#	           seconds, the outage, and --after seconds: 90% interactive chat,
#	           5% interactive structured (response_format json_schema), 5%
#	           batch structured
#	  figures  calls that failed on A before its provider breaker opened and
#	           the time it took; chat jobs moved to B (degraded) and the
#	           NOTIFY aigov_degraded received; structured jobs that failed
#	           fast (no_compatible_fallback) or waited for A; the time from
#	           A's recovery to its breaker closing; jobs lost (not final after
#	           the drain), jobs served twice (the emulator's duplicates), and
#	           provider calls without their aigov.attempts row
#
# Usage: bench/outage.sh [--rate N] [--before S] [--outage S] [--after S]
#	(defaults 10 jobs/s, 15 s, 60 s, 30 s; then at most 90 s of drain)
#
# Settings: one dispatcher, aigov.breaker_failures 5, aigov.breaker_cooldown
# 2 s, aigov.breaker_max_cooldown 10 s (so a probe follows the recovery
# within 10 s).  Builds like the other benchmarks (a private copy of the
# PostgreSQL installation); ports 40000-44999; everything is stopped on
# exit.  docs/benchmarks.md explains the figures.  Exits non-zero only if
# the scenario could not run, not if a figure is off.
#
# IDENTIFICATION
#	  bench/outage.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
cd "$AIGOV_ROOT" || exit 1

LOAD_PID=
LISTEN_PID=
stop_bg() {
	for p in $LOAD_PID $LISTEN_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LOAD_PID=
	LISTEN_PID=
}
trap 'stop_bg; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

RATE=10
BEFORE=15
OUTAGE=60
AFTER=30
DRAIN=90
while [ $# -gt 0 ]; do
	case $1 in
	--rate) RATE=$2; shift 2 ;;
	--before) BEFORE=$2; shift 2 ;;
	--outage) OUTAGE=$2; shift 2 ;;
	--after) AFTER=$2; shift 2 ;;
	*)
		echo "usage: $0 [--rate N] [--before S] [--outage S] [--after S]" >&2
		exit 2
		;;
	esac
done
DURATION=$((BEFORE + OUTAGE + AFTER))

bench_prepare || exit 1
DIR=$AIGOV_TMP/outage
mkdir -p "$DIR"
cat >"$DIR/emulator.json" <<'JSON'
{
  "models": [{"name": "gpt-test", "provider": "openai", "max_output_tokens": 4096},
             {"name": "claude-test", "provider": "anthropic", "max_output_tokens": 8192}],
  "keys": [{"secret": "sk-a", "label": "oa-a", "provider": "openai", "models": ["gpt-test"],
            "rpm": 60000, "tpm": 100000000, "faults": {"latency_ms": 50}},
           {"secret": "sk-b", "label": "an-b", "provider": "anthropic", "models": ["claude-test"],
            "rpm": 60000, "itpm": 100000000, "otpm": 100000000, "faults": {"latency_ms": 50}}]
}
JSON
STRUCT='"response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true, "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}}'
cat >"$DIR/load.sql" <<SQL
\\set r random(1, 20)
\\if :r = 1
INSERT INTO aigov.requests (tenant_id, body, workload_class)
VALUES ('bench', '{"model": "gpt-test", "max_tokens": 20, "messages": [{"role": "user", "content": "structured"}], $STRUCT}', 'interactive');
\\elif :r = 2
INSERT INTO aigov.requests (tenant_id, body, workload_class)
VALUES ('bench', '{"model": "gpt-test", "max_tokens": 20, "messages": [{"role": "user", "content": "structured"}], $STRUCT}', 'batch');
\\else
INSERT INTO aigov.requests (tenant_id, body, workload_class)
VALUES ('bench', '{"model": "gpt-test", "max_tokens": 20, "messages": [{"role": "user", "content": "chat"}]}', 'interactive');
\\endif
SQL
chown -R postgres: "$AIGOV_TMP"
bench_emulator_start "$DIR/emulator.json" || exit 1
AIGOV_EXTRA_CONF="aigov.workers = 1
aigov.max_attempts = 1000
aigov.breaker_failures = 5
aigov.breaker_cooldown = '2s'
aigov.breaker_max_cooldown = '10s'" bench_cluster_start || exit 1
bq -v emu="$EMU_URL" <<'SQL' || exit 1
CREATE EXTENSION aigov;
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('std', 1000000, 1000000000, 100000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('bench', 'std');
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES
  ('openai', 'openai', :'emu'), ('anthropic', 'anthropic', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens) VALUES
  ('openai', 'gpt-test', 128000, 4096), ('anthropic', 'claude-test', 200000, 8192);
INSERT INTO aigov.keys (provider, label, secret) VALUES
  ('openai', 'oa-a', 'sk-a'), ('anthropic', 'an-b', 'sk-b');
INSERT INTO aigov.compat (task_type, provider, model, rank, structured_output, tool_use, validated) VALUES
  ('chat', 'openai', 'gpt-test', 1, true, true, true),
  ('chat', 'anthropic', 'claude-test', 2, false, false, false);
SQL
bench_wait_workers 1 || exit 1

# The listener prints the notifications as each of its short statements
# ends, and quits (flushing them) once the table bench_stop exists.
{
	echo "LISTEN aigov_degraded;"
	for _ in $(seq 1 $(((DURATION + DRAIN + 10) * 2))); do
		echo "SELECT pg_sleep(0.5), to_regclass('bench_stop') IS NOT NULL AS stop \\gset"
		echo "\\if :stop"
		echo "\\quit"
		echo "\\endif"
	done
} >"$DIR/listen.sql"
chown postgres: "$DIR/listen.sql"
aigov_as_pg psql -X -q -At -d postgres -f "$DIR/listen.sql" >"$DIR/notify.log" 2>&1 &
LISTEN_PID=$!
sleep 0.5

bench_log "load: $RATE jobs/s for $DURATION s; A down from $BEFORE s to $((BEFORE + OUTAGE)) s"
T0=$EPOCHREALTIME
aigov_as_pg pgbench -n -c 1 -j 1 -T "$DURATION" --rate="$RATE" -f "$DIR/load.sql" postgres \
	>"$DIR/pgbench.log" 2>&1 &
LOAD_PID=$!

now() { awk -v t0="$T0" -v now="$EPOCHREALTIME" 'BEGIN {printf "%.3f", now - t0}'; }
until_t() { local d; d=$(awk -v t0="$T0" -v t="$1" -v now="$EPOCHREALTIME" 'BEGIN {d = t0 + t - now; print (d > 0 ? d : 0)}'); sleep "$d"; }
pstate() { bq -c "SELECT state FROM aigov.provider_breakers() WHERE provider = 'openai'"; }

until_t "$BEFORE"
emu_post faults '{"key": "oa-a", "error_rate": 1, "error_status": 503}'
T_DOWN=$(now)
T_OPEN=
while [ "$(awk -v n="$(now)" -v e="$((BEFORE + OUTAGE))" 'BEGIN {print (n < e)}')" = 1 ]; do
	if [ -z "$T_OPEN" ] && [ "$(pstate)" = open ]; then T_OPEN=$(now); fi
	sleep 0.1
done
emu_post faults '{"key": "oa-a", "clear": true, "latency_ms": 50}'
T_UP=$(now)
T_CLOSED=
while [ -z "$T_CLOSED" ] && [ "$(awk -v n="$(now)" -v e="$((DURATION + DRAIN))" 'BEGIN {print (n < e)}')" = 1 ]; do
	[ "$(pstate)" = closed ] && T_CLOSED=$(now)
	sleep 0.1
done
wait "$LOAD_PID"
LOAD_PID=
# drain: every job final, or the drain time is up
while [ "$(bq -c "SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight')")" != 0 ] &&
	[ "$(awk -v n="$(now)" -v e="$((DURATION + DRAIN))" 'BEGIN {print (n < e)}')" = 1 ]; do
	sleep 0.5
done
T_END=$(now)
bq -c "CREATE TABLE bench_stop ()"
wait "$LISTEN_PID" 2>/dev/null
LISTEN_PID=
NOTIFIED=$(grep -c 'Asynchronous notification "aigov_degraded"' "$DIR/notify.log")
STATS=$(emu_get stats)

q() { bq -v t0="$T0" -v down="$T_DOWN" -v up="$T_UP" "$@"; }
FIG=$(q <<'SQL'
SELECT concat_ws('|',
  (SELECT count(*) FROM aigov.requests),
  (SELECT count(*) FROM aigov.attempts WHERE provider = 'openai' AND http_status = 503
      AND finished_at <= (SELECT min(finished_at) FROM aigov.attempts WHERE provider = 'anthropic')),
  (SELECT count(*) FROM aigov.requests WHERE body->'messages'->0->>'content' = 'chat'
      AND created_at BETWEEN to_timestamp(:t0 + :down) AND to_timestamp(:t0 + :up)),
  (SELECT count(*) FROM aigov.requests WHERE degraded AND served_provider = 'anthropic'
      AND state = 'succeeded'),
  (SELECT count(*) FROM aigov.requests WHERE error_class = 'no_compatible_fallback'),
  (SELECT count(*) FROM aigov.requests WHERE body ? 'response_format' AND workload_class = 'batch'
      AND created_at BETWEEN to_timestamp(:t0 + :down) AND to_timestamp(:t0 + :up)),
  (SELECT count(*) FROM aigov.requests WHERE body ? 'response_format' AND workload_class = 'batch'
      AND created_at BETWEEN to_timestamp(:t0 + :down) AND to_timestamp(:t0 + :up)
      AND state = 'succeeded' AND NOT degraded AND served_provider = 'openai'),
  (SELECT round(max(extract(epoch FROM finished_at - created_at))::numeric, 1) FROM aigov.requests
    WHERE body ? 'response_format' AND workload_class = 'batch'
      AND created_at BETWEEN to_timestamp(:t0 + :down) AND to_timestamp(:t0 + :up)),
  (SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight')),
  (SELECT count(*) FROM aigov.requests WHERE state = 'failed'
      AND error_class IS DISTINCT FROM 'no_compatible_fallback'),
  (SELECT count(*) FROM aigov.attempts),
  (SELECT count(*) FROM aigov.requests WHERE state = 'succeeded'),
  (SELECT opened_total FROM aigov.provider_breakers() WHERE provider = 'openai'))
SQL
)
IFS='|' read -r JOBS FAILED_BEFORE_OPEN CHAT_DURING MOVED FAILFAST SB_DURING SB_SERVED SB_MAXWAIT \
	LOST OTHER_FAILED ROWS SUCCEEDED OPENS <<<"$FIG"
CALLS=$(emu_stat "$STATS" '{totals,requests}')
DUPS=$(emu_stat "$STATS" '{totals,duplicates}')

echo
echo "Outage scenario, code $BENCH_CODE, $(date -u '+%Y-%m-%d %H:%M UTC'), load $START_LOAD at start"
echo "$RATE jobs/s for $DURATION s; A answers 503 from $T_DOWN s to $T_UP s; drained at $T_END s"
echo
bench_row "figure" "value"
bench_row "---" "---"
bench_row "jobs submitted / succeeded" "$JOBS / $SUCCEEDED"
bench_row "503s on A before the first call moved to B (aigov.breaker_failures = 5)" "$FAILED_BEFORE_OPEN"
bench_row "A's provider breaker open after the outage began" \
	"$(awk -v a="$T_OPEN" -v b="$T_DOWN" 'BEGIN {if (a == "") print "never"; else printf "%.1f s", a - b}')"
bench_row "times A's breaker opened (failed probes reopen it)" "${OPENS:-0}"
bench_row "chat jobs submitted during the outage" "$CHAT_DURING"
bench_row "jobs moved to B (degraded, succeeded)" "$MOVED"
bench_row "NOTIFY aigov_degraded received" "$NOTIFIED"
bench_row "structured interactive jobs failed fast (no_compatible_fallback)" "$FAILFAST"
bench_row "structured batch jobs of the outage / served by A after it, not degraded" "$SB_DURING / $SB_SERVED"
bench_row "longest wait of those batch jobs" "${SB_MAXWAIT:-} s"
bench_row "A's breaker closed after recovery" \
	"$(awk -v a="$T_CLOSED" -v b="$T_UP" 'BEGIN {if (a == "") print "not within the drain"; else printf "%.1f s", a - b}')"
bench_row "jobs lost (not final after the drain)" "$LOST"
bench_row "jobs failed otherwise" "$OTHER_FAILED"
bench_row "jobs served twice (emulator duplicates)" "$DUPS"
bench_row "provider calls / aigov.attempts rows" "$CALLS / $ROWS"
