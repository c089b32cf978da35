#!/usr/bin/env bash
# The REST API over real HTTP against a real daemon and real redis-servers:
# every endpoint, and every error path (bad JSON, wrong types, unknown ids,
# no or wrong keys, oversize bodies, deeply nested JSON, wrong methods).
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/daemon.sh"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')

# ---- open endpoints and keys ----
rk_check_eq "healthz without keys" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$RK_API/healthz")"
metrics=$(curl -s "$RK_API/metrics")
rk_check_contains "metrics without keys" 'rdbkeep_tasks{state="received"}' "$metrics"

for path in /v1/subscriptions /v1/tasks /v1/openapi.json /v1/nowhere; do
    API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' "$RK_API$path")
    API_BODY=$(cat "$RK_TMP/o")
    rk_check_error "no keys $path" 401 UNAUTHORIZED
done
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -H "x-api-key: $RK_KEY" -H "x-api-secret-key: wrong" "$RK_API/v1/tasks")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "wrong secret" 401 UNAUTHORIZED
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -H "x-api-key: wrong" -H "x-api-secret-key: $RK_SECRET" "$RK_API/v1/tasks")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "wrong key" 401 UNAUTHORIZED
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -H "x-api-key: $RK_KEY" "$RK_API/v1/tasks")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "secret missing" 401 UNAUTHORIZED
# Header names are case-insensitive (the Go SDK sends X-Api-Key).
rk_check_eq "keys with capitalised header names" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $RK_KEY" -H "X-API-SECRET-KEY: $RK_SECRET" "$RK_API/v1/tasks")"

# ---- OpenAPI: every endpoint of the contract is described ----
api GET /v1/openapi.json
rk_check_eq "openapi status" 200 "$API_STATUS"
rk_check_eq "openapi version" 3.0.3 "$(jqb .openapi)"
for p in /v1/subscriptions "/v1/subscriptions/{subscriptionId}" \
    "/v1/subscriptions/{subscriptionId}/databases" \
    "/v1/subscriptions/{subscriptionId}/databases/{databaseId}" \
    "/v1/subscriptions/{subscriptionId}/databases/{databaseId}/backup" \
    "/v1/subscriptions/{subscriptionId}/databases/{databaseId}/import" \
    "/v1/subscriptions/{subscriptionId}/databases/{databaseId}/backups" \
    /v1/tasks "/v1/tasks/{taskId}" /healthz /metrics; do
    rk_check_eq "openapi has $p" true "$(jq --arg p "$p" '.paths | has($p)' <<<"$API_BODY")"
done

# ---- routing ----
api GET /v1/nowhere
rk_check_error "unknown path" 404 NOT_FOUND
api PATCH /v1/tasks
rk_check_error "PATCH /v1/tasks" 405 METHOD_NOT_ALLOWED
allow=$(curl -s -D - -o /dev/null -X DELETE -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" "$RK_API/v1/tasks" | tr -d '\r' | sed -n 's/^Allow: //Ip')
rk_check_eq "405 names the allowed methods" GET "$allow"
api GET /v1/subscriptions/abc
rk_check_error "non-numeric subscription id" 400 INVALID_FIELD_VALUE
api GET /v1/subscriptions/999999
rk_check_error "unknown subscription" 404 SUBSCRIPTION_NOT_FOUND
api GET /v1/tasks/00000000-0000-4000-8000-000000000000
rk_check_error "unknown task" 404 TASK_NOT_FOUND

# ---- subscriptions ----
api POST /v1/subscriptions '{"name": "team-a"}'
rk_check_eq "subscription create: 202" 202 "$API_STATUS"
task=$(jqb .taskId)
rk_check_eq "subscription create: commandType" subscriptionCreateRequest "$(jqb .commandType)"
rk_check_eq "subscription create: response is an object" object "$(jqb '.response | type')"
# The task is readable the moment its id is returned.
api GET "/v1/tasks/$task"
rk_check_eq "new task readable at once" 200 "$API_STATUS"
rk_check_task "subscription task completes" processing-completed "$task"
SUB=$(jqb .response.resourceId)
api GET "/v1/subscriptions/$SUB"
rk_check_eq "subscription get" "team-a active 0" "$(jqb '"\(.name) \(.status) \(.numberOfDatabases)"')"
api GET /v1/subscriptions
rk_check_eq "subscription list" team-a "$(jqb ".subscriptions[] | select(.id == $SUB) | .name")"
# The Go SDK's POST with an empty body and Content-Type: application/json.
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "X-Api-Key: $RK_KEY" -H "X-Api-Secret-Key: $RK_SECRET" \
    -H "Content-Type: application/json" -H "Content-Length: 0" "$RK_API/v1/subscriptions")
