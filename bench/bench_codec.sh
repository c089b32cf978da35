#!/usr/bin/env bash
# bench_codec: CRC64 and LZF throughput (src/rdb/codec.h) on 100 MB of
# Redis-like values, each against memcpy measured in the same run (the ratio
# column); then, if redis-server and the test helper codec_tool are at hand,
# Redis's own LZF on the same bytes (DUMP of them as one string) for the size.
# Builds bench/codec_bench.c against the build's rk_rdb and rk_base.
src=${RDBKEEP_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
source "$src/tests/lib/common.sh"
build=$(dirname "${RDBKEEP_BIN:-$src/build/rdbkeep}")
mb=${BENCH_CODEC_MB:-100}
lib_rdb="$build/src/rdb/librk_rdb.a"
lib_base="$build/src/base/librk_base.a"
for lib in "$lib_rdb" "$lib_base"; do
    [ -f "$lib" ] || { echo "bench_codec: $lib not built" >&2; exit 1; }
done
bin="$RK_TMP/codec_bench"
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -I"$src/src" -o "$bin" "$src/bench/codec_bench.c" \
    "$lib_rdb" "$lib_base" $(pkg-config --libs libisal) -lm
echo "bench_codec $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m) $mb MB"
"$bin" "$mb"

tool="$build/tests/unit/rdb/codec_tool"
if command -v redis-server >/dev/null && [ -x "$tool" ]; then
    "$bin" --data "$mb" "$RK_TMP/data"
    rk_start_redis R
    redis-cli -p "$R" -x SET data <"$RK_TMP/data" >/dev/null
    redis-cli -p "$R" DUMP data | head -c -1 >"$RK_TMP/dump"
    clen=$("$tool" extract-raw <"$RK_TMP/dump" 2>&1 >/dev/null | awk '/^lzf /{print $2}')
    echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') LZF of the same data: ${clen:-not compressed} bytes"
fi
