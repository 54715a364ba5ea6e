#!/usr/bin/env bash
#-------------------------------------------------------------------------
# quota.sh
#	  Benchmark of quota admission (layer 1) and key routing (layer 2)
#	  against the provider emulator, which is the referee: every provider
#	  429 is counted by it.  pgbench offers a steady Poisson load of
#	  aigov.submit() calls (bench/pgbench/submit.sql) for --minutes.
#
#	  known    one key, rpm 600 / tpm 60,000 configured in aigov.keys, offered
#	           3x its quota (1,800 jobs/min of ~100 tokens): provider 429s per
#	           1,000 requests, goodput over minutes 2..end as % of 600/min
#	  learned  the same with aigov.keys limits NULL (learned from headers);
#	           figures after the first minute
#	  tokens   jobs of ~20,000 prompt tokens against tpm 200,000 (rpm 10,000),
#	           offered 3x: TPM 429s, tokens charged per minute / limit
#	  pool     three keys rpm 600 / 300 / 100 (tpm 100 tokens per request),
#	           offered 1.5x their total: each key's utilisation and 429s
#	  noisy    tenants A (tier rpm 60, hard cap) at 10x its quota, B and C
#	           (tier rpm 300) at 30% of theirs, on two keys that can serve
#	           everything admitted: B and C rejections and p99 queue wait, A's
#	           rejections and their retry_at
#
# Usage: bench/quota.sh [--minutes N] [known] [learned] [tokens] [pool] [noisy]
#	(no scenario named: all five; --minutes defaults to 3; the figures "after
#	the first minute" use the window [60 s, N min], or [20 s, 1 min] when
#	N = 1)
#
# Every scenario gets a fresh emulator and a fresh cluster (default aigov
# settings: one dispatcher), so no bucket or learned limit carries over.
# Runs as root like the tests; builds as bench/dispatch.sh does (a private
# copy of the PostgreSQL installation; BENCH_PRIVATE_PG=0: the machine's
# own); ports 40000-44999; everything is stopped on exit.
# docs/benchmarks.md explains every figure.  Exits non-zero only if a scenario could not run, not if a
# target is missed.
#
# IDENTIFICATION
#	  bench/quota.sh
#-------------------------------------------------------------------------
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/bench.sh"
PGBENCH_DIR=$HERE/pgbench
cd "$AIGOV_ROOT" || exit 1

LOAD_PID=
stop_load() {
	bench_stop_pids "$LOAD_PID"
	LOAD_PID=
}
trap 'stop_load; aigov_cleanup' EXIT
trap 'exit 130' INT TERM

MINUTES=3
SCENARIOS=()
while [ $# -gt 0 ]; do
	case $1 in
	--minutes)
		MINUTES=${2:-}
		shift
		;;
	--minutes=*) MINUTES=${1#--minutes=} ;;
	known | learned | tokens | pool | noisy) SCENARIOS+=("$1") ;;
	*)
		echo "usage: $0 [--minutes N] [known] [learned] [tokens] [pool] [noisy]" >&2
		exit 2
		;;
	esac
	shift
done
case $MINUTES in
'' | *[!0-9]* | 0)
	echo "--minutes must be a whole number of minutes, at least 1" >&2
	exit 2
	;;
esac
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(known learned tokens pool noisy)

DURATION=$((MINUTES * 60))
WARMUP=60
[ "$MINUTES" -lt 2 ] && WARMUP=20
WINDOW_MIN=$(awk -v a="$DURATION" -v b="$WARMUP" 'BEGIN {printf "%.4f", (a - b) / 60}')

bench_prepare || exit 1

# ---------- plumbing ----------

