#!/bin/bash
#-------------------------------------------------------------------------
# run.sh
#	  Benchmark of aigov-emulator with wrk: throughput at zero latency over
#	  keep-alive connections, then 5,000 concurrent requests held open
#	  with 1 s of injected latency.  Prints the figures and stops the
#	  emulator (always, via trap).
#
# Usage: bench/emulator/run.sh
# Environment (defaults in brackets):
#   DURATION [10]      seconds per wrk run
#   CONNS [100]        connections of the throughput run
#   WRK_THREADS [2]    wrk threads
#   EMU_THREADS [2]    emulator threads (libmicrohttpd pool)
#   SLOW_CONNS [5000]  connections of the latency run
#   LATENCY_MS [1000]  injected latency of the latency run
#
# IDENTIFICATION
#	  bench/emulator/run.sh
#-------------------------------------------------------------------------
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="$ROOT/emulator/aigov-emulator"
DURATION=${DURATION:-10}
CONNS=${CONNS:-100}
WRK_THREADS=${WRK_THREADS:-2}
EMU_THREADS=${EMU_THREADS:-2}
SLOW_CONNS=${SLOW_CONNS:-5000}
LATENCY_MS=${LATENCY_MS:-1000}
TMP=$(mktemp -d /tmp/emu-bench.XXXXXX)
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
make -s -C "$ROOT/emulator" aigov-emulator || exit 1

# wrk needs a descriptor per connection
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SLOW_CONNS + 100)) ]; then
	echo "open file limit $(ulimit -n) is too low for $SLOW_CONNS connections"
	exit 1
fi

# Limits far above what the run can use: admission is exercised on every
# request (bucket arithmetic, headers) without ever refusing.
cat >"$TMP/bench.json" <<'JSON'
{"keys":[{"secret":"sk-bench","label":"bench","provider":"openai",
          "rpm":1000000000,"tpm":1000000000000}]}
JSON

PORT=
for attempt in $(seq 1 40); do
	p=$((18000 + RANDOM % 1000))
	"$BIN" --listen "127.0.0.1:$p" --config "$TMP/bench.json" \
		--threads "$EMU_THREADS" >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for i in $(seq 1 100); do
		grep -q "listening on 127.0.0.1:$p" "$TMP/out" 2>/dev/null && PORT=$p && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$PORT" ] && break
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
done
[ -n "$PORT" ] || { echo "could not start the emulator: $(cat "$TMP/err")"; exit 1; }
BASE="http://127.0.0.1:$PORT"
post() { curl -s -X POST --data-binary "$2" "$BASE/admin/$1" >/dev/null; }
stat() { curl -s "$BASE/admin/stats" | grep -o "\"totals\".*" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }

echo "machine: $(nproc) cores, $(uname -srm); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "emulator: $EMU_THREADS threads on 127.0.0.1:$PORT"
echo

echo "== 1. throughput, zero latency, keep-alive =="
CMD1="wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s -s $HERE/chat.lua $BASE/v1/chat/completions"
echo "\$ $CMD1"
post reset '{"buckets":true}'
$CMD1 | tee "$TMP/wrk1"
echo "emulator counted: requests=$(stat requests) successes=$(stat successes) peak_concurrent=$(stat peak_concurrent)"
echo

echo "== 2. $SLOW_CONNS concurrent requests, ${LATENCY_MS} ms latency =="
post faults "{\"all\":true,\"latency_ms\":$LATENCY_MS}"
post reset '{"buckets":true}'
CMD2="wrk -t$WRK_THREADS -c$SLOW_CONNS -d$((DURATION + 5))s --timeout 10s -s $HERE/chat.lua $BASE/v1/chat/completions"
echo "\$ $CMD2"
$CMD2 | tee "$TMP/wrk2"
echo "emulator counted: requests=$(stat requests) successes=$(stat successes) peak_concurrent=$(stat peak_concurrent)"
PEAK=$(stat peak_concurrent)
post faults '{"all":true,"clear":true}'
echo

RPS1=$(grep -o 'Requests/sec: *[0-9.]*' "$TMP/wrk1" | grep -o '[0-9.]*$')
RPS2=$(grep -o 'Requests/sec: *[0-9.]*' "$TMP/wrk2" | grep -o '[0-9.]*$')
echo "== summary =="
echo "zero-latency throughput: ${RPS1:-?} requests/s ($CONNS connections)"
echo "with ${LATENCY_MS} ms latency: ${RPS2:-?} requests/s, peak $PEAK concurrent requests held"
