#!/usr/bin/env bash
# Imports through the API from every source type, against the real test
# servers: S3 and GCS (HMAC) on the SigV4-verifying s3rver, Azure Blob on
# azurite (the account key in the URI), FTP and FTPS on pyftpdlib, HTTP and
# HTTPS with basic auth on nginx, and a live redis-server (with a password).
# The files are put there with independent tools (curl's SigV4 and GOOG4
# signers, a bash+openssl SharedKey signer, the servers' directories). Each
# import is judged by DEBUG DIGEST: the database, read back with redis-cli
# --rdb, against redis-server loading the source file itself. Also: .rdb and
# .rdb.gz (gzip found by content, whatever the name), two shard files merged,
# keys already expired left out, the URI rules answered at once (400 with the
# documented error types, no secret in them), a missing source and a missing
# second shard (DATABASE_IMPORT_SOURCE_NOT_FOUND, the data unchanged), wrong
# credentials for each kind of store (the data unchanged, no secret shown),
# GET .../import, function libraries carried by two shards (each loaded
# once), and the client (rdbkeep db import --wait).
# timeout: 300
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"
source "$RDBKEEP_SRC/tests/lib/import.sh"

emu_start_s3
emu_start_azurite
emu_start_ftp
FTP_DIR=$EMU_FTP_DIR
FTP_PORT=$EMU_FTP_PORT
emu_start_ftp --tls
emu_start_nginx
S3_ENDPOINT=http://127.0.0.1:$EMU_S3_PORT
AZ_ENDPOINT=http://127.0.0.1:$EMU_AZ_PORT
az() { AZ_BLOB_URL=$AZ_ENDPOINT/$EMU_AZ_ACCOUNT AZ_ACCOUNT=$EMU_AZ_ACCOUNT AZ_KEY=$EMU_AZ_KEY \
    "$EMU_HOME/az-curl.sh" "$@"; }
