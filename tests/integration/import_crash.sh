#!/usr/bin/env bash
# Imports and the daemon's death: kill -9 while the staging server loads (the
# old data serves on, from the same process; the task ends processing-error;
# nothing of the staging server is left), a death in the swap after the old
# primary stopped and before the commit (the swap is finished: the staging
# server, which holds the complete new data, is adopted rather than both
# being lost), a death right after the commit (the new primary is adopted
# without loading anything again; the old directory goes, its log is kept),
# a death once the marker says swapping but before the old primary is stopped
# (it serves on) or while it is on its way out (the swap is finished).
# Then the swapped-in server keeps the database's persistence: snapshot
# (dump.rdb), AOF (appendonlydir) and none (nothing) after a kill -9 of the
# redis-server, and a replica resyncs to the new data. Data is judged by
# DEBUG DIGEST of scratch servers loading it (tests/lib/backup.sh). Last, a
# staging server that stops reading (SIGSTOP) makes the import give up
# (RDBKEEP_TEST_IMPORT_STALL_SEC shortens the wait), and one killed with -9 is
# reported as such, the old data serving in both.
# timeout: 300
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"
source "$RDBKEEP_SRC/tests/lib/import.sh"

emu_start_nginx
URL="http://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTP_PORT"
mkdir -p "$EMU_WWW/slow"
chmod 755 "$EMU_WWW/slow"

