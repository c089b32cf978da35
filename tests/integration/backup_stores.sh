#!/usr/bin/env bash
# Backups through the API to every remote store, against the real test
# servers: S3 and GCS (HMAC, GOOG4 signing) on the SigV4-verifying s3rver,
# Azure Blob on azurite, FTP on pyftpdlib. Credentials come from the daemon's
# config keys (S3, GCS, the Azure endpoint) or the URI (Azure key, FTP).
# Each backup's file and manifest are fetched with independent tools (curl's
# own SigV4 and GOOG4 signers, a bash+openssl SharedKey signer, the FTP
# server's directory), checked by rdb verify, sha256sum and a restore into
# redis-server (DEBUG DIGEST). Also: the probe refusing wrong credentials,
# secrets masked everywhere, a store that is down and comes back during the
# task's retries, one that stays down, and a backup cancelled by deleting its
# database (the multipart upload aborted, nothing under the final name).
# timeout: 300
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

emu_start_s3
emu_start_azurite
emu_start_ftp
S3_ENDPOINT=http://127.0.0.1:$EMU_S3_PORT
AZ_ENDPOINT=http://127.0.0.1:$EMU_AZ_PORT
az() { AZ_BLOB_URL=$AZ_ENDPOINT/$EMU_AZ_ACCOUNT AZ_ACCOUNT=$EMU_AZ_ACCOUNT AZ_KEY=$EMU_AZ_KEY \
    "$EMU_HOME/az-curl.sh" "$@"; }