# scenario_start NAME EMULATOR_KEYS_JSON SETUP_SQL: fresh emulator and
# cluster, the extension, provider, model and the log table of
# submit.sql, then the scenario's own SQL (tiers, tenants, keys).
scenario_start() {
	local name=$1 keys=$2 setup=$3
	scenario_stop
	SC_DIR=$AIGOV_TMP/$name
	mkdir -p "$SC_DIR"
	cat >"$SC_DIR/emulator.json" <<JSON
{
  "models": [{"name": "gpt-4o-mini", "provider": "openai", "max_output_tokens": 16384}],
  "keys": $keys
}
JSON
	chown -R postgres: "$AIGOV_TMP"
	bench_emulator_start "$SC_DIR/emulator.json" || return 1
	AIGOV_EXTRA_CONF= bench_cluster_start || return 1
	bq -v emu="$EMU_URL" <<SQL || return 1
CREATE EXTENSION aigov;
INSERT INTO aigov.providers (provider, api_style, base_url) VALUES ('openai', 'openai', :'emu');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-4o-mini', 128000, 16384);
CREATE TABLE bench_submits (
	tenant_id text, called_at timestamptz, answered_at timestamptz,
	job_id bigint, status text, retry_at timestamptz, reason text);
$setup
SQL
	bench_wait_workers 1
}

scenario_stop() {
	stop_load
	aigov_cluster_stop
	bench_emulator_stop
	rm -rf "$AIGOV_TMP/data"
}

# script TENANT MAX_TOKENS REPEAT: a copy of submit.sql for pgbench.
script() {
	local f="$SC_DIR/submit-$1.sql"
	sed -e "s/@TENANT@/$1/g" -e "s/@MAX_TOKENS@/$2/g" -e "s/@REPEAT@/$3/g" \
		"$PGBENCH_DIR/submit.sql" >"$f"
	chown postgres: "$f"
	echo "$f"
}

# run_load RATE SCRIPT[@WEIGHT]...: pgbench at RATE transactions/s in all
# for DURATION seconds; emulator statistics at WARMUP (s1.json) and at the
# end (s2.json).  Sets T0 (epoch seconds of the start) and SC_LOAD.
run_load() {
	local rate=$1 f args=() t
	shift
	for f in "$@"; do args+=(-f "$f"); done
	SC_LOAD=$(bench_loadavg)
	T0=$(bq -c "SELECT extract(epoch FROM clock_timestamp())")
	aigov_as_pg pgbench -n -c 4 -j 1 -T "$DURATION" --rate="$rate" "${args[@]}" postgres \
		>"$SC_DIR/pgbench.log" 2>&1 &
	LOAD_PID=$!
	t=$(awk -v t0="$T0" -v w="$WARMUP" -v now="$EPOCHREALTIME" 'BEGIN {d = t0 + w - now; print (d > 0 ? d : 0)}')
	sleep "$t"
	emu_get stats >"$SC_DIR/s1.json"
	t=$(awk -v t0="$T0" -v w="$DURATION" -v now="$EPOCHREALTIME" 'BEGIN {d = t0 + w - now; print (d > 0 ? d : 0)}')
	sleep "$t"
	emu_get stats >"$SC_DIR/s2.json"
	wait "$LOAD_PID"
	local rc=$?
	LOAD_PID=
	if [ $rc -ne 0 ] || ! grep -q 'actually processed' "$SC_DIR/pgbench.log"; then
		bench_log "pgbench failed:"
		tail -5 "$SC_DIR/pgbench.log" >&2
		return 1
	fi
	SC_PGBENCH=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$SC_DIR/pgbench.log")
	SC_LAG=$(sed -n 's/^rate limit schedule lag: avg \([0-9.]*\) (max \([0-9.]*\)) ms.*/\1 \/ \2/p' "$SC_DIR/pgbench.log")
	SC_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$SC_DIR/pgbench.log")
}

# sq: a query with the two statistics documents (:'s1', :'s2'), the start
# (:t0), the window bounds (:w0, :w1 as timestamptz) and its length in
# minutes (:wmin).  Prints unaligned rows.
sq() {
	bq -v s1="$(cat "$SC_DIR/s1.json")" -v s2="$(cat "$SC_DIR/s2.json")" \
		-v t0="$T0" -v w0="to_timestamp($T0 + $WARMUP)" -v w1="to_timestamp($T0 + $DURATION)" \
		-v wmin="$WINDOW_MIN" "$@"
}

