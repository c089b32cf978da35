# redis_lib.bash: helpers of the redis_*.sh integration tests (source it after
# tests/lib/common.sh). Not a test itself (the suite runs *.sh only).

# rr_start_redis VAR [redis-server options...]: rk_start_redis, but a server
# that dies at once (its port was taken meanwhile: rk_free_port sees
# listeners only, not the ports of other processes' connections) is started
# again on another port instead of being waited for.
# With --tls first, the port is the server's TLS port (plain TCP off).
rr_start_redis() {
    local var=$1
    shift
    local tls=0
    if [ "${1:-}" = --tls ]; then
        tls=1
        shift
    fi
    local port dir pid attempt ports
    for attempt in 1 2 3 4 5; do
        port=$(rk_free_port)
        dir="$RK_TMP/redis-$port"
        mkdir -p "$dir"
        ports=(--port "$port")
        [ "$tls" = 1 ] && ports=(--port 0 --tls-port "$port")
        redis-server "${ports[@]}" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --dir "$dir" --logfile "$dir/redis.log" --repl-diskless-sync-delay 0 "$@" &
        pid=$!
        rk_track_pid "$pid"
        local up=0
        for _ in $(seq 600); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if [ "$up" = 1 ]; then
            printf -v "$var" '%s' "$port"
            printf -v "${var}_PID" '%s' "$pid"
            printf -v "${var}_DIR" '%s' "$dir"
            return 0
        fi
        wait "$pid" 2>/dev/null || true
        rk_log "redis-server on port $port did not start (attempt $attempt): $(tail -1 "$dir/redis.log" 2>/dev/null)"
    done
    echo "redis-server would not start" >&2
    return 1
}

# rr_auth PORT PASSWORD: rr_cli authenticates to PORT with PASSWORD.
rr_auth() { printf -v "RR_AUTH_$1" '%s' "$2"; }

# rr_cli PORT [redis-cli args...]: redis-cli on a local port, with the
# password given by rr_auth (through the environment, never argv).
rr_cli() {
    local port=$1
    shift
    local var="RR_AUTH_$port"
    if [ -n "${!var:-}" ]; then
        REDISCLI_AUTH="${!var}" redis-cli --no-auth-warning -p "$port" "$@"
    else
        redis-cli -p "$port" "$@"
    fi
}

# rr_fill PORT: one of every type and encoding Redis 7.0 stores, in
# databases 0 to 15, with TTLs, functions and streams with consumer groups.
rr_fill() {
    local port=$1
    local pipe="$RK_TMP/fill.$port.txt"
    {
        # strings: int, embstr, raw, LZF-compressible, empty
        echo "SET str:int 12345"
        echo "SET str:neg -9223372036854775808"
        echo "SET str:emb short"
        echo "SET str:raw $(printf 'r%.0s' $(seq 100))"
        echo "SET str:lzf $(printf 'abcdefgh%.0s' $(seq 2000))"
        echo 'SET str:empty ""'
        echo "SET str:ttl v PXAT 4102444800123"
        # lists: listpack node, quicklist of many nodes, compressed nodes
        echo "RPUSH list:small a b c 1 2 3 -4 9999999999"
        echo "RPUSH list:big $(seq -s ' ' 1 3000)"
        echo "RPUSH list:words $(for i in $(seq 1 500); do printf 'word-%d-xxxxxxxxxxxxxxxx ' "$i"; done)"
        # sets: intset, hashtable
        echo "SADD set:int 1 2 3 -5 100000000000"
        echo "SADD set:str a b c d"
        echo "SADD set:big $(seq -s ' ' 1 700)"
        echo "SADD set:mixed 1 two 3 four"
        # zsets: listpack, skiplist, special scores
        echo "ZADD zset:small 1 a 2.5 b -3 c inf d -inf e"
        echo "ZADD zset:big $(for i in $(seq 1 300); do printf '%s m%d ' "0.$i" "$i"; done)"
        # hashes: listpack, hashtable
        echo "HSET hash:small f1 v1 f2 v2 n 123"
        echo "HSET hash:big $(for i in $(seq 1 300); do printf 'field%d value%d ' "$i" "$i"; done)"
        echo "HSET hash:longvalue f $(printf 'v%.0s' $(seq 100))"
        echo "HSET hash:ttl f v"
        echo "PEXPIREAT hash:ttl 4102444800456"
        # streams: entries, deletions, groups, consumers, pending entries
        for i in $(seq 1 150); do echo "XADD stream:main $i-1 field $i other x$i"; done
        echo "XDEL stream:main 3-1 77-1"
        echo "XGROUP CREATE stream:main g1 0"
        echo "XGROUP CREATE stream:main g2 \$"
        echo "XREADGROUP GROUP g1 alice COUNT 5 STREAMS stream:main >"
        echo "XREADGROUP GROUP g1 bob COUNT 3 STREAMS stream:main >"
        echo "XACK stream:main g1 2-1"
        echo "XGROUP CREATECONSUMER stream:main g2 idle-carol"
        echo "XGROUP CREATE stream:empty g 0 MKSTREAM"
        echo "XADD stream:alldeleted 5-5 a b"
        echo "XDEL stream:alldeleted 5-5"
        echo "XADD stream:ttl * a b"
        echo "PEXPIREAT stream:ttl 4102444800789"
        # functions
        echo "FUNCTION LOAD \"#!lua name=rklib\\nredis.register_function('rk_echo', function(keys, args) return args[1] end)\""
    } >"$pipe"
    rr_cli "$port" DEBUG QUICKLIST-PACKED-THRESHOLD 100 >/dev/null
    rr_cli "$port" <"$pipe" >/dev/null
    # A plain quicklist node (an element over the packed threshold).
    rr_cli "$port" RPUSH list:plain small "$(printf 'p%.0s' $(seq 300))" tail >/dev/null
    rr_cli "$port" DEBUG QUICKLIST-PACKED-THRESHOLD 1073741824 >/dev/null
    # Compressed quicklist nodes.
    rr_cli "$port" CONFIG SET list-compress-depth 1 >/dev/null
    rr_cli "$port" RPUSH list:compressed $(for i in $(seq 1 2000); do printf 'compressible-item-%d ' "$i"; done) >/dev/null
    rr_cli "$port" CONFIG SET list-compress-depth 0 >/dev/null
    # Binary-safe keys and values.
    printf 'bin\x00\xff\r\nvalue' | rr_cli "$port" -x SET $'key\twith\x01bytes' >/dev/null
    # Databases 1 to 15.
    local db
    for db in $(seq 1 15); do
        rr_cli "$port" -n "$db" SET "db:$db" "value in db $db" >/dev/null
        rr_cli "$port" -n "$db" RPUSH "dblist:$db" a b "$db" >/dev/null
    done
    rr_cli "$port" -n 15 SET db15:ttl v PXAT 4102444801000 >/dev/null
}