rk_check_eq "azure container" 201 "$(az PUT "/backups?restype=container" 0 "" -- -o /dev/null -w '%{http_code}')"
AZ_KEY_ENC=$(printf '%s' "$EMU_AZ_KEY" | sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g')

# ---- the source files ----
# f1: every type, keys with a TTL a day away and five that expire in a
# second (gone by the time they are imported); s1 and s2: two shards of one
# dataset, whose merge is rebuilt in one server for its digest.
rk_start_redis SRC
im_fill "$SRC" f1 4000
F1KEYS=$(redis-cli -p "$SRC" DBSIZE)
for i in 1 2 3 4 5; do redis-cli -p "$SRC" SET "short:$i" v PX 1000 >/dev/null; done
im_save_file F1 "$SRC" "$SRC_DIR" f1.rdb
gzip -c "$F1" >"$RK_TMP/src/f1.rdb.gz"
cp "$RK_TMP/src/f1.rdb.gz" "$RK_TMP/src/f1-named-plain.rdb" # gzip, whatever the name says
redis-cli -p "$SRC" FLUSHALL >/dev/null
im_fill "$SRC" s1 1500
im_save_file S1 "$SRC" "$SRC_DIR" s1.rdb
redis-cli -p "$SRC" FLUSHALL >/dev/null
im_fill "$SRC" s2 2500
im_save_file S2 "$SRC" "$SRC_DIR" s2.rdb
im_fill "$SRC" s1 1500
im_save_file MERGED "$SRC" "$SRC_DIR" merged.rdb
gzip -c "$S2" >"$RK_TMP/src/s2.rdb.gz"
sleep 1.1 # the short keys have expired: loading f1 now leaves them out
F1D=$(bk_file_digest "$F1")
MERGEDD=$(bk_file_digest "$MERGED")
rk_check_eq "f1 loads without its expired keys" "$F1KEYS" "$(cut -d' ' -f2 <<<"$F1D")"
rk_log "f1: $F1D, merged shards: $MERGEDD"

# A live source: a redis-server with a password, holding f1's data.
rk_start_redis LIVE --requirepass live-secret --dir "$RK_TMP/src" --dbfilename f1.rdb
LIVE_PW=live-secret

s3put() { curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$1" "$S3_ENDPOINT/backups/$2" -o /dev/null; }
gsput() { curl -sS -f --aws-sigv4 "goog:goog:auto:storage" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
    -H "x-goog-content-sha256: UNSIGNED-PAYLOAD" -T "$1" "$S3_ENDPOINT/backups/$2" -o /dev/null; }
azput() { az PUT "/backups/$2" "$(stat -c %s "$1")" application/octet-stream x-ms-blob-type:BlockBlob -- \
    --data-binary "@$1" -o /dev/null -w '%{http_code}'; }
s3put "$RK_TMP/src/f1.rdb.gz" imp/f1.rdb.gz && rk_pass || rk_fail "S3 upload"
gsput "$F1" gcs/f1.rdb && rk_pass || rk_fail "GCS upload"
rk_check_eq "azure upload" 201 "$(azput "$RK_TMP/src/f1.rdb.gz" imp/f1.rdb.gz)"
mkdir -p "$FTP_DIR/imp" "$EMU_FTP_DIR/imp" "$EMU_WWW/imp"
cp "$F1" "$FTP_DIR/imp/f1.rdb"
cp "$RK_TMP/src/f1.rdb.gz" "$EMU_FTP_DIR/imp/f1.rdb.gz"
cp "$F1" "$S1" "$RK_TMP/src/f1.rdb.gz" "$RK_TMP/src/s2.rdb.gz" "$RK_TMP/src/f1-named-plain.rdb" "$EMU_WWW/imp/"
chmod -R a+rX "$EMU_WWW/imp"

# ---- the daemon: storage keys in its config, the test CA in its environment ----
export RDBKEEP_CA_FILE=$EMU_CA
rk_daemon_config "$RK_TMP/d" \
    "s3AccessKeyId = $EMU_S3_KEY" "s3SecretAccessKey = $EMU_S3_SECRET" "s3EndpointUrl = $S3_ENDPOINT" \
    "gcsHmacAccessId = $EMU_S3_KEY" "gcsHmacSecret = $EMU_S3_SECRET" "gcsEndpointUrl = $S3_ENDPOINT" \
    "azureEndpointUrl = $AZ_ENDPOINT"
rk_daemon_start
SUB=$(rk_create_sub imports)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-imports-1
DB=$(rk_create_db "$SUB" "{\"name\": \"target\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"

HTTP="http://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTP_PORT"
HTTPS="https://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTPS_PORT"
FTP="ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$FTP_PORT"
FTPS="ftps://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"
ABS="abs://:$AZ_KEY_ENC@$EMU_AZ_ACCOUNT/backups"
check() { im_check_import "$1" "$SUB" "$DB" "$PORT" "$PW" "$2" "${@:3}"; }

# ---- every source type ----
check "aws-s3 .rdb.gz" "$F1D" aws-s3 s3://backups/imp/f1.rdb.gz
rk_check_eq "aws-s3: expired keys counted" 5 "$(jqb .response.resource.keysExpiredSkipped)"
check "google-blob-storage .rdb" "$F1D" google-blob-storage gs://backups/gcs/f1.rdb
check "azure-blob-storage .rdb.gz" "$F1D" azure-blob-storage "$ABS/imp/f1.rdb.gz"
check "ftp .rdb" "$F1D" ftp "$FTP/imp/f1.rdb"
check "ftps .rdb.gz" "$F1D" ftp "$FTPS/imp/f1.rdb.gz"
check "http .rdb" "$F1D" http "$HTTP/imp/f1.rdb"
check "https .rdb.gz" "$F1D" http "$HTTPS/imp/f1.rdb.gz"
check "gzip found by content" "$F1D" http "$HTTP/imp/f1-named-plain.rdb"
check "redis (live, with a password)" "$F1D" redis "redis://$LIVE_PW@127.0.0.1:$LIVE"
check "two shards merged (.rdb + .rdb.gz)" "$MERGEDD" http "$HTTP/imp/s1.rdb" "$HTTP/imp/s2.rdb.gz"
rk_check_eq "two shards: keys" "$(cut -d' ' -f2 <<<"$MERGEDD")" "$(jqb .response.resource.keys)"
rk_check_eq "two shards: progress bytes" "$(($(stat -c %s "$S1") + $(stat -c %s "$RK_TMP/src/s2.rdb.gz")))" \
    "$(jqb .progress.bytes)"
rk_check_not_contains "no password in a finished task" "$EMU_HTTP_PASS_ENC" "$API_BODY"


# ---- GET .../import ----
api GET "$DBS/$DB/import"
rk_check_eq "import status: a task" 202 "$API_STATUS"
rk_wait_task "$(jqb .taskId)"
rk_check_eq "import status: the last import" imported "$(jqb .response.resource.status)"
rk_check_eq "import status: its URIs, masked" \
    "http://$EMU_HTTP_USER:***@127.0.0.1:$EMU_HTTP_PORT/imp/s1.rdb" "$(jqb '.response.resource.importFromUri[0]')"

# Function libraries: every shard of a cluster backup carries them all; the
# merge loads each once (redis-server refuses a library twice), whichever
# shard brought it.
rcs() { redis-cli -p "$SRC" "$@"; }
rcs FLUSHALL >/dev/null
rcs FUNCTION FLUSH >/dev/null
rcs FUNCTION LOAD "#!lua name=shared
redis.register_function('shared_one', function() return 1 end)" >/dev/null
rcs SET fa 1 >/dev/null
im_save_file FA "$SRC" "$SRC_DIR" fa.rdb
rcs DEL fa >/dev/null
rcs SET fb 2 >/dev/null
rcs FUNCTION LOAD "#!lua name=second
redis.register_function('second_two', function() return 2 end)" >/dev/null
im_save_file FB "$SRC" "$SRC_DIR" fb.rdb
rcs FUNCTION FLUSH >/dev/null
cp "$FA" "$FB" "$EMU_WWW/imp/" && chmod a+r "$EMU_WWW/imp/fa.rdb" "$EMU_WWW/imp/fb.rdb"
api POST "$DBS/$DB/import" "{\"sourceType\": \"http\", \"importFromUri\": [\"$HTTP/imp/fa.rdb\", \"$HTTP/imp/fb.rdb\"]}"
rk_wait_task "$(jqb .taskId)" 60
rk_check_eq "shards with functions: imported" processing-completed "$RK_TASK_STATUS"
libs=$(REDISCLI_AUTH="$PW" redis-cli --no-auth-warning -p "$PORT" FUNCTION LIST | grep -A1 -x library_name | grep -v -x -e library_name -e -- | sort | tr '\n' ' ')
rk_check_eq "each library once" "second shared " "$libs"
rk_check_eq "and the keys of both" 2 "$(REDISCLI_AUTH="$PW" redis-cli --no-auth-warning -p "$PORT" DBSIZE)"

# ---- the rules answered at once ----
bad() {
    api POST "$DBS/$DB/import" "$3"
    rk_check_error "$1" 400 "$2"
    rk_check_not_contains "$1: no secret" "s3cr" "$API_BODY"
}
bad "S3 URI given as GCS" DATABASE_IMPORT_GCS_BAD_URI '{"sourceType": "google-blob-storage", "importFromUri": ["s3://backups/x.rdb"]}'
bad "GCS URI given as S3" DATABASE_IMPORT_S3_BAD_URI '{"sourceType": "aws-s3", "importFromUri": ["gs://backups/x.rdb"]}'
bad "an S3 bucket, not a file" DATABASE_IMPORT_S3_BAD_URI '{"sourceType": "aws-s3", "importFromUri": ["s3://backups"]}'
bad "Azure URI without an account" DATABASE_IMPORT_AZURE_BAD_URI '{"sourceType": "azure-blob-storage", "importFromUri": ["abs://:key@/c/x.rdb"]}'
bad "HTTP URI given as FTP" DATABASE_IMPORT_FTP_BAD_URI '{"sourceType": "ftp", "importFromUri": ["http://u:s3cret@host/x.rdb"]}'
bad "FTP URI given as HTTP" DATABASE_IMPORT_HTTP_BAD_URI '{"sourceType": "http", "importFromUri": ["ftp://u:s3cret@host/x.rdb"]}'
bad "redis URI without a port" DATABASE_IMPORT_REDIS_BAD_URI '{"sourceType": "redis", "importFromUri": ["redis://s3cret@host"]}'
bad "two redis sources" DATABASE_IMPORT_MULTIPLE_REDIS_SOURCES '{"sourceType": "redis", "importFromUri": ["redis://a:1", "redis://b:2"]}'
bad "the same URI twice" DUPLICATE_DATABASE_IMPORT_SOURCE_PATH '{"sourceType": "http", "importFromUri": ["http://h/x.rdb", "http://h/x.rdb"]}'
bad "no URI" DATABASE_IMPORT_URI_NOT_PROVIDED '{"sourceType": "http", "importFromUri": []}'
bad "an unknown source type" DATABASE_INVALID_IMPORT_SOURCE_TYPE '{"sourceType": "carrier-pigeon", "importFromUri": ["x"]}'

# ---- failures after the request: the data stays ----
BEFORE=$(bk_source_digest "$PORT" "$PW")
PID=$(im_pid "$PORT" "$PW")
fails() {
    local what=$1 type=$2 needle=$3
    shift 3
    im_import "$SUB" "$DB" "$@"
    im_check_failed "$what" "$type" "$needle"
    rk_check_not_contains "$what: no secret" "$EMU_HTTP_PASS_ENC" "$API_BODY"
    rk_check_not_contains "$what: no FTP secret" "$EMU_FTP_PASS_ENC" "$API_BODY"
    rk_check_not_contains "$what: no Azure key" "$AZ_KEY_ENC" "$API_BODY"
    rk_check_not_contains "$what: no redis password" "$LIVE_PW" "$API_BODY"
}
fails "missing HTTP file" DATABASE_IMPORT_SOURCE_NOT_FOUND "imp/missing.rdb" http "$HTTP/imp/missing.rdb"
fails "missing S3 object" DATABASE_IMPORT_SOURCE_NOT_FOUND "imp/missing.rdb" aws-s3 s3://backups/imp/missing.rdb
fails "missing FTP file" DATABASE_IMPORT_SOURCE_NOT_FOUND "missing.rdb" ftp "$FTP/imp/missing.rdb"
fails "missing Azure blob" DATABASE_IMPORT_SOURCE_NOT_FOUND "missing.rdb" azure-blob-storage "$ABS/imp/missing.rdb"
fails "missing second shard" DATABASE_IMPORT_SOURCE_NOT_FOUND "s3.rdb" http "$HTTP/imp/s1.rdb" "$HTTP/imp/s3.rdb"
fails "wrong HTTP password" DATABASE_IMPORT_FAILED "imp/f1.rdb" http "http://$EMU_HTTP_USER:wrong@127.0.0.1:$EMU_HTTP_PORT/imp/f1.rdb"
fails "wrong FTP password" DATABASE_IMPORT_FAILED "imp/f1.rdb" ftp "ftp://$EMU_FTP_USER:wrong@127.0.0.1:$FTP_PORT/imp/f1.rdb"
fails "wrong Azure key" DATABASE_IMPORT_FAILED "imp/f1.rdb.gz" azure-blob-storage \
    "abs://:d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk%3D@$EMU_AZ_ACCOUNT/backups/imp/f1.rdb.gz"
fails "wrong redis password" DATABASE_IMPORT_FAILED "127.0.0.1:$LIVE" redis "redis://wrong@127.0.0.1:$LIVE"
rk_check_not_contains "wrong Azure key: not shown" "d3Jvbmct" "$API_BODY"
rk_check_eq "after the failures: the same process" "$PID" "$(im_pid "$PORT" "$PW")"
rk_check_eq "after the failures: the same data" "$BEFORE" "$(bk_source_digest "$PORT" "$PW")"
rk_check_eq "after the failures: status" active "$(rk_db_field "$SUB" "$DB" .status)"
im_no_staging "after the failures" "$RK_DATA" "$DB"

# ---- the client ----
B=$RDBKEEP_BIN
export RDBKEEP_API_URL=$RK_API RDBKEEP_API_KEY=$RK_KEY RDBKEEP_API_SECRET_KEY=$RK_SECRET
rcli "$PORT" "$PW" SET im:marker cli >/dev/null
rc=0
out=$("$B" db import "$DB" --source-type http "$HTTP/imp/s1.rdb" "$HTTP/imp/s2.rdb.gz" --wait 2>&1) || rc=$?
rk_check_eq "client: exit status ($out)" 0 "$rc"
rk_check_contains "client: what it did" "$(cut -d' ' -f2 <<<"$MERGEDD") keys" "$out"
rk_check_eq "client: the data" "$MERGEDD" "$(bk_source_digest "$PORT" "$PW")"
rc=0
out=$("$B" db import "$SUB" "$DB" --source-type http "$HTTP/imp/missing.rdb" --wait 2>&1) || rc=$?
rk_check_eq "client: a failed import exits 1" 1 "$rc"
rk_check_contains "client: says why" DATABASE_IMPORT_SOURCE_NOT_FOUND "$out"
rk_check_not_contains "client: no secret" "$EMU_HTTP_PASS_ENC" "$out"
rc=0
task=$("$B" db import "$DB" --source-type aws-s3 s3://backups/imp/f1.rdb.gz 2>&1) || rc=$?
rk_check_eq "client without --wait: exit status" 0 "$rc"
rk_check_task "client without --wait: the task id it printed" processing-completed "$task"
rc=0
"$B" db import "$DB" http://x/y.rdb >/dev/null 2>&1 || rc=$?
rk_check_eq "client: --source-type is required" 2 "$rc"
rc=0
out=$("$B" db import "$DB" --source-type aws-s3 gs://backups/x.rdb 2>&1) || rc=$?
rk_check_eq "client: a bad URI exits 1" 1 "$rc"
rk_check_contains "client: names the error type" DATABASE_IMPORT_S3_BAD_URI "$out"

# ---- a daemon of its own: the wrong S3 secret, and no trust in the test CA ----
rk_daemon_stop
unset RDBKEEP_CA_FILE
rk_daemon_config "$RK_TMP/d2" \
    "s3AccessKeyId = $EMU_S3_KEY" "s3SecretAccessKey = not-the-secret" "s3EndpointUrl = $S3_ENDPOINT"
rk_daemon_start
SUB2=$(rk_create_sub wrong)
DB2=$(rk_create_db "$SUB2" "{\"name\": \"target\", \"password\": \"$PW\"}")
im_import "$SUB2" "$DB2" aws-s3 s3://backups/imp/f1.rdb.gz
im_check_failed "wrong S3 secret" DATABASE_IMPORT_FAILED "imp/f1.rdb.gz"
rk_check_not_contains "wrong S3 secret: not shown" "not-the-secret" "$API_BODY"
im_import "$SUB2" "$DB2" http "$HTTPS/imp/f1.rdb.gz"
im_check_failed "HTTPS, certificate not trusted" DATABASE_IMPORT_FAILED "certificate"
rk_check_not_contains "HTTPS: no secret" "$EMU_HTTP_PASS_ENC" "$API_BODY"


rk_finish
