# daemon.sh: helpers for the tests of `rdbkeep serve` (source it after
# common.sh). Each daemon gets its own data directory under $RK_TMP, an API
# port from rk_free_port and a small range of database ports of its own, so
# parallel test runs never collide. The redis-servers a daemon starts outlive
# it on purpose (they are adopted on the next start), so the cleanup stops
# them by the pids in their pidfiles.

RK_DAEMON_DIRS=()

# Ports 13000-19999 in blocks: below rk_free_port's 20000-31999, above the
# daemon's default 12000-12999, and below the kernel's ephemeral ports.
rk_port_range() {
    local size=${1:-20} base
    mkdir -p /tmp/rdbkeep-ports
    for _ in $(seq 200); do
        base=$((13000 + (RANDOM % (7000 / size)) * size))
        mkdir "/tmp/rdbkeep-ports/range-$base" 2>/dev/null || continue
        echo "$$" >"/tmp/rdbkeep-ports/range-$base/owner" # released by rk_release_ports
        echo "$base-$((base + size - 1))"
        return 0
    done
    echo "no free port range" >&2
    return 1
}

# Runs under errexit from the EXIT trap: every command here must succeed.
rk_daemon_cleanup() {
    local dir f pid
    if [ -n "${RK_DAEMON_PID:-}" ]; then kill "$RK_DAEMON_PID" 2>/dev/null || true; fi
    for dir in "${RK_DAEMON_DIRS[@]}"; do
        for f in "$dir"/databases/*/redis.pid "$dir"/databases/*/replica/redis.pid; do
            [ -f "$f" ] || continue
            pid=$(cat "$f" 2>/dev/null || true)
            # Only a redis-server: a pidfile can outlive its process.
            if grep -q redis "/proc/$pid/cmdline" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        done
    done
    return 0
}
trap 'rk_daemon_cleanup; rk_cleanup' EXIT

# rk_daemon_config DIR [key=value...]: writes DIR/rdbkeep.conf for a test
# daemon: random keys, its own ports; extra settings appended.
rk_daemon_config() {
    local dir=$1
    shift
    mkdir -p "$dir"
    RK_DAEMON_DIRS+=("$dir/var")
    local port range
    port=$(rk_free_port)
    range=$(rk_port_range 20)
    RK_KEY="testkey$RANDOM$RANDOM"
    RK_SECRET="testsecret$RANDOM$RANDOM$RANDOM"
    {
        echo "# test daemon"
        echo "listen = 127.0.0.1:$port"
        echo "dataDir = $dir/var"
        echo "databasePorts = $range"
        echo "apiKey = $RK_KEY"
        echo "apiSecretKey = $RK_SECRET"
        echo "taskWorkers = 4"
        echo "restartBackoffMaxSec = 2"
        echo "shutdownTimeoutSec = 5"
        local kv
        for kv in "$@"; do echo "$kv"; done
    } >"$dir/rdbkeep.conf"
    RK_DAEMON_DIR=$dir
    RK_DATA=$dir/var
    RK_API_PORT=$port
    RK_API="http://127.0.0.1:$port"
    RK_DB_PORTS=$range
    export RK_API RK_KEY RK_SECRET
}

# rk_daemon_start: starts the daemon of the last rk_daemon_config, waits
# until /healthz answers. Its stderr goes to $RK_DAEMON_DIR/daemon.log.
rk_daemon_start() {
    # The configured keys stand; the environment must not override them.
    env -u RDBKEEP_API_KEY -u RDBKEEP_API_SECRET_KEY \
        "$RDBKEEP_BIN" serve --config "$RK_DAEMON_DIR/rdbkeep.conf" \
        >>"$RK_DAEMON_DIR/daemon.out" 2>>"$RK_DAEMON_DIR/daemon.log" &
    RK_DAEMON_PID=$!
    rk_track_pid "$RK_DAEMON_PID"
    local deadline=$(($(date +%s) + 30))
    until curl -sf "$RK_API/healthz" >/dev/null 2>&1; do
        if ! kill -0 "$RK_DAEMON_PID" 2>/dev/null; then
            echo "daemon exited at start:" >&2
            tail -20 "$RK_DAEMON_DIR/daemon.log" >&2
            return 1
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { echo "daemon did not answer" >&2; return 1; }
        sleep 0.05
    done
}