rk_check_eq "subscription create with an empty body" 202 "$API_STATUS"
rk_wait_task "$(jq -r .taskId "$RK_TMP/o")"
EMPTY_SUB=$(jqb .response.resourceId)

# ---- database create: errors answered at once ----
DBS=/v1/subscriptions/$SUB/databases
api POST "$DBS" '{"name": "x",'
rk_check_error "truncated JSON" 400 INVALID_JSON
rk_check_contains "truncated JSON names the byte offset" "byte offset" "$(jqb .error.description)"
api POST "$DBS" '[1, 2]'
rk_check_error "JSON array body" 400 INVALID_JSON
api POST "$DBS" '{"name": "a", "name": "b"}'
rk_check_error "duplicate keys" 400 INVALID_JSON
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
    -H "Content-Type: application/json" "$RK_API$DBS")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "create without a body" 400 INVALID_JSON
api POST "$DBS" '{"memoryLimitInGb": 1}'
rk_check_error "create without name" 400 MISSING_FIELD
api POST "$DBS" '{"name": 5}'
rk_check_error "name of the wrong type" 400 INVALID_FIELD_TYPE
rk_check_contains "wrong type names field and types" "name: expected a string, got a number" "$(jqb .error.description)"
api POST "$DBS" '{"name": "m", "memoryLimitInGb": "1"}'
rk_check_error "memoryLimitInGb as a string" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "replication": "yes"}'
rk_check_error "replication as a string" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "port": 12000.5}'
rk_check_error "port as a fraction" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "clustering": []}'
rk_check_error "clustering as an array" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "remoteBackup": {"active": "yes"}}'
rk_check_error "remoteBackup.active as a string" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "remoteBackup": {"retention": {"keepLast": "3"}}}'
rk_check_error "remoteBackup.retention.keepLast as a string" 400 INVALID_FIELD_TYPE
api POST "$DBS" '{"name": "m", "dataPersistence": "sometimes"}'
rk_check_error "unknown dataPersistence" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "-bad"}'
rk_check_error "bad name" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "m", "memoryLimitInGb": -1}'
rk_check_error "negative memory" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "m", "memoryLimitInGb": 1, "datasetSizeInGb": 1}'
rk_check_error "both memory fields" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "m", "protocol": "memcached"}'
rk_check_error "memcached" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "m", "clustering": {"numberOfShards": 3}}'
rk_check_error "three shards" 400 CLUSTERING_NOT_SUPPORTED
api POST "$DBS" '{"name": "m", "redisVersion": "6.2"}'
rk_check_error "other redis version" 400 REDIS_VERSION_NOT_AVAILABLE
api POST "$DBS" '{"name": "m", "periodicBackupPath": "/tmp/b", "remoteBackup": {"active": true, "storagePath": "/tmp/c"}}'
rk_check_error "periodicBackupPath and remoteBackup" 400 DATABASE_INVALID_BACKUP_PATH
api POST "$DBS" '{"name": "m", "dryRun": true}'
rk_check_error "dryRun" 400 INVALID_FIELD_VALUE
api POST "$DBS" '{"name": "m", "port": 80}'
rk_check_error "privileged port" 400 INVALID_FIELD_VALUE
api POST /v1/subscriptions/424242/databases '{"name": "m"}'
rk_check_error "create in an unknown subscription" 404 SUBSCRIPTION_NOT_FOUND
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
    -H "Content-Type: text/plain" --data-binary '{"name": "m"}' "$RK_API$DBS")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "text/plain body" 415 UNSUPPORTED_MEDIA_TYPE

