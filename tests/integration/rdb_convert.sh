#!/usr/bin/env bash
# rdb_convert: rdbkeep rdb convert against the corpus and a real redis-server
# 7.0 (Debian's), the independent oracle.
#
#  1. Every distinct intact corpus file, every target version 6 to 12
#     (tests/lib/rdbjson.py convert-matrix): the output verifies, starts
#     with REDIS000N, and `rdb json` of it holds the original's content as
#     the target can hold it (hash field TTLs gone below 12, counted in the
#     warning; stream metadata of older stream types; empty keys left out);
#     aux fields, functions and module aux records kept or dropped with a
#     warning that counts them. A key the target cannot hold (streams below
#     9, module values below 8) fails the conversion with a message naming
#     the key, and no output is left behind. --drop-expired leaves out
#     exactly the keys that have expired.
#  2. Redis 7.0 loads every target 10 output (files with module data it
#     does not have excepted, which it must refuse), and its SAVE of it holds
#     the original's content. Where 7.0 loads the original too, DEBUG DIGEST
#     of the original equals the digest of the outputs for 10, 9, 8 and 7.
#  3. Hash field TTLs in the past (a file made here from the format's
#     definition): expired fields are left out wherever the hash is
#     rewritten, and by --drop-expired.
#  4. The command line: stdin/stdout and gzip, usage errors, damaged input.
# timeout: 480
source "${RDBKEEP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/rdbtest.sh"
rdb_need_redis_70

BIN=$RDBKEEP_BIN
W="$RK_TMP/w"
mkdir -p "$W"
cd "$CORPUS"

# Identical copies of a file (the corpus has many) are converted once.
declare -A SEEN
: >"$W/files"
while read -r f; do
    sum=$(sha256sum <"$f" | cut -c1-64)
    [ -n "${SEEN[$sum]:-}" ] && continue
    SEEN[$sum]=$f
    echo "$f" >>"$W/files"
done < <(rdb_intact_files)
mapfile -t FILES <"$W/files"
rk_log "${#FILES[@]} distinct intact files, targets 6 to 12"

# ---- 1. every file, every target -----------------------------------------------------------

rk_tally "$PY" "$RDBJSON" convert-matrix "$BIN" "$W/files" "$W"
rk_log "conversions checked"

# The expired-keys filter of redis/librdb's tests: its expected outputs for
# set_expired_v11.rdb (nothing left) and set_not_expired_v11.rdb.
L=librdb/test/dumps
for p in "set_expired_v11.rdb set_expired.json" "set_not_expired_v11.rdb set_not_expired.json"; do
    read -r rdb exp <<<"$p"
    rc=0
    "$BIN" rdb convert -q --drop-expired --target-version 12 "$L/$rdb" "$W/drop.rdb" || rc=$?
    rk_check_eq "convert --drop-expired $rdb: exit" 0 "$rc"
    "$BIN" rdb json "$W/drop.rdb" >"$W/drop.json" || rk_fail "json of $rdb --drop-expired"
    "$BIN" rdb inspect --json "$L/$rdb" >"$W/drop.inspect"
    # The aux fields in these expected files are the original's: compare
    # with inspect of the original.
    rk_tally "$PY" "$RDBJSON" librdb "$L/$exp" "$W/drop.json" "$W/drop.inspect"
done

# ---- 2. Redis 7.0 loads the outputs ------------------------------------------------------------

