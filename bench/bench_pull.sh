#!/usr/bin/env bash
# bench_pull.sh: rdbkeep rdb pull of the standard dataset from a running
# redis-server into a local .rdb.gz, against redis-cli --rdb (no compression)
# from the same server, runs interleaved. Targets: at most 1.10x the time
# (compression hides behind the transfer), output no larger than gzip -1 of
# the same RDB, peak RSS at most 64 MB.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

rdb=$(bench_std_rdb)
runs=${BENCH_RUNS:-3}

# The server holds the dataset (loaded at start-up; nothing is ever saved).
rk_start_redis SRC --dir "$(cd "$(dirname "$rdb")" && pwd)" --dbfilename "$(basename "$rdb")"
until [ "$(redis-cli -p "$SRC" PING 2>/dev/null)" = PONG ]; do sleep 0.2; done
keys=$(redis-cli -p "$SRC" DBSIZE)
rk_log "source ready: $keys keys"

best_cli="" best_pull="" pull_rss=""
for i in $(seq "$runs"); do
    bench_time t_cli sh -c 'exec redis-cli -p "$1" --rdb "$2" 2>/dev/null' sh "$SRC" "$RK_TMP/cli.rdb"
    bench_time t_pull "$RDBKEEP_BIN" rdb pull -q "redis://127.0.0.1:$SRC" "$RK_TMP/pull.rdb.gz"
    rk_log "run $i: redis-cli --rdb $t_cli s, rdb pull $t_pull s"
    if [ -z "$best_cli" ] || awk "BEGIN{exit !($t_cli < $best_cli)}"; then best_cli=$t_cli; fi
    if [ -z "$best_pull" ] || awk "BEGIN{exit !($t_pull < $best_pull)}"; then
        best_pull=$t_pull
    fi
    # The largest peak of any run: the bound must hold every time.
    if [ -z "$pull_rss" ] || [ "$t_pull_RSS" -gt "$pull_rss" ]; then pull_rss=$t_pull_RSS; fi
done

# Both files hold the same dataset; the output is checked, then sized
# against gzip -1 of the baseline's RDB.
"$RDBKEEP_BIN" rdb verify -q "$RK_TMP/pull.rdb.gz" || { echo "the pulled file does not verify" >&2; exit 1; }
cli_size=$(stat -c %s "$RK_TMP/cli.rdb")
gzip1=$(gzip -1 -c "$RK_TMP/cli.rdb" | wc -c)
ours=$(stat -c %s "$RK_TMP/pull.rdb.gz")

mb=$(awk -v s="$cli_size" 'BEGIN{printf "%.0f", s / 1048576}')
echo "dataset: $keys keys, RDB $mb MiB; best of $runs interleaved runs"
printf "%-36s %8s s  %6s MiB RSS\n" "redis-cli --rdb (baseline)" "$best_cli" "$((t_cli_RSS / 1024))"
printf "%-36s %8s s  %6s MiB RSS  ratio %s (target <= 1.10, RSS <= 64)\n" \
    "rdbkeep rdb pull -> .rdb.gz" "$best_pull" "$((pull_rss / 1024))" "$(bench_ratio "$best_pull" "$best_cli")"
printf "%-36s %12s bytes\n" "gzip -1 of the same RDB (baseline)" "$gzip1"
printf "%-36s %12s bytes  ratio %s (target <= 1.00)\n" "rdbkeep rdb pull output" "$ours" \
    "$(bench_ratio "$ours" "$gzip1")"