# Deep nesting: refused with the offset, whether a little or very deep.
deep=$(printf '{"name": "m", "x": %s1%s}' "$(printf '[%.0s' $(seq 40))" "$(printf ']%.0s' $(seq 40))")
api POST "$DBS" "$deep"
rk_check_error "JSON nested 41 deep" 400 INVALID_JSON
rk_check_contains "nesting error names the offset" "nested deeper than 32 levels at byte offset" "$(jqb .error.description)"
python3 -c 'import sys; sys.stdout.write("{\"a\":" + "[" * 200000 + "]" * 200000 + "}")' >"$RK_TMP/deep.json"
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
    -H "Content-Type: application/json" --data-binary @"$RK_TMP/deep.json" "$RK_API$DBS")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "JSON nested 200000 deep" 400 INVALID_JSON

# Oversize bodies: announced (refused before reading) and chunked (read and dropped).
python3 -c 'import sys; sys.stdout.write("{\"name\": \"" + "a" * 1100000 + "\"}")' >"$RK_TMP/big.json"
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
    -H "Content-Type: application/json" --data-binary @"$RK_TMP/big.json" "$RK_API$DBS")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "1.1 MB body" 413 REQUEST_TOO_LARGE
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "x-api-key: $RK_KEY" -H "x-api-secret-key: $RK_SECRET" \
    -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @"$RK_TMP/big.json" "$RK_API$DBS")
API_BODY=$(cat "$RK_TMP/o")
rk_check_error "1.1 MB chunked body" 413 REQUEST_TOO_LARGE
rk_check_eq "daemon alive after the bad requests" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$RK_API/healthz")"

# ---- database create, and the real redis-server behind it ----
PW='S3cret-pass!word'
api POST "$DBS" "{\"name\": \"cache\", \"protocol\": \"redis\", \"memoryLimitInGb\": 0.1, \"password\": \"$PW\",
    \"dataPersistence\": \"aof-every-write\", \"replicaOf\": null, \"alerts\": [], \"modules\": [{\"name\": \"x\"}]}"