# per_minute [KEY_LABEL]: successful calls in each minute of the run, from
# aigov.attempts ("m1 / m2 / ..."), for one key or all.
per_minute() {
	sq -v key="${1:-}" <<'SQL'
SELECT string_agg(n::text, ' / ' ORDER BY m) FROM (
	SELECT floor((extract(epoch FROM a.finished_at) - :t0) / 60) AS m, count(*) AS n
	  FROM aigov.attempts a LEFT JOIN aigov.keys k USING (key_id)
	 WHERE a.error_class = 'success' AND a.finished_at < :w1
	   AND (:'key' = '' OR k.label = :'key')
	 GROUP BY 1) x
SQL
}

# dispatch_diag: how hard the dispatcher worked for the calls it made:
# "claims per provider call / median and p90 gap between two sends after
# the warm-up / dispatcher CPU seconds" (the cluster is fresh per scenario,
# so worker_status and the process times cover this scenario only).
dispatch_diag() {
	local cpu
	read -r -a cpu <<<"$(bench_cpu_snapshot)"
	sq -v cpu="$(awk -v t="${cpu[1]}" -v hz="$BENCH_CLK_TCK" 'BEGIN {printf "%.1f", t / hz}')" <<'SQL'
SELECT round((SELECT sum(claimed) FROM aigov.worker_status())::numeric
		/ nullif((SELECT count(*) FROM aigov.attempts), 0), 2)
	|| ' / ' || COALESCE(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)::numeric), 0)
	|| ' / ' || COALESCE(round(percentile_cont(0.9) WITHIN GROUP (ORDER BY gap)::numeric), 0)
	|| ' ms / ' || :'cpu' || ' s'
  FROM (SELECT extract(epoch FROM started_at - lag(started_at) OVER (ORDER BY started_at)) * 1000 AS gap
	  FROM aigov.attempts WHERE started_at >= :w0 AND started_at < :w1) g
SQL
}

SUMMARY=()
DETAIL=()
FAILED=0

# verdict MEASURED OP TARGET: "yes" or "no".
verdict() { awk -v m="$1" -v t="$3" -v op="$2" 'BEGIN {
	ok = (op == "<=") ? m <= t : (op == ">=") ? m >= t : (op == "<") ? m < t : (op == "==") ? m == t : 0
	print ok ? "yes" : "**no**" }'; }

sum_row() { SUMMARY+=("$(bench_row "$@")"); }

# ---------- scenarios 1 and 2: one key, known or learned limits ----------

