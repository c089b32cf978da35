#!/usr/bin/env bash
# Backups through the API to local paths: the settings' rules (answered at
# once) and the write probe (before the update completes); on-demand backups
# to an ad-hoc path and to the configured one, each file checked by rdbkeep
# rdb verify, by sha256sum against the manifest, and restored into a
# redis-server whose DEBUG DIGEST must equal the source's; the catalog, GET
# backup, nextBackupTime; retention; the client command; a destination that
# fails (retried, then a clear error, nothing left behind).
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub backups)
DBS=/v1/subscriptions/$SUB/databases
PW='Pw-backup_1'
DB=$(rk_create_db "$SUB" "{\"name\": \"orders\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
CREATED=$(rk_db_field "$SUB" "$DB" .activatedOn)
rk_wait_redis "$PORT" "$PW"
bk_fill "$PORT" "$PW" 50000
KEYS=$(rcli "$PORT" "$PW" DBSIZE)
SRC=$(bk_source_digest "$PORT" "$PW")
rk_log "source: $KEYS keys, digest and keys $SRC"

rk_log "settings refused at once"
api PUT "$DBS/$DB" '{"periodicBackupPath": "relative/dir"}'
rk_check_error "relative periodicBackupPath" 400 DATABASE_INVALID_BACKUP_PATH
api PUT "$DBS/$DB" '{"periodicBackupPath": "https://files.example/backups"}'
rk_check_error "periodicBackupPath to a read-only store" 400 DATABASE_INVALID_BACKUP_PATH
rk_check_contains "read-only store named" "cannot be written" "$(jqb .error.description)"
rb() { echo "{\"remoteBackup\": {\"active\": true, \"storageType\": \"local\", \"storagePath\": \"$RK_TMP/rb\"$1}}"; }
api PUT "$DBS/$DB" "$(rb ', "interval": "every-3-hours"')"
rk_check_error "interval of 3 hours" 400 DATABASE_INVALID_BACKUP_INTERVAL
api PUT "$DBS/$DB" "$(rb ', "interval": "every-24-hours", "timeUTC": "24:00"')"
rk_check_error "timeUTC 24:00" 400 DATABASE_INVALID_BACKUP_TIME_UTC
api PUT "$DBS/$DB" "$(rb ', "interval": "every-24-hours", "timeUTC": "7:30"')"
rk_check_error "timeUTC without two digits" 400 DATABASE_INVALID_BACKUP_TIME_UTC
api PUT "$DBS/$DB" "$(rb ', "interval": "every-6-hours", "timeUTC": "07:30"')"
rk_check_error "timeUTC with 6 hours" 400 DATABASE_INVALID_BACKUP_INTERVAL_AND_TIME_UTC_MISMATCH
api PUT "$DBS/$DB" "$(rb ', "retention": {"keepLast": 0}')"
rk_check_error "keepLast 0" 400 INVALID_FIELD_VALUE
api PUT "$DBS/$DB" '{"remoteBackup": {"active": true, "storageType": "dropbox", "storagePath": "/x"}}'
rk_check_error "unknown storageType" 400 DATABASE_INVALID_BACKUP_PATH
api PUT "$DBS/$DB" '{"remoteBackup": {"active": true, "storageType": "aws-s3", "storagePath": "gs://bucket/x"}}'
rk_check_error "storagePath of another type" 400 DATABASE_INVALID_BACKUP_PATH
api PUT "$DBS/$DB" '{"remoteBackup": {"active": true, "storageType": "local"}}'
rk_check_error "remoteBackup without storagePath" 400 DATABASE_INVALID_BACKUP_PATH
api POST "$DBS" '{"name": "bad", "periodicBackupPath": "ftp://h/../x"}'
rk_check_error "create with a bad path" 400 DATABASE_INVALID_BACKUP_PATH
api POST "$DBS/$DB/backup" '{"adhocBackupPath": "not/absolute"}'
rk_check_error "relative adhocBackupPath" 400 DATABASE_INVALID_BACKUP_PATH

rk_log "no path: DATABASE_BACKUP_DISABLED"
bk_backup "$SUB" "$DB"
rk_check_eq "backup without any path fails" processing-error "$RK_TASK_STATUS"
rk_check_eq "backup without any path: type" DATABASE_BACKUP_DISABLED "$(jqb .response.error.type)"

rk_log "the write probe"
: >"$RK_TMP/afile"
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"$RK_TMP/afile/backups\"}"
rk_check_task "unwritable periodicBackupPath refused by the probe" processing-error "$(jqb .taskId)"
rk_check_eq "probe failure type" DATABASE_INVALID_BACKUP_PATH "$(jqb .response.error.type)"
rk_check_eq "refused path not kept" null "$(rk_db_field "$SUB" "$DB" .periodicBackupPath)"
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"$RK_TMP/periodic\"}"
rk_check_task "writable periodicBackupPath" processing-completed "$(jqb .taskId)"
rk_check_eq "the probe object is gone" "" "$(ls -A "$RK_TMP/periodic")"

rk_log "ad-hoc backup"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"$RK_TMP/adhoc\"}"
rk_check_eq "ad-hoc backup" processing-completed "$RK_TASK_STATUS"
TASK=$API_BODY
name=$(jq -r '.response.resource.files[0].name' <<<"$TASK")
stem=${name%-1_of_1.rdb.gz}
if [[ "$name" =~ ^orders-$DB-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-1_of_1\.rdb\.gz$ ]]; then rk_pass; else rk_fail "file name: $name"; fi
rk_check_eq "files in the ad-hoc path" "$(printf '%s\n' "$name" "$stem.manifest.json")" "$(ls -A "$RK_TMP/adhoc")"
rk_check_eq "task resource: the file's place" "$RK_TMP/adhoc/$name" "$(jq -r '.response.resource.files[0].uri' <<<"$TASK")"
rk_check_eq "task resource: the manifest" "$RK_TMP/adhoc/$stem.manifest.json" "$(jq -r '.response.resource.manifest' <<<"$TASK")"
rk_check_eq "task resource: keys" "$KEYS" "$(jq -r '.response.resource.keys' <<<"$TASK")"
rk_check_eq "task resourceId" "$DB" "$(jq -r '.response.resourceId' <<<"$TASK")"
rk_check_eq "task progress: keys" "$KEYS" "$(jq -r '.progress.keys' <<<"$TASK")"
rk_check_eq "task progress: percent" 100 "$(jq -r '.progress.percent' <<<"$TASK")"
bytes=$(jq -r '.progress.bytes' <<<"$TASK")
rk_check_eq "task progress: RDB bytes" "$(gunzip -c "$RK_TMP/adhoc/$name" | wc -c)" "$bytes"
bk_check_file "ad-hoc" "$RK_TMP/adhoc/$name" "$SRC"
bk_check_manifest "ad-hoc" "$RK_TMP/adhoc/$stem.manifest.json" "$RK_TMP/adhoc/$name"
M="$RK_TMP/adhoc/$stem.manifest.json"
rk_check_eq "manifest: keys" "$KEYS" "$(jq -r '.totalKeys' "$M")"
rk_check_eq "manifest: RDB version (redis-check-rdb's view)" \
    "$(gunzip -c "$RK_TMP/adhoc/$name" | head -c 9 | tail -c 4 | sed 's/^0*//')" "$(jq -r '.rdbVersion' "$M")"
rk_check_eq "manifest: source version" "$(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')" "$(jq -r '.sourceRedisVersion' "$M")"
rk_check_eq "manifest: database" "$DB orders" "$(jq -r '"\(.databaseId) \(.databaseName)"' "$M")"

api GET "$DBS/$DB/backups"
rk_check_eq "catalog: one backup" 1 "$(jqb '.backups | length')"
rk_check_eq "catalog: succeeded, keys, sha256" \
    "succeeded $KEYS $(sha256sum <"$RK_TMP/adhoc/$name" | cut -d' ' -f1)" "$(jqb '.backups[0] | "\(.status) \(.keys) \(.sha256)"')"
rk_check_eq "catalog: size" "$(stat -c %s "$RK_TMP/adhoc/$name")" "$(jqb '.backups[0].sizeBytes')"
api GET "$DBS/$DB/backup"
rk_wait_task "$(jqb .taskId)"
rk_check_eq "GET backup: status task" "processing-completed succeeded" "$RK_TASK_STATUS $(jqb .response.resource.status)"
rk_check_eq "GET backup: the latest" "$(jq -r .response.resource.finishedAt <<<"$TASK")" "$(jqb .response.resource.lastBackupTime)"

rk_log "backup to the configured path"
bk_backup "$SUB" "$DB"
rk_check_eq "backup to periodicBackupPath" processing-completed "$RK_TASK_STATUS"
name=$(jqb '.response.resource.files[0].name')
finished=$(jqb '.response.resource.finishedAt')
bk_check_file "periodic" "$RK_TMP/periodic/$name" "$SRC"
api GET "$DBS/$DB"
rk_check_eq "GET database: backup status" succeeded "$(jqb .backup.status)"
rk_check_eq "GET database: lastBackupTime" "$finished" "$(jqb .backup.lastBackupTime)"
# periodicBackupPath: every 24 hours from the database's creation.
want_next=$(python3 -c "
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%S.%fZ') + datetime.timedelta(hours=24)
print(t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (t.microsecond // 1000))" "$CREATED")
rk_check_eq "GET database: nextBackupTime" "$want_next" "$(jqb .backup.nextBackupTime)"

rk_log "retention: keepLast 2"
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"\", \"remoteBackup\": {\"active\": true, \"interval\": \"every-12-hours\", \"timeUTC\": \"03:00\", \"storageType\": \"local\", \"storagePath\": \"$RK_TMP/kept\", \"retention\": {\"keepLast\": 2}}}"
rk_check_task "remoteBackup with retention" processing-completed "$(jqb .taskId)"
api GET "$DBS/$DB"
next=$(jqb .backup.nextBackupTime)
if [[ "$next" =~ T(03|15):00:00\.000Z$ ]]; then rk_pass; else rk_fail "nextBackupTime on the timeUTC slots: $next"; fi
names=()
for i in 1 2 3 4; do
    bk_backup "$SUB" "$DB"
    rk_check_eq "retention backup $i" processing-completed "$RK_TASK_STATUS"
    names+=("$(jqb '.response.resource.files[0].name')")
done
want=$(for n in "${names[2]}" "${names[3]}"; do echo "$n"; echo "${n%-1_of_1.rdb.gz}.manifest.json"; done | sort)
rk_check_eq "retention: the last two backups stay" "$want" "$(ls -A "$RK_TMP/kept" | sort)"
api GET "$DBS/$DB/backups"
rk_check_eq "retention: catalog states at the destination" "succeeded succeeded deleted deleted" \
    "$(jqb "[.backups[] | select(.destination == \"$RK_TMP/kept\") | .status] | join(\" \")")"
rk_check_eq "retention: other destinations untouched" 2 \
    "$(jqb "[.backups[] | select(.destination != \"$RK_TMP/kept\" and .status == \"succeeded\")] | length")"

rk_log "the client"
export RDBKEEP_API_URL=$RK_API RDBKEEP_API_KEY=$RK_KEY RDBKEEP_API_SECRET_KEY=$RK_SECRET
if out=$("$RDBKEEP_BIN" db backup "$DB" --path "$RK_TMP/cli" --wait 2>&1); then rk_pass; else rk_fail "db backup --wait: $out"; fi
rk_check_contains "db backup --wait: keys" "$KEYS keys" "$out"
manifest=$(sed -n 's/^  manifest: *//p' <<<"$out")
rk_check_eq "db backup --wait: the manifest it names" "$RK_TMP/cli" "$(dirname "$manifest")"
if [ -f "$manifest" ]; then rk_pass; else rk_fail "db backup --wait: no manifest at $manifest"; fi
task=$("$RDBKEEP_BIN" db backup "$SUB" "$DB" 2>&1)
if [[ "$task" =~ ^[0-9a-f-]{36}$ ]]; then rk_pass; else rk_fail "db backup without --wait prints the task id: $task"; fi
if out=$("$RDBKEEP_BIN" task wait "$task" 2>&1); then rk_pass; else rk_fail "task wait: $out"; fi
set +e
out=$("$RDBKEEP_BIN" db backup 999999 2>&1)
rc=$?
set -e
rk_check_eq "db backup of an unknown database: exit 1" 1 "$rc"
rk_check_contains "db backup of an unknown database: message" "database 999999 not found" "$out"

rk_log "a destination that fails: retried, then a clear error"
api PUT "$DBS/$DB" '{"remoteBackup": {"active": false}}'
rk_wait_task "$(jqb .taskId)"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"$RK_TMP/afile/under-a-file\"}"
rk_check_eq "failed backup" processing-error "$RK_TASK_STATUS"
rk_check_eq "failed backup: type" DATABASE_BACKUP_FAILED "$(jqb .response.error.type)"
rk_check_contains "failed backup: retried" "after 4 attempts" "$(jqb .response.error.description)"
rk_check_contains "failed backup: names the destination" "$RK_TMP/afile/under-a-file" "$(jqb .response.error.description)"
api GET "$DBS/$DB/backups"
rk_check_eq "failed backup in the catalog" failed "$(jqb .backups[0].status)"
rk_check_eq "retries logged" 3 "$(grep -c 'backup attempt failed; trying again' "$RK_DAEMON_DIR/daemon.log")"

log=$(cat "$RK_DAEMON_DIR/daemon.log")
rk_check_not_contains "database password not logged" "$PW" "$log"
rk_daemon_stop
rk_check_eq "clean exit" 0 "$RK_DAEMON_RC"
rk_finish
