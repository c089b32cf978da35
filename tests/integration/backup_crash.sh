#!/usr/bin/env bash
# A backup interrupted: the daemon killed (kill -9) in the middle of a backup
# to a local path and to S3, and a database deleted in the middle of its
# backup. After the restart the task is processing-error, the catalog's
# backup failed, and no file that looks complete exists (no .rdb.gz, no
# manifest under the backup's names, nothing listed on S3); the next backup
# works. A store that is down at the restart keeps the backup "interrupted",
# and what it wrote (here a manifest put under its name) is removed at a
# later start, once the store is back. The delete stops the backup at once
# and leaves nothing.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

emu_start_s3
S3_ENDPOINT=http://127.0.0.1:$EMU_S3_PORT
# backup_status: the status of the database's newest backup in the catalog
# (in a subshell: read API_BODY again with api GET where it matters).
backup_status() {
    api GET "$DBS/$DB/backups"
    jqb .backups[0].status
}
# wait_backup_status STATUS: until the newest backup has it (10 s at most).
wait_backup_status() {
    local deadline=$(($(date +%s) + 10))
    until [ "$(backup_status)" = "$1" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.1; done
}
s3keys() { curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT/backups?prefix=${1//\//%2F}" |
    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }
rk_daemon_config "$RK_TMP/d" \
    "s3AccessKeyId = $EMU_S3_KEY" "s3SecretAccessKey = $EMU_S3_SECRET" "s3EndpointUrl = $S3_ENDPOINT"
rk_daemon_start
SUB=$(rk_create_sub crash)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-crash-1
DB=$(rk_create_db "$SUB" "{\"name\": \"big\", \"password\": \"$PW\", \"memoryLimitInGb\": 2}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
# 300 MB that gzip cannot shrink: a backup takes seconds.
bk_fill_random "$PORT" "$PW" 300
KEYS=$(rcli "$PORT" "$PW" DBSIZE)

# start_backup PATH: submits a backup, waits until it has moved 30 MB; sets TASK.
start_backup() {
    api POST "$DBS/$DB/backup" "{\"adhocBackupPath\": \"$1\"}"
    TASK=$(jqb .taskId)
    local deadline=$(($(date +%s) + 60))
    while :; do
        api GET "/v1/tasks/$TASK"
        [ "$(jqb .progress.bytes)" -gt 30000000 ] && break
        case "$(jqb .status)" in received | processing-in-progress) ;; *) break ;; esac
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 0.05
    done
    rk_check_eq "backup to $1 under way" processing-in-progress "$(jqb .status)"
}

# final_names DIR: files under DIR that carry a backup's final name.
final_names() { find "$1" -name '*.rdb.gz' -o -name '*.manifest.json' 2>/dev/null | grep -v rdbkeep-tmp || true; }

rk_log "kill -9 during a backup to a local path"
start_backup "$RK_TMP/local"
rk_daemon_kill9
rk_check_eq "nothing under a final name after the kill" "" "$(final_names "$RK_TMP/local")"
rk_check_contains "the write had a temporary name" rdbkeep-tmp "$(ls -A "$RK_TMP/local")"
rk_daemon_start
rk_check_task "the interrupted task ends" processing-error "$TASK" 10
rk_check_contains "it says why" "the daemon stopped while this task was running" "$(jqb .response.error.description)"
# Interrupted while the scheduler thread removes what it left, then failed.
wait_backup_status failed
api GET "$DBS/$DB/backups"
rk_check_eq "the catalog's backup failed" failed "$(jqb .backups[0].status)"
rk_check_contains "the catalog says why" "the daemon stopped" "$(jqb .backups[0].error)"
rk_check_contains "and that what it wrote is gone" "was removed" "$(jqb .backups[0].error)"
api GET "$DBS/$DB"
rk_check_eq "GET database: last backup failed" failed "$(jqb .backup.status)"
rk_check_eq "no complete-looking file after the restart" "" "$(final_names "$RK_TMP/local")"
rk_check_eq "no temporary file either" "" "$(ls -A "$RK_TMP/local" 2>/dev/null || true)"

rk_log "kill -9 during a backup to S3"
start_backup "s3://backups/crash"
rk_daemon_kill9
rk_check_eq "nothing listed on S3 after the kill" "" "$(s3keys crash/)"
rk_daemon_start
rk_check_task "the interrupted S3 task ends" processing-error "$TASK" 10
wait_backup_status failed
rk_check_eq "the S3 backup failed" failed "$(backup_status)"
rk_check_eq "nothing listed on S3 after the restart" "" "$(s3keys crash/)"

rk_log "kill -9 during a backup to S3, restarted while S3 is down"
start_backup "s3://backups/down"
rk_daemon_kill9
emu_stop "$EMU_S3_PID"
rk_daemon_start
rk_check_task "the interrupted task ends" processing-error "$TASK" 10
sleep 1
api GET "$DBS/$DB/backups"
rk_check_eq "S3 down: the backup stays interrupted" interrupted "$(jqb .backups[0].status)"
manifest=$(jqb .backups[0].manifest)
rk_check_contains "it names its manifest" "s3://backups/down/" "$manifest"
rk_daemon_stop
# As if the manifest had been written just before the kill: it must not
# survive as a complete-looking backup.
emu_run_s3 "$EMU_S3_DIR" "$EMU_S3_PORT"
echo '{}' >"$RK_TMP/stand-in.json" # (s3rver takes no chunked upload: a file, not a pipe)
curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$RK_TMP/stand-in.json" \
    "$S3_ENDPOINT/backups/${manifest#s3://backups/}" >/dev/null
rk_check_eq "the stand-in manifest is on S3" "${manifest#s3://backups/}" "$(s3keys down/)"
rk_daemon_start
wait_backup_status failed
rk_check_eq "S3 back: the backup is failed" failed "$(backup_status)"
rk_check_eq "S3 back: nothing of it is left" "" "$(s3keys down/)"

rk_log "the next backup works"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"$RK_TMP/local\"}"
rk_check_eq "backup after the crashes" processing-completed "$RK_TASK_STATUS"
rk_check_eq "it holds every key" "$KEYS" "$(jqb .response.resource.keys)"
f=$(jqb '.response.resource.files[0].name')
if out=$("$RDBKEEP_BIN" rdb verify "$RK_TMP/local/$f" 2>&1); then rk_pass; else rk_fail "verify: $out"; fi
rk_check_eq "the directory holds that backup only" 2 "$(ls -A "$RK_TMP/local" | wc -l)"

rk_log "delete the database during its backup"
start_backup "$RK_TMP/deleted"
t0=$(date +%s%3N)
api DELETE "$DBS/$DB"
DEL=$(jqb .taskId)
rk_check_task "the backup stops" processing-error "$TASK" 10
t1=$(date +%s%3N)
rk_log "stopped $((t1 - t0)) ms after the delete"
rk_check_contains "cancelled because of the delete" "database $DB is being deleted" "$(jqb .response.error.description)"
rk_check_task "the delete completes" processing-completed "$DEL" 30
rk_check_eq "the cancelled backup left nothing" "" "$(ls -A "$RK_TMP/deleted" 2>/dev/null || true)"

rk_daemon_stop
rk_check_eq "clean exit (no sanitizer report)" 0 "$RK_DAEMON_RC"
rk_finish
