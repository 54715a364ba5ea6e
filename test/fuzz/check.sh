#!/usr/bin/env bash
# test/fuzz/check.sh: runs each libFuzzer target briefly from its seed corpus.
#
#   ./check.sh fuzz_x ...          run these (built) targets; TAP output
#   ./check.sh --options fuzz_x    print the target's libFuzzer options
#
# Each target first replays every input of corpus/<target>/ (so a committed
# reproducer is a regression test), then fuzzes for FUZZ_CHECK_SECONDS
# (default 8) or FUZZ_CHECK_RUNS executions, whichever comes first.  New
# inputs go to a scratch folder, never into the committed corpus.  A crash,
# a leak, a timeout or an out-of-memory fails the target: its log and the
# path of the reproducer libFuzzer saved are printed, and the scratch
# folder is kept.  Exits non-zero if any target failed.
set -uo pipefail

cd "$(dirname "$0")" || exit 2

# options TARGET: the libFuzzer options of a target: its dictionary and the
# input sizes worth trying.
options() {
	case $1 in
	fuzz_headers) echo "-dict=dict/headers.dict -max_len=4096" ;;
	fuzz_protocol) echo "-dict=fuzz_obj/protocol.dict -max_len=16384" ;;
	fuzz_request_fields) echo "-dict=fuzz_obj/request_fields.dict -max_len=4096" ;;
	fuzz_tokens) echo "-dict=dict/json.dict -max_len=16384" ;;
	*) echo "-dict=dict/json.dict -max_len=8192" ;;
	esac
}

if [ "${1:-}" = --options ]; then
	options "$2"
	exit 0
fi

SECONDS_EACH=${FUZZ_CHECK_SECONDS:-8}
RUNS_EACH=${FUZZ_CHECK_RUNS:-2000000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aigov-fuzz.XXXXXX")
n=0
failed=0

echo "1..$#"
for t in "$@"; do
	n=$((n + 1))
	mkdir -p "$WORK/$t"
	log="$WORK/$t.log"
	# shellcheck disable=SC2046 # options() prints several words
	./"$t" -max_total_time="$SECONDS_EACH" -runs="$RUNS_EACH" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 $(options "$t") \
		-artifact_prefix="$WORK/$t-" "$WORK/$t" "corpus/$t" >"$log" 2>&1
	st=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	seeds=$(find "corpus/$t" -type f | wc -l)
	if [ $st -eq 0 ]; then
		echo "ok $n - $t: ${runs:-?} runs from $seeds seeds, ${cov:-cov: ?}"
	else
		failed=1
		echo "not ok $n - $t: exit status $st"
		tail -n 40 "$log" | sed 's/^/# /'
		repro=$(grep -oE "(Test unit written to|written to) [^ ]+" "$log" | awk '{print $NF}' | tail -n 1)
		echo "# reproducer: ${repro:-none saved} (replay: test/fuzz/$t ${repro:-FILE})"
	fi
done
if [ $failed -eq 0 ]; then
	rm -rf "$WORK"
else
	echo "# logs and reproducers kept in $WORK"
fi
exit $failed
