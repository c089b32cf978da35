#!/usr/bin/env bash
# The backup schedule on a fast clock: RDBKEEP_TEST_HOUR_MS=500 makes an hour
# of schedule last half a second (a day: 12 s). Checked: backups come once per
# slot of the interval, counted from the database's creation; timeUTC slots
# are aligned to midnight UTC (nextBackupTime exactly on them, and the backup
# after it); periodicBackupPath means every 24 hours; a database never runs
# two backups at once; after the daemon was down over several slots, one
# catch-up backup, not one per missed slot; retention by maxAgeDays. The
# arithmetic itself is unit-tested (tests/unit/service/test_schedule.c).
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

export RDBKEEP_TEST_HOUR_MS=500
HOUR=500
rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub schedule)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-sched-1
remote() { echo "{\"name\": \"$1\", \"password\": \"$PW\", \"remoteBackup\": {\"active\": true, \"storageType\": \"local\", \"storagePath\": \"$RK_TMP/$1\"$2}}"; }
A=$(rk_create_db "$SUB" "$(remote hourly ', "interval": "every-1-hours", "retention": {"maxAgeDays": 1}')")
B=$(rk_create_db "$SUB" "$(remote twicedaily ', "interval": "every-12-hours", "timeUTC": "06:00"')")
C=$(rk_create_db "$SUB" "{\"name\": \"periodic\", \"password\": \"$PW\", \"periodicBackupPath\": \"$RK_TMP/periodic\"}")
rk_check_eq "three databases" 3 "$(printf '%s\n' "$A" "$B" "$C" | grep -c '^[0-9]')"
bk_fill "$(rk_db_field "$SUB" "$A" .publicEndpoint | cut -d: -f2)" "$PW" 2000

ms() { python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp() * 1000 + 0.5))' "$1"; }
created() { ms "$(rk_db_field "$SUB" "$1" .activatedOn)"; }
next_ms() { ms "$(rk_db_field "$SUB" "$1" .backup.nextBackupTime)"; }
now_ms() { date +%s%3N; }
# backups DB: "started finished status" of its backups, oldest first (ms).
backups() {
    api GET "$DBS/$1/backups"
    python3 -c '
import datetime, json, sys
def ms(s):
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000 + 0.5)
for b in reversed(json.loads(sys.argv[1])["backups"]):
    print(ms(b["startedAt"]), ms(b.get("finishedAt", b["startedAt"])), b["status"])' "$API_BODY"
}

rk_log "nextBackupTime on the slots"
CA=$(created "$A")
CC=$(created "$C")
nb=$(next_ms "$B")
rk_check_eq "timeUTC 06:00 every 12 hours: on a slot (06:00 or 18:00 of a 12 s day)" 0 $(((nb - 6 * HOUR) % (12 * HOUR)))
nc=$(next_ms "$C")
rk_check_eq "periodicBackupPath: every 24 hours from creation" 0 $(((nc - CC) % (24 * HOUR)))
if [ "$nc" -gt "$CC" ]; then rk_pass; else rk_fail "periodicBackupPath: next $nc not after creation $CC"; fi

rk_log "let the schedule run"
# Long enough for B's slot to come, and for A's first backups to pass a day.
deadline=$(($(now_ms) + 14000))
while [ "$(now_ms)" -lt "$deadline" ] || [ "$(backups "$B" | wc -l)" -lt 1 ]; do
    [ "$(now_ms)" -lt $((deadline + 15000)) ] || break
    sleep 0.5
done