# rr_state PORT: what must be equal after a round trip, as text: the dataset
# digest, the keys per database, absolute expiry times, functions, and the
# streams' metadata, groups, consumers and pending entries. With "typed", the
# fields commands cannot set exactly are left out (consumer seen/active
# times, radix tree sizes).
rr_state() {
    local port=$1 mode=${2:-exact}
    echo "digest $(rr_cli "$port" DEBUG DIGEST)"
    rr_cli "$port" INFO keyspace | grep '^db' | sed 's/,avg_ttl=.*//'
    local k
    for k in str:ttl hash:ttl stream:ttl; do echo "pexpiretime $k $(rr_cli "$port" PEXPIRETIME "$k")"; done
    echo "pexpiretime db15:ttl $(rr_cli "$port" -n 15 PEXPIRETIME db15:ttl)"
    rr_cli "$port" FUNCTION LIST WITHCODE
    for k in $(rr_cli "$port" --scan --pattern 'stream:*' | sort); do
        echo "stream $k"
        if [ "$mode" = typed ]; then
            rr_cli "$port" XINFO STREAM "$k" FULL |
                awk 'skip {skip=0; next} /^(seen-time|active-time|radix-tree-keys|radix-tree-nodes)$/ {skip=1; next} {print}'
        else
            rr_cli "$port" XINFO STREAM "$k" FULL
        fi
    done
}

# rr_compare WHAT PORT_A PORT_B [typed]: checks that both servers hold the
# same data.
rr_compare() {
    local what=$1 a=$2 b=$3 mode=${4:-exact}
    rr_state "$a" "$mode" >"$RK_TMP/state.a"
    rr_state "$b" "$mode" >"$RK_TMP/state.b"
    if diff -u "$RK_TMP/state.a" "$RK_TMP/state.b" >"$RK_TMP/state.diff"; then
        rk_pass
    else
        rk_fail "$what: the servers differ: $(head -40 "$RK_TMP/state.diff")"
    fi
}

# rr_tls_certs DIR: a CA and a server certificate for 127.0.0.1 (openssl).
rr_tls_certs() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rdbkeep test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key" \
        -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/ext.cnf"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
}

# rr_run VAR CMD...: VAR gets CMD's output (stdout and stderr), VAR_RC its
# exit status.
rr_run() {
    local _var=$1 _rc=0 _text
    shift
    _text=$("$@" 2>&1) || _rc=$?
    printf -v "$_var" '%s' "$_text"
    printf -v "${_var}_RC" '%s' "$_rc"
}
