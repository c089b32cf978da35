#!/usr/bin/env bash
# rdb_codec_redis: the byte-level codecs (src/rdb/codec.h) against a live
# redis-server 7.0, the independent oracle.
#
#  1. Blobs Redis builds (RPUSH, HSET, ZADD, SADD, then DUMP) equal the blobs
#     our builders make from the same entries, byte for byte; Redis's LZF
#     (it compresses blobs and strings in DUMP) goes through our decoders.
#  2. Payloads our builders make (listpack, ziplist and intset types, raw and
#     compressed by our LZF) RESTORE with sanitize-dump-payload on, read back
#     as the same data as the Redis-built key, and DUMP to the same bytes.
#  3. Redis's checksum of every DUMP matches our CRC64 (codec_tool checks it).
# timeout: 300
source "${RDBKEEP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"

TOOL="${RDBKEEP_BUILD:-$RDBKEEP_SRC/build}/tests/unit/rdb/codec_tool"
[ -x "$TOOL" ] || { echo "codec_tool not built: $TOOL" >&2; exit 1; }

ver=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\.\([0-9]*\).*/\1.\2/p')
[ "$ver" = "7.0" ] || { echo "this test needs redis-server 7.0 (found $ver)" >&2; exit 1; }

# Big limits so every test key stays in its compact encoding and a list in
# one node; sanitize-dump-payload makes RESTORE validate our blobs deeply.
rk_start_redis R --sanitize-dump-payload yes --list-max-listpack-size -5 \
    --hash-max-listpack-entries 100000 --hash-max-listpack-value 100000 \
    --zset-max-listpack-entries 10000 --zset-max-listpack-value 100000
cli() { redis-cli -p "$R" "$@"; }
W="$RK_TMP/work"
mkdir -p "$W"

# dump KEY FILE: the raw DUMP payload (redis-cli adds a newline when not on a tty).
dump() { cli DUMP "$1" | head -c -1 >"$2"; }

# restore KEY FILE
restore() { cli -x RESTORE "$1" 0 <"$2"; }

# extract FILE: our reading of a payload's blobs (LZF strings noted in
# $W/lzf.log when the payload came from Redis).
extract() {
    "$TOOL" extract <"$1" 2>"$W/extract.err" || { cat "$W/extract.err" >&2; return 1; }
    case $1 in *.redis) cat "$W/extract.err" >>"$W/lzf.log" ;; esac
}

read_list() { cli LRANGE "$1" 0 -1; }
read_hash() { cli HGETALL "$1"; }
read_zset() { cli ZRANGE "$1" 0 -1 WITHSCORES; }

encoding_is() { rk_check_eq "$1 encoding" "$2" "$(cli OBJECT ENCODING "$1")"; }

# check_same NAME READFN KIND ENTRY...: ours vs Redis's key NAME.
#   blobs equal, our payload (raw and LZF) restores to the same data and DUMP
check_same() {
    local name=$1 read=$2 kind=$3
    shift 3
    dump "$name" "$W/$name.redis"
    local theirs ours
    theirs=$(extract "$W/$name.redis") || { rk_fail "$name: cannot take Redis's DUMP apart"; return; }
    for z in "" -z; do
        "$TOOL" payload $z "$kind" "$@" >"$W/$name.ours$z" || { rk_fail "$name: payload"; return; }
        ours=$(extract "$W/$name.ours$z") || { rk_fail "$name: cannot take our payload apart"; return; }
        rk_check_eq "$name$z blob bytes" "$theirs" "$ours"
        cli DEL "$name.r" >/dev/null
        rk_check_eq "$name$z RESTORE" OK "$(restore "$name.r" "$W/$name.ours$z" 2>&1)"
        rk_check_eq "$name$z read back" "$($read "$name" 2>&1)" "$($read "$name.r" 2>&1)"
        dump "$name.r" "$W/$name.again"
        if cmp -s "$W/$name.redis" "$W/$name.again"; then rk_pass; else rk_fail "$name$z: DUMP after RESTORE differs"; fi
    done
}

