# bench/lib/bench.sh: shared set-up of bench/dispatch.sh, bench/quota.sh
# and bench/memory.sh.
#
# Sourced, not run.  Builds on test/lib.sh (packages, build, scratch folder,
# cleanup) and adds what the benchmarks need on top: a cluster and an
# emulator on ports of the benchmarks' own range, so they never collide
# with the test suites running on the same machine, a psql session kept
# open across several statements (so its backend's CPU time can be
# counted), CPU and memory readings from /proc, and small formatting
# helpers.

. "$(dirname "${BASH_SOURCE[0]}")/../../test/lib.sh"

BENCH_PORT_LO=${BENCH_PORT_LO:-40000}
BENCH_PORT_HI=${BENCH_PORT_HI:-44999}
BENCH_CLK_TCK=$(getconf CLK_TCK)

bench_log() { printf '== %s\n' "$*" >&2; }

# bench_private_build: builds the extension and the emulator from a copy of
# the working tree's sources (no build products) and installs the extension
# into a private copy of the PostgreSQL installation in $AIGOV_TMP/pg, with
# aigov_build and PG_CONFIG pointing at the copy.  The machine's own
# PostgreSQL is shared with the test suites of other jobs, which install
# their own builds of aigov into it (instrumented ones, too) at any moment:
# a benchmark that restarts its cluster between runs must load the same,
# optimised library every time.  PostgreSQL's binaries find their library
# and share folders relative to their own location, so a copy of the
# tree under another prefix works as it is.  Sets BENCH_CODE (what was
# built).  BENCH_PRIVATE_PG=0 uses the shared installation instead.
bench_private_build() {
	local sys_bindir path src=$AIGOV_TMP/src pg=$AIGOV_TMP/pg
	BENCH_CODE="$(git -C "$AIGOV_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	if [ -n "$(git -C "$AIGOV_ROOT" status --porcelain -- src sql emulator Makefile aigov.control 2>/dev/null)" ]; then
		BENCH_CODE="$BENCH_CODE + uncommitted changes of $(date -u '+%Y-%m-%d %H:%M UTC')"
	fi
	if [ "${BENCH_PRIVATE_PG:-1}" = 0 ]; then
		aigov_build
		return
	fi
	sys_bindir=$("$PG_CONFIG" --bindir)
	mkdir -p "$pg" "$src"
	for path in "$(dirname "$sys_bindir")" "$("$PG_CONFIG" --sharedir)" \
		"$(dirname "$("$PG_CONFIG" --includedir-server)")"; do
		mkdir -p "$pg$(dirname "$path")"
		cp -a "$path" "$pg$(dirname "$path")/" || return 1
	done
	tar -C "$AIGOV_ROOT" -cf - --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		--exclude='emulator/aigov-emulator' --exclude='emulator/test' \
		Makefile aigov.control src sql emulator test/lib.sh | tar -C "$src" -xf - || return 1
	AIGOV_ROOT=$src
	PG_CONFIG="$pg$sys_bindir/pg_config"
	MAKEFLAGS="-j$(nproc)" aigov_build
}
# bench_stop_pids PID...: stops the bench's own background helpers (load
# generators, samplers) and waits for each; empty arguments are skipped.
# A bare `wait` would also wait for the emulator, which aigov_cleanup stops.
bench_stop_pids() {
	local p
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_cluster_start: as aigov_cluster_start, on a port of the benchmark
# range, with $AIGOV_EXTRA_CONF appended.  The range lies inside Linux's
# ephemeral port range, so a port that looked free may be taken by an
# outgoing connection (the dispatchers open thousands) before the server
# binds it: the start is retried on another port.
bench_cluster_start() {
	local attempt
	PGDATA="$AIGOV_TMP/data"
	PGHOST="$AIGOV_TMP"
	PGUSER=postgres
	export PGDATA PGHOST PGUSER
	aigov_as_pg initdb -D "$PGDATA" -A trust -U "$PGUSER" --no-sync >"$AIGOV_TMP/initdb.log" 2>&1 || {
		cat "$AIGOV_TMP/initdb.log" >&2
		return 1
	}
	cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$AIGOV_TMP'
shared_preload_libraries = 'aigov'
max_connections = 100
log_min_messages = warning
aigov.database = 'postgres'
# the emulator listens on loopback, which aigov refuses unless listed
aigov.allowed_hosts = '127.0.0.1'
${AIGOV_EXTRA_CONF:-}
CONF
	for attempt in 1 2 3 4 5; do
		PGPORT=$(aigov_free_port "$BENCH_PORT_LO" "$BENCH_PORT_HI") || return 1
		export PGPORT
		# the last "port" line wins
		echo "port = $PGPORT" >>"$PGDATA/postgresql.conf"
		: >"$AIGOV_TMP/postgres.log" && chown postgres: "$AIGOV_TMP/postgres.log"
		if aigov_as_pg pg_ctl -D "$PGDATA" -l "$AIGOV_TMP/postgres.log" -w -t 60 start >/dev/null; then
			AIGOV_CLUSTER_UP=1
			return 0
		fi
		grep -q 'could not bind\|could not create any TCP/IP sockets' "$AIGOV_TMP/postgres.log" || break
		bench_log "port $PGPORT was taken meanwhile, trying another"
	done
	tail -20 "$AIGOV_TMP/postgres.log" >&2
	return 1
}

# bench_cluster_restart: fast restart (postmaster settings such as
# aigov.workers, set with ALTER SYSTEM, take effect).
bench_cluster_restart() {
	aigov_as_pg pg_ctl -D "$PGDATA" -m fast -w -t 60 restart -l "$AIGOV_TMP/postgres.log" >/dev/null || {
		tail -20 "$AIGOV_TMP/postgres.log" >&2
		return 1
	}
}

bench_postmaster_pid() { head -1 "$PGDATA/postmaster.pid"; }

# psql on the served database: unaligned, tuples only, stop on error.
bq() { aigov_as_pg psql -X -v ON_ERROR_STOP=1 -q -At -d postgres "$@"; }

# bench_wait_workers N: until N dispatchers have a pid (max 30 s).
bench_wait_workers() {
	local n=$1 i got
	for i in $(seq 1 300); do
		got=$(bq -c "SELECT count(pid) FROM aigov.worker_status()" 2>/dev/null)
		[ "${got:-0}" -ge "$n" ] && return 0
		sleep 0.1
	done
	bench_log "only ${got:-0} of $n dispatchers started"
	return 1
}

bench_worker_pids() { bq -c "SELECT string_agg(pid::text, ' ' ORDER BY worker) FROM aigov.worker_status() WHERE pid IS NOT NULL"; }

# bench_emulator_start CONFIG: starts aigov-emulator on a free port of the
# range (retrying another if the bind fails); sets EMU_URL.
bench_emulator_start() {
	local cfg=$1 p i attempt
	for attempt in $(seq 1 20); do
		p=$(aigov_free_port "$BENCH_PORT_LO" "$BENCH_PORT_HI") || return 1
		"$AIGOV_ROOT/emulator/aigov-emulator" --listen "127.0.0.1:$p" --config "$cfg" \
			>"$AIGOV_TMP/emulator.log" 2>&1 &
		AIGOV_EMULATOR_PID=$!
		for i in $(seq 1 100); do
			if grep -q "listening on 127.0.0.1:$p" "$AIGOV_TMP/emulator.log"; then
				EMU_URL="http://127.0.0.1:$p"
				return 0
			fi
			kill -0 "$AIGOV_EMULATOR_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$AIGOV_EMULATOR_PID" 2>/dev/null
		wait "$AIGOV_EMULATOR_PID" 2>/dev/null
		AIGOV_EMULATOR_PID=
	done
	cat "$AIGOV_TMP/emulator.log" >&2
	return 1
}

bench_emulator_stop() {
	if [ -n "${AIGOV_EMULATOR_PID:-}" ]; then
		kill "$AIGOV_EMULATOR_PID" 2>/dev/null
		wait "$AIGOV_EMULATOR_PID" 2>/dev/null
		AIGOV_EMULATOR_PID=
	fi
}

emu_get() { curl -sf "$EMU_URL/admin/$1"; }
emu_post() { curl -sf -X POST --data-binary "$2" "$EMU_URL/admin/$1" >/dev/null; }

# emu_stat JSON PATH: one number from a /admin/stats document, with jq-less
# extraction through PostgreSQL's jsonb (PATH is a text[] literal such as
# '{keys,k1,successes}').  Runs as a client of its own, not in a session.
emu_stat() { bq -v doc="$1" -v path="$2" <<<"SELECT COALESCE((:'doc')::jsonb #>> (:'path')::text[], '0')"; }

# ---------- a psql session kept open ----------
#
# bench_session_open NAME starts psql as a coprocess; bench_session NAME SQL
# sends statements and prints their output (unaligned, tuples only), waiting
# for an end marker.  One backend serves every statement, so its CPU time is
# in the cluster's process accounting from start to end.

declare -A BENCH_SESS_IN BENCH_SESS_OUT BENCH_SESS_PID

bench_session_open() {
	local name=$1 infd outfd
	coproc BENCH_COPROC { aigov_as_pg psql -X -q -At -d postgres 2>&1; }
	exec {infd}>&"${BENCH_COPROC[1]}" {outfd}<&"${BENCH_COPROC[0]}"
	BENCH_SESS_IN[$name]=$infd
	BENCH_SESS_OUT[$name]=$outfd
	BENCH_SESS_PID[$name]=$BENCH_COPROC_PID
}

bench_session() {
	local name=$1 sql=$2 line
	# a statement without its semicolon would wait in psql's buffer
	sql="${sql%"${sql##*[![:space:]]}"}"
	[ "${sql: -1}" = ";" ] || sql="$sql;"
	printf '%s\n\\echo __bench_end__\n' "$sql" >&"${BENCH_SESS_IN[$name]}"
	while IFS= read -r -t 900 line <&"${BENCH_SESS_OUT[$name]}"; do
		[ "$line" = __bench_end__ ] && return 0
		printf '%s\n' "$line"
	done
	bench_log "session $name stopped answering"
	return 1
}

bench_session_close() {
	local name=$1
	printf '\\q\n' >&"${BENCH_SESS_IN[$name]}" 2>/dev/null
	exec {BENCH_SESS_IN[$name]}>&- {BENCH_SESS_OUT[$name]}<&-
	wait "${BENCH_SESS_PID[$name]}" 2>/dev/null
}

# ---------- /proc readings ----------

# utime+stime (and with "children", cutime+cstime too) of a pid, in ticks.
bench_proc_ticks() {
	local pid=$1 with_children=${2:-} stat rest
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo 0; return; }
	rest=${stat##*) }
	# after "comm) ": state is field 3, so utime (14) is index 11 here
	set -- $rest
	if [ -n "$with_children" ]; then
		echo $(( ${11} + ${12} + ${13} + ${14} ))
	else
		echo $(( ${11} + ${12} ))
	fi
}

# bench_cpu_snapshot: prints "total workers" CPU ticks of the whole cluster:
# the postmaster (with the time of its children that exited, which the
# kernel adds to its cutime/cstime when it reaps them) plus every live
# child; "workers" is the dispatchers' part.
bench_cpu_snapshot() {
	local pm total=0 workers=0 pid args t
	pm=$(bench_postmaster_pid)
	total=$(bench_proc_ticks "$pm" children)
	while read -r pid args; do
		t=$(bench_proc_ticks "$pid")
		total=$((total + t))
		case $args in
		*"aigov dispatcher"*) workers=$((workers + t)) ;;
		esac
	done < <(ps --ppid "$pm" -o pid=,args=)
	echo "$total $workers"
}

# bench_sys_busy: CPU ticks the whole machine (all cores) spent in
# processes (user, nice, system, steal), from /proc/stat; with
# bench_cpu_snapshot it tells how much CPU other processes took during a
# run.  Interrupt time is left out: it is charged to no process, and most
# of it is the benchmark's own loopback traffic.
bench_sys_busy() { awk '$1 == "cpu" {print $2 + $3 + $4 + $9; exit}' /proc/stat; }

# bench_sys_steal: the part of it the hypervisor gave to other guests
# (steal), which says how busy the host is: this machine is a virtual one,
# and a busy host slows every figure of a run, CPU time per job included.
bench_sys_steal() { awk '$1 == "cpu" {print $9; exit}' /proc/stat; }

# bench_tree_ticks ROOT: CPU ticks of ROOT and every live descendant, each
# with the time of its children that already exited.  For $$ this is the
# benchmark itself: the script, its psql clients and the emulator it
# started (PostgreSQL detaches from it).
bench_tree_ticks() {
	local total=0 pid
	for pid in $(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			want[root] = 1; print root
			do {
				more = 0
				for (i = 1; i <= NR; i++)
					if (!(pids[i] in want) && (parent[pids[i]] in want)) {
						want[pids[i]] = 1; print pids[i]; more = 1
					}
			} while (more)
		}'); do
		total=$((total + $(bench_proc_ticks "$pid" children)))
	done
	echo "$total"
}

# bench_rss PID FIELD: a /proc/PID/status field (VmRSS, RssAnon) in kB.
bench_rss() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------- formatting ----------

bench_row() { printf '| %s ' "$@"; printf '|\n'; }

# bench_prepare: what every benchmark does first: install what is missing,
# a scratch folder, a private build of aigov and the emulator, the open
# file limit raised for thousands of calls in flight; sets START_LOAD.
bench_prepare() {
	aigov_install_deps || return 1
	aigov_scratch
	bench_log "building aigov and the emulator (private PostgreSQL copy in $AIGOV_TMP/pg)"
	bench_private_build || return 1
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	START_LOAD=$(bench_loadavg)
}
