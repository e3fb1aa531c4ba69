# A throwaway PostgreSQL for the tests, sourced: pg_start starts one from
# Debian's server binaries (scripts/install-deps installs them) in a
# temporary directory, listening on 127.0.0.1 at a free port and on a unix
# socket in that directory, with a database "cascade"; it sets PG_URL.
# pg_stop (also at exit) stops it and removes the directory.
#
# pg_start returns 2 when the server binaries are missing: the caller
# says "not ok ... postgresql not installed" rather than skipping.

PG_DIR=""
PG_URL=""
PG_BIN=""
PG_AS=""

# The newest installed server's binaries, or nothing.
pg_find_bin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# pg_run CMD...: as the user that owns the cluster (initdb refuses root).
pg_run() {
	if [ -n "$PG_AS" ]; then
		runuser -u "$PG_AS" -- "$@"
	else
		"$@"
	fi
}

pg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
	PG_BIN=$(pg_find_bin) || return 2
	PG_DIR=$(mktemp -d)
	if [ "$(id -u)" -eq 0 ]; then
		# the Debian package's system user; else nobody can run it
		if id postgres >/dev/null 2>&1; then PG_AS=postgres
		else PG_AS=nobody; fi
		chown "$PG_AS" "$PG_DIR"
	fi
	chmod 700 "$PG_DIR"
	if ! pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U cascade -A trust \
	    -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	# a port taken between the probe and the start: try another
	for try in 1 2 3; do
		port=$(pg_free_port) || return 1
		# fsync off: a test database need not survive a power loss
		if pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" \
		    -w -t 60 -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" \
		    start >/dev/null 2>&1; then
			PG_URL="postgresql://cascade@127.0.0.1:$port/cascade"
			"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U cascade \
			    cascade || return 1
			return 0
		fi
	done
	cat "$PG_DIR/log" >&2
	return 1
}

# pg_createdb NAME: one more database; prints its URL.
pg_createdb() {
	port=${PG_URL##*:}
	port=${port%%/*}
	"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U cascade "$1" || return 1
	echo "postgresql://cascade@127.0.0.1:$port/$1"
}

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop \
		    >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=""
}
