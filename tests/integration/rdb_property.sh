#!/usr/bin/env bash
# rdb_property: property tests of the RDB reader and writer against a live
# redis-server 7.0, the independent oracle (tests/lib/rdbprop.py).
#
# For each seed: random thresholds and a random dataset of every type and
# encoding 7.0 writes (tests/lib/rdbprop.py generate), in databases 0-15,
# binary-safe, with TTLs; the server SAVEs it.
#  1. `rdb json` of the dump against the keys read back from the live server
#     (SCAN, GET, LRANGE, SMEMBERS, ZRANGE, HGETALL, XRANGE, XINFO STREAM
#     FULL, PEXPIRETIME, OBJECT ENCODING), key by key; inspect's counters.
#  2. `rdb convert` to every target 6 to 12 (rdbjson.py convert-matrix: the
#     content of each output against the original's, stream keys refused
#     below 9); the outputs for 9 and 10 load in redis-server 7.0 with the
#     original server's DEBUG DIGEST.
#  3. The same without the streams (deleted on the server, saved again):
#     the outputs for 7 and 8 load with the server's digest.
#  4. Keys that expire after the save: rdb json still has them; once their
#     time has passed, --drop-expired leaves out exactly them, and 7.0
#     loading the output without the option ends with the server's digest.
# A failure names its seed; RDB_PROPERTY_SEEDS="N ..." runs given seeds.
# timeout: 420
source "${RDBKEEP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/rdbtest.sh"
rdb_need_redis_70

BIN=$RDBKEEP_BIN
PROP="$RDBKEEP_SRC/tests/lib/rdbprop.py"
W="$RK_TMP/w"
mkdir -p "$W"
# Two fixed seeds, and a new one each run.
SEEDS=(${RDB_PROPERTY_SEEDS:-1 2 $((RANDOM * 32768 + RANDOM))})
rk_log "seeds: ${SEEDS[*]}"

rdb_reserve_port
rdb_another_port SRC_PORT
src() { redis-cli -p "$SRC_PORT" "$@"; }

# loads_with_digest WHAT FILE DIGEST: 7.0 loads FILE and has DIGEST. The
# loading server keeps every sorted set a skiplist: loading one into a
# listpack would store integral scores as integers, and a score of -0 would
# come back as 0 (Redis's own normalization, which DEBUG DIGEST sees).
loads_with_digest() {
    if rdb_redis_start "$W/load" "$2" --zset-max-listpack-entries 0; then
        rk_check_eq "seed $seed: $1: DEBUG DIGEST after 7.0 loads it" "$3" "$(rdb_cli DEBUG DIGEST)"
        rdb_redis_stop
    else
        rk_fail "seed $seed: $1: redis-server 7.0 cannot load it: $(tail -n 3 "$W/load/redis.log")"
    fi
}

# save_dump NAME: SAVE on the source server, the dump copied to $W/NAME.rdb
# and its rdb json to $W/NAME.json.
save_dump() {
    rk_check_eq "seed $seed: SAVE" OK "$(src SAVE)"
    cp "$SRC_DIR/dump.rdb" "$W/$1.rdb"
    "$BIN" rdb json "$W/$1.rdb" >"$W/$1.json" || rk_fail "seed $seed: rdb json of $1 failed"
}

for seed in "${SEEDS[@]}"; do
    fails_before=$RK_FAILS
    SRC_DIR="$W/src-$seed"
    rdb_server_start "$SRC_PORT" "$SRC_DIR" "" || { rk_fail "seed $seed: cannot start redis-server"; continue; }
    SRC_PID=$RDB_LAST_PID

    # ---- 1. the dump against the live server
    "$PY" "$PROP" generate "$SRC_PORT" "$seed" || rk_fail "seed $seed: generating the dataset failed"
    "$PY" "$PROP" truth "$SRC_PORT" "$W/$seed.truth" || rk_fail "seed $seed: reading the dataset back failed"
    save_dump "$seed"
    digest=$(src DEBUG DIGEST)
    rk_tally "$PY" "$PROP" check "$W/$seed.truth" "$W/$seed.json" "$seed" --coverage
    "$BIN" rdb inspect --json "$W/$seed.rdb" >"$W/$seed.inspect"
    rk_tally "$PY" "$RDBJSON" counts "$W/$seed.inspect" "$W/$seed.json"

    # The method: the server's own dump loads with the server's digest.
    loads_with_digest "the server's own dump" "$W/$seed.rdb" "$digest"

    # ---- 2. every target; 9 and 10 in Redis 7.0
    mkdir -p "$W/conv-$seed"
    echo "$W/$seed.rdb" >"$W/conv-$seed/list"
    rk_tally "$PY" "$RDBJSON" convert-matrix "$BIN" "$W/conv-$seed/list" "$W/conv-$seed"
    for t in 10 9; do
        if [ -f "$W/conv-$seed/0.t$t.rdb" ]; then
            loads_with_digest "target $t" "$W/conv-$seed/0.t$t.rdb" "$digest"
        else
            rk_fail "seed $seed: no target $t output"
        fi
    done

    # ---- 3. without streams: 7 and 8 too
    "$PY" "$PROP" del-streams "$SRC_PORT"
    save_dump "$seed-nostreams"
    digest=$(src DEBUG DIGEST)
    mkdir -p "$W/conv-$seed-ns"
    echo "$W/$seed-nostreams.rdb" >"$W/conv-$seed-ns/list"
    rk_tally "$PY" "$RDBJSON" convert-matrix "$BIN" "$W/conv-$seed-ns/list" "$W/conv-$seed-ns" \
        --targets 7,8,9,10 --drop-targets ''
    for t in 10 9 8 7; do
        if [ -f "$W/conv-$seed-ns/0.t$t.rdb" ]; then
            loads_with_digest "no streams, target $t" "$W/conv-$seed-ns/0.t$t.rdb" "$digest"
        else
            rk_fail "seed $seed: no target $t output without streams"
        fi
    done

    # ---- 4. keys that expire after the save
    # (4 s: time enough to read them back and save them before they go.)
    gone_at=$("$PY" "$PROP" expiring "$SRC_PORT" "$seed" 4000)
    "$PY" "$PROP" truth "$SRC_PORT" "$W/$seed-exp.truth"
    save_dump "$seed-exp"
    rk_tally "$PY" "$PROP" check "$W/$seed-exp.truth" "$W/$seed-exp.json" "$seed"
    "$PY" "$PROP" sleep-until $((gone_at + 100))
    # The server forgets them as it meets them (truth scans every key).
    "$PY" "$PROP" truth "$SRC_PORT" "$W/$seed-after.truth"
    digest=$(src DEBUG DIGEST)
    mkdir -p "$W/conv-$seed-exp"
    echo "$W/$seed-exp.rdb" >"$W/conv-$seed-exp/list"
    rk_tally "$PY" "$RDBJSON" convert-matrix "$BIN" "$W/conv-$seed-exp/list" "$W/conv-$seed-exp" \
        --targets 8,10,12 --drop-targets 8,10,12
    loads_with_digest "expired keys, target 10" "$W/conv-$seed-exp/0.t10.rdb" "$digest"

    rdb_server_stop "$SRC_PID"
    n=$((RK_FAILS - fails_before))
    if [ "$n" -gt 0 ]; then
        rk_log "seed $seed: $n failures; reproduce with RDB_PROPERTY_SEEDS=$seed"
    else
        rk_log "seed $seed: all checks passed"
    fi
done

rk_finish
