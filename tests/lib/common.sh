# common.sh: shared helpers for the integration scripts (source it).
#
# Every server a test starts listens on 127.0.0.1 on a port from rk_free_port,
# is recorded by PID, and is stopped by PID when the script exits, whatever
# way it exits.

set -euo pipefail

: "${RDBKEEP_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${RDBKEEP_BIN:=$RDBKEEP_SRC/build/rdbkeep}"
export RDBKEEP_SRC RDBKEEP_BIN

RK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rdbkeep-test.XXXXXX")
RK_PIDS=()
RK_TMP_DIRS=() # more scratch directories, removed with RK_TMP
RK_FAILS=0
RK_CHECKS=0

rk_cleanup() {
    local pid
    for pid in "${RK_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${RK_PIDS[@]}"; do
        # Give each server a moment to exit, then insist.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rk_release_ports
    if [ "${RK_KEEP_TMP:-0}" = 1 ]; then
        echo "kept $RK_TMP" >&2
    else
        rm -rf "$RK_TMP" "${RK_TMP_DIRS[@]}"
    fi
}
trap rk_cleanup EXIT

# rk_tmpfs_dir VAR: VAR gets a scratch directory in memory (/dev/shm) when
# there is one, removed at exit (not in a subshell: it registers the
# directory): for servers whose disk writeback would be measured instead of
# the client (a 1 GiB upload at 1.5 GB/s).
rk_tmpfs_dir() {
    local d
    if [ -d /dev/shm ] && [ -w /dev/shm ] && d=$(mktemp -d /dev/shm/rdbkeep.XXXXXX 2>/dev/null); then
        RK_TMP_DIRS+=("$d")
    else
        d=$(mktemp -d "$RK_TMP/mem.XXXXXX")
    fi
    printf -v "$1" '%s' "$d"
}

rk_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# rk_free_port: prints a TCP port nothing listens on, reserved against other
# tests of this suite running at the same time (mkdir is atomic). The
# reservation names this script's PID ($$ is the script's own PID even in the
# $(...) subshell callers use), so rk_release_ports finds it at exit, and a
# reservation whose script died is taken back.
RK_PORT_DIR=/tmp/rdbkeep-ports
rk_free_port() {
    mkdir -p "$RK_PORT_DIR"
    local port owner
    for _ in $(seq 200); do
        # Below the kernel's ephemeral range (32768 and up by default): a
        # server must never find its port taken by some client's socket.
        port=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        if ! mkdir "$RK_PORT_DIR/$port" 2>/dev/null; then
            owner=$(cat "$RK_PORT_DIR/$port/owner" 2>/dev/null || true)
            [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
            rm -rf "$RK_PORT_DIR/$port"
            mkdir "$RK_PORT_DIR/$port" 2>/dev/null || continue
        fi
        echo "$$" >"$RK_PORT_DIR/$port/owner"
        echo "$port"
        return 0
    done
    echo "no free port found" >&2
    return 1
}

rk_release_ports() {
    local d
    for d in "$RK_PORT_DIR"/*/; do
        [ "$(cat "$d/owner" 2>/dev/null)" = "$$" ] && rm -rf "$d"
    done
    return 0
}

# rk_wait_port PORT [SECONDS]: waits until 127.0.0.1:PORT accepts connections.
rk_wait_port() {
    local port=$1 deadline=$(($(date +%s) + ${2:-30}))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timeout waiting for port $port" >&2
            return 1
        fi
        sleep 0.05
    done
}

# rk_track_pid PID: stop this process when the script exits.
rk_track_pid() { RK_PIDS+=("$1"); }

# rk_start_redis VAR [redis-server options...]: starts a redis-server on a
# free port with its own directory, sets VAR to the port, VAR_PID to its PID
# and VAR_DIR to its directory.
rk_start_redis() {
    local var=$1
    shift
    local port dir
    port=$(rk_free_port)
    dir="$RK_TMP/redis-$port"
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$dir" --logfile "$dir/redis.log" --repl-diskless-sync-delay 0 "$@" &
    local pid=$!
    rk_track_pid "$pid"
    rk_wait_port "$port" 30
    printf -v "$var" '%s' "$port"
    printf -v "${var}_PID" '%s' "$pid"
    printf -v "${var}_DIR" '%s' "$dir"
}

# rk_stop_pid PID: stops one process now and waits for it.
rk_stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
}

rk_pass() { RK_CHECKS=$((RK_CHECKS + 1)); }
rk_fail() {
    RK_CHECKS=$((RK_CHECKS + 1))
    RK_FAILS=$((RK_FAILS + 1))
    echo "FAIL: $*" >&2
}

# rk_check_eq WHAT EXPECTED ACTUAL
rk_check_eq() {
    if [ "$2" == "$3" ]; then rk_pass; else rk_fail "$1: expected '$2', got '$3'"; fi
}

# rk_check_contains WHAT NEEDLE HAYSTACK
rk_check_contains() {
    if [[ "$3" == *"$2"* ]]; then rk_pass; else rk_fail "$1: '$2' not in: $3"; fi
}

# rk_check_not_contains WHAT NEEDLE HAYSTACK
rk_check_not_contains() {
    if [[ "$3" != *"$2"* ]]; then rk_pass; else rk_fail "$1: '$2' must not appear in: $3"; fi
}

# rk_finish: prints the tally and exits non-zero if anything failed or
# nothing was checked at all.
rk_finish() {
    if [ "$RK_CHECKS" -eq 0 ]; then
        echo "no checks ran" >&2
        exit 1
    fi
    echo "$((RK_CHECKS - RK_FAILS))/$RK_CHECKS checks passed" >&2
    [ "$RK_FAILS" -eq 0 ]
}
