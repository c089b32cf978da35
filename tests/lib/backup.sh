# backup.sh: helpers for the backup tests (source it after common.sh and
# daemon.sh). Data goes into managed databases with Lua (their redis-servers
# refuse DEBUG); digests are taken by loading RDB files into scratch
# redis-servers that allow DEBUG, so what rdbkeep wrote is judged by
# redis-server itself.

# bk_fill PORT PASSWORD N [VALUE_BYTES]: N string keys plus, for every tenth,
# a hash, a list, a set and a sorted set; every seventh key has a TTL a day
# away (it does not expire during the test, and DEBUG DIGEST covers it).
bk_fill() {
    local port=$1 pw=$2 n=$3 size=${4:-100}
    rcli "$port" "$pw" EVAL "
local n, size = tonumber(ARGV[1]), tonumber(ARGV[2])
local pad = string.rep('v', size)
for i = 1, n do
  redis.call('SET', 's:' .. i, pad .. i)
  if i % 7 == 0 then redis.call('PEXPIRE', 's:' .. i, 86400000) end
  if i % 10 == 0 then
    redis.call('HSET', 'h:' .. i, 'a', i, 'b', pad)
    redis.call('RPUSH', 'l:' .. i, 'x', i, pad)
    redis.call('SADD', 'set:' .. i, 'm' .. i, 'n' .. i)
    redis.call('ZADD', 'z:' .. i, i, 'a', i + 0.5, 'b')
  end
end
return n" 0 "$n" "$size" >/dev/null
}

# bk_wait_loaded PORT: until the server answers PING (it loads its file first).
bk_wait_loaded() {
    local deadline=$(($(date +%s) + 60))
    until [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "redis-server on $1 did not load" >&2; return 1; }
        sleep 0.1
    done
}

# bk_file_digest FILE: DEBUG DIGEST and DBSIZE ("digest keys") of the data in
# an RDB file (gzipped or not), loaded at start-up by a scratch redis-server.
bk_file_digest() {
    local file=$1 dir
    dir=$(mktemp -d "$RK_TMP/load.XXXXXX")
    if [ "$(head -c 2 "$file" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
        gunzip -c "$file" >"$dir/dump.rdb"
    else
        cp "$file" "$dir/dump.rdb"
    fi
    rk_start_redis LOAD --dir "$dir" --dbfilename dump.rdb --enable-debug-command yes
    # Always stopped, even when it did not load (this may run in a subshell).
    if bk_wait_loaded "$LOAD"; then
        echo "$(redis-cli -p "$LOAD" DEBUG DIGEST) $(redis-cli -p "$LOAD" DBSIZE)"
    else
        echo "not loaded: $(tail -3 "$LOAD_DIR/redis.log")"
    fi
    rk_stop_pid "$LOAD_PID"
    rm -rf "$dir"
}

# bk_source_digest PORT PASSWORD: the same for a live database, through
# redis-cli --rdb (not rdbkeep).
bk_source_digest() {
    local f="$RK_TMP/source.$RANDOM.rdb"
    REDISCLI_AUTH="$2" redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning --rdb "$f" >/dev/null 2>&1
    bk_file_digest "$f"
    rm -f "$f"
}

# bk_backup SUB DB [BODY]: POST .../backup, waits (up to 120 s); leaves the
# task in API_BODY and its status in RK_TASK_STATUS.
bk_backup() {
    if [ $# -ge 3 ]; then
        api POST "/v1/subscriptions/$1/databases/$2/backup" "$3"
    else
        api POST "/v1/subscriptions/$1/databases/$2/backup"
    fi
    if [ "$API_STATUS" != 202 ]; then
        RK_TASK_STATUS="refused $API_STATUS"
        return 0
    fi
    rk_wait_task "$(jqb .taskId)" 120
}

# bk_check_file WHAT FILE SOURCE_DIGEST: rdbkeep rdb verify passes, and the
# data loaded into redis-server has the source's digest and key count.
bk_check_file() {
    local what=$1 file=$2 want=$3 out
    if out=$("$RDBKEEP_BIN" rdb verify "$file" 2>&1); then rk_pass; else rk_fail "$what: rdb verify: $out"; fi
    rk_check_eq "$what: digest and keys after a restore" "$want" "$(bk_file_digest "$file")"
}

# bk_check_manifest WHAT MANIFEST FILE...: the manifest (a file) lists these
# files with their real sizes and SHA-256 (by sha256sum).
bk_check_manifest() {
    local what=$1 manifest=$2 f name
    shift 2
    rk_check_eq "$what: manifest files" "$#" "$(jq '.files | length' "$manifest")"
    for f in "$@"; do
        name=$(basename "$f")
        rk_check_eq "$what: manifest sha256 of $name" "$(sha256sum <"$f" | cut -d' ' -f1)" \
            "$(jq -r --arg n "$name" '.files[] | select(.name == $n) | .sha256' "$manifest")"
        rk_check_eq "$what: manifest size of $name" "$(stat -c %s "$f")" \
            "$(jq -r --arg n "$name" '.files[] | select(.name == $n) | .sizeBytes' "$manifest")"
    done
}

# bk_fill_random PORT PASSWORD MB: MB megabytes of random (incompressible)
# 4 KiB values, so that a backup moves that much and takes a while (PASSWORD
# empty: a server without one).
bk_fill_random() {
    local port=$1 pw=$2 mb=$3
    python3 -c '
import os, sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1]) * 256):
    key = b"r:%d" % i
    val = os.urandom(4096)
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$4096\r\n%s\r\n" % (len(key), key, val))
' "$mb" | env ${pw:+"REDISCLI_AUTH=$pw"} redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning --pipe >/dev/null
}