rdb_reserve_port
# Every server that loads a file keeps its sorted sets skiplists: loading one
# into a listpack stores integral scores as integers, and a score of -0
# would come back as 0 (Redis's own normalization, which would hide what the
# files hold from SAVE and DEBUG DIGEST).
LOADOPTS=(--zset-max-listpack-entries 0)
: >"$W/saved.tsv"
loaded=0 digests=0 refused=0 orig_unloadable=()
for n in "${!FILES[@]}"; do
    f=${FILES[$n]}
    conv="$W/$n.t10.rdb"
    if [ ! -f "$conv" ]; then
        rk_fail "$f: no target 10 output to load"
        continue
    fi
    modules=$("$BIN" rdb inspect --json "$f" | "$PY" -c 'import json,sys; print(" ".join(m["name"] for m in json.load(sys.stdin)["modules"]))')
    if [ -n "$modules" ]; then
        # Module values and module aux data need their module, which this
        # server does not have: it must refuse the file, not load part of it.
        if rdb_redis_start "$W/r" "$conv" "${LOADOPTS[@]}"; then
            rk_fail "$f: redis-server 7.0 loaded module data ($modules) without the module"
            rdb_redis_stop
        else
            rk_check_contains "$f: redis-server's reason for refusing" "module" "$(tail -n 5 "$W/r/redis.log")"
            refused=$((refused + 1))
        fi
        continue
    fi
    if ! rdb_redis_start "$W/r" "$conv" "${LOADOPTS[@]}"; then
        rk_fail "$f: redis-server 7.0 cannot load the target 10 output: $(tail -n 3 "$W/r/redis.log")"
        continue
    fi
    loaded=$((loaded + 1))
    rk_pass
    conv_digest=$(rdb_cli DEBUG DIGEST)
    rk_check_eq "$f: SAVE" OK "$(rdb_cli SAVE)"
    rdb_redis_stop
    cp "$W/r/dump.rdb" "$W/$n.saved.rdb"
    "$BIN" rdb json "$W/$n.saved.rdb" >"$W/$n.saved.json"
    printf '%s\t%s\n' "$W/$n.json" "$W/$n.saved.json" >>"$W/saved.tsv"

    magic=$(head -c 9 "$f")
    if [[ $magic =~ ^REDIS0*([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le 10 ]; then
        if ! rdb_redis_start "$W/r" "$f" "${LOADOPTS[@]}"; then
            orig_unloadable+=("$f")
            continue
        fi
        orig_digest=$(rdb_cli DEBUG DIGEST)
        rdb_redis_stop
        rk_check_eq "$f: DEBUG DIGEST of the original vs the target 10 output" "$orig_digest" "$conv_digest"
        digests=$((digests + 1))
        for t in 9 8 7; do
            [ -f "$W/$n.t$t.rdb" ] || continue # a target that cannot hold a key
            if rdb_redis_start "$W/r" "$W/$n.t$t.rdb" "${LOADOPTS[@]}"; then
                rk_check_eq "$f: DEBUG DIGEST of the original vs the target $t output" \
                    "$orig_digest" "$(rdb_cli DEBUG DIGEST)"
                rdb_redis_stop
                digests=$((digests + 1))
            else
                rk_fail "$f: redis-server 7.0 cannot load the target $t output: $(tail -n 3 "$W/r/redis.log")"
            fi
        done
    fi
done
rk_tally "$PY" "$RDBJSON" content-list "$W/saved.tsv" --target 10 --redis-load
rk_log "redis-server 7.0 loaded $loaded target 10 outputs, refused $refused with module data;" \
    "$digests digests compared"
for f in "${orig_unloadable[@]}"; do
    rk_log "note: redis-server 7.0 does not load the original $f itself (content compared only)"
done

# ---- 3. hash field TTLs in the past ------------------------------------------------------------
# The corpus's field TTLs are all in the future. A file made here (RDB 12,
# types 24 and 25 as Redis 7.4 writes them) has fields that expired an hour
# ago, fields that expire in 30 days, fields without TTL, and a hash whose
# fields have all expired.
now=$(date +%s%3N)
"$PY" "$RDBJSON" craft-hfe "$W/hfe.rdb" "$now" >"$W/hfe.held"
"$BIN" rdb json "$W/hfe.rdb" >"$W/hfe.json" || rk_fail "rdb json of the crafted HFE file"
rk_tally "$PY" "$RDBJSON" hfe-check "$W/hfe.held" "$W/hfe.json" as-is "$now"
for t in 10 11 12; do
    for drop in "" --drop-expired; do
        rc=0
        "$BIN" rdb convert --target-version "$t" $drop "$W/hfe.rdb" "$W/hfe.$t.rdb" 2>"$W/hfe.log" || rc=$?
        rk_check_eq "crafted HFE file -> RDB $t $drop: exit" 0 "$rc"
        "$BIN" rdb json "$W/hfe.$t.rdb" >"$W/hfe.$t.json" || rk_fail "rdb json of the crafted HFE file -> $t"
        # Below 12 the expired fields go and the others lose their TTL; at 12
        # the file is kept as it is, unless --drop-expired (rdb.h: "Leave out
        # keys, and hash fields, that have expired").
        if [ "$t" -lt 12 ]; then mode=no-ttl; elif [ -n "$drop" ]; then mode=drop; else mode=as-is; fi
        rk_tally "$PY" "$RDBJSON" hfe-check "$W/hfe.held" "$W/hfe.$t.json" "$mode" "$now" "$W/hfe.log"
    done
done
if rdb_redis_start "$W/r" "$W/hfe.10.rdb" "${LOADOPTS[@]}"; then
    rk_check_eq "crafted HFE file -> RDB 10: SAVE in 7.0" OK "$(rdb_cli SAVE)"
    rdb_redis_stop
    "$BIN" rdb json "$W/r/dump.rdb" >"$W/hfe.saved.json"
    rk_tally "$PY" "$RDBJSON" hfe-check "$W/hfe.held" "$W/hfe.saved.json" no-ttl "$now"
else
    rk_fail "redis-server 7.0 cannot load the crafted HFE file converted to 10: $(tail -n 3 "$W/r/redis.log")"
fi

# ---- 4. the command line ---------------------------------------------------------------------

f=hdt3213-rdb/cases/memory.rdb
"$BIN" rdb convert -q --target-version 10 "$f" "$W/a.rdb" || rk_fail "convert $f"
gzip -c "$f" | "$BIN" rdb convert -q --target-version 10 - - >"$W/b.rdb" || rk_fail "convert gzipped stdin"
if cmp -s "$W/a.rdb" "$W/b.rdb"; then rk_pass; else rk_fail "gzipped stdin to stdout differs from path to path"; fi
rk_check_eq "stdout output verifies" 0 "$("$BIN" rdb verify -q - <"$W/b.rdb" >/dev/null 2>&1; echo $?)"

for args in "--target-version 5" "--target-version 13" "--target-version x" "" "--target-version 10 $f" \
    "--bogus --target-version 10 $f $W/c.rdb"; do
    rc=0
    # shellcheck disable=SC2086
    "$BIN" rdb convert $args >/dev/null 2>"$W/err" || rc=$?
    rk_check_eq "convert $args: usage error" 2 "$rc"
    rk_check_not_contains "convert $args: message" "Segmentation" "$(cat "$W/err")"
done
rc=0
"$BIN" rdb convert -q --target-version 10 "$f" "$W/no/such/dir/out.rdb" 2>"$W/err" || rc=$?
rk_check_eq "output in a missing directory: exit" 1 "$rc"
rk_check_contains "output in a missing directory: message" "$W/no/such/dir/out.rdb" "$(cat "$W/err")"

# Damaged input: exit 1, and neither the output nor a temporary file left.
head -c 1000 hdt3213-rdb/cases/memory.rdb >"$W/half.rdb"
for f in "${RDB_NEGATIVE[@]}" "$W/half.rdb"; do
    rm -f "$W/out/"*
    mkdir -p "$W/out"
    rc=0
    "$BIN" rdb convert -q --target-version 10 "$f" "$W/out/x.rdb" 2>"$W/err" || rc=$?
    rk_check_eq "convert damaged $f: exit" 1 "$rc"
    rk_check_contains "convert damaged $f: message" "offset " "$(cat "$W/err")"
    rk_check_eq "convert damaged $f: files left" "" "$(ls -A "$W/out")"
done

# An output that is not a regular file is written in place, never renamed over:
# a FIFO (read by verify at its other end) and a character device.
mkfifo "$W/fifo"
"$BIN" rdb verify - <"$W/fifo" >"$W/fifo.out" 2>&1 &
reader=$!
"$BIN" rdb convert -q --target-version 9 redis/tests/assets/encodings.rdb "$W/fifo" 2>"$W/err"
rc=0
wait "$reader" || rc=$?
rk_check_eq "convert into a FIFO: the reader verified it" 0 "$rc"
rk_check_contains "convert into a FIFO: RDB 9" "Redis RDB 9" "$(cat "$W/fifo.out")"
rk_check_eq "convert into a FIFO: still a FIFO" "fifo" "$([ -p "$W/fifo" ] && echo fifo)"
"$BIN" rdb convert -q --target-version 10 redis/tests/assets/encodings.rdb /dev/null
rk_check_eq "convert into /dev/null: still a character device" "char" "$([ -c /dev/null ] && echo char)"

rk_finish
