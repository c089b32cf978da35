#!/usr/bin/env bash
# Every distinct intact RDB file of the corpus (tests/data/rdb-corpus: Redis
# RDB 1 to 13, Valkey 80/81, from many projects' test suites) imported over
# HTTP into a managed database on redis-server 7.0, and its content checked:
# what the database then holds, read back with redis-cli --rdb, against the
# original by `rdb json` of both (tests/lib/rdbjson.py content: what RDB 10
# can hold of it, expired keys left out), and, where redis-server 7.0 loads
# the original itself, by DEBUG DIGEST. Files holding module values (7.0
# runs no modules) must fail with an error naming the key and its module
# type, the data unchanged. Every RDB version of the corpus is imported.
# timeout: 420
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/rdbtest.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"
source "$RDBKEEP_SRC/tests/lib/import.sh"
rdb_need_redis_70

BIN=$RDBKEEP_BIN
W="$RK_TMP/w"
mkdir -p "$W"
emu_start_nginx
mkdir -p "$EMU_WWW/public/corpus"

# Identical copies of a file (the corpus has many) are imported once.
declare -A SEEN
FILES=()
while read -r f; do
    sum=$(sha256sum <"$CORPUS/$f" | cut -c1-64)
    [ -n "${SEEN[$sum]:-}" ] && continue
    SEEN[$sum]=$f
    FILES+=("$f")
done < <(rdb_intact_files)
rk_log "${#FILES[@]} distinct intact files"

# file_digest FILE: "digest keys" of redis-server 7.0 loading FILE at start-up,
# nothing when it does not load it.
rdb_reserve_port
file_digest() {
    if rdb_server_start "$RDB_PORT" "$W/r" "$1"; then
        echo "$(redis-cli -p "$RDB_PORT" DEBUG DIGEST) $(redis-cli -p "$RDB_PORT" DBSIZE)"
        rdb_server_stop "$RDB_LAST_PID"
    fi
}

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub corpus)
PW=Pw-corpus-1
DB=$(rk_create_db "$SUB" "{\"name\": \"corpus\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"

: >"$W/saved.tsv"
declare -A VERSIONS IMPORTED
imported=0 refused=0 digests=0
for i in "${!FILES[@]}"; do
    f=${FILES[$i]}
    cp "$CORPUS/$f" "$EMU_WWW/public/corpus/$i.rdb"
    chmod 644 "$EMU_WWW/public/corpus/$i.rdb"
    version=$("$BIN" rdb inspect --json "$CORPUS/$f" | jq -r '"\(.magic // "redis") \(.version)"')
    VERSIONS[$version]=1
    "$BIN" rdb json "$CORPUS/$f" >"$W/$i.json"
    rcli "$PORT" "$PW" SET im:marker "$i" >/dev/null
    im_import "$SUB" "$DB" http "http://127.0.0.1:$EMU_HTTP_PORT/public/corpus/$i.rdb"
    if grep -q '"type":"module"' "$W/$i.json"; then
        im_check_failed "$f (module values)" DATABASE_IMPORT_FAILED "module type"
        rk_check_contains "$f: names the key" 'key "' "$(jqb .response.error.description)"
        rk_check_eq "$f: the data unchanged" "$i" "$(rcli "$PORT" "$PW" GET im:marker)"
        IMPORTED[$version]=1
        refused=$((refused + 1))
        continue
    fi
    if [ "$RK_TASK_STATUS" != processing-completed ]; then
        rk_fail "$f ($version): import: $(jqb .response.error.description)"
        continue
    fi
    rk_pass
    IMPORTED[$version]=1
    imported=$((imported + 1))
    REDISCLI_AUTH="$PW" redis-cli -h 127.0.0.1 -p "$PORT" --no-auth-warning --rdb "$W/$i.saved.rdb" >/dev/null 2>&1 ||
        rk_fail "$f: redis-cli --rdb"
    "$BIN" rdb json "$W/$i.saved.rdb" >"$W/$i.saved.json"
    printf '%s\t%s\n' "$W/$i.json" "$W/$i.saved.json" >>"$W/saved.tsv"
    # Where 7.0 loads the original itself: the same digest.
    if [[ $version =~ ^REDIS\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le 10 ]; then
        ref=$(file_digest "$CORPUS/$f")
        if [ -n "$ref" ]; then
            rk_check_eq "$f: DEBUG DIGEST of the original loaded by redis-server" "$ref" "$(file_digest "$W/$i.saved.rdb")"
            digests=$((digests + 1))
        fi
    fi
done
# The database's redis-server has the default listpack limits (rdb_convert.sh
# turns them off to see -0 scores through).
rk_tally "$PY" "$RDBJSON" content-list "$W/saved.tsv" --target 10 --redis-load --drop-expired --listpack-zsets
rk_log "$imported imported, $refused refused (module values), $digests compared by DEBUG DIGEST"
rk_log "versions: $(printf '%s\n' "${!VERSIONS[@]}" | sort -t' ' -k1,1 -k2n | paste -sd, -)"
for v in "${!VERSIONS[@]}"; do
    rk_check_eq "RDB version $v imported" 1 "${IMPORTED[$v]:-0}"
done
[ "$imported" -ge 80 ] && rk_pass || rk_fail "only $imported files imported"
[ "$digests" -ge 40 ] && rk_pass || rk_fail "only $digests files compared by DEBUG DIGEST"
im_no_staging "corpus" "$RK_DATA" "$DB"
rk_finish
