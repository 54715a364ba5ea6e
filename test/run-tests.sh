#!/usr/bin/env bash
# test/run-tests.sh: the one test command (`make test`).
#
# Installs missing Debian packages (as root), builds with warnings as errors,
# installs, then runs every suite: static analysis, the format check, cmocka
# unit tests, a brief run of each fuzz target, the emulator's tests,
# pg_regress and isolation tests against a throwaway cluster, and the TAP
# tests.  The cluster and the emulator are stopped even when a suite fails.
# Ends with one line "N passed, N failed" and exits non-zero if anything
# failed.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
cd "$AIGOV_ROOT" || exit 1

PASSED=0
FAILED=0
FAILED_SUITES=()

trap aigov_cleanup EXIT
trap 'exit 130' INT TERM

# count_tap LOG: prints the numbers of ok and not ok lines of a TAP log.
count_tap() {
	echo "$(grep -cE '^[[:space:]]*ok [0-9]+' "$1") $(grep -cE '^[[:space:]]*not ok [0-9]+' "$1")"
}

# suite NAME STATUS LOG PASSED FAILED: records a suite's outcome.  A suite
# that failed without reporting a failed test counts as one failure.
suite() {
	local name=$1 status=$2 log=$3 ok=$4 notok=$5
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + notok))
	if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then
		FAILED=$((FAILED + 1))
		notok=1
	fi
	if [ "$notok" -ne 0 ]; then
		FAILED_SUITES+=("$name")
		aigov_log "$name: $ok passed, $notok failed (log follows)"
		tail -n 60 "$log" >&2
	else
		aigov_log "$name: $ok passed"
	fi
}

aigov_install_deps || exit 1
aigov_scratch
LOGS="$AIGOV_TMP/logs"
mkdir -p "$LOGS"

aigov_log "building"
if ! aigov_build >"$LOGS/build.log" 2>&1; then
	cat "$LOGS/build.log" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# Static analysis of the extension's C code.
aigov_log "static analysis"
cppcheck --quiet --enable=warning,portability --error-exitcode=1 \
	--inline-suppr --std=c11 -Isrc src >"$LOGS/cppcheck.log" 2>&1
st=$?
suite cppcheck $st "$LOGS/cppcheck.log" $((st == 0)) $((st != 0))

# The house limits on file and function size; the architecture's file map.
aigov_log "layout"
./test/layout-check.sh >"$LOGS/layout.log" 2>&1
st=$?
suite layout $st "$LOGS/layout.log" $((st == 0)) $((st != 0))

# pgindent format of the C code, and src/typedefs.list complete.
aigov_log "format check"
test/format-check.sh >"$LOGS/format.log" 2>&1
st=$?
suite format $st "$LOGS/format.log" $((st == 0)) $((st != 0))

# cmocka tests of the pure C modules, under ASan and UBSan.
aigov_log "unit tests"
make -s -j2 -C test/unit check >"$LOGS/unit.log" 2>&1
st=$?
read -r ok notok < <(count_tap "$LOGS/unit.log")
suite unit $st "$LOGS/unit.log" "$ok" "$notok"

# libFuzzer targets of the pure C code, each run briefly from its committed
# seed corpus (test/fuzz/check.sh); one test per target.  Every seed, and
# so every reproducer of a fixed bug, is replayed in full; the fuzzing that
# follows is 3 seconds a target here (8 by hand), since the searching is
# done by the documented longer runs (docs/development.md, Fuzzers).
aigov_log "fuzz targets"
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-3} \
	make -s -j2 -C test/fuzz check >"$LOGS/fuzz.log" 2>&1
st=$?
read -r ok notok < <(count_tap "$LOGS/fuzz.log")
suite fuzz $st "$LOGS/fuzz.log" "$ok" "$notok"

# The provider emulator's own unit and integration tests.
aigov_log "emulator tests"
make -s -C emulator check >"$LOGS/emulator.log" 2>&1
st=$?
read -r ok notok < <(count_tap "$LOGS/emulator.log")
suite emulator $st "$LOGS/emulator.log" "$ok" "$notok"

