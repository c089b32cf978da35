#!/usr/bin/env bash
# bench_import.sh: an import of the standard dataset as .rdb.gz from a local
# HTTP server (nginx) into a managed database of a running daemon, from the
# POST to the task's completion (download, gunzip, parse, rewrite, the
# staging server's load, the swap), against redis-server loading the same
# RDB (uncompressed, from the page cache) at start-up, runs interleaved.
# Target: at most 1.25x the time.
#
# The database is emptied (FLUSHALL) before each import: the import is
# measured, not the shutdown of the data it replaces.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

rdb=$(bench_std_rdb)
runs=${BENCH_RUNS:-3}
dir=$(cd "$(dirname "$rdb")" && pwd)
gz="$dir/$(basename "$rdb").gz"
if [ ! -s "$gz" ] || [ "$rdb" -nt "$gz" ]; then
    rk_log "compressing the standard dataset once (gzip -1)"
    gzip -1 -c "$rdb" >"$gz.tmp"
    mv "$gz.tmp" "$gz"
fi
cat "$rdb" "$gz" >/dev/null # the page cache holds both for every contender

emu_start_nginx
ln -f "$gz" "$EMU_WWW/std.rdb.gz" 2>/dev/null || cp "$gz" "$EMU_WWW/std.rdb.gz"
chmod 644 "$EMU_WWW/std.rdb.gz"
url="http://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTP_PORT/std.rdb.gz"

rk_daemon_config "$RK_TMP/d" "logLevel = warn"
rk_daemon_start
SUB=$(rk_create_sub bench)
api POST "/v1/subscriptions/$SUB/databases" '{"name": "bench", "memoryLimitInGb": 8, "password": "benchpw"}'
rk_wait_task "$(jqb .taskId)" 60
DB=$(jqb .response.resourceId)
api GET "/v1/subscriptions/$SUB/databases/$DB"
PORT=$(jqb .publicEndpoint | cut -d: -f2)
cli() { redis-cli -p "$PORT" -a benchpw --no-auth-warning "$@"; }

now() { date +%s.%N; }


# import VAR: POST .../import, timed until the task completes.
import() {
    local t0 t1 task status
    cli FLUSHALL >/dev/null
    t0=$(now)
    api POST "/v1/subscriptions/$SUB/databases/$DB/import" \
        "{\"sourceType\": \"http\", \"importFromUri\": [\"$url\"]}"
    task=$(jqb .taskId)
    while :; do
        api GET "/v1/tasks/$task"
        status=$(jqb .status)
        case $status in processing-completed | processing-error) break ;; esac
        sleep 0.05
    done
    t1=$(now)
    [ "$status" = processing-completed ] || { echo "import failed: $API_BODY" >&2; exit 1; }
    IMPORT_KEYS=$(cli DBSIZE)
    IMPORT_USED=$(jqb .response.resource.usedMemory)
    printf -v "$1" '%.2f' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')"
}

best_base="" best_import=""
for i in $(seq "$runs"); do
    bench_startup_load t_base "$rdb"
    import t_import
    [ "$IMPORT_KEYS" = "$STARTUP_KEYS" ] || { echo "import holds $IMPORT_KEYS keys, start-up $STARTUP_KEYS" >&2; exit 1; }
    rk_log "run $i: start-up load $t_base s, import $t_import s ($IMPORT_KEYS keys)"
    if [ -z "$best_base" ] || awk "BEGIN{exit !($t_base < $best_base)}"; then best_base=$t_base; fi
    if [ -z "$best_import" ] || awk "BEGIN{exit !($t_import < $best_import)}"; then best_import=$t_import; fi
done

mb=$(awk -v s="$(stat -L -c %s "$rdb")" 'BEGIN{printf "%.0f", s / 1048576}')
gzmb=$(awk -v s="$(stat -L -c %s "$gz")" 'BEGIN{printf "%.0f", s / 1048576}')
echo "dataset: $rdb ($mb MiB, $gzmb MiB gzipped, $STARTUP_KEYS keys, used_memory $IMPORT_USED); best of $runs interleaved runs"
printf "%-44s %8s s\n" "redis-server start-up load (baseline)" "$best_base"
printf "%-44s %8s s  ratio %s (target <= 1.25)\n" "import .rdb.gz over HTTP into a database" "$best_import" \
    "$(bench_ratio "$best_import" "$best_base")"