rk_check_eq "database create: 202 (unknown fields ignored)" 202 "$API_STATUS"
task=$(jqb .taskId)
rk_check_eq "database create: commandType" databaseCreateRequest "$(jqb .commandType)"
rk_check_task "database create task completes" processing-completed "$task"
DB=$(jqb .response.resourceId)
api GET "$DBS/$DB"
rk_check_eq "database get" 200 "$API_STATUS"
rk_check_eq "database status" active "$(jqb .status)"
rk_check_eq "security.password" "$PW" "$(jqb .security.password)"
rk_check_eq "redisVersion from redis-server --version" "$REDIS_VERSION" "$(jqb .redisVersion)"
rk_check_eq "dataPersistence" aof-every-write "$(jqb .dataPersistence)"
rk_check_eq "clustering" 1 "$(jqb .clustering.numberOfShards)"
ENDPOINT=$(jqb .publicEndpoint)
PORT=${ENDPOINT##*:}
rk_check_eq "endpoint host" 127.0.0.1 "${ENDPOINT%:*}"
first=${RK_DB_PORTS%-*} last=${RK_DB_PORTS#*-}
if [ "$PORT" -ge "$first" ] && [ "$PORT" -le "$last" ]; then rk_pass; else rk_fail "port $PORT outside $RK_DB_PORTS"; fi
rk_check_eq "redis-cli SET" OK "$(rcli "$PORT" "$PW" SET k1 v1)"
rk_check_eq "redis-cli GET" v1 "$(rcli "$PORT" "$PW" GET k1)"
rk_check_contains "wrong password refused" "WRONGPASS" "$(rcli "$PORT" nope GET k1 2>&1)"
rk_check_eq "maxmemory from memoryLimitInGb" "$(python3 -c 'print(round(0.1 * 2**30))')" "$(rcli "$PORT" "$PW" CONFIG GET maxmemory | tail -1)"
rk_check_eq "appendonly" yes "$(rcli "$PORT" "$PW" CONFIG GET appendonly | tail -1)"
rk_check_eq "appendfsync" always "$(rcli "$PORT" "$PW" CONFIG GET appendfsync | tail -1)"
rk_check_eq "own directory" "$(cd "$RK_DATA/databases/$DB" && pwd -P)" "$(rcli "$PORT" "$PW" CONFIG GET dir | tail -1)"

api POST "$DBS" '{"name": "cache"}'
rk_check_error "duplicate name" 409 DATABASE_NAME_IN_USE
api POST "$DBS" "{\"name\": \"other\", \"port\": $PORT}"
rk_check_error "port of another database" 409 DATABASE_PORT_IN_USE

# A second database: default settings, port given by the client.
PORT2=$((last))
DB2=$(rk_create_db "$SUB" "{\"name\": \"second\", \"port\": $PORT2, \"dataEvictionPolicy\": \"allkeys-lru\"}")
rk_check_eq "second database on its port" "127.0.0.1:$PORT2" "$(rk_db_field "$SUB" "$DB2" .publicEndpoint)"
PW2=$(rk_db_field "$SUB" "$DB2" .security.password)
rk_check_eq "generated password is 32 characters" 32 "${#PW2}"
rk_check_eq "default persistence" none "$(rk_db_field "$SUB" "$DB2" .dataPersistence)"
rk_check_eq "eviction policy applied" allkeys-lru "$(rcli "$PORT2" "$PW2" CONFIG GET maxmemory-policy | tail -1)"
rk_check_eq "default maxmemory is 1 GB" "$(python3 -c 'print(2**30)')" "$(rcli "$PORT2" "$PW2" CONFIG GET maxmemory | tail -1)"

# ---- list ----
api GET "$DBS"
rk_check_eq "list: status" 200 "$API_STATUS"
rk_check_eq "list: subscription id" "$SUB" "$(jqb '.subscription[0].subscriptionId')"
rk_check_eq "list: count" 2 "$(jqb '.subscription[0].databases | length')"
rk_check_eq "list: no passwords" 0 "$(jqb '[.subscription[0].databases[].security.password // empty] | length')"
api GET "$DBS?offset=0&limit=1"
rk_check_eq "list: limit 1" 1 "$(jqb '.subscription[0].databases | length')"
api GET "$DBS?offset=1&limit=1"
rk_check_eq "list: second page" "$DB2" "$(jqb '.subscription[0].databases[0].databaseId')"
api GET "$DBS?offset=100&limit=100"
rk_check_error "list past the end (Cloud clients stop on 404)" 404 NOT_FOUND
api GET "$DBS?limit=0"
rk_check_error "list limit 0" 400 INVALID_FIELD_VALUE
api GET "$DBS?offset=x"
rk_check_error "list offset x" 400 INVALID_FIELD_VALUE
api GET "/v1/subscriptions/$EMPTY_SUB/databases"
rk_check_eq "list of an empty subscription" "200 0" "$API_STATUS $(jqb '.subscription[0].databases | length')"
api GET "/v1/subscriptions/424242/databases"
rk_check_error "list of an unknown subscription" 404 SUBSCRIPTION_NOT_FOUND

# ---- update ----
api PUT "$DBS/$DB" '{"memoryLimitInGb": 0.2, "dataPersistence": "snapshot-every-1-hour", "replicaOf": null}'
rk_check_eq "update: 202" 202 "$API_STATUS"
rk_check_eq "update: commandType" databaseUpdateRequest "$(jqb .commandType)"
rk_check_task "update task completes" processing-completed "$(jqb .taskId)"
rk_check_eq "update: maxmemory live" "$(python3 -c 'print(round(0.2 * 2**30))')" "$(rcli "$PORT" "$PW" CONFIG GET maxmemory | tail -1)"
rk_check_eq "update: save live" "3600 1" "$(rcli "$PORT" "$PW" CONFIG GET save | tail -1)"
rk_check_eq "update: appendonly off" no "$(rcli "$PORT" "$PW" CONFIG GET appendonly | tail -1)"
rk_check_eq "update: shown" "0.2 snapshot-every-1-hour active" "$(rk_db_field "$SUB" "$DB" '"\(.memoryLimitInGb) \(.dataPersistence) \(.status)"')"
rk_check_eq "update: data kept" v1 "$(rcli "$PORT" "$PW" GET k1)"
api PUT "$DBS/$DB" '{"password": "n3w-pass"}'
rk_check_task "password change completes" processing-completed "$(jqb .taskId)"
rk_check_eq "new password works" v1 "$(rcli "$PORT" n3w-pass GET k1)"
rk_check_contains "old password refused" WRONGPASS "$(rcli "$PORT" "$PW" GET k1 2>&1)"
PW=n3w-pass
api PUT "$DBS/$DB" '{"memoryLimitInGb": true}'
rk_check_error "update with a wrong type" 400 INVALID_FIELD_TYPE
api PUT "$DBS/$DB" '{"port": 1234}'
rk_check_error "update of the port" 400 INVALID_FIELD_VALUE
api PUT "$DBS/$DB" '{"name": "second"}'
rk_check_error "rename onto another database" 409 DATABASE_NAME_IN_USE
api PUT "$DBS/999999" '{"name": "zz"}'
rk_check_error "update of an unknown database" 404 DATABASE_NOT_FOUND
api PUT "/v1/subscriptions/$EMPTY_SUB/databases/$DB" '{"name": "zz"}'
rk_check_error "database of another subscription" 404 DATABASE_NOT_FOUND
# A backup path is probed (a small object written and deleted) before the
# update completes: an unreachable one fails the task, its secret masked.
dead=$(rk_free_port)
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"ftp://user:hunter2@127.0.0.1:$dead/backups\"}"
rk_check_task "unreachable periodicBackupPath refused" processing-error "$(jqb .taskId)" 60
rk_check_eq "unreachable path: error type" DATABASE_INVALID_BACKUP_PATH "$(jqb .response.error.type)"
rk_check_contains "unreachable path: masked in the error" "ftp://user:***@127.0.0.1:$dead/backups" "$(jqb .response.error.description)"
rk_check_not_contains "unreachable path: no credential in the task" hunter2 "$API_BODY"
api GET "$DBS/$DB"
rk_check_eq "refused path not stored" null "$(jqb .periodicBackupPath)"
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"$RK_TMP/periodic\"}"
rk_check_task "periodicBackupPath stored" processing-completed "$(jqb .taskId)"
api GET "$DBS/$DB"
rk_check_eq "periodicBackupPath shown" "$RK_TMP/periodic" "$(jqb .periodicBackupPath)"
rk_check_eq "backup.destination" "$RK_TMP/periodic" "$(jqb .backup.destination)"
rk_check_eq "backup enabled" true "$(jqb .backup.enableRemoteBackup)"
api PUT "$DBS/$DB" '{"remoteBackup": {"active": true, "interval": "every-6-hours", "storageType": "local", "storagePath": "/tmp/x"}}'
rk_check_error "remoteBackup while periodicBackupPath is set" 400 DATABASE_INVALID_BACKUP_PATH
api PUT "$DBS/$DB" '{"periodicBackupPath": "", "remoteBackup": {"active": true, "interval": "every-6-hours", "storageType": "azure-blob-storage", "storagePath": "abs://:SharedKey123==@account/container"}}'
rk_check_error "remoteBackup key not base64" 400 DATABASE_INVALID_BACKUP_PATH
rk_check_not_contains "no account key in the error" SharedKey123 "$API_BODY"
api PUT "$DBS/$DB" '{"periodicBackupPath": "", "remoteBackup": {"active": true, "interval": "every-6-hours", "storageType": "azure-blob-storage", "storagePath": "abs://:U2hhcmVkS2V5MTIz@account/container"}}'
rk_check_task "unreachable remoteBackup refused" processing-error "$(jqb .taskId)" 60
rk_check_not_contains "no account key in the task" U2hhcmVkS2V5MTIz "$API_BODY"
api PUT "$DBS/$DB" "{\"periodicBackupPath\": \"\", \"remoteBackup\": {\"active\": true, \"interval\": \"every-6-hours\", \"storageType\": \"local\", \"storagePath\": \"$RK_TMP/remote\"}}"
rk_check_task "switch to remoteBackup" processing-completed "$(jqb .taskId)"
api GET "$DBS/$DB"
rk_check_eq "remoteBackup shown" "every-6-hours $RK_TMP/remote" "$(jqb '"\(.backup.interval) \(.backup.destination)"')"
rk_check_eq "periodicBackupPath removed" null "$(jqb .periodicBackupPath)"

# ---- backup and import (their own tests: backup_*.sh, import_*.sh): validated at once, then tasks ----
api POST "$DBS/$DB/backup" '{"adhocBackupPath": 7}'
rk_check_error "backup body of the wrong type" 400 INVALID_FIELD_TYPE
API_STATUS=$(curl -s -o "$RK_TMP/o" -w '%{http_code}' -X POST -H "X-Api-Key: $RK_KEY" -H "X-Api-Secret-Key: $RK_SECRET" \
    -H "Content-Type: application/json" -H "Content-Length: 0" "$RK_API$DBS/$DB/backup")
API_BODY=$(cat "$RK_TMP/o")
rk_check_eq "backup with an empty body: accepted" 202 "$API_STATUS"
rk_check_task "backup to the configured path" processing-completed "$(jqb .taskId)"
api POST "$DBS/999999/backup"
rk_check_error "backup of an unknown database" 404 DATABASE_NOT_FOUND
api GET "$DBS/$DB/backup"
rk_check_eq "backup status: a task" 202 "$API_STATUS"
rk_check_task "backup status completes" processing-completed "$(jqb .taskId)"
rk_check_eq "backup status: the last backup" succeeded "$(jqb .response.resource.status)"
api POST "$DBS/$DB/import" '{"sourceType": "carrier-pigeon", "importFromUri": ["x"]}'
rk_check_error "import source type" 400 DATABASE_INVALID_IMPORT_SOURCE_TYPE
api POST "$DBS/$DB/import" '{"sourceType": "http"}'
rk_check_error "import without URI" 400 DATABASE_IMPORT_URI_NOT_PROVIDED
api POST "$DBS/$DB/import" '{"sourceType": "http", "importFromUri": ["http://a/x.rdb", "http://a/x.rdb"]}'
rk_check_error "import duplicate URI" 400 DUPLICATE_DATABASE_IMPORT_SOURCE_PATH
api POST "$DBS/$DB/import" '{"sourceType": "redis", "importFromUri": ["redis://a:1", "redis://b:1"]}'
rk_check_error "import two redis sources" 400 DATABASE_IMPORT_MULTIPLE_REDIS_SOURCES
api POST "$DBS/$DB/import" '{"sourceType": "http", "importFromUri": "http://a/x.rdb"}'
rk_check_error "import URI not in an array" 400 INVALID_FIELD_TYPE
api POST "$DBS/$DB/import" '{"sourceType": "aws-s3", "importFromUri": ["gs://bucket/x.rdb"]}'
rk_check_error "import URI of another source type" 400 DATABASE_IMPORT_S3_BAD_URI
# Accepted (its own tests: import_*.sh); nothing listens on port 1, so it fails, the data unchanged.
api POST "$DBS/$DB/import" $'{"sourceType":"http","importFromUri":["http://127.0.0.1:1/x.rdb"]}\n'
rk_check_eq "import: a task" 202 "$API_STATUS"
rk_check_task "import of an unreachable source fails" processing-error "$(jqb .taskId)"
rk_check_eq "import failure type" DATABASE_IMPORT_FAILED "$(jqb .response.error.type)"
api GET "$DBS/$DB/import"
rk_check_eq "import status: a task" 202 "$API_STATUS"
rk_check_task "import status completes" processing-completed "$(jqb .taskId)"
rk_check_eq "import status: the last import" failed "$(jqb .response.resource.status)"
api GET "$DBS/$DB/backups"
rk_check_eq "backup catalog" "200 1" "$API_STATUS $(jqb '.backups | length')"

# ---- tasks ----
api GET /v1/tasks
rk_check_eq "tasks: status" 200 "$API_STATUS"
newest=$(jqb '.tasks[0].taskId')
api PUT "$DBS/$DB2" '{"dataEvictionPolicy": "noeviction"}'
latest=$(jqb .taskId)
rk_wait_task "$latest"
api GET /v1/tasks
rk_check_eq "tasks: newest first" "$latest" "$(jqb '.tasks[0].taskId')"
rk_check_eq "tasks: the one before next" "$newest" "$(jqb '.tasks[1].taskId')"
rk_check_eq "tasks: every task has taskId, status, response" 0 \
    "$(jqb '[.tasks[] | select(.taskId == null or .status == null or (.response | type) != "object")] | length')"
api GET "/v1/tasks?limit=2"
rk_check_eq "tasks: limit" 2 "$(jqb '.tasks | length')"
rk_check_eq "tasks: next link" "/v1/tasks?offset=2&limit=2" "$(jqb '.links[] | select(.rel == "next") | .href')"
api GET "/v1/tasks?limit=5000"
rk_check_error "tasks: limit too large" 400 INVALID_FIELD_VALUE

# ---- delete ----
api DELETE "/v1/subscriptions/$SUB"
rk_check_error "delete a subscription with databases" 409 SUBSCRIPTION_NOT_EMPTY
api DELETE "$DBS/999999"
rk_check_error "delete an unknown database" 404 DATABASE_NOT_FOUND
api DELETE "$DBS/$DB"
rk_check_eq "delete: 202" 202 "$API_STATUS"
rk_check_eq "delete: commandType" databaseDeleteRequest "$(jqb .commandType)"
del=$(jqb .taskId)
api DELETE "$DBS/$DB"
# Still deleting (409) or already gone (404), depending on timing.
case "$API_STATUS" in
409) rk_check_error "delete twice while deleting" 409 DATABASE_NOT_ACTIVE ;;
*) rk_check_error "delete twice after the delete" 404 DATABASE_NOT_FOUND ;;
esac
rk_check_task "delete task completes" processing-completed "$del"
api GET "$DBS/$DB"
rk_check_error "deleted database" 404 DATABASE_NOT_FOUND
if rcli "$PORT" "$PW" PING >/dev/null 2>&1; then rk_fail "redis-server still answers after delete"; else rk_pass; fi
if [ -e "$RK_DATA/databases/$DB" ]; then rk_fail "files left after delete"; else rk_pass; fi
api DELETE "$DBS/$DB2"
rk_wait_task "$(jqb .taskId)"
api DELETE "/v1/subscriptions/$SUB"
rk_check_eq "delete the empty subscription: 200 + task" 200 "$API_STATUS"
rk_check_task "subscription delete completes" processing-completed "$(jqb .taskId)"
api GET "/v1/subscriptions/$SUB"
rk_check_error "deleted subscription" 404 SUBSCRIPTION_NOT_FOUND