one_key() {
	local mode=$1 limits res
	if [ "$mode" = known ]; then limits="600, 60000"; else limits="NULL, NULL"; fi
	scenario_start "$mode" \
		'[{"secret": "sk-q-1", "label": "k1", "provider": "openai", "rpm": 600, "tpm": 60000}]' \
		"INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 1000000, 10000000000, 10000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('t1', 'big');
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES ('openai', 'k1', 'sk-q-1', $limits);" ||
		return 1
	# 1,800 submits a minute: three times the key's 600
	run_load 30 "$(script t1 86 0)" || return 1
	res=$(sq <<'SQL'
WITH a AS (SELECT :'s1'::jsonb #> '{keys,k1}' AS k), b AS (SELECT :'s2'::jsonb #> '{keys,k1}' AS k),
n AS (SELECT (b.k->>'requests')::numeric AS req, (b.k->>'rate_limited_total')::numeric + (b.k->>'too_large')::numeric AS rl,
	(b.k->>'successes')::numeric AS ok,
	(b.k->>'requests')::numeric - (a.k->>'requests')::numeric AS wreq,
	(b.k->>'rate_limited_total')::numeric + (b.k->>'too_large')::numeric
	  - (a.k->>'rate_limited_total')::numeric - (a.k->>'too_large')::numeric AS wrl,
	(b.k->>'successes')::numeric - (a.k->>'successes')::numeric AS wok,
	b.k->'rate_limited' AS rl_by
	FROM a, b)
SELECT req, rl, round(1000 * rl / nullif(req, 0), 2),
	wreq, wrl, round(1000 * wrl / nullif(wreq, 0), 2),
	round(wok / :wmin, 1), round(100 * wok / :wmin / 600, 1),
	(SELECT round(count(*) / :wmin, 1) FROM aigov.attempts
	  WHERE error_class = 'success' AND finished_at >= :w0 AND finished_at < :w1),
	(SELECT count(*) FROM aigov.attempts WHERE error_class LIKE 'rate_limit%'),
	(SELECT count(*) FILTER (WHERE status = 'accepted') || ' / ' || count(*) FILTER (WHERE status = 'rejected') FROM bench_submits),
	(SELECT count(*) FROM aigov.requests WHERE state = 'queued'),
	rl_by
  FROM n
SQL
	) || return 1
	IFS='|' read -r req rl per1000 wreq wrl wper1000 gpm gpct att_gpm att_rl subs backlog rl_by <<<"$res"
	DETAIL+=("$(bench_row "$mode" "$SC_LOAD" "$SC_PGBENCH ($SC_FAILED failed)" "$subs" "$req / $rl" "**$per1000**" \
		"$wreq / $wrl" "**$wper1000**" "$gpm ($att_gpm)" "**$gpct %**" "$(per_minute)" "$(dispatch_diag)" "$att_rl" "$backlog" "${SC_LAG:-?}" "$rl_by")")
	if [ "$mode" = known ]; then
		sum_row "1. known limits" "provider 429s per 1,000 requests (whole run)" "<= 1" "$per1000" "$(verdict "$per1000" '<=' 1)"
		sum_row "1. known limits" "goodput after ${WARMUP}s, % of 600/min" ">= 95 %" "$gpct %" "$(verdict "$gpct" '>=' 95)"
	else
		sum_row "2. learned limits" "provider 429s per 1,000 requests after ${WARMUP}s (whole run)" "<= 1" "$wper1000 ($per1000)" "$(verdict "$wper1000" '<=' 1)"
		sum_row "2. learned limits" "goodput after ${WARMUP}s, % of 600/min" ">= 95 %" "$gpct %" "$(verdict "$gpct" '>=' 95)"
	fi
}

# ---------- scenario 3: token-bound ----------

tokens() {
	local res
	scenario_start tokens \
		'[{"secret": "sk-q-1", "label": "k1", "provider": "openai", "rpm": 10000, "tpm": 200000}]' \
		"INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 1000000, 10000000000, 10000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('t1', 'big');
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES ('openai', 'k1', 'sk-q-1', 10000, 200000);" ||
		return 1
	# 16,000 x 5 bytes of filler: ~20,000 prompt tokens, + 50 of output
	# budget; 30 jobs a minute is three times what 200,000 TPM allows (at
	# such low rates a Poisson schedule needs the margin to keep a backlog)
	run_load 0.5 "$(script t1 50 16000)" || return 1
	res=$(sq <<'SQL'
WITH a AS (SELECT :'s1'::jsonb #> '{keys,k1}' AS k), b AS (SELECT :'s2'::jsonb #> '{keys,k1}' AS k)
SELECT (b.k->>'requests'), (b.k #>> '{rate_limited,tpm}'), (b.k->>'rate_limited_total'), (b.k->>'too_large'),
	round(((b.k->>'tokens_charged')::numeric - (a.k->>'tokens_charged')::numeric) / :wmin),
	round(100 * ((b.k->>'tokens_charged')::numeric - (a.k->>'tokens_charged')::numeric) / :wmin / 200000, 1),
	round(((b.k->>'successes')::numeric - (a.k->>'successes')::numeric) / :wmin, 2),
	(SELECT round(avg(est_tokens)) FROM aigov.requests),
	(SELECT round(avg(prompt_tokens + completion_tokens)) FROM aigov.requests WHERE state = 'succeeded'),
	(SELECT count(*) FROM aigov.attempts WHERE error_class LIKE 'rate_limit%')
  FROM a, b
SQL
	) || return 1
	IFS='|' read -r req tpm429 rl large tpm_used util spm est actual att_rl <<<"$res"
	DETAIL+=("$(bench_row tokens "$SC_LOAD" "$SC_PGBENCH ($SC_FAILED failed)" "$req" "**$tpm429**" "$rl" "$large" \
		"$tpm_used" "**$util %**" "$spm" "$(per_minute)" "$est / $actual" "$att_rl")")
	sum_row "3. token-bound" "TPM 429s" "0" "$tpm429" "$(verdict "$tpm429" '==' 0)"
	sum_row "3. token-bound" "TPM utilisation after ${WARMUP}s" ">= 90 %" "$util %" "$(verdict "$util" '>=' 90)"
}

# ---------- scenario 4: key pool ----------

pool() {
	local res k rpm line= worst=1000 rl_total=0
	scenario_start pool \
		'[{"secret": "sk-q-1", "label": "k600", "provider": "openai", "rpm": 600, "tpm": 60000},
  {"secret": "sk-q-2", "label": "k300", "provider": "openai", "rpm": 300, "tpm": 30000},
  {"secret": "sk-q-3", "label": "k100", "provider": "openai", "rpm": 100, "tpm": 10000}]' \
		"INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('big', 1000000, 10000000000, 10000000000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('t1', 'big');
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES
	('openai', 'k600', 'sk-q-1', 600, 60000), ('openai', 'k300', 'sk-q-2', 300, 30000),
	('openai', 'k100', 'sk-q-3', 100, 10000);" ||
		return 1
	# 1,500 a minute against 1,000 in all
	run_load 25 "$(script t1 86 0)" || return 1
	for k in k600:600 k300:300 k100:100; do
		rpm=${k#*:}
		k=${k%:*}
		res=$(sq -v key="$k" -v rpm="$rpm" <<'SQL'
WITH a AS (SELECT :'s1'::jsonb #> ARRAY['keys', :'key'] AS k), b AS (SELECT :'s2'::jsonb #> ARRAY['keys', :'key'] AS k)
SELECT b.k->>'requests', (b.k->>'rate_limited_total')::int + (b.k->>'too_large')::int,
	round(((b.k->>'successes')::numeric - (a.k->>'successes')::numeric) / :wmin, 1),
	round(100 * ((b.k->>'successes')::numeric - (a.k->>'successes')::numeric) / :wmin / :rpm, 1),
	round(100 * ((b.k->>'tokens_charged')::numeric - (a.k->>'tokens_charged')::numeric) / :wmin / (:rpm * 100), 1)
  FROM a, b
SQL
		) || return 1
		IFS='|' read -r req rl spm util tutil <<<"$res"
		DETAIL+=("$(bench_row "pool $k" "$SC_LOAD" "$SC_PGBENCH ($SC_FAILED failed)" "$rpm" "$req" "**$rl**" "$spm" "**$util %**" "$tutil %" "$(per_minute "$k")")")
		rl_total=$((rl_total + rl))
		worst=$(awk -v a="$worst" -v b="$util" 'BEGIN {print (b < a) ? b : a}')
		line="${line:+$line, }$k $util %"
	done
	POOL_DIAG=$(dispatch_diag)
	sum_row "4. key pool" "utilisation of each key after ${WARMUP}s (lowest)" ">= 90 %" "$line (lowest $worst %)" "$(verdict "$worst" '>=' 90)"
	sum_row "4. key pool" "provider 429s, all keys" "0" "$rl_total" "$(verdict "$rl_total" '==' 0)"
}

# ---------- scenario 5: noisy neighbour ----------

noisy() {
	local res t
	scenario_start noisy \
		'[{"secret": "sk-q-1", "label": "n1", "provider": "openai", "rpm": 300, "tpm": 60000},
  {"secret": "sk-q-2", "label": "n2", "provider": "openai", "rpm": 300, "tpm": 60000}]' \
		"INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES
	('small', 60, 1000000, 1000000000), ('std', 300, 1000000, 1000000000);
INSERT INTO aigov.tenants (tenant_id, tier, hard_cap) VALUES ('A', 'small', true), ('B', 'std', true), ('C', 'std', true);
INSERT INTO aigov.keys (provider, label, secret, rpm_limit, tpm_limit) VALUES
	('openai', 'n1', 'sk-q-1', 300, 60000), ('openai', 'n2', 'sk-q-2', 300, 60000);" ||
		return 1
	# A: 600/min (10x its 60), B and C: 90/min each (30% of 300); 13/s in all
	run_load 13 "$(script A 86 0)@20" "$(script B 86 0)@3" "$(script C 86 0)@3" || return 1
	# jobs accepted near the end may still be queued: let them finish
	for t in $(seq 1 60); do
		[ "$(bq -c "SELECT count(*) FROM aigov.requests WHERE state IN ('queued', 'in_flight')")" = 0 ] && break
		sleep 1
	done
	for t in A B C; do
		res=$(sq -v tenant="$t" <<'SQL'
WITH s AS (SELECT * FROM bench_submits WHERE tenant_id = :'tenant'),
w AS (SELECT extract(epoch FROM a.started_at - r.created_at) AS wait
	FROM aigov.requests r JOIN aigov.attempts a ON a.job_id = r.id AND a.attempt = 1
	WHERE r.tenant_id = :'tenant')
SELECT (SELECT count(*) FROM s),
	(SELECT count(*) FROM s WHERE status = 'accepted'),
	(SELECT count(*) FROM s WHERE status = 'rejected'),
	(SELECT count(*) FROM s WHERE status = 'rejected' AND retry_at IS NOT NULL AND retry_at > called_at),
	(SELECT count(*) FROM s WHERE status = 'rejected' AND retry_at IS NOT NULL AND retry_at > answered_at),
	(SELECT count(*) FROM s WHERE status = 'rejected' AND retry_at <= answered_at + interval '1 minute' / t.rpm),
	(SELECT round(min(extract(epoch FROM retry_at - called_at))::numeric * 1000, 3) || ' ms / '
	     || round(max(extract(epoch FROM retry_at - answered_at))::numeric, 3) || ' s' FROM s WHERE status = 'rejected'),
	(SELECT string_agg(DISTINCT reason, ',') FROM s WHERE status = 'rejected'),
	(SELECT count(*) FROM aigov.requests WHERE tenant_id = :'tenant' AND state = 'succeeded'),
	(SELECT round(percentile_cont(0.99) WITHIN GROUP (ORDER BY wait)::numeric, 3) FROM w),
	(SELECT round(max(wait)::numeric, 3) FROM w),
	round(60.0 / t.rpm, 3)
  FROM (SELECT COALESCE(tn.rpm, tr.rpm) AS rpm FROM aigov.tenants tn JOIN aigov.tiers tr USING (tier)
	WHERE tn.tenant_id = :'tenant') t
SQL
		) || return 1
		IFS='|' read -r calls acc rej rej_future rej_after_answer rej_within max_retry reasons ok p99 maxw interval <<<"$res"
		DETAIL+=("$(bench_row "noisy $t" "$SC_LOAD" "$calls" "$acc" "**$rej**" "$rej_future / $rej_after_answer / $rej_within" \
			"${max_retry:--} (${interval} s)" "${reasons:--}" "$ok" "**${p99:-?} s**" "${maxw:-?} s")")
		case $t in
		A)
			sum_row "5. noisy neighbour" "A: rejected (of $calls calls, $acc accepted)" "its excess" "$rej" "-"
			sum_row "5. noisy neighbour" "A: rejections with retry_at after the call / within one refill (${interval} s) of the answer" "all $rej" "$rej_future / $rej_within" \
				"$( [ "$rej" -gt 0 ] && [ "$rej_future" = "$rej" ] && [ "$rej_within" = "$rej" ] && echo yes || echo '**no**')"
			;;
		*)
			sum_row "5. noisy neighbour" "$t: rejections (of $calls calls)" "0" "$rej" "$(verdict "$rej" '==' 0)"
			sum_row "5. noisy neighbour" "$t: p99 queue wait (max)" "< 1 s" "${p99:-?} s (${maxw:-?} s)" "$(verdict "${p99:-99}" '<' 1)"
			;;
		esac
	done
	res=$(sq <<'SQL'
SELECT sum((v->>'rate_limited_total')::int + (v->>'too_large')::int) FROM jsonb_each(:'s2'::jsonb->'keys') AS e(k, v)
SQL
	)
	sum_row "5. noisy neighbour" "provider 429s" "0" "$res" "$(verdict "$res" '==' 0)"
}

# ---------- run ----------

for sc in "${SCENARIOS[@]}"; do
	bench_log "scenario $sc ($MINUTES min), load average $(bench_loadavg)"
	case $sc in
	known | learned) one_key "$sc" ;;
	tokens) tokens ;;
	pool) pool ;;
	noisy) noisy ;;
	esac || {
		bench_log "scenario $sc could not run"
		sum_row "$sc" "could not run" "-" "-" "**no**"
		FAILED=1
	}
	scenario_stop
