#!/usr/bin/env bash
# The supervisor: a redis-server killed with SIGKILL comes back with the data
# its persistence kept; the databases keep serving through daemon restarts
# (clean and kill -9) and are adopted, not restarted; a replica follows its
# primary; delete stops the processes and removes the files.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/daemon.sh"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub sup)

# aof-every-write keeps every acknowledged write; none keeps nothing.
AOF=$(rk_create_db "$SUB" '{"name": "durable", "memoryLimitInGb": 0.05, "dataPersistence": "aof-every-write"}')
VOL=$(rk_create_db "$SUB" '{"name": "volatile", "memoryLimitInGb": 0.05, "dataPersistence": "none"}')
SNAP=$(rk_create_db "$SUB" '{"name": "snap", "memoryLimitInGb": 0.05, "dataPersistence": "snapshot-every-1-hour"}')
rk_check_eq "three databases created" 3 "$( [ -n "$AOF" ] && [ -n "$VOL" ] && [ -n "$SNAP" ] && echo 3)"
port_of() { local e; e=$(rk_db_field "$SUB" "$1" .publicEndpoint); echo "${e##*:}"; }
pw_of() { rk_db_field "$SUB" "$1" .security.password; }
pid_of() { cat "$RK_DATA/databases/$1/redis.pid" 2>/dev/null; }
AOF_PORT=$(port_of "$AOF") AOF_PW=$(pw_of "$AOF")
VOL_PORT=$(port_of "$VOL") VOL_PW=$(pw_of "$VOL")
SNAP_PORT=$(port_of "$SNAP") SNAP_PW=$(pw_of "$SNAP")

for i in $(seq 100); do echo "SET key:$i value:$i"; done | rcli "$AOF_PORT" "$AOF_PW" >/dev/null
rcli "$VOL_PORT" "$VOL_PW" SET gone soon >/dev/null
rcli "$SNAP_PORT" "$SNAP_PW" SET saved yes >/dev/null
rcli "$SNAP_PORT" "$SNAP_PW" SAVE >/dev/null
rcli "$SNAP_PORT" "$SNAP_PW" SET unsaved yes >/dev/null
rk_check_eq "keys written" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"

# ---- kill -9 each redis-server: it comes back, with what its persistence kept ----
old_aof=$(pid_of "$AOF") old_vol=$(pid_of "$VOL") old_snap=$(pid_of "$SNAP")
kill -9 "$old_aof" "$old_vol" "$old_snap"
rk_wait_redis "$AOF_PORT" "$AOF_PW" 20 && rk_pass || rk_fail "aof database did not come back"
rk_wait_redis "$VOL_PORT" "$VOL_PW" 20 && rk_pass || rk_fail "volatile database did not come back"
rk_wait_redis "$SNAP_PORT" "$SNAP_PW" 20 && rk_pass || rk_fail "snapshot database did not come back"
rk_check_eq "aof-every-write: every key back" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"
rk_check_eq "aof-every-write: a value" value:77 "$(rcli "$AOF_PORT" "$AOF_PW" GET key:77)"
rk_check_eq "none: nothing back" 0 "$(rcli "$VOL_PORT" "$VOL_PW" DBSIZE)"
rk_check_eq "snapshot: the saved key back" yes "$(rcli "$SNAP_PORT" "$SNAP_PW" GET saved)"
rk_check_eq "snapshot: the unsaved key lost" "" "$(rcli "$SNAP_PORT" "$SNAP_PW" GET unsaved)"
new_aof=$(pid_of "$AOF")
if [ -n "$new_aof" ] && [ "$new_aof" != "$old_aof" ]; then rk_pass; else rk_fail "no new redis-server pid ($old_aof -> $new_aof)"; fi
rk_check_eq "database still active" active "$(rk_db_field "$SUB" "$AOF" .status)"
restarts=$(curl -s "$RK_API/metrics" | sed -n 's/^rdbkeep_redis_restarts_total //p')
rk_check_eq "restarts counted" 3 "$restarts"
rk_check_contains "death logged" 'msg="redis-server died"' "$(cat "$RK_DAEMON_DIR/daemon.log")"

# Killed again at once: the backoff grows but it still comes back.
kill -9 "$(pid_of "$VOL")"
sleep 0.2
kill -9 "$(pid_of "$VOL")" 2>/dev/null || true
rk_wait_redis "$VOL_PORT" "$VOL_PW" 20 && rk_pass || rk_fail "volatile database did not come back twice"

