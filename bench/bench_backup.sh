#!/usr/bin/env bash
# bench_backup.sh: a backup of the standard dataset through the daemon's API
# (POST .../backup, then GET /v1/tasks/{id} every 100 ms until it completed:
# what a client sees), to a local path and to the S3 test server (s3rver),
# against redis-cli --rdb of the same managed database to a local file, runs
# interleaved, best of BENCH_RUNS (default 3). Target: at most 1.15x
# redis-cli's time, for both destinations. The backup does more than the
# baseline (it verifies every key and the CRC, gzips and hashes what it
# stores, and writes a manifest); a last line shows redis-cli --rdb followed
# by curl's upload of its file to the same S3 server (s3rver takes no chunked
# upload, so no pipe), which is what that store costs without rdbkeep.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

rdb=$(bench_std_rdb)
runs=${BENCH_RUNS:-3}

emu_start_s3
S3URL=http://127.0.0.1:$EMU_S3_PORT
rk_daemon_config "$RK_TMP/d" \
    "s3AccessKeyId = $EMU_S3_KEY" "s3SecretAccessKey = $EMU_S3_SECRET" "s3EndpointUrl = $S3URL"
rk_daemon_start
SUB=$(rk_create_sub bench)
PW=Bench-pw-1
DB=$(rk_create_db "$SUB" "{\"name\": \"std\", \"password\": \"$PW\", \"memoryLimitInGb\": 8}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
rk_log "loading the standard dataset into database $DB (rdb push)"
"$RDBKEEP_BIN" rdb push -q "$rdb" "redis://$PW@127.0.0.1:$PORT"
keys=$(rcli "$PORT" "$PW" DBSIZE)
rk_log "database ready: $keys keys"

now_ms() { date +%s%3N; }

# api_backup VAR DEST: a backup through the API; VAR gets the wall seconds
# from the POST to the completed task, VAR_DAEMON the task's own duration.
api_backup() {
    local var=$1 dest=$2 t0 t1 id
    t0=$(now_ms)
    api POST "/v1/subscriptions/$SUB/databases/$DB/backup" "{\"adhocBackupPath\": \"$dest\"}"
    id=$(jqb .taskId)
    # One curl per poll and no jq in the loop: the poller must not take the
    # CPU the backup needs (two cores).
    local st
    while :; do
        st=$(curl -s -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" "$RK_API/v1/tasks/$id")
        case "$st" in
        *'"status":"processing-completed"'*) break ;;
        *'"status":"processing-error"'*) echo "backup failed: $st" >&2; exit 1 ;;
        esac
        sleep 0.1
    done
    t1=$(now_ms)
    api GET "/v1/tasks/$id"
    # (The dataset has keys that expire: the count may be a little lower than DBSIZE was.)
    [ "$(jqb .response.resource.keys)" -gt $((keys * 99 / 100)) ] || { echo "backup holds $(jqb .response.resource.keys) keys of $keys" >&2; exit 1; }
    printf -v "$var" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b - a) / 1000}')"
    printf -v "${var}_DAEMON" '%s' "$(awk -v d="$(jqb .response.resource.durationMs)" 'BEGIN{printf "%.2f", d / 1000}')"
    LAST_FILE=$(jqb '.response.resource.files[0].uri')
    LAST_MANIFEST=$(jqb '.response.resource.manifest')
    LAST_SIZE=$(jqb '.response.resource.sizeBytes')
}

cli_rdb() { REDISCLI_AUTH="$PW" redis-cli -h 127.0.0.1 -p "$PORT" --no-auth-warning --rdb "$1" >/dev/null 2>&1; }
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
s3rm() { curl -sS -f -X DELETE "${SIG[@]}" "$S3URL/backups/$1" >/dev/null; }

min() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN{exit !(a < b)}'; then echo "$2"; else echo "$1"; fi; }
best_cli="" best_local="" best_s3="" best_pipe="" d_local="" d_s3=""
for i in $(seq "$runs"); do
    sync
    t0=$(now_ms)
    cli_rdb "$RK_TMP/cli.rdb"
    t_cli=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN{printf "%.2f", (b - a) / 1000}')
    cli_size=$(stat -c %s "$RK_TMP/cli.rdb")
    rm -f "$RK_TMP/cli.rdb"
    sync
    api_backup t_local "$RK_TMP/local"
    local_file=$LAST_FILE local_size=$LAST_SIZE
    "$RDBKEEP_BIN" rdb verify -q "$local_file" || { echo "the local backup does not verify" >&2; exit 1; }
    rm -f "$LAST_FILE" "$LAST_MANIFEST"
    sync
    api_backup t_s3 "s3://backups/bench"
    s3rm "${LAST_FILE#s3://backups/}"
    s3rm "${LAST_MANIFEST#s3://backups/}"
    sync
    # s3rver takes no chunked upload: the file first, then curl.
    t0=$(now_ms)
    cli_rdb "$RK_TMP/cli.rdb"
    curl -sS -f -T "$RK_TMP/cli.rdb" "${SIG[@]}" "$S3URL/backups/cli.rdb" >/dev/null
    t_pipe=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN{printf "%.2f", (b - a) / 1000}')
    rm -f "$RK_TMP/cli.rdb"
    s3rm cli.rdb
    rk_log "run $i: redis-cli --rdb $t_cli s; backup to local $t_local s (daemon $t_local_DAEMON s); to S3 $t_s3 s (daemon $t_s3_DAEMON s); redis-cli then curl to S3 $t_pipe s"
    best_cli=$(min "$best_cli" "$t_cli")
    [ "$(min "$best_local" "$t_local")" = "$t_local" ] && d_local=$t_local_DAEMON
    best_local=$(min "$best_local" "$t_local")
    [ "$(min "$best_s3" "$t_s3")" = "$t_s3" ] && d_s3=$t_s3_DAEMON
    best_s3=$(min "$best_s3" "$t_s3")
    best_pipe=$(min "$best_pipe" "$t_pipe")
done

mb=$(awk -v s="$cli_size" 'BEGIN{printf "%.0f", s / 1048576}')
stored=$(awk -v s="$local_size" 'BEGIN{printf "%.0f", s / 1048576}')
echo "dataset: $keys keys, RDB $mb MiB (stored gzipped: $stored MiB); best of $runs interleaved runs"
printf "%-44s %8s s\n" "redis-cli --rdb to a file (baseline)" "$best_cli"
printf "%-44s %8s s  (in the daemon %s s)  ratio %s (target <= 1.15)\n" "backup through the API to a local path" \
    "$best_local" "$d_local" "$(bench_ratio "$best_local" "$best_cli")"
printf "%-44s %8s s  (in the daemon %s s)  ratio %s (target <= 1.15)\n" "backup through the API to S3 (s3rver)" \
    "$best_s3" "$d_s3" "$(bench_ratio "$best_s3" "$best_cli")"
printf "%-44s %8s s  ratio %s (reference: what the store costs)\n" "redis-cli --rdb, then curl to S3 (s3rver)" \
    "$best_pipe" "$(bench_ratio "$best_pipe" "$best_cli")"
