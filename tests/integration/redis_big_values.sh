#!/usr/bin/env bash
# redis_big_values.sh: values too big for one RESTORE go as typed commands in
# bounded batches, within the target's proto-max-bulk-len: a 600 MB string
# (SET + APPEND) and a 5-million-element list, round-tripped through rdb
# pull and rdb push and compared by DEBUG DIGEST-VALUE; a target whose
# proto-max-bulk-len cannot hold the string gets a clear error naming the key.
# timeout: 600
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/redis_lib.bash"

BIN=$RDBKEEP_BIN
DBG=(--enable-debug-command yes)
BIG=$((600 * 1024 * 1024))
# Memory bounds in MiB: about twice the payload limit (the copy of a key
# being read, and the dumper's buffer) plus buffers. AddressSanitizer keeps
# freed memory in quarantine (256 MB), so its builds get more room.
PULL_MAX=100 PUSH_MAX=300
if ldd "$BIN" 2>/dev/null | grep -q libasan; then PULL_MAX=400 PUSH_MAX=700; fi

# peak_rss_mb VAR CMD...: runs CMD (output to $RK_TMP/cmd.out), VAR gets its
# peak RSS in MiB and VAR_RC its exit code.
peak_rss_mb() {
    local var=$1 rc=0
    shift
    /usr/bin/time -f "%M" -o "$RK_TMP/rss" "$@" >"$RK_TMP/cmd.out" 2>&1 || rc=$?
    printf -v "$var" '%s' "$(($(tail -1 "$RK_TMP/rss") / 1024))"
    printf -v "${var}_RC" '%s' "$rc"
}

# ---- a 600 MB string -----------------------------------------------------------------
# Stored uncompressed (rdbcompression no), so the RDB holds all 600 MB and
# no RESTORE can carry it.
rr_start_redis S1 "${DBG[@]}" --proto-max-bulk-len 1gb --rdbcompression no
rr_cli "$S1" SETRANGE big:string $((BIG - 5)) "tail!" >/dev/null
rr_cli "$S1" SETRANGE big:string 0 "head" >/dev/null
rr_cli "$S1" SET small v >/dev/null
rk_check_eq "the string is 600 MB" "$BIG" "$(rr_cli "$S1" STRLEN big:string)"
peak_rss_mb rss "$BIN" rdb pull "redis://127.0.0.1:$S1" "$RK_TMP/string.rdb"
rk_check_eq "pull of the 600 MB string ($(cat "$RK_TMP/cmd.out"))" 0 "$rss_RC"
rk_log "pull of the 600 MB string: peak RSS $rss MiB"
[ "$rss" -lt "$PULL_MAX" ] && rk_pass || rk_fail "pull held the value in memory: peak RSS $rss MiB"
[ "$(stat -c %s "$RK_TMP/string.rdb")" -gt "$BIG" ] && rk_pass || rk_fail "the RDB is smaller than the value"

rr_start_redis T1 "${DBG[@]}" --proto-max-bulk-len 1gb
peak_rss_mb rss "$BIN" rdb push --method restore "$RK_TMP/string.rdb" "redis://127.0.0.1:$T1"
out=$(cat "$RK_TMP/cmd.out")
rk_check_eq "push of the 600 MB string ($out)" 0 "$rss_RC"
rk_check_contains "the string went as commands" "1 big value as" "$out"
rk_log "push of the 600 MB string: peak RSS $rss MiB"
[ "$rss" -lt "$PUSH_MAX" ] && rk_pass || rk_fail "push of the string: peak RSS $rss MiB"
rk_check_eq "the string round-trips" "$(rr_cli "$S1" DEBUG DIGEST-VALUE big:string small)" \
    "$(rr_cli "$T1" DEBUG DIGEST-VALUE big:string small)"
rk_check_eq "the target holds 2 keys" 2 "$(rr_cli "$T1" DBSIZE)"
rr_cli "$T1" SHUTDOWN NOSAVE >/dev/null 2>&1 || true

# The default proto-max-bulk-len (512 MB) cannot hold it: a clear error.
rr_start_redis T2 "${DBG[@]}"
out=$("$BIN" rdb push --method restore "$RK_TMP/string.rdb" "redis://127.0.0.1:$T2" 2>&1) && rc=0 || rc=$?
rk_check_eq "a 600 MB string into a 512 MB proto-max-bulk-len fails" 1 "$rc"
rk_check_contains "the error names the key" 'key "big:string" (string)' "$out"
rk_check_contains "the error names the limit" "proto-max-bulk-len (536870912)" "$out"
rk_stop_pid "$S1_PID"
rk_stop_pid "$T2_PID"
rm -f "$RK_TMP/string.rdb"

# ---- a 5-million-element list ------------------------------------------------------------------
rr_start_redis S2 "${DBG[@]}"
rr_cli "$S2" EVAL "
    local t = {}
    for i = 1, 5000 do t[i] = 'element-' .. i end
    for b = 0, 999 do
        for i = 1, 5000 do t[i] = 'e' .. (b * 5000 + i) end
        redis.call('RPUSH', KEYS[1], unpack(t))
    end
    return redis.call('LLEN', KEYS[1])" 1 big:list >/dev/null
rk_check_eq "the list has 5 million elements" 5000000 "$(rr_cli "$S2" LLEN big:list)"
rr_cli "$S2" HSET other:hash a 1 b 2 >/dev/null
"$BIN" rdb pull -q "redis://127.0.0.1:$S2" "$RK_TMP/list.rdb.gz" && rk_pass || rk_fail "pull of the list"

# A target with the smallest proto-max-bulk-len (1 MB): no RESTORE payload
# may exceed it, so the list goes as RPUSH batches under it.
rr_start_redis T3 "${DBG[@]}" --proto-max-bulk-len 1mb
peak_rss_mb rss "$BIN" rdb push --method restore "$RK_TMP/list.rdb.gz" "redis://127.0.0.1:$T3"
out=$(cat "$RK_TMP/cmd.out")
rk_check_eq "push of the list ($out)" 0 "$rss_RC"
rk_check_contains "the list went as commands" "1 big value as" "$out"
rk_log "push of the 5M list: peak RSS $rss MiB"
rk_check_eq "the list round-trips" "$(rr_cli "$S2" DEBUG DIGEST-VALUE big:list other:hash)" \
    "$(rr_cli "$T3" DEBUG DIGEST-VALUE big:list other:hash)"
rk_check_eq "the target's log shows no oversized argument" "" \
    "$(grep -i 'bulk length' "$T3_DIR/redis.log" || true)"

# The replication method needs no commands for big values.
rr_cli "$T3" FLUSHALL >/dev/null
out=$("$BIN" rdb push --method replication "$RK_TMP/list.rdb.gz" "redis://127.0.0.1:$T3" 2>&1) && rc=0 || rc=$?
rk_check_eq "push of the list by replication ($out)" 0 "$rc"
rk_check_eq "the list round-trips by replication" "$(rr_cli "$S2" DEBUG DIGEST)" "$(rr_cli "$T3" DEBUG DIGEST)"

rk_finish
