#!/usr/bin/env bash
# redis_corpus.sh: every RDB file of the corpus (tests/data/rdb-corpus) that
# rdb verify accepts is pushed into redis-server 7.0 twice, with RESTORE and
# a 1 KiB payload limit (so that most keys go as typed commands) and with
# the replication method, and both must hold the same data (DEBUG DIGEST) as
# redis-server itself loading the file at start-up, where it can (RDB 10 and
# older). Files with module values must fail cleanly with both methods, and
# no target may go down.
# timeout: 600
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/redis_lib.bash"

BIN=$RDBKEEP_BIN
DBG=(--enable-debug-command yes)
rr_start_redis A "${DBG[@]}"
rr_start_redis B "${DBG[@]}"

# reference_digest FILE: DEBUG DIGEST of redis-server started on FILE, or
# nothing when it does not load it.
reference_digest() {
    local f=$1 port dir pid digest="" attempt
    dir="$RK_TMP/ref"
    for attempt in 1 2 3; do
        port=$(rk_free_port)
        rm -rf "$dir"
        mkdir -p "$dir"
        if [[ $f == *.gz ]]; then gzip -dc "$f" >"$dir/dump.rdb"; else cp "$f" "$dir/dump.rdb"; fi
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --dbfilename dump.rdb --logfile "$dir/log" --enable-debug-command yes >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && {
                digest=$(redis-cli -p "$port" DEBUG DIGEST)
                break
            }
            sleep 0.05
        done
        rk_stop_pid "$pid"
        wait "$pid" 2>/dev/null || true
        # Its port taken meanwhile (rk_free_port sees listeners only): again.
        grep -q "Address already in use" "$dir/log" 2>/dev/null || break
    done
    echo "$digest"
}

files=0 refs=0 modules=0
while IFS= read -r f; do
    "$BIN" rdb verify -q "$f" >/dev/null 2>&1 || continue
    files=$((files + 1))
    name=${f#"$RDBKEEP_SRC/tests/data/rdb-corpus/"}
    ra=0 rb=0
    oa=$("$BIN" rdb push -q --method restore --max-payload 1K "$f" "redis://127.0.0.1:$A" 2>&1) || ra=$?
    ob=$("$BIN" rdb push -q --method replication "$f" "redis://127.0.0.1:$B" 2>&1) || rb=$?
    rk_check_eq "$name: target A up" PONG "$(redis-cli -p "$A" PING 2>&1)"
    rk_check_eq "$name: target B up" PONG "$(redis-cli -p "$B" PING 2>&1)"
    if [[ $ob == *"holds a module value"* ]]; then
        modules=$((modules + 1))
        rk_check_eq "$name: a module value fails RESTORE too" 1 "$ra"
        rk_check_contains "$name: RESTORE's refusal names the key" 'key "' "$oa"
        continue
    fi
    rk_check_eq "$name: push with RESTORE ($oa)" 0 "$ra"
    rk_check_eq "$name: push by replication ($ob)" 0 "$rb"
    da=$(redis-cli -p "$A" DEBUG DIGEST)
    rk_check_eq "$name: both methods load the same data" "$da" "$(redis-cli -p "$B" DEBUG DIGEST)"
    version=$("$BIN" rdb inspect --json "$f" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version", 99))' 2>/dev/null || echo 99)
    if [ "$version" -le 10 ] 2>/dev/null; then
        ref=$(reference_digest "$f")
        if [ -n "$ref" ]; then
            refs=$((refs + 1))
            rk_check_eq "$name: the same data as redis-server loading the file" "$ref" "$da"
        fi
    fi
done < <(find "$RDBKEEP_SRC/tests/data/rdb-corpus" -type f \( -name '*.rdb' -o -name '*.rdb.gz' \) | sort)
rk_log "$files files pushed, $refs compared with redis-server's own load, $modules with module values"
[ "$files" -ge 100 ] && rk_pass || rk_fail "only $files corpus files verified"
[ "$refs" -ge 50 ] && rk_pass || rk_fail "only $refs files compared with redis-server's own load"
rk_finish
