#!/usr/bin/env bash
# Crash safety: kill -9 the daemon while it writes. The catalog opens and is
# consistent (SQLite's own integrity check, run with the sqlite3 tool), every
# task the API acknowledged is still there, nothing stays "in progress": a
# task that ran when the daemon died ends processing-error with the reason.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/daemon.sh"

rk_daemon_config "$RK_TMP/d" "databasePorts = $(rk_port_range 60)"
rk_daemon_start
SUB=$(rk_create_sub crash)
CAT="$RK_DATA/catalog.db"

# Requests as fast as one client sends them, each acknowledged task id kept.
writer() {
    local i=0 out
    while :; do
        i=$((i + 1))
        out=$(curl -s -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
            -H "Content-Type: application/json" --data-binary "{\"name\": \"w$1-$i\"}" \
            -w '\n%{http_code}' "$RK_API/v1/subscriptions" 2>/dev/null) || continue
        [ "${out##*$'\n'}" = 202 ] && jq -r .taskId <<<"${out%$'\n'*}" >>"$RK_TMP/acked"
        # At most 10 databases a round: 30 in all, in a range of 60 ports.
        if [ $((i % 4)) = 0 ] && [ "$i" -le 40 ]; then
            out=$(curl -s -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
                -H "Content-Type: application/json" \
                --data-binary "{\"name\": \"db$1-$i\", \"memoryLimitInGb\": 0.01}" \
                -w '\n%{http_code}' "$RK_API/v1/subscriptions/$SUB/databases" 2>/dev/null) || continue
            [ "${out##*$'\n'}" = 202 ] && jq -r .taskId <<<"${out%$'\n'*}" >>"$RK_TMP/acked"
        fi
    done
}

settle() {
    local deadline=$(($(date +%s) + 60)) m
    while :; do
        m=$(curl -s "$RK_API/metrics")
        grep -q 'rdbkeep_tasks{state="received"} 0' <<<"$m" &&
            grep -q 'rdbkeep_tasks{state="processing-in-progress"} 0' <<<"$m" && return 0
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

: >"$RK_TMP/acked"
for round in 1 2 3; do
    writer "$round" &
    wpid=$!
    rk_track_pid "$wpid"
    sleep "1.$((RANDOM % 9))"
    rk_daemon_kill9
    kill "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null || true
    rk_check_eq "round $round: integrity_check" ok "$(sqlite3 "$CAT" 'PRAGMA integrity_check')"
    rk_check_eq "round $round: databases all in a subscription" 0 \
        "$(sqlite3 "$CAT" 'SELECT COUNT(*) FROM databases WHERE subscription_id NOT IN (SELECT id FROM subscriptions)')"
    rk_check_eq "round $round: task ids unique" 0 \
        "$(sqlite3 "$CAT" 'SELECT COUNT(*) - COUNT(DISTINCT id) FROM tasks')"
    rk_daemon_start
    settle && rk_pass || rk_fail "round $round: tasks did not settle"
    missing=0
    while read -r id; do
        api GET "/v1/tasks/$id"
        [ "$API_STATUS" = 200 ] || missing=$((missing + 1))
    done <"$RK_TMP/acked"
    rk_check_eq "round $round: every acknowledged task kept ($(wc -l <"$RK_TMP/acked"))" 0 "$missing"
    rk_check_eq "round $round: no database stuck pending or deleting" 0 \
        "$(sqlite3 "$CAT" "SELECT COUNT(*) FROM databases WHERE status IN ('pending', 'deleting', 'active-change-pending')")"
    stuck=$(sqlite3 "$CAT" "SELECT COUNT(*) FROM tasks WHERE status IN ('received', 'processing-in-progress')")
    rk_check_eq "round $round: no task left running or queued" 0 "$stuck"
done
acked=$(wc -l <"$RK_TMP/acked")
if [ "$acked" -gt 20 ]; then rk_pass; else rk_fail "the writer got only $acked requests through"; fi

# ---- a task running when the daemon dies ends processing-error, with why ----
# A redis-server that takes 3 s to start keeps the create task running.
cat >"$RK_TMP/slow-redis-server" <<'EOF'
#!/bin/sh
[ "$1" = --version ] || sleep 3
exec redis-server "$@"
EOF
chmod +x "$RK_TMP/slow-redis-server"
rk_daemon_stop
echo "redisServer = $RK_TMP/slow-redis-server" >>"$RK_DAEMON_DIR/rdbkeep.conf"
rk_daemon_start
api POST "/v1/subscriptions/$SUB/databases" '{"name": "interrupted", "memoryLimitInGb": 0.01}'
task=$(jqb .taskId)
deadline=$(($(date +%s) + 10))
until [ "$(api GET "/v1/tasks/$task"; jqb .status)" = processing-in-progress ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.05; done
api GET "/v1/tasks/$task"
rk_check_eq "create task running" processing-in-progress "$(jqb .status)"
DB=$(sqlite3 "$CAT" "SELECT id FROM databases WHERE name = 'interrupted'")
rk_daemon_kill9
rk_check_eq "integrity after the kill" ok "$(sqlite3 "$CAT" 'PRAGMA integrity_check')"
rk_daemon_start
api GET "/v1/tasks/$task"
rk_check_eq "interrupted task: processing-error" processing-error "$(jqb .status)"
rk_check_contains "interrupted task: says why" "daemon stopped while this task was running" "$(jqb .response.error.description)"
rk_check_eq "interrupted task: error type" GENERAL_ERROR "$(jqb .response.error.type)"
api GET "/v1/subscriptions/$SUB/databases/$DB"
rk_check_eq "interrupted database: error" error "$(jqb .status)"
rk_check_contains "interrupted database: says why" "interrupted by a daemon restart" "$(jqb .statusReason)"
PORT=$(jqb .publicEndpoint | cut -d: -f2)
PW=$(jqb .security.password)
# The slow start finishes without a daemon: an unwatched redis-server that
# the delete must stop all the same.
sleep 3.5
api DELETE "/v1/subscriptions/$SUB/databases/$DB"
rk_check_task "delete of the interrupted database" processing-completed "$(jqb .taskId)"
sleep 0.2
if rcli "$PORT" "$PW" PING >/dev/null 2>&1; then rk_fail "unwatched redis-server survived the delete"; else rk_pass; fi

# ---- SIGTERM while a task runs: it gets shutdownTimeoutSec (5 s) to finish ----
api POST "/v1/subscriptions/$SUB/databases" '{"name": "during-shutdown", "memoryLimitInGb": 0.01}'
task=$(jqb .taskId)
until [ "$(api GET "/v1/tasks/$task"; jqb .status)" = processing-in-progress ]; do sleep 0.05; done
start=$(date +%s)
rk_daemon_stop
rk_check_eq "SIGTERM with a task running: clean exit" 0 "$RK_DAEMON_RC"
took=$(($(date +%s) - start))
if [ "$took" -le 8 ]; then rk_pass; else rk_fail "shutdown took ${took}s"; fi
rk_check_contains "shutdown waited for the task" 'msg="task finished"' "$(tail -5 "$RK_DAEMON_DIR/daemon.log")"
rk_daemon_start
rk_wait_task "$task" 5
rk_check_eq "the task it waited for completed" processing-completed "$RK_TASK_STATUS"
rk_check_eq "its database serves after the restart" active \
    "$(rk_db_field "$SUB" "$(jqb .response.resourceId)" .status)"
rk_daemon_stop
rk_check_eq "clean exit" 0 "$RK_DAEMON_RC"
rk_finish