# ---- replication: a replica follows the primary ----
REP=$(rk_create_db "$SUB" '{"name": "replicated", "memoryLimitInGb": 0.05, "replication": true}')
REP_PORT=$(port_of "$REP") REP_PW=$(pw_of "$REP")
rk_check_eq "replication shown" true "$(rk_db_field "$SUB" "$REP" .replication)"
rcli "$REP_PORT" "$REP_PW" SET through replica >/dev/null
replica_port=$(rcli "$REP_PORT" "$REP_PW" INFO replication | tr -d '\r' | sed -n 's/^slave0:ip=[^,]*,port=\([0-9]*\),.*/\1/p')
if [ -n "$replica_port" ]; then rk_pass; else rk_fail "primary has no replica"; fi
deadline=$(($(date +%s) + 15))
until [ "$(rcli "$replica_port" "$REP_PW" GET through 2>/dev/null)" = replica ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.1; done
rk_check_eq "replica has the key" replica "$(rcli "$replica_port" "$REP_PW" GET through)"
rk_check_eq "replica role" slave "$(rcli "$replica_port" "$REP_PW" ROLE | head -1)"

# ---- daemon restart (SIGTERM): the databases keep serving, adopted as they run ----
before=$(for d in "$AOF" "$VOL" "$SNAP" "$REP"; do pid_of "$d"; done | tr '\n' ' ')
rcli "$VOL_PORT" "$VOL_PW" SET survives restart >/dev/null
rk_daemon_stop
rk_check_eq "daemon exit status" 0 "$RK_DAEMON_RC"
rk_check_eq "serving while the daemon is down" restart "$(rcli "$VOL_PORT" "$VOL_PW" GET survives)"
rk_daemon_start
after=$(for d in "$AOF" "$VOL" "$SNAP" "$REP"; do pid_of "$d"; done | tr '\n' ' ')
rk_check_eq "same processes after a clean restart" "$before" "$after"
rk_check_contains "adoption logged" 'msg="redis-server adopted"' "$(cat "$RK_DAEMON_DIR/daemon.log")"
rk_check_eq "data of the volatile database intact" restart "$(rcli "$VOL_PORT" "$VOL_PW" GET survives)"
# Adopted processes are watched too.
kill -9 "$(pid_of "$AOF")"
rk_wait_redis "$AOF_PORT" "$AOF_PW" 20 && rk_pass || rk_fail "adopted database did not come back"
rk_check_eq "adopted aof database: keys back" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"

# ---- kill -9 the daemon: still serving; adopted again ----
before=$(for d in "$AOF" "$VOL" "$SNAP" "$REP"; do pid_of "$d"; done | tr '\n' ' ')
rk_daemon_kill9
rk_check_eq "serving after the daemon was killed" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"
# A redis-server that dies while no daemon watches is started on the next start.
kill -9 "$(pid_of "$AOF")"
sleep 0.3
rk_daemon_start
rk_wait_redis "$AOF_PORT" "$AOF_PW" 20 && rk_pass || rk_fail "aof database not restarted by the new daemon"
rk_check_eq "aof database keys after both died" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"
rk_check_eq "volatile database adopted after kill -9" "$(echo "$before" | cut -d' ' -f2)" "$(pid_of "$VOL")"
rk_check_eq "all active" "active active active active" \
    "$(for d in "$AOF" "$VOL" "$SNAP" "$REP"; do rk_db_field "$SUB" "$d" .status; done | tr '\n' ' ' | sed 's/ $//')"

# ---- delete: processes stopped, files removed ----
rep_pid=$(pid_of "$REP")
replica_pid=$(cat "$RK_DATA/databases/$REP/replica/redis.pid")
api DELETE "/v1/subscriptions/$SUB/databases/$REP"
rk_check_task "delete completes" processing-completed "$(jqb .taskId)"
if kill -0 "$rep_pid" 2>/dev/null && ! grep -q Z "/proc/$rep_pid/stat" 2>/dev/null; then rk_fail "primary still runs"; else rk_pass; fi
if kill -0 "$replica_pid" 2>/dev/null && ! grep -q Z "/proc/$replica_pid/stat" 2>/dev/null; then rk_fail "replica still runs"; else rk_pass; fi
if [ -e "$RK_DATA/databases/$REP" ]; then rk_fail "files left"; else rk_pass; fi

# ---- stopDatabasesOnExit stops them with the daemon ----
rk_daemon_stop
echo "stopDatabasesOnExit = true" >>"$RK_DAEMON_DIR/rdbkeep.conf"
rk_daemon_start
aof_pid=$(pid_of "$AOF")
rk_daemon_stop
if kill -0 "$aof_pid" 2>/dev/null && ! grep -q ' Z ' "/proc/$aof_pid/stat" 2>/dev/null; then
    rk_fail "stopDatabasesOnExit left the redis-server running"
else
    rk_pass
fi
rk_daemon_start
rk_wait_redis "$AOF_PORT" "$AOF_PW" 20 && rk_pass || rk_fail "stopped database not started again"
rk_check_eq "aof data after a stop and start" 100 "$(rcli "$AOF_PORT" "$AOF_PW" DBSIZE)"
rk_daemon_stop
rk_finish
