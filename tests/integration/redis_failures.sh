#!/usr/bin/env bash
# redis_failures.sh: what goes wrong gets a clear error and leaves nothing
# that looks complete: the source killed in the middle of a pull (nothing
# committed), targets that refuse writes (OOM, READONLY: the error names the
# key), wrong passwords (never shown), a missing or damaged input (found
# before the target is flushed, or named with its offset), a cancelled pull,
# inputs that are FIFOs (one that stalls, cancelled by SIGINT, undoes the
# replication settings).
# timeout: 300
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/redis_lib.bash"

BIN=$RDBKEEP_BIN
DBG=(--enable-debug-command yes)
PASS='Wr0ng-or-right'

# no_leftovers WHAT DIR NAME: nothing named NAME* in DIR (no temporary files).
no_leftovers() {
    local left
    left=$(find "$2" -maxdepth 1 -name "$3*" | head -5)
    rk_check_eq "$1: nothing left in $2" "" "$left"
}

# ---- the source dies in the middle of a pull -----------------------------------------------
rr_start_redis SRC "${DBG[@]}"
rr_cli "$SRC" DEBUG POPULATE 200000 key 100 >/dev/null
# Slow the snapshot down so that it is surely in the middle when the server dies.
rr_cli "$SRC" CONFIG SET rdb-key-save-delay 50 >/dev/null
mkdir -p "$RK_TMP/out"
"$BIN" rdb pull "redis://127.0.0.1:$SRC" "$RK_TMP/out/killed.rdb.gz" >"$RK_TMP/pull.out" 2>&1 &
pull_pid=$!
# Wait until the snapshot is under way (the transfer has begun).
for _ in $(seq 100); do
    [ "$(rr_cli "$SRC" INFO persistence | grep -o 'rdb_bgsave_in_progress:1')" ] && break
    sleep 0.05
done
sleep 1
kill -9 "$SRC_PID"
wait "$SRC_PID" 2>/dev/null || true
rc=0
wait "$pull_pid" || rc=$?
out=$(cat "$RK_TMP/pull.out")
rk_check_eq "a pull whose source dies fails" 1 "$rc"
rk_check_contains "the error says the connection closed in the middle" "before its end" "$out"
rk_check_contains "the error says nothing was stored" "nothing was stored" "$out"
[ ! -e "$RK_TMP/out/killed.rdb.gz" ] && rk_pass || rk_fail "a partial snapshot was committed"
no_leftovers "killed pull" "$RK_TMP/out" "killed"

# ---- a cancelled pull (SIGINT) commits nothing either ---------------------------------------------
rr_start_redis SRC2 "${DBG[@]}"
rr_cli "$SRC2" DEBUG POPULATE 200000 key 100 >/dev/null
rr_cli "$SRC2" CONFIG SET rdb-key-save-delay 50 >/dev/null
"$BIN" rdb pull "redis://127.0.0.1:$SRC2" "$RK_TMP/out/cancelled.rdb" >"$RK_TMP/pull.out" 2>&1 &
pull_pid=$!
sleep 1.5
kill -INT "$pull_pid"
rc=0
wait "$pull_pid" || rc=$?
rk_check_eq "a cancelled pull fails" 1 "$rc"
rk_check_contains "it says cancelled" "cancelled" "$(cat "$RK_TMP/pull.out")"
[ ! -e "$RK_TMP/out/cancelled.rdb" ] && rk_pass || rk_fail "a cancelled pull was committed"
no_leftovers "cancelled pull" "$RK_TMP/out" "cancelled"
rr_cli "$SRC2" CONFIG SET rdb-key-save-delay 0 >/dev/null

# A dataset for the pushes below (about 20 MB in memory).
"$BIN" rdb pull -q "redis://127.0.0.1:$SRC2" "$RK_TMP/data.rdb" && rk_pass || rk_fail "pull of the data"

# ---- a target out of memory ------------------------------------------------------------------------------
rr_start_redis OOM "${DBG[@]}" --maxmemory 8mb --maxmemory-policy noeviction
rr_run out "$BIN" rdb push "$RK_TMP/data.rdb" "redis://127.0.0.1:$OOM"
rk_check_eq "push into a full target fails" 1 "$out_RC"
rk_check_contains "the server's words" "OOM command not allowed when used memory" "$out"
rk_check_contains "the key is named" 'key "key:' "$out"
rk_check_contains "the command is named" "(RESTORE)" "$out"
rk_check_contains "maxmemory ruled out the replication method" "maxmemory" "$out"
loaded=$(sed -n 's/.*the target holds part of the data: \([0-9]*\) keys were sent.*/\1/p' <<<"$out")
if [ -n "$loaded" ] && [ "$loaded" -gt 0 ]; then rk_pass; else rk_fail "what it left: part of the data, with a count: $out"; fi

# ---- a read-only replica ------------------------------------------------------------------------------------
rr_start_redis RO "${DBG[@]}"
rr_cli "$RO" REPLICAOF 127.0.0.1 "$SRC2" >/dev/null
for _ in $(seq 100); do
    [ "$(rr_cli "$RO" INFO replication | grep -o 'master_link_status:up')" ] && break
    sleep 0.1
