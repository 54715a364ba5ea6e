#!/bin/bash
# bench/metrics-scrape.sh: the time of one Prometheus scrape
# (aigov.metrics()) with SCRAPE_HISTORY finished jobs and as many attempts
# in the history, for the current aigov.metrics(), which reads the queue
# and aigov._history_totals, and for the definition of the same function at
# SCRAPE_OLD (a commit), which read the history partitions, loaded beside
# it under other names.  Both are timed by turns in one cluster, so the
# ratio is measured under the same load.  About 2-4 minutes on 2 cores.
#
# Environment: SCRAPE_HISTORY [1000000]  SCRAPE_REPEAT [5]
#	SCRAPE_OLD [a8f64b0]  (the last commit before the rollup)
set -uo pipefail
. "$(dirname "$0")/lib/bench.sh"
SCRAPE_HISTORY=${SCRAPE_HISTORY:-1000000}
SCRAPE_REPEAT=${SCRAPE_REPEAT:-5}
SCRAPE_OLD=${SCRAPE_OLD:-a8f64b0}
cd "$AIGOV_ROOT" || exit 1
trap aigov_cleanup EXIT
trap 'exit 130' INT TERM
aigov_scratch
aigov_log "building into a private PostgreSQL copy in $AIGOV_TMP/pg"
bench_private_build >"$AIGOV_TMP/build.log" 2>&1 || { cat "$AIGOV_TMP/build.log" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$AIGOV_TMP"
aigov_cluster_start || exit 1
aigov_psql -d postgres -c 'CREATE EXTENSION aigov' || exit 1

# The old functions, renamed, from the install script at SCRAPE_OLD.
git show "$SCRAPE_OLD:sql/aigov--0.1.0.sql" | python3 -c '
import re, sys
s = sys.stdin.read()
out = []
for name in ("queue_wait_histogram", "provider_latency_histogram", "metrics"):
    m = re.search(r"CREATE FUNCTION aigov\.%s\(\).*?\n\$\$;\n" % name, s, re.S)
    out.append(m.group(0))
t = "".join(out)
for name in ("queue_wait_histogram", "provider_latency_histogram", "metrics"):
    t = t.replace("aigov.%s()" % name, "aigov.old_%s()" % name)
print(t)' >"$AIGOV_TMP/old.sql" || exit 1
[ "$(id -u)" -eq 0 ] && chown postgres: "$AIGOV_TMP/old.sql"
aigov_psql -d postgres -f "$AIGOV_TMP/old.sql" || exit 1

aigov_log "writing $SCRAPE_HISTORY jobs and attempts into the history"
aigov_psql -d postgres -v n="$SCRAPE_HISTORY" <<'SQL' || exit 1
SELECT aigov._history_partitions('requests_history', now() - interval '1 day', now()),
	   aigov._history_partitions('attempts_history', now() - interval '1 day', now());
INSERT INTO aigov.requests_history (id, tenant_id, task_type, workload_class, priority, model, body,
		est_tokens, state, attempts, failures, not_before, created_at, finished_at,
		served_provider, served_model, degraded, admitted, error_class, vstart)
SELECT -i, 'bench', 'chat', (ARRAY['interactive', 'background', 'batch'])[i % 3 + 1], 0, 'gpt-4o-mini',
	   '{"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "old"}]}',
	   26, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1, (i % 50 = 0)::int,
	   f - interval '2 seconds', f - interval '2 seconds', f, 'openai', 'gpt-4o-mini',
	   false, true, CASE WHEN i % 50 = 0 THEN 'server_error' END, 0
  FROM generate_series(1, :n) i,
	   LATERAL (SELECT now() - interval '5 minutes' - (i::float8 / :n) * interval '23 hours 54 minutes' AS f) t;
INSERT INTO aigov.attempts_history (id, job_id, tenant_id, attempt, provider, model, http_status,
		error_class, latency_ms, started_at, finished_at, est_tokens)
SELECT -r.id, r.id, r.tenant_id, 1, 'openai', r.model,
	   CASE WHEN r.state = 'failed' THEN 500 ELSE 200 END,
	   CASE WHEN r.state = 'failed' THEN 'server_error' ELSE 'success' END,
	   200 + (r.id % 300), r.finished_at - interval '300 ms', r.finished_at, 26
  FROM aigov.requests_history r;
VACUUM ANALYZE aigov.requests_history, aigov.attempts_history;
SQL

for i in $(seq 1 "$SCRAPE_REPEAT"); do
	for f in old_metrics metrics; do
		ms=$(aigov_psql -d postgres -At <<SQL
SELECT extract(epoch FROM clock_timestamp() - t) * 1000
  FROM (SELECT clock_timestamp() AS t) s, LATERAL (SELECT length(aigov.$f()) AS l) m;
SQL
		)
		echo "run $i $f ${ms%%.*} ms"
	done
done | tee "$AIGOV_TMP/times"
for f in old_metrics metrics; do
	awk -v f="$f" '$3 == f { print $4 }' "$AIGOV_TMP/times" | sort -n |
		awk -v f="$f" '{ a[NR] = $1 } END { printf "%s median %s ms of %d\n", f, a[int((NR + 1) / 2)], NR }'
done
