# rdbtest.sh: helpers for the rdb_*.sh integration scripts (source it after
# common.sh): the RDB corpus, the Python comparison helpers, and redis-servers
# that load a given RDB file at startup.

PY=/usr/bin/python3
RDBJSON="$RDBKEEP_SRC/tests/lib/rdbjson.py"
CORPUS="$RDBKEEP_SRC/tests/data/rdb-corpus"

# The files of the corpus that are intentionally corrupt or that no reader
# of today's formats can take (PROVENANCE.md, "Negative and edge-case
# files"): bad CRC, unknown future versions, a broken ziplist, unknown types.
# Not in the list although PROVENANCE.md names it there:
# librdb/test/dumps/redis_ent_opcode_ram_lru.rdb, whose Redis Enterprise
# opcode 107 is skippable, and the files with trailing bytes.
RDB_NEGATIVE=(
    librdb/test/dumps/future_v19.rdb
    librdb/test/dumps/invalid_chksum_v8.rdb
    redis/tests/assets/corrupt_ziplist.rdb
    valkey/tests/assets/corrupt_ziplist.rdb
    valkey-reconstructed/tests/assets/encodings-rdb75-unknown-types.rdb
    valkey-reconstructed/tests/assets/encodings-rdb987-unknown-types.rdb
    valkey-reconstructed/tests/assets/encodings-rdb987.rdb
)

# rdb_corpus_files: every corpus file that holds an RDB, relative to
# $CORPUS: the *.rdb files and the AOF files with an RDB preamble (the other
# .aof files are HDT3213/rdb's expected RESP outputs).
rdb_corpus_files() {
    (cd "$CORPUS" && find . -type f \( -name '*.rdb' -o -name 'rdb-preamble.aof' \) | sed 's|^\./||' |
        LC_ALL=C sort)
}

rdb_is_negative() {
    local n
    for n in "${RDB_NEGATIVE[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

# rdb_intact_files: the corpus files every reader must take.
rdb_intact_files() {
    local f
    while read -r f; do rdb_is_negative "$f" || echo "$f"; done < <(rdb_corpus_files)
}

# rk_tally CMD...: runs a helper that ends its output with "checks N fails M"
# (its FAIL lines go to stderr) and adds that to this script's tally.
rk_tally() {
    local out rc=0 last
    out=$("$@") || rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [[ $last =~ ^checks\ ([0-9]+)\ fails\ ([0-9]+)$ ]]; then
        RK_CHECKS=$((RK_CHECKS + BASH_REMATCH[1]))
        RK_FAILS=$((RK_FAILS + BASH_REMATCH[2]))
        if [ "${BASH_REMATCH[1]}" -eq 0 ]; then rk_fail "$* checked nothing"; fi
    else
        rk_fail "helper broke (exit $rc): $*"
    fi
    [ "$rc" -eq 0 ] || rk_fail "helper exited $rc: $*"
}

# rk_untrack_pid PID: a process this script stopped itself is no longer
# stopped at exit (its PID may belong to someone else by then).
rk_untrack_pid() {
    local i
    for i in "${!RK_PIDS[@]}"; do
        [ "${RK_PIDS[$i]}" = "$1" ] && unset 'RK_PIDS[i]'
    done
    RK_PIDS=("${RK_PIDS[@]}")
}

# One port for all the short-lived servers of a script, reserved once (each
# server is stopped, and gone, before the next starts).
rdb_reserve_port() {
    rk_free_port >"$RK_TMP/rdb-port"
    RDB_PORT=$(cat "$RK_TMP/rdb-port")
}

# rdb_another_port VAR: reserves one more port (rk_free_port in this shell,
# so that it is released at exit).
rdb_another_port() {
    rk_free_port >"$RK_TMP/rdb-port.$1"
    printf -v "$1" '%s' "$(cat "$RK_TMP/rdb-port.$1")"
}

# rdb_server_start PORT DIR FILE [redis-server options...]: starts a
# redis-server 7.0 on PORT that loads FILE (copied into DIR as its
# dbfilename; none if FILE is empty) at startup. Sets RDB_LAST_PID. Returns 1
# if the server exited instead (it could not load the file); its log is in
# DIR/redis.log (and what it printed in DIR/redis.out).
rdb_server_start() {
    local port=$1 dir=$2 file=$3
    shift 3
    mkdir -p "$dir"
    rm -f "$dir/dump.rdb"
    [ -z "$file" ] || cp "$file" "$dir/dump.rdb"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$dir" --dbfilename dump.rdb --logfile "$dir/redis.log" \
        --enable-debug-command yes "$@" >>"$dir/redis.out" 2>&1 &
    RDB_LAST_PID=$!
    rk_track_pid "$RDB_LAST_PID"
    local reply
    for _ in $(seq 1200); do
        if ! kill -0 "$RDB_LAST_PID" 2>/dev/null; then
            wait "$RDB_LAST_PID" 2>/dev/null || true
            rk_untrack_pid "$RDB_LAST_PID"
            RDB_LAST_PID=
            return 1
        fi
        reply=$(redis-cli -p "$port" PING 2>/dev/null) || true
        [ "$reply" = PONG ] && return 0
        sleep 0.01
    done
    echo "redis-server on $port did not answer PONG within 12 s" >&2
    rdb_server_stop "$RDB_LAST_PID"
    return 1
}

# rdb_server_stop PID: stops a server this script started, and waits for it.
rdb_server_stop() {
    [ -n "${1:-}" ] || return 0
    kill "$1" 2>/dev/null || true
    for _ in $(seq 500); do kill -0 "$1" 2>/dev/null || break; sleep 0.01; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    rk_untrack_pid "$1"
}

# rdb_redis_start DIR FILE [options...]: rdb_server_start on $RDB_PORT;
# sets RDB_PID.
rdb_redis_start() {
    local rc=0
    rdb_server_start "$RDB_PORT" "$@" || rc=$?
    RDB_PID=$RDB_LAST_PID
    return $rc
}

rdb_redis_stop() {
    rdb_server_stop "${RDB_PID:-}"
    RDB_PID=
}

rdb_cli() { redis-cli -p "$RDB_PORT" "$@"; }

# rdb_redis_digest DIR FILE: DEBUG DIGEST of FILE loaded by redis-server
# 7.0 (empty output and status 1 if it cannot load it).
rdb_redis_digest() {
    rdb_redis_start "$1" "$2" || return 1
    rdb_cli DEBUG DIGEST
    rdb_redis_stop
}

rdb_need_redis_70() {
    local ver
    ver=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\.\([0-9]*\).*/\1.\2/p')
    [ "$ver" = "7.0" ] || { echo "this test needs redis-server 7.0 (found $ver)" >&2; exit 1; }
}
