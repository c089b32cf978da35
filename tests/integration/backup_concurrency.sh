#!/usr/bin/env bash
# maxConcurrentBackups (the default, 4) with more workers than that: 10
# databases' backups requested at once, plus a second one of the first
# database. Watched while they run (task statuses and /metrics): never more
# than 4 running; afterwards, from the catalog's start and end times: at most 4
# overlapped (and 4 did), the ones that waited started in the order they were asked for, the
# two of one database did not overlap, and all completed with files that
# verify.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

rk_daemon_config "$RK_TMP/d" "taskWorkers = 12"
rk_daemon_start
SUB=$(rk_create_sub many)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-many-1
ids=() fills=()
for i in $(seq 10); do
    id=$(rk_create_db "$SUB" "{\"name\": \"db$i\", \"password\": \"$PW\"}")
    ids+=("$id")
    port=$(rk_db_field "$SUB" "$id" .publicEndpoint | cut -d: -f2)
    rk_wait_redis "$port" "$PW"
    # 420,000 keys: a backup takes about half a second of a core.
    bk_fill "$port" "$PW" 300000 &
    fills+=($!)
done
# Only the fills: a bare wait would wait for the daemon too.
wait "${fills[@]}"
rk_check_eq "ten databases" 10 "${#ids[@]}"

rk_log "eleven backups at once"
# One curl for all eleven, in order on one connection: requests a few ms
# apart, so that backups queue even on a loaded machine (eleven curl
# processes could come slower than four slots drain).
req=()
for id in "${ids[@]}" "${ids[0]}"; do
    [ ${#req[@]} -eq 0 ] || req+=(--next)
    req+=(-s -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET"
          -H "Content-Type: application/json" --data-binary "{\"adhocBackupPath\": \"$RK_TMP/b/$id\"}"
          "$RK_API$DBS/$id/backup")
done
mapfile -t tasks < <(curl "${req[@]}" | jq -r .taskId)
rk_check_eq "eleven backups accepted" 11 "$(printf '%s\n' "${tasks[@]}" | grep -c -E '^[0-9a-f-]{36}$')"
max_tasks=0 max_metric=0 seen_received=0
while :; do
    api GET "/v1/tasks?limit=100"
    running=$(jqb '[.tasks[] | select(.commandType == "databaseBackupRequest" and .status == "processing-in-progress")] | length')
    waiting=$(jqb '[.tasks[] | select(.commandType == "databaseBackupRequest" and .status == "received")] | length')
    metric=$(curl -s "$RK_API/metrics" | sed -n 's/^rdbkeep_backups_running //p')
    [ "$running" -gt "$max_tasks" ] && max_tasks=$running
    [ "$metric" -gt "$max_metric" ] && max_metric=$metric
    [ "$waiting" -gt 0 ] && seen_received=1
    [ "$running" -eq 0 ] && [ "$waiting" -eq 0 ] && break
    sleep 0.05
done
rk_log "watched: at most $max_tasks running by task status, $max_metric by /metrics"
if [ "$max_tasks" -le 4 ] && [ "$max_tasks" -ge 1 ]; then rk_pass; else rk_fail "tasks running at once: $max_tasks"; fi
if [ "$max_metric" -le 4 ] && [ "$max_metric" -ge 1 ]; then rk_pass; else rk_fail "rdbkeep_backups_running reached $max_metric"; fi
rk_check_eq "some waited as received" 1 "$seen_received"
for t in "${tasks[@]}"; do
    rk_check_task "backup $t" processing-completed "$t" 10
done

rk_log "what the catalog says"
rows=$(for id in "${ids[@]}"; do api GET "$DBS/$id/backups"; jqb '.backups[] | "\(.backupId) \(.databaseId) \(.taskId) \(.startedAt) \(.finishedAt)"'; done)
read -r overlap order same_db < <(python3 - "${tasks[@]}" <<EOF
import datetime, sys
tasks = sys.argv[1:]
def ms(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
rows = [r.split() for r in """$rows""".strip().splitlines()]
rows.sort(key=lambda r: int(r[0]))  # backup ids: the order they started in
events = []
for r in rows:
    events += [(ms(r[3]), 1), (ms(r[4]), -1)]
events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same ms
now = peak = 0
for _, d in events:
    now += d
    peak = max(peak, now)
# The first four take the four slots at once (their backups start in any
# order); the rest wait and start in the order they were asked for.
order = [tasks.index(r[2]) for r in rows]
fifo = sorted(order[:4]) == [0, 1, 2, 3] and order[4:] == sorted(order[4:])
first_db = next(r[1] for r in rows if r[2] == tasks[0])
first = [r for r in rows if r[1] == first_db]
same = "apart" if len(first) == 2 and ms(first[1][3]) >= ms(first[0][4]) else "overlap"
print(peak, "in-order" if fifo else "out-of-order:" + ",".join(map(str, order)), same)
EOF
)
rk_check_eq "backups in the catalog" 11 "$(grep -c . <<<"$rows")"
rk_check_eq "at most 4 at once, and 4 did run at once" 4 "$overlap"
rk_check_eq "started in the order asked" in-order "$order"
rk_check_eq "one database's two backups one after the other" apart "$same_db"
bad=0
for f in "$RK_TMP"/b/*/*.rdb.gz; do
    "$RDBKEEP_BIN" rdb verify -q "$f" || bad=$((bad + 1))
done
rk_check_eq "every file verifies" "0 11" "$bad $(ls "$RK_TMP"/b/*/*.rdb.gz | wc -l)"
rk_daemon_stop
rk_check_eq "clean exit (no sanitizer report)" 0 "$RK_DAEMON_RC"
rk_finish
