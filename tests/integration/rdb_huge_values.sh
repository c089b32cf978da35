#!/usr/bin/env bash
# A 2 GiB string and a list of 100 million elements pass through the reader
# in bounded memory. The files are generated on the fly into a pipe (RDB 4:
# no checksum to compute), never stored.
# timeout: 600
source "$(dirname "$0")/../lib/common.sh"

gen() { /usr/bin/python3 - "$@" <<'PY'
import struct, sys
out = sys.stdout.buffer
kind = sys.argv[1]
out.write(b"REDIS0004\xfe\x00")
if kind == "string":
    n = 2 << 30
    out.write(b"\x00\x03big" + b"\x80" + struct.pack(">I", n))
    block = b"x" * (1 << 20)
    for _ in range(n // len(block)):
        out.write(block)
else:
    n = 100_000_000
    out.write(b"\x01\x04list" + b"\x80" + struct.pack(">I", n))
    block = b"\x01a" * 500_000
    for _ in range(n // 500_000):
        out.write(block)
out.write(b"\xff")
PY
}

check_rss() {
    local what=$1 limit_kb=$2 log=$RK_TMP/$1.time
    if ! gen "$what" | /usr/bin/time -f "%M" -o "$log" "$RDBKEEP_BIN" rdb verify - >"$RK_TMP/$what.out" 2>&1; then
        rk_fail "$what: verify failed: $(cat "$RK_TMP/$what.out")"
        return
    fi
    rk_check_contains "$what: verify says ok" "ok: Redis RDB 4" "$(cat "$RK_TMP/$what.out")"
    local rss
    rss=$(tail -1 "$log")
    if [ "$rss" -le "$limit_kb" ]; then rk_pass; else rk_fail "$what: peak RSS ${rss} KiB > ${limit_kb} KiB"; fi
    rk_log "$what: peak RSS $rss KiB"
}

check_rss string 32768
check_rss list 32768

# The same list element by element through json: one line per key, still bounded.
gen list | /usr/bin/time -f "%M" -o "$RK_TMP/json.time" "$RDBKEEP_BIN" rdb json - |
    /usr/bin/python3 -c '
import sys
line = sys.stdin.buffer.readline()
assert line.startswith(b"{\"db\":0,\"key\":\"list\",\"type\":\"list\""), line[:80]
print(line.count(b"\"a\""))' >"$RK_TMP/json.count"
rk_check_eq "json: every element" 100000000 "$(cat "$RK_TMP/json.count")"
rss=$(tail -1 "$RK_TMP/json.time")
if [ "$rss" -le 32768 ]; then rk_pass; else rk_fail "json: peak RSS ${rss} KiB"; fi

rk_finish