done
rr_run out "$BIN" rdb push "$RK_TMP/data.rdb" "redis://127.0.0.1:$RO"
rk_check_eq "push into a replica fails" 1 "$out_RC"
rk_check_contains "FLUSHALL is refused first" "FLUSHALL: READONLY" "$out"
rk_check_contains "what it left: nothing changed" "the target was not changed" "$out"
rr_run out "$BIN" rdb push --no-flush "$RK_TMP/data.rdb" "redis://127.0.0.1:$RO"
rk_check_eq "push --no-flush into a replica fails" 1 "$out_RC"
rk_check_contains "READONLY names the key" 'key "key:' "$out"
rk_check_contains "READONLY is the server's word" "(RESTORE): READONLY" "$out"
rk_check_eq "the replica is untouched" "$(rr_cli "$SRC2" DEBUG DIGEST)" "$(rr_cli "$RO" DEBUG DIGEST)"

# ---- passwords ------------------------------------------------------------------------------------------------
rr_start_redis AUTH "${DBG[@]}" --requirepass right-one
rr_run out "$BIN" rdb pull "redis://$PASS@127.0.0.1:$AUTH" "$RK_TMP/out/auth.rdb"
rk_check_eq "pull with a wrong password fails" 1 "$out_RC"
rk_check_contains "WRONGPASS" "WRONGPASS" "$out"
rk_check_not_contains "the wrong password is not shown" "$PASS" "$out"
rr_run out "$BIN" rdb push "$RK_TMP/data.rdb" "redis://$PASS@127.0.0.1:$AUTH"
rk_check_eq "push with a wrong password fails" 1 "$out_RC"
rk_check_not_contains "the wrong password is not shown (push)" "$PASS" "$out"
rr_run out "$BIN" rdb push "$RK_TMP/data.rdb" "redis://127.0.0.1:$AUTH"
rk_check_eq "push without the password fails" 1 "$out_RC"
rk_check_contains "NOAUTH, with a hint" "give the password in the URI" "$out"
rk_check_contains "what it left: nothing changed (NOAUTH)" "the target was not changed" "$out"
rk_check_eq "the target kept its data" 0 "$(REDISCLI_AUTH=right-one redis-cli --no-auth-warning -p "$AUTH" DBSIZE)"

# ---- missing and damaged inputs ------------------------------------------------------------------------
rr_start_redis KEEP "${DBG[@]}"
rr_cli "$KEEP" SET precious v >/dev/null
rr_run out "$BIN" rdb push "$RK_TMP/data.rdb" "$RK_TMP/no-such.rdb" "redis://127.0.0.1:$KEEP"
rk_check_eq "a missing input fails" 1 "$out_RC"
rk_check_contains "the missing file is named" "no-such.rdb" "$out"
rk_check_eq "the target was not flushed" v "$(rr_cli "$KEEP" GET precious)"
size=$(stat -c %s "$RK_TMP/data.rdb")
head -c $((size / 2)) "$RK_TMP/data.rdb" >"$RK_TMP/truncated.rdb"
for method in restore replication; do
    rr_run out "$BIN" rdb push --method "$method" "$RK_TMP/truncated.rdb" "redis://127.0.0.1:$KEEP"
    rk_check_eq "a truncated input fails ($method)" 1 "$out_RC"
    rk_check_contains "the file is named ($method)" "truncated.rdb" "$out"
    rk_check_contains "the offset is given ($method)" "offset" "$out"
    rk_check_eq "the target is a master again ($method)" "role:master" \
        "$(rr_cli "$KEEP" INFO replication | grep -o 'role:[a-z]*')"
done
rk_check_eq "settings put back after a failed sync" "disabled" \
    "$(rr_cli "$KEEP" CONFIG GET repl-diskless-load | sed -n 2p)"
rk_check_eq "masterauth put back after a failed sync" "" \
    "$(rr_cli "$KEEP" CONFIG GET masterauth | sed -n 2p)"
# A flipped byte: the CRC64 catches it.
cp "$RK_TMP/data.rdb" "$RK_TMP/flipped.rdb"
printf '\xAA' | dd of="$RK_TMP/flipped.rdb" bs=1 seek=$((size - 20)) conv=notrunc 2>/dev/null
rr_run out "$BIN" rdb push --method restore "$RK_TMP/flipped.rdb" "redis://127.0.0.1:$KEEP"
rk_check_eq "a damaged input fails" 1 "$out_RC"
rk_check_contains "the damage is described" "flipped.rdb" "$out"