# ---- metrics agree with the tasks the API lists ----
api GET "/v1/tasks?limit=1000"
completed=$(jqb '[.tasks[] | select(.status == "processing-completed")] | length')
metrics=$(curl -s "$RK_API/metrics")
rk_check_contains "metrics: completed tasks" "rdbkeep_tasks{state=\"processing-completed\"} $completed" "$metrics"
rk_check_contains "metrics: databases" 'rdbkeep_databases{status="active"} 0' "$metrics"
rk_check_contains "metrics: backups running" "rdbkeep_backups_running 0" "$metrics"
rk_check_contains "metrics: bytes moved by the backup" "rdbkeep_bytes_moved_total " "$metrics"
rk_check_not_contains "metrics: bytes moved not zero" "rdbkeep_bytes_moved_total 0"$'\n' "$metrics"

# ---- secrets never reach the log ----
log=$(cat "$RK_DAEMON_DIR/daemon.log")
rk_check_not_contains "API secret not logged" "$RK_SECRET" "$log"
rk_check_not_contains "database password not logged" 'S3cret-pass!word' "$log"
rk_check_not_contains "backup credential not logged" hunter2 "$log"

rk_daemon_stop
rk_check_eq "clean exit on SIGTERM" 0 "$RK_DAEMON_RC"
rk_check_contains "shutdown logged" 'msg="stopped"' "$(cat "$RK_DAEMON_DIR/daemon.log")"
rk_finish