# check_restores NAME READFN KIND ENTRY...: a form Redis 7.0 loads but no
# longer writes (ziplists); it must load to the same data as key NAME and
# convert to the same blob Redis builds.
check_restores() {
    local name=$1 read=$2 kind=$3
    shift 3
    dump "$name" "$W/$name.redis"
    for z in "" -z; do
        "$TOOL" payload $z "$kind" "$@" >"$W/$name.$kind$z" || { rk_fail "$name: payload"; return; }
        cli DEL "$name.$kind" >/dev/null
        rk_check_eq "$name $kind$z RESTORE" OK "$(restore "$name.$kind" "$W/$name.$kind$z" 2>&1)"
        rk_check_eq "$name $kind$z read back" "$($read "$name" 2>&1)" "$($read "$name.$kind" 2>&1)"
        dump "$name.$kind" "$W/$name.$kind.again"
        if cmp -s "$W/$name.redis" "$W/$name.$kind.again"; then rk_pass; else rk_fail "$name $kind$z: converted DUMP differs"; fi
    done
}

rep() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# ---- lists: every listpack integer and string width, backlen edges --------
LIST=(a "" "hello world" 0 1 12 13 -1 127 128 -4096 4095 4096 -4097 32767 -32768 32768
    8388607 -8388608 8388608 2147483647 -2147483648 2147483648 9223372036854775807
    -9223372036854775808 9223372036854775808 01 +1 -0 " 1" 1.5 "$(rep x 63)" "$(rep y 64)"
    "$(rep z 125)" "$(rep w 126)" "$(rep v 4095)" "$(rep u 4096)" "$(rep t 16377)"
    "$(rep s 16378)")
cli RPUSH L "${LIST[@]}" >/dev/null
encoding_is L quicklist
check_same L read_list list-qlp "${LIST[@]}"
check_restores L read_list list-zl "${LIST[@]}"
check_restores L read_list list-ql "${LIST[@]}"

# A small list: Redis stores the node raw (too short to compress).
cli RPUSH L2 x 1 2 3 >/dev/null
check_same L2 read_list list-qlp x 1 2 3

# ---- hashes -----------------------------------------------------------
HASH=(f1 v1 n 1 big 9223372036854775807 neg -17 empty "" long "$(rep q 300)"
    f64 "$(rep r 64)" "$(rep k 70)" "key-long" num2 4096 txt 01)
cli HSET H "${HASH[@]}" >/dev/null
encoding_is H listpack
check_same H read_hash hash-lp "${HASH[@]}"
check_restores H read_hash hash-zl "${HASH[@]}"

# More entries than the 16-bit count holds: Redis stops counting at 65535
# (listpack) and 0xFFFF (ziplist), and so must we.
cli EVAL "for i=1,33000 do redis.call('HSET', KEYS[1], 'f'..i, i) end" 1 HBIG >/dev/null
encoding_is HBIG listpack
seq 1 33000 | awk '{print "f" $1; print $1}' >"$W/hbig.entries"
check_same HBIG read_hash hash-lp "@$W/hbig.entries"
check_restores HBIG read_hash hash-zl "@$W/hbig.entries"

# ---- sorted sets: Redis 7.0's score text (d2string) in every shape ----
ZSET=(zero 0 negzero -0 three 3.0 half 1.5 tenth 0.1 big 1e300 nbig -1e300 pinf inf
    ninf -inf p52m1 4503599627370495 p52 4503599627370496 p53p1 9007199254740993
    e17 1e17 huge 123456789012345678 tiny 2.5e-300 sub 5e-324 neg -2.5 m1 -1 i127 127
    i128 128 third 0.3333333333333333 a 7 b 7 c 7)
