#!/usr/bin/env bash
# s3server.sh — install, start and stop versitygw, the real S3-compatible
# server that reverify's tests and dry runs use (see docs/archives.md).
#
#   scripts/s3server.sh install            build versitygw v1.8.0 into the cache (once)
#   scripts/s3server.sh start <data-dir>   start it on a free port; prints export lines:
#                                          eval "$(scripts/s3server.sh start /tmp/s3data)"
#   scripts/s3server.sh stop [pid]         stop it (default: $REVERIFY_TEST_S3_PID)
#   scripts/s3server.sh bin                print the binary's path
#
# The binary lives in ${REVERIFY_CACHE:-$HOME/.cache/reverify}/bin, outside the
# clone, so later runs and CI on the same machine skip the ~3 min build.
# Buckets are folders: `mkdir <data-dir>/<bucket>` (or CreateBucket).
# Progress goes to stderr; only the export lines go to stdout.
set -euo pipefail

VERSION=v1.8.0
MODULE=github.com/versity/versitygw
CACHE="${REVERIFY_CACHE:-$HOME/.cache/reverify}"
BIN_DIR="$CACHE/bin"
BIN="$BIN_DIR/versitygw"

say() { echo "s3server: $*" >&2; }
die() { say "$*"; exit 1; }

# installed_version prints the module version the binary was built from.
installed_version() {
	go version -m "$BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MODULE"'" { print $3 }'
}

cmd_install() {
	if [[ -x "$BIN" ]]; then
		local have
		have="$(installed_version || true)"
		if [[ "$have" == "$VERSION" || -z "$have" && -z "$(command -v go)" ]]; then
			say "versitygw $VERSION already installed at $BIN"
			return 0
		fi
		say "versitygw at $BIN is ${have:-of unknown version}; installing $VERSION"
	fi
	command -v go >/dev/null || die "go is not on PATH; cannot build versitygw"
	mkdir -p "$BIN_DIR"
	say "building $MODULE/cmd/versitygw@$VERSION into $BIN_DIR (about 3 minutes the first time)"
	GOBIN="$BIN_DIR" GOFLAGS=-buildvcs=false go install "$MODULE/cmd/versitygw@$VERSION"
	[[ -x "$BIN" ]] || die "go install finished but $BIN is missing"
	say "installed $BIN"
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

cmd_start() {
	local data="${1:-}"
	[[ -n "$data" ]] || die "usage: s3server.sh start <data-dir>"
	[[ -x "$BIN" ]] || die "versitygw is not installed at $BIN: run scripts/s3server.sh install"
	mkdir -p "$data"
	data="$(cd "$data" && pwd)"
	local log="${data%/}.versitygw.log"
	local access="reverify$(random_hex 4)"
	local secret
	secret="$(random_hex 20)"

	local attempt port pid
	for attempt in 1 2 3 4 5; do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		port_free "$port" || continue
		ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
			"$BIN" --port "127.0.0.1:$port" --region us-east-1 --health /health --quiet \
			posix "$data" </dev/null >>"$log" 2>&1 &
		pid=$!
		local i
		for i in $(seq 1 100); do # up to 10 s
			if ! kill -0 "$pid" 2>/dev/null; then
				break # exited: most likely the port was taken meanwhile
			fi
			if health "$port" 2>/dev/null; then
				say "versitygw pid $pid on 127.0.0.1:$port, data $data, log $log"
				echo "export REVERIFY_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
				echo "export REVERIFY_TEST_S3_ACCESS_KEY=$access"
				echo "export REVERIFY_TEST_S3_SECRET_KEY=$secret"
				echo "export REVERIFY_TEST_S3_PID=$pid"
				echo "export REVERIFY_TEST_S3_DATA=$data"
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			die "versitygw (pid $pid) did not become healthy on port $port within 10 s; see $log"
		fi
		say "versitygw exited at start on port $port (attempt $attempt); see $log"
	done
	die "could not start versitygw; see $log"
}

# health reports whether GET /health answers 200 on the port.
health() (
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	read -r -t 2 _ status _ <&3 || exit 1
	[[ "$status" == "200" ]]
)

cmd_stop() {
	local pid="${1:-${REVERIFY_TEST_S3_PID:-}}"
	[[ -n "$pid" ]] || die "usage: s3server.sh stop <pid> (or set REVERIFY_TEST_S3_PID)"
	[[ "$pid" =~ ^[0-9]+$ ]] || die "not a pid: $pid"
	if ! kill -0 "$pid" 2>/dev/null; then
		say "pid $pid is not running"
		return 0
	fi
	# Never kill a process that is not versitygw (the pid may have been reused).
	if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q versitygw; then
		die "pid $pid is not versitygw; not stopping it"
	fi
	kill "$pid"
	local i
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || { say "stopped pid $pid"; return 0; }
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	say "killed pid $pid"
}

case "${1:-}" in
install) cmd_install ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
bin) echo "$BIN" ;;
*) die "usage: s3server.sh install | start <data-dir> | stop [pid] | bin" ;;
esac
