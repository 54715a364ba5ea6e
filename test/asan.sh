#!/usr/bin/env bash
# test/asan.sh: runs the PostgreSQL suites against the extension built with
# AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   test/asan.sh                       pg_regress, isolation, every t/*.pl
#   test/asan.sh [regress] [isolation] [t/NNN_name.pl ...]
#
# A manual check, not part of the test command: run it before a change to
# a worker, a parser or anything else that handles memory is called done
# (docs/development.md).  The unit tests and the fuzzers run the pure files
# under the sanitizers; this runs the whole extension inside PostgreSQL,
# glue files included.
#
# The extension is built with -fsanitize=address,undefined into a private
# copy of the PostgreSQL installation (as test/quick.sh does).  The
# server's binary is not instrumented, so the ASan runtime must be the
# first library the process loads: in the copy, bin/postgres becomes a
# small script that starts the real binary with LD_PRELOAD of gcc's
# libasan and the sanitizers' options.  Everything that starts a server
# from the copy (pg_ctl for pg_regress and isolation, PostgreSQL::Test::
# Cluster for the TAP files) goes through it; psql, perl and the emulator
# run as usual.  Leak detection is off: PostgreSQL frees its memory
# contexts wholesale and leaves the rest to process exit.  An ASan error
# aborts the process that made it; UBSan reports and carries on.  Either
# writes a report file, and the script fails if any report file appears,
# whatever the suites said, or if pg_regress or isolation fails.  A TAP
# failure is printed and its logs kept, but does not fail the check by
# itself: some TAP assertions depend on timing the instrumented server
# cannot keep.  Reports are kept in the scratch folder, whose path is
# printed.
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
if [ $# -eq 0 ]; then
	want_regress=1
	want_isolation=1
	taps=(t/*.pl)
fi

LIBASAN=$(gcc -print-file-name=libasan.so)
LIBASAN=$(readlink -f "$LIBASAN")
[ -f "$LIBASAN" ] || { echo "no libasan.so beside gcc ($LIBASAN)" >&2; exit 1; }

trap aigov_cleanup EXIT
trap 'exit 130' INT TERM
aigov_scratch
SAN_DIR="$AIGOV_TMP/sanitizer"
mkdir -p "$SAN_DIR"

aigov_log "building with ASan and UBSan into a private PostgreSQL copy in $AIGOV_TMP/pg"
AIGOV_WFLAGS="$AIGOV_WFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer"
bench_private_build >"$AIGOV_TMP/build.log" 2>&1 || { cat "$AIGOV_TMP/build.log" >&2; exit 1; }
make -s -C "$TREE/emulator" >/dev/null || exit 1
LIBDIR=$("$PG_CONFIG" --pkglibdir)
ldd "$LIBDIR/aigov.so" | grep -q libasan || {
	echo "$LIBDIR/aigov.so is not linked with libasan" >&2
	exit 1
}

# A do-nothing swift_demangle for the ASan runtime to find.  Preloaded into
# an uninstrumented postgres, the runtime initialises late, at the first
# malloc, which libgpg-error's constructor makes inside bindtextdomain()
# while it holds glibc's gettext lock; the runtime then looks up
# swift_demangle, and the failed lookup's dlerror() asks gettext for its
# message and waits for that lock forever (even "postgres -V" hangs).
# With the symbol found, dlerror() has no message to translate.
cat >"$AIGOV_TMP/swift_stub.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
char	   *swift_demangle(const char *name, size_t len, char *out,
						   size_t *outlen, uint32_t flags);
char *
swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
			   uint32_t flags)
{
	return NULL;				/* not demangled */
}
EOF
gcc -shared -fPIC -o "$AIGOV_TMP/libswift_stub.so" "$AIGOV_TMP/swift_stub.c" || exit 1

# bin/postgres of the copy: the real binary under the sanitizers' runtime.
BINDIR=$(aigov_pg_bindir)
mv "$BINDIR/postgres" "$BINDIR/postgres.unsanitized"
cat >"$BINDIR/postgres" <<EOF
#!/bin/sh
# test/asan.sh: the server with the ASan runtime loaded first.
LD_PRELOAD="$LIBASAN:$AIGOV_TMP/libswift_stub.so\${LD_PRELOAD:+:\$LD_PRELOAD}" \\
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$SAN_DIR/asan" \\
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$SAN_DIR/ubsan" \\
	exec "$BINDIR/postgres.unsanitized" "\$@"
EOF
chmod 755 "$BINDIR/postgres"

SUITE_DIR="$AIGOV_TMP/suite"
mkdir -p "$SUITE_DIR/bin"
cp -r "$TREE"/sql "$TREE"/expected "$TREE"/docs "$SUITE_DIR/"
[ -d "$TREE/specs" ] && cp -r "$TREE/specs" "$SUITE_DIR/"
cp -r "$TREE/t" "$SUITE_DIR/"
cp -r "$TREE/test/fixtures" "$SUITE_DIR/" 2>/dev/null
cp "$TREE/emulator/aigov-emulator" "$SUITE_DIR/bin/"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$AIGOV_TMP"

PGXS_DIR=$(aigov_pgxs_dir)
status=0
tap_failed=0
if [ $want_regress = 1 ] || [ $want_isolation = 1 ]; then
	aigov_cluster_start || exit 1
	if [ $want_regress = 1 ]; then
		aigov_log "pg_regress"
		aigov_as_pg "$PGXS_DIR/src/test/regress/pg_regress" \
			--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/regress" \
			--bindir="$BINDIR" --host="$PGHOST" --port="$PGPORT" \
			--user="$PGUSER" --dbname=aigov_regress \
			$(make -s --no-print-directory -C "$TREE" print-REGRESS) || status=1
	fi
	if [ $want_isolation = 1 ]; then
		aigov_log "isolation"
		aigov_as_pg "$PGXS_DIR/src/test/isolation/pg_isolation_regress" \
			--inputdir="$SUITE_DIR" --outputdir="$SUITE_DIR/isolation" \
			--bindir="$BINDIR" --host="$PGHOST" --port="$PGPORT" \
			--user="$PGUSER" --dbname=aigov_isolation \
			$(make -s --no-print-directory -C "$TREE" print-ISOLATION) || status=1
	fi
	aigov_cluster_stop
fi
if [ ${#taps[@]} -gt 0 ]; then
	aigov_log "TAP: ${taps[*]}"
	(cd "$SUITE_DIR" && aigov_as_pg env \
		PERL5LIB="$PGXS_DIR/src/test/perl" \
		PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
		TESTDIR="$SUITE_DIR" AIGOV_EMULATOR="$SUITE_DIR/bin/aigov-emulator" \
		AIGOV_FIXTURES="$SUITE_DIR/fixtures" \
		prove "${taps[@]}") || tap_failed=1
fi

# Reports land in the server logs as well: the postmaster writes its
# process titles over the memory of its environment, where the runtime
# reads log_path, so the processes it starts often report to stderr.
reports=$(
	find "$SAN_DIR" -type f
	grep -l -E 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' \
		"$AIGOV_TMP/postgres.log" "$SUITE_DIR"/tmp_check/log/*.log 2>/dev/null
)
reports=$(echo "$reports" | sed '/^$/d' | sort)
if [ -n "$reports" ]; then
	aigov_log "sanitizer reports:"
	for f in $reports; do
		echo "--- $f"
		grep -E -A40 'ERROR: AddressSanitizer|runtime error:' "$f" | head -200
	done
	status=1
else
	aigov_log "no sanitizer report"
fi
if [ $tap_failed = 1 ]; then
	# Not a failure of this check by itself: the instrumented server is
	# several times slower, and TAP assertions with short timeouts (a 1 s
	# aigov.request_timeout, the wake-up of an idle worker) or memory
	# bounds (ASan keeps freed blocks in quarantine) can miss under it.
	aigov_log "some TAP tests failed under the sanitizers; read the logs kept below"
	AIGOV_KEEP_TMP=1
fi
if [ $status != 0 ] || [ $tap_failed = 1 ]; then
	AIGOV_KEEP_TMP=1
	aigov_log "kept $AIGOV_TMP (reports in sanitizer/, TAP logs under suite/tmp_check)"
fi
exit $status