cli ZADD Z $(for ((i = 0; i < ${#ZSET[@]}; i += 2)); do echo "${ZSET[i + 1]}" "${ZSET[i]}"; done) >/dev/null
encoding_is Z listpack
check_same Z read_zset zset-lp "${ZSET[@]}"
check_restores Z read_zset zset-zl "${ZSET[@]}"

# ---- sets of integers: each intset width --------------------------------
check_intset() {
    local name=$1
    shift
    cli SADD "$name" "$@" >/dev/null
    encoding_is "$name" intset
    dump "$name" "$W/$name.redis"
    local theirs ours
    theirs=$(extract "$W/$name.redis") || { rk_fail "$name: extract"; return; }
    "$TOOL" payload set-intset "$@" >"$W/$name.ours"
    ours=$(extract "$W/$name.ours") || { rk_fail "$name: extract ours"; return; }
    rk_check_eq "$name blob bytes" "$theirs" "$ours"
    rk_check_eq "$name RESTORE" OK "$(restore "$name.r" "$W/$name.ours" 2>&1)"
    rk_check_eq "$name members" "$(cli SMEMBERS "$name" | sort)" "$(cli SMEMBERS "$name.r" | sort)"
    dump "$name.r" "$W/$name.again"
    if cmp -s "$W/$name.redis" "$W/$name.again"; then rk_pass; else rk_fail "$name: DUMP after RESTORE differs"; fi
}
check_intset S16 5 -3 100 32767 -32768 0
check_intset S32 5 -3 32768 -2147483648 2147483647
check_intset S64 9223372036854775807 -9223372036854775808 1 2 3
check_intset SMANY $(seq -300 7 3000)

# ---- LZF: Redis's compressor through our decoders, ours through Redis's --
# Redis-like values: records sharing most of their bytes.
big=$(for i in $(seq 1 3000); do printf 'v%d-xxxxxxxxxxxxxxxx:%d;' "$i" $((i * 7919 % 100000)); done)
cli SET BIG "$big" >/dev/null
dump BIG "$W/big.redis"
"$TOOL" extract-raw <"$W/big.redis" >"$W/big.value" 2>"$W/big.err" || rk_fail "BIG: extract"
cat "$W/big.err" >>"$W/lzf.log"
printf '%s' "$big" >"$W/big.expected"
if cmp -s "$W/big.value" "$W/big.expected"; then rk_pass; else rk_fail "BIG: our LZF decoding of Redis's DUMP differs from the value"; fi
redis_clen=$(awk '/^lzf /{print $2}' "$W/big.err")
our_clen=$("$TOOL" lzf-size <"$W/big.expected")
rk_check_contains "BIG was LZF-compressed by Redis" lzf "$(cat "$W/big.err")"
rk_log "LZF on ${#big} bytes of records: Redis ${redis_clen:-?} bytes, ours $our_clen bytes"
if [ -n "$redis_clen" ] && [ "$our_clen" -le $((redis_clen + redis_clen / 10)) ]; then
    rk_pass
else
    rk_fail "our LZF ($our_clen bytes) is more than 10% larger than Redis's (${redis_clen:-?})"
fi
"$TOOL" payload -z string "$big" >"$W/big.ours"
rk_check_eq "BIG RESTORE of our LZF" OK "$(restore BIG.r "$W/big.ours" 2>&1)"
if [ "$(cli GET BIG.r)" == "$big" ]; then rk_pass; else rk_fail "BIG: Redis decodes our LZF to something else"; fi

# Many sizes and shapes of compressed strings, both directions.
for n in 21 22 40 100 1000 8191 8192 8193 20000 70000; do
    for shape in rep rec; do
        if [ $shape = rep ]; then v=$(rep a "$n"); else v=${big:0:n}; fi
        "$TOOL" payload -z string "$v" >"$W/s.ours"
        cli DEL s >/dev/null
        rk_check_eq "string $shape/$n RESTORE" OK "$(restore s "$W/s.ours" 2>&1)"
        if [ "$(cli GET s)" == "$v" ]; then rk_pass; else rk_fail "string $shape/$n: value differs after RESTORE"; fi
        cli SET s2 "$v" >/dev/null
        dump s2 "$W/s2.redis"
        "$TOOL" extract-raw <"$W/s2.redis" >"$W/s2.value" 2>>"$W/lzf.log" || rk_fail "string $shape/$n: extract"
        if [ "$(cat "$W/s2.value")" == "$v" ]; then rk_pass; else rk_fail "string $shape/$n: our decoding of Redis's DUMP differs"; fi
    done
done
lzf_seen=$(grep -c '^lzf ' "$W/lzf.log" || true)

rk_log "LZF strings from Redis decoded by our decoders: $lzf_seen"
if [ "$lzf_seen" -ge 20 ]; then rk_pass; else rk_fail "only $lzf_seen LZF strings seen; Redis compression not exercised"; fi
rk_finish
