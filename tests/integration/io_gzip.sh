#!/usr/bin/env bash
# The io filters through "rdbkeep store cp --gzip / --gunzip", checked with
# gzip(1): compression that gzip reads back, decompression of gzip's output at
# every level, several members in one stream, plain data passed through, and
# clear errors (with the byte offset) for corrupt, truncated and trailing data.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

T=$RK_TMP
st_files
# Compressible data: text with repetition, as RDB payloads often are.
python3 -c '
import random, sys
r = random.Random(7)
words = [("key:%d" % i).encode() for i in range(5000)]
out = sys.stdout.buffer
for i in range(400000):
    out.write(r.choice(words) + b" " + str(r.random()).encode() + b"\n")
' >"$T/text"

rk_log "compression"
for f in empty small big text; do
    if out=$("${RK_STORE[@]}" cp -q --gzip "$T/$f" "$T/$f.gz" 2>&1); then rk_pass; else rk_fail "gzip $f: $out"; fi
    if gzip -t "$T/$f.gz" 2>"$T/gz.err"; then rk_pass; else rk_fail "gzip -t $f: $(cat "$T/gz.err")"; fi
    rk_check_eq "gzip $f: gzip -dc gives it back" "$(st_sha "$T/$f")" "$(gzip -dc "$T/$f.gz" | st_sha /dev/stdin)"
done
gzip -1 -c "$T/text" >"$T/text.gzip1"
ours=$(stat -c %s "$T/text.gz")
theirs=$(stat -c %s "$T/text.gzip1")
if [ "$ours" -le "$theirs" ]; then rk_pass; else rk_fail "gzip of text: $ours bytes, gzip -1 makes $theirs"; fi

rk_log "decompression"
for level in 1 6 9; do
    gzip -"$level" -c "$T/text" >"$T/text.$level.gz"
    rk_check_eq "gunzip of gzip -$level" "$(st_sha "$T/text")" \
        "$("${RK_STORE[@]}" cp -q --gunzip "$T/text.$level.gz" - | st_sha /dev/stdin)"
done
gzip -c "$T/small" >"$T/m.gz"
gzip -c "$T/empty" >>"$T/m.gz"
gzip -c "$T/text" >>"$T/m.gz"
rk_check_eq "gunzip of three members" "$(cat "$T/small" "$T/empty" "$T/text" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --gunzip "$T/m.gz" - | st_sha /dev/stdin)"
rk_check_eq "gunzip passes plain data through" "$(st_sha "$T/text")" \
    "$("${RK_STORE[@]}" cp -q --gunzip "$T/text" - | st_sha /dev/stdin)"
rk_check_eq "gunzip of an empty file" "" "$("${RK_STORE[@]}" cp -q --gunzip "$T/empty" -)"
rk_check_eq "gunzip from a pipe" "$(st_sha "$T/big")" \
    "$(gzip -1 -c "$T/big" | "${RK_STORE[@]}" cp -q --gunzip - - | st_sha /dev/stdin)"
rk_check_eq "gzip then gunzip" "$(st_sha "$T/big")" \
    "$("${RK_STORE[@]}" cp -q --gzip "$T/big" - | "${RK_STORE[@]}" cp -q --gunzip - - | st_sha /dev/stdin)"

rk_log "bad input"
size=$(stat -c %s "$T/text.6.gz")
head -c $((size / 2)) "$T/text.6.gz" >"$T/trunc.gz"
st_expect_fail "truncated gzip" "truncated: the input ends inside member 1" "" \
    "${RK_STORE[@]}" cp --gunzip "$T/trunc.gz" "$T/out"
rk_check_eq "truncated: no output file" "absent" "$([ -e "$T/out" ] || echo absent)"
cp "$T/text.6.gz" "$T/crc.gz"
printf '\xff' | dd of="$T/crc.gz" bs=1 seek=$((size - 6)) conv=notrunc 2>/dev/null
st_expect_fail "bad trailer" "CRC-32 or length" "" "${RK_STORE[@]}" cp --gunzip "$T/crc.gz" -
cp "$T/text.6.gz" "$T/bad.gz"
printf '\x00\x00\x00\x00' | dd of="$T/bad.gz" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
st_expect_fail "corrupt data" "at compressed byte" "" "${RK_STORE[@]}" cp --gunzip "$T/bad.gz" -
{ cat "$T/text.1.gz"; echo "trailing junk"; } >"$T/junk.gz"
st_expect_fail "trailing data" "unexpected data after member 1, at byte $(stat -c %s "$T/text.1.gz")" "" \
    "${RK_STORE[@]}" cp --gunzip "$T/junk.gz" -
st_expect_fail "gzip and gunzip together" "exclude each other" "" "${RK_STORE[@]}" cp --gzip --gunzip "$T/text" -

rk_finish