rk_log "once per slot, never two at once"
# check_slots NAME DB ANCHOR INTERVAL_MS: no two backups in one slot, none
# overlapping another; sets SLOTS to how many backups there are.
check_slots() {
    local name=$1 db=$2 anchor=$3 step=$4 prev_slot=-1 prev_end=0 n=0 bad=0 s f st slot
    while read -r s f st; do
        slot=$(((s - anchor) / step))
        if [ "$slot" -le "$prev_slot" ]; then rk_fail "$name: two backups in slot $slot"; bad=1; fi
        if [ "$s" -lt "$prev_end" ]; then rk_fail "$name: a backup started at $s before the last ended at $prev_end"; bad=1; fi
        prev_slot=$slot
        prev_end=$f
        n=$((n + 1))
    done < <(backups "$db")
    [ "$bad" = 1 ] || rk_pass
    SLOTS=$n
}
check_slots hourly "$A" "$CA" "$HOUR"
na=$SLOTS
rk_log "hourly: $na backups"
# 14 s is 28 slots; a loaded machine may miss some, never most.
if [ "$na" -ge 10 ]; then rk_pass; else rk_fail "hourly: only $na backups in 14 s of half-second slots"; fi
# B's first backup belongs to a slot after B was set up, never to an earlier one.
first_b=$(backups "$B" | sed -n '1s/ .*//p')
CB=$(created "$B")
slot_b=$((first_b - (first_b - 6 * HOUR) % (12 * HOUR)))
if [ -n "$first_b" ] && [ "$slot_b" -gt "$CB" ]; then rk_pass; else rk_fail "timeUTC: first backup at '$first_b' (slot $slot_b), database set up at $CB"; fi
check_slots twicedaily "$B" $((6 * HOUR)) $((12 * HOUR))
api GET "$DBS/$A/backups"
rk_check_eq "scheduled backups say so in their manifest" schedule \
    "$(jq -r .trigger "$(jqb '.backups[0].manifest')")"

rk_log "retention: maxAgeDays 1 (12 s)"
mapfile -t rows < <(backups "$A")
last_start=$(cut -d' ' -f1 <<<"${rows[-1]}")
last_end=$(cut -d' ' -f2 <<<"${rows[-1]}")
deleted=0 kept=0
for r in "${rows[@]}"; do
    read -r s f st <<<"$r"
    age_limit=$((s + 24 * HOUR))
    if [ "$st" = deleted ]; then
        deleted=$((deleted + 1))
        [ "$age_limit" -lt $((last_end + 1000)) ] || rk_fail "retention: deleted a backup started at $s, not a day old"
    elif [ "$st" = succeeded ]; then
        kept=$((kept + 1))
        [ "$age_limit" -ge "$last_start" ] || rk_fail "retention: kept a backup started at $s, over a day old at $last_start"
    fi
done
if [ "$deleted" -gt 0 ]; then rk_pass; else rk_fail "retention: nothing deleted"; fi
rk_check_eq "retention: files left = backups kept" "$kept" "$(ls "$RK_TMP/hourly" | grep -c '\.rdb\.gz$')"
rk_check_eq "retention: manifests left = backups kept" "$kept" "$(ls "$RK_TMP/hourly" | grep -c '\.manifest\.json$')"

rk_log "downtime: one catch-up backup"
rk_daemon_stop
sleep 3 # six slots of A go by
R=$(now_ms)
rk_daemon_start
sleep 2 # a few slots after the restart
first_after=""
after=0
while read -r s f st; do
    [ "$s" -ge "$R" ] || continue
    after=$((after + 1))
    [ -n "$first_after" ] || first_after=$s
done < <(backups "$A")
if [ "$after" -ge 1 ]; then rk_pass; else rk_fail "no backup after the restart"; fi
check_slots "after downtime" "$A" "$CA" "$HOUR"
# The catch-up is one backup in the restart's own slot (or the next, on a slow
# start); one per missed slot would put six in it.
restart_slot=$(((first_after - CA) / HOUR))
in_slot=0
while read -r s f st; do
    [ "$s" -ge "$R" ] && [ $(((s - CA) / HOUR)) -eq "$restart_slot" ] && in_slot=$((in_slot + 1))
done < <(backups "$A")
rk_check_eq "one catch-up backup" 1 "$in_slot"

log=$(cat "$RK_DAEMON_DIR/daemon.log")
rk_check_contains "the test clock is announced" "RDBKEEP_TEST_HOUR_MS" "$log"
rk_daemon_stop
rk_check_eq "clean exit (no sanitizer report)" 0 "$RK_DAEMON_RC"
rk_finish
