# bench/lib.sh: shared helpers for the benchmarks (source it after tests/lib/common.sh).

# bench_std_rdb: prints the path of the standard dataset's RDB file
# (gen-dataset.py 100000, about 720 MB), making it once per machine: a
# scratch redis-server is filled with redis-cli --pipe, and redis-cli --rdb
# takes the snapshot. Cached in bench/out/ (or $RDBKEEP_BENCH_DATA) for an
# hour: a fifth of the strings expire about 10,000 s after generation (absolute
# times in the file), and an older file would measure fewer keys than the
# standard, and different key counts between contenders a few seconds apart.
bench_std_rdb() {
    local scale=${BENCH_SCALE:-100000}
    local dir=${RDBKEEP_BENCH_DATA:-$RDBKEEP_SRC/bench/out}
    local rdb="$dir/std-$scale.rdb"
    mkdir -p "$dir"
    if [ -s "$rdb" ] && [ -n "$(find -L "$rdb" -mmin +60)" ]; then
        rk_log "the cached standard dataset is over an hour old (its TTLs run out): making it again"
        rm -f "$rdb"
    fi
    if [ ! -s "$rdb" ]; then
        rk_log "generating the standard dataset (scale $scale); this takes a few minutes once"
        rk_start_redis GEN
        python3 "$RDBKEEP_SRC/bench/gen-dataset.py" "$scale" | redis-cli -p "$GEN" --pipe >&2
        redis-cli -p "$GEN" --rdb "$rdb.tmp" >&2
        mv "$rdb.tmp" "$rdb"
        rk_stop_pid "$GEN_PID"
    fi
    echo "$rdb"
}

# bench_time VAR CMD...: runs CMD, sets VAR to its wall time in seconds and
# VAR_RSS to its peak RSS in KiB (GNU time).
bench_time() {
    local var=$1
    shift
    local out="$RK_TMP/time.$$"
    /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null
    read -r t m <"$out"
    printf -v "$var" '%s' "$t"
    printf -v "${var}_RSS" '%s' "$m"
}

# bench_best VAR RUNS CMD...: the best (lowest) wall time of RUNS runs, and
# the peak RSS of that run; a loaded machine only ever makes runs slower.
bench_best() {
    local var=$1 runs=$2
    shift 2
    local best="" best_rss="" t
    for _ in $(seq "$runs"); do
        bench_time t "$@"
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then
            best=$t
            best_rss=$t_RSS
        fi
    done
    printf -v "$var" '%s' "$best"
    printf -v "${var}_RSS" '%s' "$best_rss"
}

# bench_ratio A B: prints A/B with two decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}'; }

# bench_startup_load VAR RDB: the baseline of the loaders: a redis-server
# started on RDB, timed until it answers PING (it answers LOADING until the
# dataset is in); STARTUP_KEYS gets the keys it then holds.
bench_startup_load() {
    local rdb=$2 port t0 t1 pid
    port=$(rk_free_port)
    mkdir -p "$RK_TMP/startup"
    t0=$(date +%s.%N)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$(cd "$(dirname "$rdb")" && pwd)" --dbfilename "$(basename "$rdb")" \
        --logfile "$RK_TMP/startup/redis.log" &
    pid=$!
    rk_track_pid "$pid"
    until [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; do sleep 0.05; done
    t1=$(date +%s.%N)
    STARTUP_KEYS=$(redis-cli -p "$port" DBSIZE)
    rk_stop_pid "$pid"
    wait "$pid" 2>/dev/null || true
    printf -v "$1" '%.2f' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')"
}