# rk_daemon_stop: SIGTERM and wait for the exit; sets RK_DAEMON_RC.
rk_daemon_stop() {
    kill -TERM "$RK_DAEMON_PID" 2>/dev/null || true
    RK_DAEMON_RC=0
    wait "$RK_DAEMON_PID" 2>/dev/null || RK_DAEMON_RC=$?
}

rk_daemon_kill9() {
    kill -9 "$RK_DAEMON_PID" 2>/dev/null || true
    wait "$RK_DAEMON_PID" 2>/dev/null || true
}

# api METHOD PATH [BODY]: sets API_STATUS and API_BODY. With a BODY it is sent
# as application/json.
api() {
    local method=$1 path=$2 out="$RK_TMP/api.out"
    local args=(-s -o "$out" -w '%{http_code}' -X "$method" -H "x-api-key: $RK_KEY"
                -H "x-api-secret-key: $RK_SECRET")
    if [ $# -ge 3 ]; then
        args+=(-H "Content-Type: application/json" --data-binary "$3")
    fi
    API_STATUS=$(curl "${args[@]}" "$RK_API$path")
    API_BODY=$(cat "$out")
}

# jqb FILTER: runs jq on the last API_BODY.
jqb() { jq -r "$1" <<<"$API_BODY"; }

# rk_wait_task ID [SECONDS]: polls until the task ends. Sets RK_TASK_STATUS
# (its final status, or "timeout") and leaves the task in API_BODY.
rk_wait_task() {
    local id=$1 deadline=$(($(date +%s) + ${2:-60}))
    while :; do
        api GET "/v1/tasks/$id"
        RK_TASK_STATUS=$(jqb .status)
        case "$RK_TASK_STATUS" in
        processing-completed | processing-error) return 0 ;;
        esac
        [ "$(date +%s)" -lt "$deadline" ] || { RK_TASK_STATUS=timeout; return 0; }
        sleep 0.1
    done
}

# rk_check_task WHAT EXPECTED_STATUS ID [SECONDS]
rk_check_task() {
    rk_wait_task "$3" "${4:-60}"
    rk_check_eq "$1" "$2" "$RK_TASK_STATUS"
}

# rk_create_sub NAME: creates a subscription, waits, prints its id.
rk_create_sub() {
    api POST /v1/subscriptions "{\"name\": \"$1\"}"
    rk_wait_task "$(jqb .taskId)"
    jqb .response.resourceId
}

# rk_create_db SUB BODY: creates a database, waits, prints its id (empty on failure).
rk_create_db() {
    api POST "/v1/subscriptions/$1/databases" "$2"
    [ "$API_STATUS" = 202 ] || { echo "create refused: $API_STATUS $API_BODY" >&2; return 0; }
    rk_wait_task "$(jqb .taskId)" 60
    [ "$RK_TASK_STATUS" = processing-completed ] || { echo "create failed: $API_BODY" >&2; return 0; }
    jqb .response.resourceId
}

# rk_db_field SUB DB JQ: a field of GET database.
rk_db_field() {
    api GET "/v1/subscriptions/$1/databases/$2"
    jqb "$3"
}

# rcli PORT PASSWORD ARGS...: redis-cli against a database.
rcli() {
    local port=$1 pw=$2
    shift 2
    REDISCLI_AUTH="$pw" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning "$@"
}

# rk_wait_redis PORT PASSWORD [SECONDS]: until PING answers PONG.
rk_wait_redis() {
    local deadline=$(($(date +%s) + ${3:-15}))
    until [ "$(rcli "$1" "$2" PING 2>/dev/null)" = PONG ]; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# rk_check_error WHAT STATUS TYPE: the last answer is Cloud's error shape
# with this HTTP status and error type.
rk_check_error() {
    rk_check_eq "$1: status" "$2" "$API_STATUS"
    rk_check_eq "$1: error.type" "$3" "$(jqb '.error.type // "none"' 2>/dev/null)"
    rk_check_eq "$1: error.status" "$2" "$(jqb '.error.status // ""' 2>/dev/null | cut -d' ' -f1)"
    local desc
    desc=$(jqb '.error.description // ""' 2>/dev/null)
    if [ -n "$desc" ]; then rk_pass; else rk_fail "$1: error.description is empty ($API_BODY)"; fi
}
