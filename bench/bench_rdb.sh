#!/usr/bin/env bash
# bench_rdb.sh: rdbkeep rdb verify and convert against redis-check-rdb on the
# standard dataset, in the same run. Targets: verify <= 0.25x, convert
# --target-version 10 <= 0.5x, peak RSS <= 32 MB for both.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

rdb=$(bench_std_rdb)
size=$(stat -L -c %s "$rdb")
out="$RK_TMP/converted.rdb"
runs=${BENCH_RUNS:-3}

# Warm the page cache so every contender reads from memory.
cat "$rdb" >/dev/null

bench_best check "$runs" redis-check-rdb "$rdb"
bench_best verify "$runs" "$RDBKEEP_BIN" rdb verify -q "$rdb"
bench_best convert "$runs" "$RDBKEEP_BIN" rdb convert -q --target-version 10 "$rdb" "$out"
"$RDBKEEP_BIN" rdb verify -q "$out" || { echo "the converted file does not verify" >&2; exit 1; }

mb=$(awk -v s="$size" 'BEGIN{printf "%.0f", s / 1048576}')
echo "dataset: $rdb ($mb MiB)"
printf "%-34s %8s s  %6s MiB RSS\n" "redis-check-rdb (baseline)" "$check" "$((check_RSS / 1024))"
printf "%-34s %8s s  %6s MiB RSS  ratio %s (target <= 0.25)\n" "rdbkeep rdb verify" "$verify" \
    "$((verify_RSS / 1024))" "$(bench_ratio "$verify" "$check")"
printf "%-34s %8s s  %6s MiB RSS  ratio %s (target <= 0.50)\n" "rdbkeep rdb convert --target 10" \
    "$convert" "$((convert_RSS / 1024))" "$(bench_ratio "$convert" "$check")"
