#!/usr/bin/env bash
# bench_push.sh: rdbkeep rdb push of the standard dataset into an empty
# redis-server, against that redis-server loading the same RDB at start-up,
# runs interleaved. Targets: at most 1.15x the time, peak RSS at most 64 MB.
# The default method (auto: a replication full sync the target loads with its
# own loader) is the one measured against the target; pipelined RESTORE
# (--method restore, the fallback) is measured too, for the record.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"

rdb=$(bench_std_rdb)
runs=${BENCH_RUNS:-3}
restore_runs=${BENCH_RESTORE_RUNS:-1}
cat "$rdb" >/dev/null # the page cache holds the file for every contender

# push VAR [OPTIONS]: rdbkeep rdb push into an empty redis-server; VAR_RSS
# gets the peak RSS in KiB.
push() {
    local var=$1
    shift
    rk_start_redis DST
    bench_time "$var" "$RDBKEEP_BIN" rdb push -q "$@" "$rdb" "redis://127.0.0.1:$DST"
    PUSH_KEYS=$(redis-cli -p "$DST" DBSIZE)
    rk_stop_pid "$DST_PID"
}

best_base="" best_push="" push_rss=""
for i in $(seq "$runs"); do
    bench_startup_load t_base "$rdb"
    push t_push
    [ "$PUSH_KEYS" = "$STARTUP_KEYS" ] || { echo "push loaded $PUSH_KEYS keys, start-up $STARTUP_KEYS" >&2; exit 1; }
    rk_log "run $i: start-up load $t_base s, rdb push $t_push s ($PUSH_KEYS keys)"
    if [ -z "$best_base" ] || awk "BEGIN{exit !($t_base < $best_base)}"; then best_base=$t_base; fi
    if [ -z "$best_push" ] || awk "BEGIN{exit !($t_push < $best_push)}"; then best_push=$t_push; fi
    if [ -z "$push_rss" ] || [ "$t_push_RSS" -gt "$push_rss" ]; then push_rss=$t_push_RSS; fi
done
best_restore="" restore_rss=""
for i in $(seq "$restore_runs"); do
    push t_restore --method restore
    rk_log "restore run $i: $t_restore s ($PUSH_KEYS keys)"
    if [ -z "$best_restore" ] || awk "BEGIN{exit !($t_restore < $best_restore)}"; then
        best_restore=$t_restore
        restore_rss=$t_restore_RSS
    fi
done

mb=$(awk -v s="$(stat -L -c %s "$rdb")" 'BEGIN{printf "%.0f", s / 1048576}')
echo "dataset: $rdb ($mb MiB, $STARTUP_KEYS keys); best of $runs interleaved runs"
printf "%-40s %8s s\n" "redis-server start-up load (baseline)" "$best_base"
printf "%-40s %8s s  %6s MiB RSS  ratio %s (target <= 1.15, RSS <= 64)\n" \
    "rdbkeep rdb push (auto: replication)" "$best_push" "$((push_rss / 1024))" \
    "$(bench_ratio "$best_push" "$best_base")"
if [ -n "$best_restore" ]; then
    printf "%-40s %8s s  %6s MiB RSS  ratio %s (for the record)\n" \
        "rdbkeep rdb push --method restore" "$best_restore" "$((restore_rss / 1024))" \
        "$(bench_ratio "$best_restore" "$best_base")"
fi
