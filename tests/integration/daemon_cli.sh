#!/usr/bin/env bash
# The client commands (rdbkeep db, rdbkeep task) against a real daemon: what
# they print, --json for scripts, exit statuses, errors.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/daemon.sh"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub cli)
# Exit statuses are what this test checks: no errexit.
set +e
export RDBKEEP_API_URL=$RK_API RDBKEEP_API_KEY=$RK_KEY RDBKEEP_API_SECRET_KEY=$RK_SECRET
B=$RDBKEEP_BIN

# create waits for its task and names the database
out=$("$B" db create --subscription "$SUB" --name shop --memory-gb 0.05 --persistence aof-every-1-second 2>&1)
rk_check_eq "db create: exit 0" 0 $?
DB=$(sed -n 's/^created: database \([0-9]*\)$/\1/p' <<<"$out")
api GET "/v1/subscriptions/$SUB/databases/$DB"
rk_check_eq "db create: the database exists" "shop aof-every-1-second active" "$(jqb '"\(.name) \(.dataPersistence) \(.status)"')"
PW=$(jqb .security.password)
PORT=$(jqb .publicEndpoint | cut -d: -f2)

# get: the fields a user needs to connect
out=$("$B" db get "$SUB" "$DB")
rk_check_contains "db get: endpoint" "endpoint:     127.0.0.1:$PORT" "$out"
rk_check_contains "db get: password" "password:     $PW" "$out"
rk_check_eq "db get: connect with what it printed" PONG "$(rcli "$PORT" "$(sed -n 's/^password: *//p' <<<"$out")" PING)"
rk_check_eq "db get --json" "$DB" "$("$B" db get "$SUB" "$DB" --json | jq .databaseId)"

# list
out=$("$B" db list)
rk_check_contains "db list: header" "ENDPOINT" "$out"
rk_check_contains "db list: the database" "127.0.0.1:$PORT" "$out"
rk_check_eq "db list --json" shop "$("$B" db list --subscription "$SUB" --json | jq -r '.[0].name')"

# update, then check the redis-server itself
"$B" db update "$SUB" "$DB" --memory-gb 0.07 --eviction allkeys-lfu >/dev/null
rk_check_eq "db update: exit 0" 0 $?
rk_check_eq "db update: maxmemory" "$(python3 -c 'print(round(0.07 * 2**30))')" "$(rcli "$PORT" "$PW" CONFIG GET maxmemory | tail -1)"
rk_check_eq "db update: policy" allkeys-lfu "$(rcli "$PORT" "$PW" CONFIG GET maxmemory-policy | tail -1)"

# --no-wait prints the task id; task get and task wait follow it
task=$("$B" db update "$SUB" "$DB" --persistence none --no-wait)
rk_check_eq "--no-wait prints a task id" 36 "${#task}"
"$B" task wait "$task" --timeout 30 >/dev/null
rk_check_eq "task wait: exit 0" 0 $?
rk_check_contains "task get" "status:       processing-completed" "$("$B" task get "$task")"
rk_check_eq "task get --json" databaseUpdateRequest "$("$B" task get "$task" --json | jq -r .commandType)"
rk_check_contains "task list" "$task" "$("$B" task list --limit 5)"
rk_check_eq "task list --json --limit" 2 "$("$B" task list --json --limit 2 | jq '.tasks | length')"

# errors: the API's error line, exit 1; bad command lines, exit 2
err=$("$B" db get "$SUB" 999999 2>&1 >/dev/null)
rc=$?
rk_check_eq "db get unknown: exit 1" 1 "$rc"
rk_check_contains "db get unknown: API error" "404 NOT_FOUND - DATABASE_NOT_FOUND" "$err"
err=$("$B" db create --subscription "$SUB" --name shop 2>&1 >/dev/null)
rk_check_eq "db create duplicate: exit 1" 1 $?
rk_check_contains "db create duplicate: API error" "DATABASE_NAME_IN_USE" "$err"
err=$("$B" db create --subscription "$SUB" --name big --memory-gb 0.01 --persistence weekly 2>&1 >/dev/null)
rk_check_contains "db create bad persistence" "dataPersistence: must be one of" "$err"
"$B" db create --name x >/dev/null 2>&1
rk_check_eq "db create without --subscription: exit 2" 2 $?
"$B" db frobnicate >/dev/null 2>&1
rk_check_eq "unknown db subcommand: exit 2" 2 $?
"$B" task wait not-a-task >/dev/null 2>&1
rk_check_eq "task wait bad id: exit 2" 2 $?
"$B" task get 00000000-0000-4000-8000-000000000000 >/dev/null 2>&1
rk_check_eq "task get unknown: exit 1" 1 $?
err=$(RDBKEEP_API_SECRET_KEY=wrong "$B" db list 2>&1 >/dev/null)
rk_check_contains "wrong secret" "401 UNAUTHORIZED" "$err"
err=$(env -u RDBKEEP_API_KEY "$B" db list 2>&1 >/dev/null)
rk_check_contains "no keys" "RDBKEEP_API_KEY" "$err"
err=$("$B" db list --api http://127.0.0.1:1 2>&1 >/dev/null)
rk_check_eq "no daemon: exit 1" 1 $?
rk_check_contains "no daemon: says where" "127.0.0.1:1" "$err"

# Two renames to one name, both accepted before either runs: the second
# fails (its task, or at once if the first was quicker): exit 1, with why.
DB2=$("$B" db create --subscription "$SUB" --name other --memory-gb 0.01 | sed -n 's/^created: database //p')
"$B" db update "$SUB" "$DB" --name same --no-wait >/dev/null
err=$("$B" db update "$SUB" "$DB2" --name same 2>&1 >/dev/null)
rk_check_eq "conflicting rename: exit 1" 1 $?
rk_check_contains "conflicting rename: why" "DATABASE_NAME_IN_USE" "$err"
"$B" db update "$SUB" "$DB" --replication on >/dev/null
rk_check_eq "update with replication: exit 0" 0 $?
slaves() { rcli "$PORT" "$PW" INFO replication | tr -d '\r' | sed -n 's/^connected_slaves://p'; }
for _ in $(seq 50); do [ "$(slaves)" = 1 ] && break; sleep 0.1; done
rk_check_eq "replica running" 1 "$(slaves)"
# delete waits; the database is gone
"$B" db delete "$SUB" "$DB" >/dev/null
rk_check_eq "db delete: exit 0" 0 $?
api GET "/v1/subscriptions/$SUB/databases/$DB"
rk_check_eq "db delete: gone" 404 "$API_STATUS"

# help texts name every subcommand and option
for c in serve db task; do
    h=$("$B" help "$c")
    rk_check_contains "help $c" "Usage: rdbkeep $c" "$h"
done
rk_check_contains "help serve lists maxConcurrentBackups" "maxConcurrentBackups = 4" "$("$B" help serve)"
rk_check_contains "print-config" "databasePorts = $RK_DB_PORTS" \
    "$("$B" serve --config "$RK_DAEMON_DIR/rdbkeep.conf" --print-config)"
rk_check_not_contains "print-config hides the secret" "$RK_SECRET" \
    "$("$B" serve --config "$RK_DAEMON_DIR/rdbkeep.conf" --print-config)"
echo "nonsense = 1" >"$RK_TMP/bad.conf"
err=$("$B" serve --config "$RK_TMP/bad.conf" 2>&1)
rk_check_eq "bad config: exit 2" 2 $?
rk_check_contains "bad config: file, line, key" "bad.conf:1: unknown key 'nonsense'" "$err"
rk_daemon_stop
rk_finish
