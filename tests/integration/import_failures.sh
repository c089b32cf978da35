#!/usr/bin/env bash
# Imports that must fail, and leave the database as it was: a damaged file
# (one byte changed), a truncated one, a truncated gzip, files that are no
# RDB at all (text, random bytes, empty, a gzip of text), two shards holding
# the same key, and a dataset bigger than the database's memory limit
# (DATABASE_IMPORT_WRONG_SIZE with both sizes). Each error says which file
# and where; afterwards the same redis-server process serves the same data
# (DEBUG DIGEST of what redis-cli --rdb reads from it), the status is active
# and no staging directory is left. Then: a backup (the backup job) imported
# back gives the data it was taken from, by DEBUG DIGEST; an import cut by
# the database's deletion and one cut by a daemon shutdown leave nothing.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"
source "$RDBKEEP_SRC/tests/lib/import.sh"

emu_start_nginx
HTTP="http://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTP_PORT"
W=$EMU_WWW
mkdir -p "$W/slow"

rk_start_redis SRC
im_fill "$SRC" good 3000
im_save_file GOOD "$SRC" "$SRC_DIR" good.rdb
SIZE=$(stat -c %s "$GOOD")
cp "$GOOD" "$W/good.rdb"
# One byte in the middle changed: the structure or the CRC64 says so.
cp "$GOOD" "$W/flipped.rdb"
# (Complemented, not set: a byte that already held the new value would
# leave the file intact.)
b=$(od -An -tu1 -j $((SIZE / 2)) -N1 "$GOOD" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 255)))" | dd of="$W/flipped.rdb" bs=1 seek=$((SIZE / 2)) conv=notrunc 2>/dev/null
rk_check_eq "the damaged file differs from the good one in one byte" 1 "$(cmp -l "$GOOD" "$W/flipped.rdb" | wc -l)"
head -c $((SIZE / 2)) "$GOOD" >"$W/truncated.rdb"
gzip -c "$GOOD" >"$RK_TMP/good.rdb.gz"
head -c $(($(stat -c %s "$RK_TMP/good.rdb.gz") / 2)) "$RK_TMP/good.rdb.gz" >"$W/truncated.rdb.gz"
printf 'this is not a redis backup\n%.0s' $(seq 200) >"$W/text.rdb"
head -c 100000 /dev/urandom >"$W/random.rdb"
: >"$W/empty.rdb"
gzip -c "$W/text.rdb" >"$W/text.rdb.gz"
cp "$GOOD" "$W/same-keys.rdb"
redis-cli -p "$SRC" FLUSHALL >/dev/null
bk_fill_random "$SRC" "" 48
im_save_file BIG "$SRC" "$SRC_DIR" big.rdb
cp "$BIG" "$W/big.rdb"
cp "$BIG" "$W/slow/big.rdb"
chmod -R a+rX "$W"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub failures)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-failures-1
DB=$(rk_create_db "$SUB" "{\"name\": \"kept\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
bk_fill "$PORT" "$PW" 3000
BEFORE=$(bk_source_digest "$PORT" "$PW")
PID=$(im_pid "$PORT" "$PW")

unchanged() {
    rk_check_eq "$1: the same process serves" "$PID" "$(im_pid "$PORT" "$PW")"
    rk_check_eq "$1: the same data" "$BEFORE" "$(bk_source_digest "$PORT" "$PW")"
    rk_check_eq "$1: status" active "$(rk_db_field "$SUB" "$DB" .status)"
    im_no_staging "$1" "$RK_DATA" "$DB"
}

# fails WHAT NEEDLE FILE...: the import of these files fails, saying NEEDLE.
fails() {
    local what=$1 needle=$2 uris=() f
    shift 2
    for f in "$@"; do uris+=("$HTTP/$f"); done
    im_import "$SUB" "$DB" http "${uris[@]}"
    im_check_failed "$what" DATABASE_IMPORT_FAILED "$needle"
    rk_check_not_contains "$what: no secret" "$EMU_HTTP_PASS_ENC" "$API_BODY"
    unchanged "$what"
}
fails "one byte changed" "flipped.rdb" flipped.rdb
rk_check_contains "one byte changed: where" "offset" "$(jqb .response.error.description)"
fails "truncated" "truncated.rdb: offset" truncated.rdb
rk_check_contains "truncated: what" "ends early" "$(jqb .response.error.description)"
fails "truncated gzip" "truncated.rdb.gz" truncated.rdb.gz
fails "text" "text.rdb.gz (after gunzip): offset 0" text.rdb.gz
fails "not gzip, not an RDB" "text.rdb: offset 0" text.rdb
fails "random bytes" "random.rdb: offset 0" random.rdb
fails "empty" "empty.rdb" empty.rdb
fails "a damaged second shard" "flipped.rdb" good.rdb flipped.rdb
fails "two shards with the same keys" "duplicated key" good.rdb same-keys.rdb
rk_log "duplicated keys: $(jqb .response.error.description)"

# ---- bigger than the memory limit ----
SMALL=$(rk_create_db "$SUB" "{\"name\": \"small\", \"password\": \"$PW\", \"memoryLimitInGb\": 0.02}")
SPORT=$(rk_db_field "$SUB" "$SMALL" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$SPORT" "$PW"
bk_fill "$SPORT" "$PW" 100
SBEFORE=$(bk_source_digest "$SPORT" "$PW")
SPID=$(im_pid "$SPORT" "$PW")
im_import "$SUB" "$SMALL" http "$HTTP/big.rdb"
im_check_failed "over the limit" DATABASE_IMPORT_WRONG_SIZE "memoryLimitInGb is 0.02"
desc=$(jqb .response.error.description)
rk_log "over the limit: $desc"
# The size it reports is more than the limit (21474836 bytes), by its own number.
used=$(sed -n 's/.*(used_memory \([0-9]*\) bytes.*/\1/p' <<<"$desc")
[ -n "$used" ] && [ "$used" -gt 21474836 ] && rk_pass || rk_fail "over the limit: used_memory not above the limit: $desc"
rk_check_eq "over the limit: the same process" "$SPID" "$(im_pid "$SPORT" "$PW")"
rk_check_eq "over the limit: the same data" "$SBEFORE" "$(bk_source_digest "$SPORT" "$PW")"
im_no_staging "over the limit" "$RK_DATA" "$SMALL"
# And it fits once the limit is raised.
api PUT "$DBS/$SMALL" '{"memoryLimitInGb": 1}'
rk_check_task "limit raised" processing-completed "$(jqb .taskId)"
im_check_import "within the limit" "$SUB" "$SMALL" "$SPORT" "$PW" "$(bk_file_digest "$BIG")" http "$HTTP/big.rdb"

# ---- a backup, imported back ----
mkdir -p "$W/backups"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"$W/backups\"}"
rk_check_eq "backup" processing-completed "$RK_TASK_STATUS"
file=$(jqb '.response.resource.files[0].name')
chmod -R a+rX "$W/backups"
bk_fill "$PORT" "$PW" 10 # changed after the backup
im_check_import "backup imported back" "$SUB" "$DB" "$PORT" "$PW" "$BEFORE" http "$HTTP/backups/$file"

# ---- cut short: the database deleted, the daemon stopped ----
GONE=$(rk_create_db "$SUB" "{\"name\": \"gone\", \"password\": \"$PW\"}")
api POST "$DBS/$GONE/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$HTTP/slow/big.rdb\"]}"
TASK=$(jqb .taskId)
im_wait_staging "$RK_DATA" "$GONE" && rk_pass || rk_fail "delete: the staging server never ran"
SP=$(im_staging_port "$RK_DATA" "$GONE")
api DELETE "$DBS/$GONE"
rk_check_task "delete during an import" processing-completed "$(jqb .taskId)" 60
rk_wait_task "$TASK" 30
rk_check_eq "delete: the import" processing-error "$RK_TASK_STATUS"
rk_check_contains "delete: why" "being deleted" "$(jqb .response.error.description)"
rk_check_eq "delete: nothing left" "" "$(ls -d "$RK_DATA/databases/$GONE"* 2>/dev/null || true)"
im_port_closed "delete: the staging server" "$SP"

BEFORE=$(bk_source_digest "$PORT" "$PW")
PID=$(im_pid "$PORT" "$PW") # the import of the backup swapped in a new process
api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$HTTP/slow/big.rdb\"]}"
TASK=$(jqb .taskId)
im_wait_staging "$RK_DATA" "$DB" && rk_pass || rk_fail "shutdown: the staging server never ran"
SP=$(im_staging_port "$RK_DATA" "$DB")
rk_daemon_stop
rk_check_eq "shutdown during an import: exit status" 0 "$RK_DAEMON_RC"
im_no_staging "shutdown" "$RK_DATA" "$DB"
im_port_closed "shutdown: the staging server" "$SP"
rk_daemon_start
rk_wait_task "$TASK" 10
rk_check_eq "shutdown: the import" processing-error "$RK_TASK_STATUS"
rk_check_contains "shutdown: why" "shutting down" "$(jqb .response.error.description)"
unchanged "shutdown"

rk_finish