# The new data, and a big one that the slow location serves at 4 MB/s.
rk_start_redis SRC
im_fill "$SRC" new 3000
im_save_file NEW "$SRC" "$SRC_DIR" new.rdb
cp "$NEW" "$EMU_WWW/new.rdb"
NEWD=$(bk_file_digest "$NEW")
redis-cli -p "$SRC" FLUSHALL >/dev/null
bk_fill_random "$SRC" "" 24
im_save_file BIG "$SRC" "$SRC_DIR" big.rdb
cp "$BIG" "$EMU_WWW/slow/big.rdb"
rk_log "new data: $NEWD"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub crash)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-crash-1
DB=$(rk_create_db "$SUB" "{\"name\": \"crashes\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
bk_fill "$PORT" "$PW" 2000
BEFORE=$(bk_source_digest "$PORT" "$PW")
PID=$(im_pid "$PORT" "$PW")

# ---- kill -9 while the staging server loads ----
api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$URL/slow/big.rdb\"]}"
TASK=$(jqb .taskId)
if im_wait_staging "$RK_DATA" "$DB"; then rk_pass; else rk_fail "the staging server never ran"; fi
SP=$(im_staging_port "$RK_DATA" "$DB")
rk_check_eq "status while it imports" import-pending "$(rk_db_field "$SUB" "$DB" .status)"
rk_check_eq "the old data serves while it imports" "$PID" "$(im_pid "$PORT" "$PW")"
sleep 0.5
rk_daemon_kill9
rk_daemon_start
rk_wait_task "$TASK" 10
rk_check_eq "killed while loading: task" processing-error "$RK_TASK_STATUS"
rk_check_contains "killed while loading: why" "daemon stopped" "$(jqb .response.error.description)"
rk_check_eq "killed while loading: status" active "$(rk_db_field "$SUB" "$DB" .status)"
rk_check_eq "killed while loading: the same process serves" "$PID" "$(im_pid "$PORT" "$PW")"
rk_check_eq "killed while loading: the old data" "$BEFORE" "$(bk_source_digest "$PORT" "$PW")"
im_no_staging "killed while loading" "$RK_DATA" "$DB"
im_port_closed "killed while loading: the staging server" "$SP"

# ---- a death in the swap, before and after the commit ----
for at in before-commit after-commit; do
    rcli "$PORT" "$PW" SET im:marker "$at" >/dev/null
    old_pid=$(im_pid "$PORT" "$PW")
    rk_daemon_stop
    RDBKEEP_TEST_IMPORT_CRASH=$at rk_daemon_start
    api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$URL/new.rdb\"]}"
    TASK=$(jqb .taskId)
    rc=0
    wait "$RK_DAEMON_PID" 2>/dev/null || rc=$?
    rk_check_eq "$at: the daemon died there (SIGKILL)" 137 "$rc"
    if [ "$at" = before-commit ]; then
        staged=$(cat "$RK_DATA/databases/$DB.import/redis.pid" 2>/dev/null || true)
        rk_check_contains "$at: the marker says swapping" state=swapping \
            "$(cat "$RK_DATA/databases/$DB.import/rdbkeep-import" 2>/dev/null || true)"
    else
        staged=$(cat "$RK_DATA/databases/$DB/redis.pid" 2>/dev/null || true)
        rk_check_eq "$at: the old directory is aside" yes "$([ -d "$RK_DATA/databases/$DB.replaced" ] && echo yes)"
    fi
    if im_alive "$old_pid"; then rk_fail "$at: the old primary still runs"; else rk_pass; fi
    rk_daemon_start
    rk_wait_task "$TASK" 10
    rk_check_eq "$at: task" processing-error "$RK_TASK_STATUS"
    rk_check_eq "$at: status" active "$(rk_db_field "$SUB" "$DB" .status)"
    rk_wait_redis "$PORT" "$PW"
    rk_check_eq "$at: the staging server was adopted (nothing loaded again)" "$staged" "$(im_pid "$PORT" "$PW")"
    rk_check_eq "$at: the new data" "$NEWD" "$(bk_source_digest "$PORT" "$PW")"
    im_no_staging "$at" "$RK_DATA" "$DB"
    rk_check_eq "$at: no marker left" "" "$(ls "$RK_DATA/databases/$DB/rdbkeep-import"* 2>/dev/null || true)"
    grep -q "pid=$PID, just started" "$RK_DATA/databases/$DB/redis.log" && rk_pass ||
        rk_fail "$at: the database's log lost its history"
    rk_check_contains "$at: the config is the database's again" "port $PORT" "$(cat "$RK_DATA/databases/$DB/redis.conf")"
done
# Supervised as any primary: killed, it comes back (with nothing: persistence none).
kill -9 "$(im_pid "$PORT" "$PW")"
sleep 0.3
rk_wait_redis "$PORT" "$PW" 20 && rk_pass || rk_fail "the adopted primary was not restarted"
rk_check_eq "persistence none: nothing kept" 0 "$(rcli "$PORT" "$PW" DBSIZE)"
rk_check_eq "persistence none: no dump.rdb" "" "$(ls "$RK_DATA/databases/$DB/dump.rdb" 2>/dev/null || true)"

# ---- a death once the marker says swapping, before the old primary is stopped ----
# (RDBKEEP_TEST_IMPORT_CRASH=before-swap.) Found still running, the old
# primary was never told to stop: the staging server goes, the old data
# serves on. Found on its way out (a SIGTERM it has not acted on yet, as
# sup_db_swap sends it: held here by SIGSTOP until the next start looks), the
# swap is finished: with persistence none, the old data goes with it.
# crash_before_swap: sets OLD_PID, STAGED (the staging server's pid) and SP.
crash_before_swap() {
    OLD_PID=$(im_pid "$PORT" "$PW")
    rk_daemon_stop
    RDBKEEP_TEST_IMPORT_CRASH=before-swap rk_daemon_start
    api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$URL/new.rdb\"]}"
    TASK=$(jqb .taskId)
    rc=0
    wait "$RK_DAEMON_PID" 2>/dev/null || rc=$?
    rk_check_eq "before-swap: the daemon died there (SIGKILL)" 137 "$rc"
    local marker
    marker=$(cat "$RK_DATA/databases/$DB.import/rdbkeep-import" 2>/dev/null || true)
    rk_check_contains "before-swap: the marker says swapping" state=swapping "$marker"
    STAGED=$(sed -n 's/^pid=//p' <<<"$marker")
    SP=$(sed -n 's/^port=//p' <<<"$marker")
}
bk_fill "$PORT" "$PW" 300
rcli "$PORT" "$PW" SET im:marker before-swap >/dev/null
OLD_DATA=$(bk_source_digest "$PORT" "$PW")
crash_before_swap
if im_alive "$OLD_PID"; then rk_pass; else rk_fail "before-swap: the old primary was stopped"; fi
rk_daemon_start
rk_wait_task "$TASK" 10
rk_check_eq "before-swap, old primary running: task" processing-error "$RK_TASK_STATUS"
rk_check_eq "before-swap, old primary running: the same process" "$OLD_PID" "$(im_pid "$PORT" "$PW")"
rk_check_eq "before-swap, old primary running: the old data" "$OLD_DATA" "$(bk_source_digest "$PORT" "$PW")"
if im_alive "$STAGED"; then rk_fail "before-swap: the staging server still runs"; else rk_pass; fi
im_port_closed "before-swap, old primary running: the staging server" "$SP"
im_no_staging "before-swap, old primary running" "$RK_DATA" "$DB"

crash_before_swap
kill -STOP "$OLD_PID"
kill -TERM "$OLD_PID"
(sleep 1 && kill -CONT "$OLD_PID") &
CONT=$!
rk_daemon_start
wait "$CONT" || true
rk_wait_task "$TASK" 10
rk_check_eq "before-swap, old primary stopping: status" active "$(rk_db_field "$SUB" "$DB" .status)"
rk_wait_redis "$PORT" "$PW"
rk_check_eq "before-swap, old primary stopping: the staging server was adopted" "$STAGED" "$(im_pid "$PORT" "$PW")"
rk_check_eq "before-swap, old primary stopping: the new data" "$NEWD" "$(bk_source_digest "$PORT" "$PW")"
im_no_staging "before-swap, old primary stopping" "$RK_DATA" "$DB"
rk_check_contains "before-swap: the config is the database's again" "port $PORT" "$(cat "$RK_DATA/databases/$DB/redis.conf")"

# ---- the database's persistence after a swap ----
for p in snapshot-every-1-hour aof-every-1-second; do
    id=$(rk_create_db "$SUB" "{\"name\": \"p-${p%%-*}\", \"password\": \"$PW\", \"dataPersistence\": \"$p\"}")
    port=$(rk_db_field "$SUB" "$id" .publicEndpoint | cut -d: -f2)
    rk_wait_redis "$port" "$PW"
    bk_fill "$port" "$PW" 500
    im_check_import "$p" "$SUB" "$id" "$port" "$PW" "$NEWD" http "$URL/new.rdb"
    case $p in
    snapshot-*) rk_check_eq "$p: dump.rdb is the import" "$(bk_file_digest "$NEW")" "$(bk_file_digest "$RK_DATA/databases/$id/dump.rdb")" ;;
    aof-*) rk_check_eq "$p: an AOF" yes "$([ -f "$RK_DATA/databases/$id/appendonlydir/appendonly.aof.manifest" ] && echo yes)" ;;
    esac
    rcli "$port" "$PW" SET after:import 1 >/dev/null
    want=$(bk_source_digest "$port" "$PW")
    [ "$p" = aof-every-1-second ] && sleep 1.2 # the AOF's fsync
    [ "$p" = snapshot-every-1-hour ] && rcli "$port" "$PW" SAVE >/dev/null
    kill -9 "$(im_pid "$port" "$PW")"
    sleep 0.3
    rk_wait_redis "$port" "$PW" 20 && rk_pass || rk_fail "$p: not restarted"
    rk_check_eq "$p: after a kill -9, the data is back" "$want" "$(bk_source_digest "$port" "$PW")"
