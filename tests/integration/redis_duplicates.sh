#!/usr/bin/env bash
# redis_duplicates.sh: an input holding the same key twice in one database
# (no server writes one; a crafted or hand-made file can) makes redis-server
# panic when it loads it. Pushed by replication, it must stop with an error
# naming the key before the target's replica sees the repeat, and leave the
# target up, a master, its settings as they were; RESTORE loads it (the last
# copy wins). The same key in two databases is no repeat.
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/redis_lib.bash"

BIN=$RDBKEEP_BIN
DBG=(--enable-debug-command yes)

# craft OUT < SPEC: writes an RDB (version 9, CRC64 computed) from lines
#   select DB SIZE          SELECTDB DB, RESIZEDB SIZE 0
#   key KEY VALUE [PXAT]    a string key (expiry in unix ms)
#   many N PREFIX SIZE      N string keys PREFIX0.. with SIZE-byte values
# and prints "KEY OFFSET" for each key line (where its record starts).
cat >"$RK_TMP/craft.py" <<'EOF'
import struct, sys

POLY = 0x95AC9329AC4BC9B5  # CRC-64/Jones, reflected, as Redis computes it

def crc64(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    crc = 0
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc

assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA

def length(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | n >> 8, n & 0xFF])
    return b"\x80" + struct.pack(">I", n)

def string(s):
    return length(len(s)) + s

out = bytearray(b"REDIS0009")
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    if f[0] == "select":
        out += b"\xfe" + length(int(f[1])) + b"\xfb" + length(int(f[2])) + length(0)
    elif f[0] == "key":
        print(f[1], len(out))
        if len(f) > 3:
            out += b"\xfc" + struct.pack("<Q", int(f[3]))
        out += b"\x00" + string(f[1].encode()) + string(f[2].encode())
    elif f[0] == "many":
        for i in range(int(f[1])):
            out += b"\x00" + string(b"%s%d" % (f[2].encode(), i)) + string(b"v" * int(f[3]))
out += b"\xff"
out += struct.pack("<Q", crc64(out))
open(sys.argv[1], "wb").write(out)
EOF
craft() { python3 "$RK_TMP/craft.py" "$1"; }

# ---- the files ---------------------------------------------------------------------------------
# The repeat in a small file: nothing has reached the replica when it is met.
offsets=$(craft "$RK_TMP/dup.rdb" <<'EOF'
select 0 4
key a 1
key k first
key b 2
key k second
EOF
)
dup_offset=$(echo "$offsets" | awk '$1 == "k" {o = $2} END {print o}')
# The repeat after 4 MB (far more than is held back until keys are checked):
# the replica is in the middle of loading when the stream ends.
offsets=$(craft "$RK_TMP/dup-late.rdb" <<'EOF'
select 3 40001
many 40000 key: 100
key key:17 again
EOF
)
late_offset=$(echo "$offsets" | awk '$1 == "key:17" {print $2}')
# One copy long expired: the writer would drop it, but every key counts.
craft "$RK_TMP/dup-expired.rdb" >/dev/null <<'EOF'
select 0 2
key k old 1000
key k new
EOF
# The same key in two databases: no repeat.
craft "$RK_TMP/twodb.rdb" >/dev/null <<'EOF'
select 0 2
key k zero
key only0 x
select 1 2
key k one
key only1 y
EOF

for f in dup dup-late dup-expired twodb; do
    rr_run out redis-check-rdb "$RK_TMP/$f.rdb"
    rk_check_contains "redis-check-rdb reads $f.rdb" "RDB looks OK" "$out"
done