done

echo
echo "aigov quota benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $START_LOAD"
echo "code: $BENCH_CODE"
echo "load: pgbench -c 4 -j 1 --rate R -T $DURATION with bench/pgbench/submit.sql; window 'after the first minute' = [${WARMUP}s, ${DURATION}s]"
echo "aigov: default settings (one dispatcher); emulator: 2 threads"
for sc in "${SCENARIOS[@]}"; do
	case $sc in
	known | learned)
		[ -n "${hdr1:-}" ] && continue
		hdr1=1
		echo
		echo "scenarios 1-2 (one key rpm 600 / tpm 60,000; offered 1,800/min of ~100-token jobs)"
		bench_row scenario "load avg" "pgbench calls" "accepted / rejected" "emulator requests / 429s" "429s per 1,000" \
			"after warm-up: requests / 429s" "429s per 1,000 after warm-up" "successes/min after warm-up (aigov.attempts)" "goodput % of 600/min" \
			"successes in minute 1 / 2 / ... (aigov.attempts)" "claims per call / send gap p50 / p90 / dispatcher CPU" "aigov rate-limit attempts" "queued at end" "pgbench lag avg / max ms" "emulator 429s by axis"
		bench_row --- --- --- --- --- --- --- --- --- --- --- --- --- --- --- ---
		printf '%s\n' "${DETAIL[@]}" | grep -E '^\| (known|learned) '
		;;
	tokens)
		echo
		echo "scenario 3 (one key tpm 200,000 / rpm 10,000; ~20,000-token jobs offered at 30/min)"
		bench_row scenario "load avg" "pgbench calls" "emulator requests" "TPM 429s" "all 429s" "too large" \
			"tokens charged/min after warm-up" "TPM utilisation" "successes/min after warm-up" "successes in minute 1 / 2 / ..." "aigov est_tokens / actual tokens per job" "aigov rate-limit attempts"
		bench_row --- --- --- --- --- --- --- --- --- --- --- --- ---
		printf '%s\n' "${DETAIL[@]}" | grep -E '^\| tokens '
		;;
	pool)
		echo
		echo "scenario 4 (keys rpm 600 / 300 / 100, tpm 100 per request; offered 1,500/min of ~100-token jobs)"
		bench_row key "load avg" "pgbench calls" "rpm" "emulator requests" "429s" "successes/min after warm-up" "request utilisation" "token utilisation" "successes in minute 1 / 2 / ..."
		bench_row --- --- --- --- --- --- --- --- --- ---
		printf '%s\n' "${DETAIL[@]}" | grep -E '^\| pool '
		echo "claims per call / send gap p50 / p90 (all keys) / dispatcher CPU: ${POOL_DIAG:-?}"
		;;
	noisy)
		echo
		echo "scenario 5 (A tier rpm 60 at 600/min, B and C tier rpm 300 at 90/min; keys 2 x rpm 300)"
		bench_row tenant "load avg" "submit() calls" accepted rejected "rejected: retry_at after the call / after the answer / within one refill of the answer" \
			"min retry_at - call / max retry_at - answer (refill)" reason succeeded "p99 queue wait" "max queue wait"
		bench_row --- --- --- --- --- --- --- --- --- --- ---
		printf '%s\n' "${DETAIL[@]}" | grep -E '^\| noisy '
		;;
	esac
done
echo
echo "summary: target vs measured"
bench_row scenario figure target measured met
bench_row --- --- --- --- ---
printf '%s\n' "${SUMMARY[@]}"
echo "load average at end: $(bench_loadavg)"
exit $FAILED