done

# ---- a replica resyncs to the new data ----
id=$(rk_create_db "$SUB" "{\"name\": \"replicated\", \"password\": \"$PW\", \"replication\": true}")
port=$(rk_db_field "$SUB" "$id" .publicEndpoint | cut -d: -f2)
rport=$(sed -n 's/^port //p' "$RK_DATA/databases/$id/replica/redis.conf")
rk_wait_redis "$port" "$PW"
bk_fill "$port" "$PW" 500
rpid=$(im_pid "$rport" "$PW")
im_check_import "replicated" "$SUB" "$id" "$port" "$PW" "$NEWD" http "$URL/new.rdb"
for _ in $(seq 100); do
    [ "$(rcli "$rport" "$PW" INFO replication | tr -d '\r' | sed -n 's/^master_link_status://p')" = up ] &&
        [ "$(rcli "$rport" "$PW" DBSIZE)" = "$(rcli "$port" "$PW" DBSIZE)" ] && break
    sleep 0.1
done
rk_check_eq "replica: the same process" "$rpid" "$(im_pid "$rport" "$PW")"
rk_check_eq "replica: the new data" "$NEWD" "$(bk_source_digest "$rport" "$PW")"
rk_check_eq "replica: its directory stays the database's" yes "$([ -f "$RK_DATA/databases/$id/replica/redis.conf" ] && echo yes)"

