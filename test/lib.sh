# test/lib.sh: shared set-up for the test runner, the demo and the benchmarks.
#
# Sourced, not run.  Installs missing Debian packages (as root), builds and
# installs aigov, and runs throwaway clusters as the postgres OS user in a
# mktemp -d folder that user owns, since initdb and postgres refuse root and
# the clone may sit where that user cannot enter.

AIGOV_ROOT=${AIGOV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PG_CONFIG=${PG_CONFIG:-pg_config}
AIGOV_PACKAGES=(
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libcmocka-dev
	libipc-run-perl pkg-config gcc make curl wrk cppcheck util-linux
	procps iproute2 pg-bsd-indent
	clang libclang-rt-14-dev llvm
	prometheus prometheus-postgres-exporter
)
AIGOV_WFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare"

aigov_log() { printf '== [%4ds] %s\n' "$SECONDS" "$*" >&2; }

# Installs whatever of AIGOV_PACKAGES is missing, quietly; a no-op when all
# are present, so it is safe to call on every run.
aigov_install_deps() {
	local missing=() p
	for p in "${AIGOV_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		aigov_log "missing packages: ${missing[*]} (run as root to install them)"
		return 1
	fi
	aigov_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

aigov_pg_bindir() { "$PG_CONFIG" --bindir; }
aigov_pgxs_dir() { dirname "$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")"; }

# Builds the extension (warnings are errors) and the emulator, installs the
# extension.
aigov_build() {
	make -C "$AIGOV_ROOT" -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$AIGOV_WFLAGS" all >/dev/null &&
		make -C "$AIGOV_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null &&
		make -C "$AIGOV_ROOT/emulator" -s >/dev/null
}

# Runs a command as the postgres OS user when we are root, else as ourselves.
aigov_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$(aigov_pg_bindir):$PATH" "$@"
	else
		env PATH="$(aigov_pg_bindir):$PATH" "$@"
	fi
}

# A scratch folder the postgres user owns; removed by aigov_cleanup.
aigov_scratch() {
	AIGOV_TMP=$(mktemp -d /tmp/aigov.XXXXXX)
	chmod 755 "$AIGOV_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$AIGOV_TMP"
	return 0
}

aigov_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Picks a free TCP port in [lo, hi].
aigov_free_port() {
	local lo=${1:-20000} hi=${2:-29999} p i
	for i in $(seq 1 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		aigov_port_free "$p" && { echo "$p"; return 0; }
	done
	return 1
}

# Starts a cluster with aigov preloaded.  Sets PGHOST, PGPORT, PGDATA,
# PGUSER; extra postgresql.conf lines come from $AIGOV_EXTRA_CONF.
aigov_cluster_start() {
	PGDATA="$AIGOV_TMP/data"
	PGPORT=$(aigov_free_port 20000 29999) || return 1
	PGHOST="$AIGOV_TMP"
	PGUSER=postgres
	[ "$(id -u)" -ne 0 ] && PGUSER=$(id -un)
	export PGDATA PGPORT PGHOST PGUSER
	aigov_as_pg initdb -D "$PGDATA" -A trust -U "$PGUSER" --no-sync >"$AIGOV_TMP/initdb.log" 2>&1 || {
		cat "$AIGOV_TMP/initdb.log" >&2
		return 1
	}
	cat >>"$PGDATA/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$AIGOV_TMP'
shared_preload_libraries = 'aigov'
max_connections = 100
log_min_messages = warning
# the emulator listens on loopback, which aigov refuses unless listed
aigov.allowed_hosts = '127.0.0.1'
${AIGOV_EXTRA_CONF:-}
CONF
	aigov_as_pg pg_ctl -D "$PGDATA" -l "$AIGOV_TMP/postgres.log" -w -t 60 start >/dev/null || {
		cat "$AIGOV_TMP/postgres.log" >&2
		return 1
	}
	AIGOV_CLUSTER_UP=1
}

aigov_cluster_stop() {
	if [ "${AIGOV_CLUSTER_UP:-0}" = 1 ]; then
		aigov_as_pg pg_ctl -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			aigov_as_pg pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1
		AIGOV_CLUSTER_UP=0
	fi
}

# Stops the cluster and the emulator and removes the scratch folder; safe
# to call more than once, and meant for an EXIT trap.
aigov_cleanup() {
	aigov_cluster_stop
	if [ -n "${AIGOV_EMULATOR_PID:-}" ]; then
		kill "$AIGOV_EMULATOR_PID" 2>/dev/null
		wait "$AIGOV_EMULATOR_PID" 2>/dev/null
		AIGOV_EMULATOR_PID=
	fi
	[ -n "${AIGOV_TMP:-}" ] && [ "${AIGOV_KEEP_TMP:-0}" != 1 ] && rm -rf "$AIGOV_TMP"
	return 0
}

aigov_psql() { aigov_as_pg psql -X -v ON_ERROR_STOP=1 -q "$@"; }