# Suites that need PostgreSQL run as the postgres OS user from a copy of the
# test files in the scratch folder.
SUITE_DIR="$AIGOV_TMP/suite"
mkdir -p "$SUITE_DIR/bin"
cp -r sql expected "$SUITE_DIR/"
[ -d specs ] && cp -r specs "$SUITE_DIR/"
[ -d t ] && cp -r t "$SUITE_DIR/"
# t/005_runbook.pl runs the SQL blocks of docs/operations.md.
cp -r docs "$SUITE_DIR/"
# t/015_prometheus.pl reads the exporter queries and rules of contrib/prometheus.
cp -r contrib "$SUITE_DIR/"
cp emulator/aigov-emulator "$SUITE_DIR/bin/" 2>/dev/null
cp -r test/fixtures "$SUITE_DIR/" 2>/dev/null
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$AIGOV_TMP"

aigov_log "starting a throwaway cluster"
if ! aigov_cluster_start; then
	echo "$PASSED passed, $((FAILED + 1)) failed"
	exit 1
fi

PGXS_DIR=$(aigov_pgxs_dir)
REGRESS=$(make -s --no-print-directory print-REGRESS)
ISOLATION=$(make -s --no-print-directory print-ISOLATION)

aigov_log "pg_regress"
aigov_as_pg "$PGXS_DIR/src/test/regress/pg_regress" \
	--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/regress" \
	--bindir="$(aigov_pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
	--user="$PGUSER" --dbname=aigov_regress $REGRESS >"$LOGS/regress.log" 2>&1
st=$?
ok=$(grep -cE '\.\.\. ok' "$LOGS/regress.log")
notok=$(grep -cE '\.\.\. (FAILED|failed)' "$LOGS/regress.log")
[ $st -ne 0 ] && [ -f "$SUITE_DIR/regress/regression.diffs" ] &&
	cat "$SUITE_DIR/regress/regression.diffs" >>"$LOGS/regress.log"
suite pg_regress $st "$LOGS/regress.log" "$ok" "$notok"

if [ -n "$ISOLATION" ]; then
	aigov_log "isolation"
	aigov_as_pg "$PGXS_DIR/src/test/isolation/pg_isolation_regress" \
		--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/isolation" \
		--bindir="$(aigov_pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
		--user="$PGUSER" --dbname=aigov_isolation $ISOLATION >"$LOGS/isolation.log" 2>&1
	st=$?
	ok=$(grep -cE '\.\.\. ok' "$LOGS/isolation.log")
	notok=$(grep -cE '\.\.\. (FAILED|failed)' "$LOGS/isolation.log")
	[ $st -ne 0 ] && [ -f "$SUITE_DIR/isolation/regression.diffs" ] &&
		cat "$SUITE_DIR/isolation/regression.diffs" >>"$LOGS/isolation.log"
	suite isolation $st "$LOGS/isolation.log" "$ok" "$notok"
fi

aigov_cluster_stop

# TAP tests start their own clusters (PostgreSQL::Test::Cluster), with
# their own data folders, ports and emulators, so two run at once: most of
# their time is spent waiting for windows and replies, not on a CPU.
# AIGOV_TAP_JOBS=1 runs them one by one.
if compgen -G "$SUITE_DIR/t/*.pl" >/dev/null; then
	aigov_log "TAP tests"
	(cd "$SUITE_DIR" && aigov_as_pg env \
		PERL5LIB="$PGXS_DIR/src/test/perl" \
		PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
		TESTDIR="$SUITE_DIR" AIGOV_EMULATOR="$SUITE_DIR/bin/aigov-emulator" \
		AIGOV_FIXTURES="$SUITE_DIR/fixtures" \
		prove -v --timer -j"${AIGOV_TAP_JOBS:-2}" t/*.pl) >"$LOGS/tap.log" 2>&1
	st=$?
	read -r ok notok < <(count_tap "$LOGS/tap.log")
	suite tap $st "$LOGS/tap.log" "$ok" "$notok"
fi

if [ ${#FAILED_SUITES[@]} -gt 0 ]; then
	aigov_log "failed suites: ${FAILED_SUITES[*]}"
	if [ "${CI:-}" != true ]; then AIGOV_KEEP_TMP=1; aigov_log "logs kept in $LOGS"; fi
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