# ---- a staging server that stops reading (SIGSTOP): the import gives up ----
rk_daemon_stop
RDBKEEP_TEST_IMPORT_STALL_SEC=3 rk_daemon_start
PID=$(im_pid "$PORT" "$PW")
BEFORE=$(bk_source_digest "$PORT" "$PW")
api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$URL/slow/big.rdb\"]}"
TASK=$(jqb .taskId)
if im_wait_staging "$RK_DATA" "$DB"; then rk_pass; else rk_fail "stalled: the staging server never ran"; fi
SP=$(im_staging_port "$RK_DATA" "$DB")
STAGED=$(sed -n 's/^pid=//p' "$RK_DATA/databases/$DB.import/rdbkeep-import")
kill -STOP "$STAGED"
rk_wait_task "$TASK" 60
rk_check_eq "stalled: task" processing-error "$RK_TASK_STATUS"
rk_check_contains "stalled: why" "has read nothing for 3 s" "$(jqb .response.error.description)"
rk_check_eq "stalled: the same process serves" "$PID" "$(im_pid "$PORT" "$PW")"
rk_check_eq "stalled: the old data" "$BEFORE" "$(bk_source_digest "$PORT" "$PW")"
if im_alive "$STAGED"; then rk_fail "stalled: the staging server still runs"; else rk_pass; fi
im_no_staging "stalled" "$RK_DATA" "$DB"
im_port_closed "stalled: the staging server" "$SP"

# ---- a staging server killed from outside (as the OOM killer would) ----
api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$URL/slow/big.rdb\"]}"
TASK=$(jqb .taskId)
if im_wait_staging "$RK_DATA" "$DB"; then rk_pass; else rk_fail "killed: the staging server never ran"; fi
STAGED=$(sed -n 's/^pid=//p' "$RK_DATA/databases/$DB.import/rdbkeep-import")
kill -9 "$STAGED"
rk_wait_task "$TASK" 60
rk_check_eq "killed: task" processing-error "$RK_TASK_STATUS"
rk_check_contains "killed: what happened" "was killed by signal 9" "$(jqb .response.error.description)"
rk_check_contains "killed: no misleading log lines" "no reason in its log" "$(jqb .response.error.description)"
rk_check_eq "killed: the same process serves" "$PID" "$(im_pid "$PORT" "$PW")"
rk_check_eq "killed: the old data" "$BEFORE" "$(bk_source_digest "$PORT" "$PW")"
im_no_staging "killed" "$RK_DATA" "$DB"
rk_daemon_stop
rk_check_eq "clean exit" 0 "$RK_DAEMON_RC"

rk_finish
