#!/usr/bin/env bash
# bench_api.sh: the REST API under wrk at a fixed rate of about 1,000 requests
# a second: GET /v1/tasks/{id} and GET .../databases/{id} (p99 target: under
# 5 ms), with 100 databases (100 redis-servers) and 10,000 tasks in the
# catalog; then the daemon's RSS (target: under 50 MB, redis-servers not
# counted). Baseline, measured in the same run at the same rate: GET /healthz,
# which goes through the same HTTP stack without keys or the catalog.
set -euo pipefail
: "${RDBKEEP_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
source "$RDBKEEP_SRC/tests/lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
command -v wrk >/dev/null || { echo "bench_api: wrk is not installed (make bench installs it)" >&2; exit 1; }

DATABASES=${BENCH_DATABASES:-100}
TASKS=${BENCH_TASKS:-10000}
SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
RATE_CONNECTIONS=10 # each waits DELAY_MS between its requests: about 1,000 a second in all
DELAY_MS=9

# Debug level: the daemon logs each request with the time it spent on it.
rk_daemon_config "$RK_TMP/d" "databasePorts = $(rk_port_range 240)" "logLevel = debug"
rk_daemon_start
SUB=$(rk_create_sub bench)

# 100 databases, created in parallel batches through the API.
echo "creating $DATABASES databases..." >&2
ids=()
for i in $(seq "$DATABASES"); do
    api POST "/v1/subscriptions/$SUB/databases" "{\"name\": \"db$i\", \"memoryLimitInGb\": 0.01}"
    [ "$API_STATUS" = 202 ] || { echo "create refused: $API_BODY" >&2; exit 1; }
    ids+=("$(jqb .taskId)")
done
for id in "${ids[@]}"; do rk_wait_task "$id" 120; done
api GET "/v1/subscriptions/$SUB/databases?limit=1000"
active=$(jqb '[.subscription[0].databases[] | select(.status == "active")] | length')
[ "$active" = "$DATABASES" ] || { echo "only $active of $DATABASES databases active" >&2; exit 1; }
DB=$(jqb '.subscription[0].databases | .[length / 2 | floor].databaseId')

# Tasks up to 10,000: subscription creates over one keep-alive connection.
api GET "/v1/tasks?limit=1"
have=$(jqb .total)
echo "creating $((TASKS - have)) more tasks..." >&2
python3 - "$RK_API_PORT" "$RK_KEY" "$RK_SECRET" "$((TASKS - have))" <<'EOF'
import http.client, json, sys
port, key, secret, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"x-api-key": key, "x-api-secret-key": secret, "Content-Type": "application/json"}
for i in range(n):
    c.request("POST", "/v1/subscriptions", body=json.dumps({"name": "s%d" % i}), headers=h)
    r = c.getresponse()
    r.read()
    if r.status != 202:
        sys.exit("task %d: HTTP %d" % (i, r.status))
EOF
deadline=$(($(date +%s) + 300))
until curl -s "$RK_API/metrics" | grep -q 'rdbkeep_tasks{state="received"} 0' &&
      curl -s "$RK_API/metrics" | grep -q 'rdbkeep_tasks{state="processing-in-progress"} 0'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "tasks did not finish" >&2; exit 1; }
    sleep 0.5
done
api GET "/v1/tasks?limit=1"
total=$(jqb .total)
TASK=$(jqb '.tasks[0].taskId')

cat >"$RK_TMP/rate.lua" <<EOF
wrk.headers["x-api-key"] = "$RK_KEY"
wrk.headers["x-api-secret-key"] = "$RK_SECRET"
function delay() return $DELAY_MS end
EOF

# p99 in ms and requests per second from one wrk run.
measure() {
    local path=$1 out
    out=$(wrk -t 1 -c "$RATE_CONNECTIONS" -d "${SECONDS_EACH}s" --latency -s "$RK_TMP/rate.lua" "$RK_API$path")
    local errors
    errors=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
    [ -z "$errors" ] || { echo "wrk: $errors non-2xx answers on $path" >&2; exit 1; }
    local p99 rps
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    echo "$p99 $rps"
}

# Rounds alternate the three, so that load from elsewhere on the machine
# weighs on the baseline as on the rest; each figure is the median round.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$RK_TMP/base" && : >"$RK_TMP/task" && : >"$RK_TMP/db"
for _ in $(seq "$ROUNDS"); do
    measure /healthz >>"$RK_TMP/base"
    measure "/v1/tasks/$TASK" >>"$RK_TMP/task"
    measure "/v1/subscriptions/$SUB/databases/$DB" >>"$RK_TMP/db"
done
base_p99=$(cut -d' ' -f1 "$RK_TMP/base" | median) base_rps=$(cut -d' ' -f2 "$RK_TMP/base" | median)
task_p99=$(cut -d' ' -f1 "$RK_TMP/task" | median) task_rps=$(cut -d' ' -f2 "$RK_TMP/task" | median)
db_p99=$(cut -d' ' -f1 "$RK_TMP/db" | median) db_rps=$(cut -d' ' -f2 "$RK_TMP/db" | median)
echo "p99 per round (ms): healthz $(cut -d' ' -f1 "$RK_TMP/base" | tr '\n' ' ')| task $(cut -d' ' -f1 "$RK_TMP/task" | tr '\n' ' ')| database $(cut -d' ' -f1 "$RK_TMP/db" | tr '\n' ' ')"
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RK_DAEMON_PID/status")
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v max="$2" 'BEGIN { print (v < max) ? "within" : "OVER" }'; }
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "baseline GET /healthz: p99 ${base_p99} ms at ${base_rps} req/s"
echo "GET /v1/tasks/{id}: p99 ${task_p99} ms at ${task_rps} req/s; ratio to baseline $(ratio "$task_p99" "$base_p99"); target 5 ms: $(verdict "$task_p99" 5)"
echo "GET .../databases/{id}: p99 ${db_p99} ms at ${db_rps} req/s; ratio to baseline $(ratio "$db_p99" "$base_p99"); target 5 ms: $(verdict "$db_p99" 5)"
echo "daemon RSS: ${rss_mb} MB with ${DATABASES} databases and ${total} tasks; target 50 MB: $(verdict "$rss_mb" 50)"
# The time the daemon itself spent per request (its request log, in us),
# which the machine's other load touches less than wrk's round trips.
inside() {
    grep -F "path=\"$1\" status=200" "$RK_DAEMON_DIR/daemon.log" | sed -n 's/.* us=\([0-9]*\).*/\1/p' | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) printf "p50 %.3f ms, p99 %.3f ms over %d requests", v[int(NR * 0.5)] / 1000, v[int(NR * 0.99)] / 1000, NR }'
}
echo "inside the daemon: healthz $(inside /healthz); task $(inside "/v1/tasks/$TASK"); database $(inside "/v1/subscriptions/$SUB/databases/$DB")"
rk_daemon_stop
