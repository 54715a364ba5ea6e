#!/usr/bin/env bash
# test/quick.sh: runs a few suites against a private build, for development.
#
#   test/quick.sh [regress] [isolation] [t/NNN_name.pl ...]
#
# Builds the extension and the emulator from the working tree into a private
# copy of the PostgreSQL installation (as the benchmarks do), so several
# checkouts can run their tests side by side without installing into the
# machine's PostgreSQL under each other.  Runs pg_regress, the isolation
# specs and the named TAP files.  The full test command remains
# test/run-tests.sh; this one exists to make a change's loop short.
set -uo pipefail

. "$(dirname "$0")/../bench/lib/bench.sh"
TREE=$AIGOV_ROOT
cd "$TREE" || exit 1

want_regress=0
want_isolation=0
taps=()
for a in "$@"; do
	case $a in
		regress) want_regress=1 ;;
		isolation) want_isolation=1 ;;
		t/*.pl) taps+=("$a") ;;
		*) echo "usage: $0 [regress] [isolation] [t/NNN_name.pl ...]" >&2; exit 2 ;;
	esac
done

trap aigov_cleanup EXIT
trap 'exit 130' INT TERM
aigov_scratch
aigov_log "building into a private PostgreSQL copy in $AIGOV_TMP/pg"
bench_private_build >"$AIGOV_TMP/build.log" 2>&1 || { cat "$AIGOV_TMP/build.log" >&2; exit 1; }
make -s -C "$AIGOV_ROOT/emulator" >/dev/null || exit 1

SUITE_DIR="$AIGOV_TMP/suite"
mkdir -p "$SUITE_DIR/bin"
cp -r "$TREE"/sql "$TREE"/expected "$TREE"/docs "$SUITE_DIR/"
# t/015_prometheus.pl reads the exporter queries and rules of contrib/prometheus.
cp -r "$TREE/contrib" "$SUITE_DIR/"
[ -d "$TREE/specs" ] && cp -r "$TREE/specs" "$SUITE_DIR/"
cp -r "$TREE/t" "$SUITE_DIR/"
cp -r "$TREE/test/fixtures" "$SUITE_DIR/" 2>/dev/null
cp "$AIGOV_ROOT/emulator/aigov-emulator" "$SUITE_DIR/bin/"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$AIGOV_TMP"

PGXS_DIR=$(aigov_pgxs_dir)
status=0
if [ $want_regress = 1 ] || [ $want_isolation = 1 ]; then
	aigov_cluster_start || exit 1
	if [ $want_regress = 1 ]; then
		aigov_as_pg "$PGXS_DIR/src/test/regress/pg_regress" \
			--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/regress" \
			--bindir="$(aigov_pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
			--user="$PGUSER" --dbname=aigov_regress \
			$(make -s --no-print-directory -C "$TREE" print-REGRESS) || {
			status=1
			cat "$SUITE_DIR/regress/regression.diffs" 2>/dev/null
		}
	fi
	if [ $want_isolation = 1 ]; then
		aigov_as_pg "$PGXS_DIR/src/test/isolation/pg_isolation_regress" \
			--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/isolation" \
			--bindir="$(aigov_pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
			--user="$PGUSER" --dbname=aigov_isolation \
			$(make -s --no-print-directory -C "$TREE" print-ISOLATION) || {
			status=1
			cat "$SUITE_DIR/isolation/regression.diffs" 2>/dev/null
		}
	fi
	aigov_cluster_stop
fi
if [ ${#taps[@]} -gt 0 ]; then
	(cd "$SUITE_DIR" && aigov_as_pg env \
		PERL5LIB="$PGXS_DIR/src/test/perl" \
		PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
		TESTDIR="$SUITE_DIR" AIGOV_EMULATOR="$SUITE_DIR/bin/aigov-emulator" \
		AIGOV_FIXTURES="$SUITE_DIR/fixtures" \
		prove -v "${taps[@]}") || status=1
	[ $status = 1 ] && AIGOV_KEEP_TMP=1 && aigov_log "kept $AIGOV_TMP (TAP logs under suite/tmp_check)"
fi
exit $status