# A corrupt value in the middle (listpacks, damaged at 60% of the file): the
# reader stops at it. With the replication method the target must never see
# the damaged key (a replica exits on a corrupt RDB; one whose stream merely
# ends carries on), so it stays up, a master, empty.
rr_start_redis LP "${DBG[@]}"
rr_cli "$LP" EVAL "for i = 1, 20000 do redis.call('HSET', 'h:' .. i, 'a', i, 'b', 'x' .. i, 'c', 'yyyyyyyy') end" 0 >/dev/null
"$BIN" rdb pull -q "redis://127.0.0.1:$LP" "$RK_TMP/lp.rdb" && rk_pass || rk_fail "pull of the listpacks"
size=$(stat -c %s "$RK_TMP/lp.rdb")
cp "$RK_TMP/lp.rdb" "$RK_TMP/lp-bad.rdb"
printf '\xFF\xFF\xFF' | dd of="$RK_TMP/lp-bad.rdb" bs=1 seek=$((size * 6 / 10)) conv=notrunc 2>/dev/null
for method in replication restore; do
    rr_run out "$BIN" rdb push --method "$method" "$RK_TMP/lp-bad.rdb" "redis://127.0.0.1:$KEEP"
    rk_check_eq "a corrupt value fails ($method)" 1 "$out_RC"
    rk_check_contains "the damage is located ($method)" "offset" "$out"
    rk_check_eq "the target is still up ($method)" PONG "$(rr_cli "$KEEP" PING)"
    rk_check_eq "and a master ($method)" "role:master" "$(rr_cli "$KEEP" INFO replication | grep -o 'role:[a-z]*')"
done

# Keys in a database the target does not have: an error, and the target up.
rr_start_redis MANY "${DBG[@]}" --databases 32
rr_cli "$MANY" -n 20 SET in:db20 v >/dev/null
"$BIN" rdb pull -q "redis://127.0.0.1:$MANY" "$RK_TMP/db20.rdb" && rk_pass || rk_fail "pull of db 20"
rr_run out "$BIN" rdb push --method replication "$RK_TMP/db20.rdb" "redis://127.0.0.1:$KEEP"
rk_check_eq "database 20 into 16 databases fails (replication)" 1 "$out_RC"
rk_check_contains "the database is named (replication)" "database 20" "$out"
rr_run out "$BIN" rdb push --method restore "$RK_TMP/db20.rdb" "redis://127.0.0.1:$KEEP"
rk_check_eq "database 20 into 16 databases fails (restore)" 1 "$out_RC"
rk_check_contains "the database is named (restore)" "SELECT 20: ERR DB index is out of range" "$out"
rk_check_eq "the target is still up" PONG "$(rr_cli "$KEEP" PING)"

# ---- a destination that cannot be written -------------------------------------------------------------------
rr_run out "$BIN" rdb pull "redis://127.0.0.1:$SRC2" "http://127.0.0.1:1/x.rdb"
rk_check_eq "pull to a read-only store fails" 1 "$out_RC"
rr_run out "$BIN" rdb pull "redis://127.0.0.1:$SRC2" "$RK_TMP/out"
rk_check_eq "pull to a directory fails" 1 "$out_RC"
rr_run out "$BIN" rdb pull "redis://127.0.0.1:1" "$RK_TMP/out/refused.rdb"
rk_check_eq "pull from a closed port fails" 1 "$out_RC"
rk_check_contains "connection refused" "refused" "$out"
rr_run out "$BIN" rdb pull "$RK_TMP/data.rdb" "$RK_TMP/out/x.rdb"
rk_check_eq "pull from a file is a usage error" 2 "$out_RC"

# ---- inputs that are streams: a FIFO, and a stalled one cancelled by SIGINT ---------------------------------
mkfifo "$RK_TMP/in.fifo"
cat "$RK_TMP/data.rdb" >"$RK_TMP/in.fifo" &
rr_run out "$BIN" rdb push "$RK_TMP/in.fifo" "redis://127.0.0.1:$KEEP"
rk_check_eq "push from a FIFO works" 0 "$out_RC"
rk_check_contains "push from a FIFO: keys loaded" "$(rr_cli "$KEEP" DBSIZE) keys loaded" "$out"
# A FIFO whose writer sends nothing: the push waits in the read, and Ctrl-C
# must still end it (and undo the replication settings).
sleep 30 >"$RK_TMP/in.fifo" &
stall_pid=$!
rk_track_pid "$stall_pid"
"$BIN" rdb push --method replication "$RK_TMP/in.fifo" "redis://127.0.0.1:$KEEP" >"$RK_TMP/stall.out" 2>&1 &
push_pid=$!
sleep 1
kill -INT "$push_pid"
for _ in $(seq 50); do kill -0 "$push_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$push_pid" 2>/dev/null; then
    rk_fail "a push waiting on its input ignored SIGINT"
    kill -9 "$push_pid"
else
    rk_pass
fi
rc=0
wait "$push_pid" || rc=$?
rk_check_eq "the interrupted push fails" 1 "$rc"
rk_check_contains "it says cancelled" "cancelled at byte 0" "$(cat "$RK_TMP/stall.out")"
rk_check_contains "and what it left" "the target was emptied" "$(cat "$RK_TMP/stall.out")"
rk_check_eq "the target is a master again" "role:master" "$(rr_cli "$KEEP" INFO replication | grep -o 'role:[a-z]*')"
rk_check_eq "its masterauth is back" "" "$(rr_cli "$KEEP" CONFIG GET masterauth | sed -n 2p)"
kill "$stall_pid" 2>/dev/null || true

rk_finish