rk_check_eq "azure container" 201 "$(az PUT "/backups?restype=container" 0 "" -- -o /dev/null -w '%{http_code}')"
AZ_KEY_ENC=$(printf '%s' "$EMU_AZ_KEY" | sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g')

# Parts of 5 MiB, so that a backup of some tens of MB is a multipart upload.
export RDBKEEP_STORE_PART_SIZE=5M
rk_daemon_config "$RK_TMP/d" \
    "s3AccessKeyId = $EMU_S3_KEY" "s3SecretAccessKey = $EMU_S3_SECRET" "s3EndpointUrl = $S3_ENDPOINT" \
    "gcsHmacAccessId = $EMU_S3_KEY" "gcsHmacSecret = $EMU_S3_SECRET" "gcsEndpointUrl = $S3_ENDPOINT" \
    "azureEndpointUrl = $AZ_ENDPOINT"
rk_daemon_start
SUB=$(rk_create_sub stores)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-stores-1
DB=$(rk_create_db "$SUB" "{\"name\": \"inventory\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
bk_fill "$PORT" "$PW" 30000
bk_fill_random "$PORT" "$PW" 12
KEYS=$(rcli "$PORT" "$PW" DBSIZE)
SRC=$(bk_source_digest "$PORT" "$PW")
rk_log "source: $SRC"

s3get() { curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o "$2" "$S3_ENDPOINT/backups/$1"; }
gsget() { curl -sS -f --aws-sigv4 "goog:goog:auto:storage" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-goog-content-sha256: UNSIGNED-PAYLOAD" -o "$2" "$S3_ENDPOINT/backups/$1"; }
azget() { az GET "/backups/$1" "" "" -- -sS -f -o "$2"; }
ftpget() { cp "$EMU_FTP_DIR/$1" "$2"; }
# (curl signs the query as given: one parameter, already encoded.)
s3keys() { curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT/backups?prefix=${1//\//%2F}" |
    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }
# Parts of multipart uploads that s3rver holds (until completed or aborted).
s3parts() { find "$EMU_S3_DIR" -path '*uploads*' -type f -name '[0-9]*' 2>/dev/null | wc -l; }

# backup_to NAME TYPE PATH KEYPREFIX GETTER: sets the destination, backs up,
# fetches the file and the manifest with GETTER and checks them.
backup_to() {
    local name=$1 type=$2 path=$3 prefix=$4 get=$5 file manifest
    api PUT "$DBS/$DB" "{\"remoteBackup\": {\"active\": true, \"interval\": \"every-24-hours\", \"storageType\": \"$type\", \"storagePath\": \"$path\"}}"
    rk_check_task "$name: destination probed and set" processing-completed "$(jqb .taskId)" 60
    [ "$RK_TASK_STATUS" = processing-completed ] || { echo "$API_BODY" >&2; return 0; }
    bk_backup "$SUB" "$DB"
    rk_check_eq "$name: backup" processing-completed "$RK_TASK_STATUS"
    [ "$RK_TASK_STATUS" = processing-completed ] || { echo "$API_BODY" >&2; return 0; }
    file=$(jqb '.response.resource.files[0].name')
    manifest=$(basename "$(jqb '.response.resource.manifest')")
    rk_check_eq "$name: keys" "$KEYS" "$(jqb '.response.resource.keys')"
    mkdir -p "$RK_TMP/got/$name"
    if "$get" "$prefix$file" "$RK_TMP/got/$name/$file" && "$get" "$prefix$manifest" "$RK_TMP/got/$name/$manifest"; then
        rk_pass
        bk_check_file "$name" "$RK_TMP/got/$name/$file" "$SRC"
        bk_check_manifest "$name" "$RK_TMP/got/$name/$manifest" "$RK_TMP/got/$name/$file"
    else
        rk_fail "$name: cannot fetch $prefix$file and its manifest"
    fi
}

rk_log "S3"
backup_to s3 aws-s3 "s3://backups/daily/s3" "daily/s3/" s3get
rk_log "GCS"
backup_to gcs google-blob-storage "gs://backups/daily/gcs" "daily/gcs/" gsget
rk_log "Azure"
backup_to azure azure-blob-storage "abs://:$AZ_KEY_ENC@$EMU_AZ_ACCOUNT/backups/daily/az" "daily/az/" azget
rk_log "FTP"
FTP="ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"
backup_to ftp ftp "$FTP/daily/ftp" "daily/ftp/" ftpget
rk_check_eq "ftp: no temporary file left" "" "$(ls -A "$EMU_FTP_DIR/daily/ftp" | grep -v -e '\.rdb\.gz$' -e '\.manifest\.json$' || true)"

rk_log "secrets masked"
shown="ftp://$EMU_FTP_USER:***@127.0.0.1:$EMU_FTP_PORT/daily/ftp"
api GET "$DBS/$DB"
rk_check_eq "GET database: destination masked" "$shown" "$(jqb .backup.destination)"
rk_check_not_contains "GET database: no FTP password" "$EMU_FTP_PASS_ENC" "$API_BODY"
api GET "$DBS/$DB/backups"
rk_check_eq "catalog: destination masked" "$shown" "$(jqb .backups[0].destination)"
rk_check_contains "catalog: manifest masked" "$shown/" "$(jqb .backups[0].manifest)"
rk_check_not_contains "catalog: no FTP password" "$EMU_FTP_PASS_ENC" "$API_BODY"
rk_check_not_contains "catalog: no Azure key" "$AZ_KEY_ENC" "$API_BODY"
api GET "/v1/tasks?limit=1000"
rk_check_not_contains "tasks: no FTP password" "$EMU_FTP_PASS_ENC" "$API_BODY"
rk_check_not_contains "tasks: no Azure key" "$AZ_KEY_ENC" "$API_BODY"

rk_log "wrong credentials: the probe refuses them"
api PUT "$DBS/$DB" "{\"remoteBackup\": {\"active\": true, \"storageType\": \"ftp\", \"storagePath\": \"ftp://$EMU_FTP_USER:Wr0ngPass@127.0.0.1:$EMU_FTP_PORT/x\"}}"
rk_check_task "ftp wrong password refused" processing-error "$(jqb .taskId)" 60
rk_check_eq "ftp wrong password: type" DATABASE_INVALID_BACKUP_PATH "$(jqb .response.error.type)"
rk_check_contains "ftp wrong password: the server's answer" "530" "$(jqb .response.error.description)"
rk_check_not_contains "ftp wrong password: not shown" Wr0ngPass "$API_BODY"
BADKEY=$(printf 'not-the-key-%040d' 0 | base64 -w0 | sed 's#=#%3D#g')
api PUT "$DBS/$DB" "{\"remoteBackup\": {\"active\": true, \"storageType\": \"azure-blob-storage\", \"storagePath\": \"abs://:$BADKEY@$EMU_AZ_ACCOUNT/backups/x\"}}"
rk_check_task "azure wrong key refused" processing-error "$(jqb .taskId)" 60
rk_check_contains "azure wrong key: the server's answer" "403" "$(jqb .response.error.description)"
rk_check_not_contains "azure wrong key: not shown" "$BADKEY" "$API_BODY"
api GET "$DBS/$DB"
rk_check_eq "refused settings not kept" "$shown" "$(jqb .backup.destination)"

rk_log "S3 down during a backup: retried until it is back"
emu_stop "$EMU_S3_PID"
bk_start=$(grep -c 'backup attempt failed; trying again' "$RK_DAEMON_DIR/daemon.log" || true)
api POST "$DBS/$DB/backup" '{"adhocBackupPath": "s3://backups/retry"}'
TASK=$(jqb .taskId)
deadline=$(($(date +%s) + 30))
until [ "$(grep -c 'backup attempt failed; trying again' "$RK_DAEMON_DIR/daemon.log" || true)" -gt "$bk_start" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.1
done
emu_run_s3 "$EMU_S3_DIR" "$EMU_S3_PORT"
rk_check_task "backup completes once S3 is back" processing-completed "$TASK" 120
file=$(jqb '.response.resource.files[0].name')
if s3get "retry/$file" "$RK_TMP/retry.rdb.gz"; then bk_check_file "after a retry" "$RK_TMP/retry.rdb.gz" "$SRC"; else rk_fail "retry: no file"; fi

rk_log "S3 down for good: a clear error, no secret"
emu_stop "$EMU_S3_PID"
bk_backup "$SUB" "$DB" '{"adhocBackupPath": "s3://backups/never"}'
rk_check_eq "S3 down: the task fails" processing-error "$RK_TASK_STATUS"
rk_check_eq "S3 down: type" DATABASE_BACKUP_FAILED "$(jqb .response.error.type)"
rk_check_contains "S3 down: the store's message" "Failed to connect" "$(jqb .response.error.description)"
rk_check_contains "S3 down: retried" "after 4 attempts" "$(jqb .response.error.description)"
rk_check_not_contains "S3 down: no secret" "$EMU_S3_SECRET" "$API_BODY"
emu_run_s3 "$EMU_S3_DIR" "$EMU_S3_PORT"

rk_log "a backup cancelled by deleting its database"
DB2=$(rk_create_db "$SUB" "{\"name\": \"doomed\", \"password\": \"$PW\", \"memoryLimitInGb\": 2}")
PORT2=$(rk_db_field "$SUB" "$DB2" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT2" "$PW"
bk_fill_random "$PORT2" "$PW" 400
api POST "$DBS/$DB2/backup" '{"adhocBackupPath": "s3://backups/doomed"}'
TASK=$(jqb .taskId)
deadline=$(($(date +%s) + 60))
while :; do
    api GET "/v1/tasks/$TASK"
    [ "$(jqb .progress.bytes)" -gt 20000000 ] && break
    [ "$(jqb .status)" = processing-in-progress ] || [ "$(jqb .status)" = received ] || break
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.05
done
rk_check_eq "doomed backup is running" processing-in-progress "$(jqb .status)"
parts=$(s3parts)
if [ "$parts" -gt 0 ]; then rk_pass; else rk_fail "doomed backup: no multipart upload parts seen on the server"; fi
api DELETE "$DBS/$DB2"
DEL=$(jqb .taskId)
rk_check_task "the backup ends" processing-error "$TASK" 30
rk_check_contains "the backup says why" "database $DB2 is being deleted" "$(jqb .response.error.description)"
rk_check_task "the delete completes" processing-completed "$DEL" 30
rk_check_eq "nothing under the final name" "" "$(s3keys doomed/)"
rk_check_eq "the multipart upload was aborted" 0 "$(s3parts)"
rk_check_eq "the other backups are still there" 1 "$(s3keys retry/ | grep -c 'manifest.json$')"

log=$(cat "$RK_DAEMON_DIR/daemon.log")
rk_check_not_contains "log: no FTP password" "$EMU_FTP_PASS_ENC" "$log"
rk_check_not_contains "log: no S3 secret" "$EMU_S3_SECRET" "$log"
rk_check_not_contains "log: no Azure key" "$AZ_KEY_ENC" "$log"
rk_daemon_stop
rk_check_eq "clean exit (no sanitizer report)" 0 "$RK_DAEMON_RC"
rk_finish