# The hazard itself: redis-server loading the file at start-up panics.
mkdir -p "$RK_TMP/startup"
cp "$RK_TMP/dup.rdb" "$RK_TMP/startup/"
port=$(rk_free_port)
rc=0
(timeout 60 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$RK_TMP/startup" --dbfilename dup.rdb --logfile "$RK_TMP/startup/redis.log") \
    >"$RK_TMP/startup/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && rk_pass || rk_fail "redis-server started on a file with a key twice"
rk_check_contains "redis-server panics on the repeat" "Duplicated key found in RDB file" \
    "$(cat "$RK_TMP/startup/redis.log")"

# ---- the replication method refuses the repeat, and the target lives on ---------------------
rr_start_redis T "${DBG[@]}"
# Settings unlike the defaults, to see them put back.
rr_cli "$T" CONFIG SET repl-diskless-load swapdb >/dev/null
rr_cli "$T" CONFIG SET masterauth "keep-me-$RANDOM" >/dev/null
before_load=$(rr_cli "$T" CONFIG GET repl-diskless-load | sed -n 2p)
before_auth=$(rr_cli "$T" CONFIG GET masterauth | sed -n 2p)

# target_intact WHAT: the target survived a failed sync unchanged but for its data.
target_intact() {
    local what=$1
    kill -0 "$T_PID" 2>/dev/null && rk_pass || rk_fail "$what: redis-server exited"
    rk_check_eq "$what: it answers" PONG "$(rr_cli "$T" PING)"
    rk_check_eq "$what: a master again" "role:master" \
        "$(rr_cli "$T" INFO replication | grep -o 'role:[a-z]*')"
    rk_check_eq "$what: repl-diskless-load put back" "$before_load" \
        "$(rr_cli "$T" CONFIG GET repl-diskless-load | sed -n 2p)"
    rk_check_eq "$what: masterauth put back" "$before_auth" \
        "$(rr_cli "$T" CONFIG GET masterauth | sed -n 2p)"
    rk_check_not_contains "$what: no panic in the target's log" "Duplicated key" \
        "$(cat "$T_DIR/redis.log")"
    # Documented: a sync that failed after the flush leaves the target empty.
    rk_check_eq "$what: the target is empty" 0 "$(rr_cli "$T" DBSIZE)"
}

for method in replication auto; do
    rr_cli "$T" SET precious v >/dev/null
    rr_run out "$BIN" rdb push --method "$method" "$RK_TMP/dup.rdb" "redis://127.0.0.1:$T"
    rk_check_eq "a key twice fails ($method)" 1 "$out_RC"
    rk_check_contains "the key, its database, twice ($method)" \
        'key "k" appears twice in database 0' "$out"
    rk_check_contains "the file and offset of the repeat ($method)" \
        "dup.rdb: offset $dup_offset:" "$out"
    rk_check_contains "the way out ($method)" "--method restore" "$out"
    rk_check_contains "what it left: an empty target ($method)" "the target was emptied" "$out"
    target_intact "dup.rdb ($method)"
done

rr_run out "$BIN" rdb push "$RK_TMP/dup-late.rdb" "redis://127.0.0.1:$T"
rk_check_eq "a late repeat fails" 1 "$out_RC"
rk_check_contains "the late repeat is named" \
    "offset $late_offset: key \"key:17\" appears twice in database 3" "$out"
target_intact "dup-late.rdb"

rr_run out "$BIN" rdb push --method replication "$RK_TMP/dup-expired.rdb" "redis://127.0.0.1:$T"
rk_check_eq "a repeat with one copy expired fails too" 1 "$out_RC"
rk_check_contains "it is named" 'key "k" appears twice in database 0' "$out"
target_intact "dup-expired.rdb"

# ---- RESTORE loads it: the last copy wins ----------------------------------------------------
last=$(awk '$1 == "key" && $2 == "k" {v = $3} END {print v}' <<'EOF'
key a 1
key k first
key b 2
key k second
EOF
)
rr_run out "$BIN" rdb push -q --method restore "$RK_TMP/dup.rdb" "redis://127.0.0.1:$T"
rk_check_eq "restore loads a key twice" 0 "$out_RC"
rk_check_eq "the last copy wins" "$last" "$(rr_cli "$T" GET k)"
rk_check_eq "and the other keys are there" "1 2" "$(rr_cli "$T" GET a) $(rr_cli "$T" GET b)"
rr_run out "$BIN" rdb push -q --method restore "$RK_TMP/dup-expired.rdb" "redis://127.0.0.1:$T"
rk_check_eq "restore loads the expired repeat" 0 "$out_RC"
rk_check_eq "the live copy is kept" new "$(rr_cli "$T" GET k)"

# ---- the same key in two databases loads by replication -------------------------------------
rr_run out "$BIN" rdb push "$RK_TMP/twodb.rdb" "redis://127.0.0.1:$T"
rk_check_eq "one key in two databases loads" 0 "$out_RC"
rk_check_contains "by replication" "replication" "$out"
mkdir -p "$RK_TMP/ref"
cp "$RK_TMP/twodb.rdb" "$RK_TMP/ref/"
rr_start_redis REF "${DBG[@]}" --dir "$RK_TMP/ref" --dbfilename twodb.rdb
rk_check_eq "database 0's copy" "$(rr_cli "$REF" -n 0 GET k)" "$(rr_cli "$T" -n 0 GET k)"
rk_check_eq "database 1's copy" "$(rr_cli "$REF" -n 1 GET k)" "$(rr_cli "$T" -n 1 GET k)"
rk_check_eq "the copies differ" 2 "$(printf '%s\n%s\n' "$(rr_cli "$T" -n 0 GET k)" \
    "$(rr_cli "$T" -n 1 GET k)" | sort -u | wc -l)"
rk_check_eq "the same data as redis-server's own load" "$(rr_cli "$REF" DEBUG DIGEST)" \
    "$(rr_cli "$T" DEBUG DIGEST)"
target_load=$(rr_cli "$T" CONFIG GET repl-diskless-load | sed -n 2p)
rk_check_eq "settings put back after a good sync" "$before_load" "$target_load"

rk_finish
