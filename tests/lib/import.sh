# import.sh: helpers for the import tests (source it after common.sh,
# daemon.sh and backup.sh). Source files are made by scratch redis-servers
# (SAVE), digests are taken by redis-server itself (DEBUG DIGEST of a
# scratch server loading the data, backup.sh's bk_file_digest and
# bk_source_digest), so what the import did is judged by redis-server.

# im_import SUB DB TYPE URI...: POST .../import and wait (up to 180 s). Leaves
# the task in API_BODY, its status in RK_TASK_STATUS and its id in IM_TASK
# ("refused STATUS" and the answer in API_BODY when it is not accepted).
im_import() {
    local sub=$1 db=$2 type=$3 uris
    shift 3
    uris=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
    api POST "/v1/subscriptions/$sub/databases/$db/import" "{\"sourceType\": \"$type\", \"importFromUri\": $uris}"
    if [ "$API_STATUS" != 202 ]; then
        RK_TASK_STATUS="refused $API_STATUS"
        IM_TASK=
        return 0
    fi
    IM_TASK=$(jqb .taskId)
    rk_wait_task "$IM_TASK" 180
}

# im_check_import WHAT SUB DB PORT PW WANT_DIGEST TYPE URI...: the import
# completes and the database then holds exactly WANT_DIGEST ("digest keys").
im_check_import() {
    local what=$1 sub=$2 db=$3 port=$4 pw=$5 want=$6
    shift 6
    rcli "$port" "$pw" SET im:marker "$what" >/dev/null
    im_import "$sub" "$db" "$@"
    rk_check_eq "$what: task" processing-completed "$RK_TASK_STATUS"
    [ "$RK_TASK_STATUS" = processing-completed ] || { echo "$API_BODY" >&2; return 0; }
    rk_check_eq "$what: the database holds the imported data" "$want" "$(bk_source_digest "$port" "$pw")"
}

# im_check_failed WHAT TYPE NEEDLE: the last import ended processing-error
# with this error type, its description holding NEEDLE.
im_check_failed() {
    rk_check_eq "$1: task" processing-error "$RK_TASK_STATUS"
    rk_check_eq "$1: error type" "$2" "$(jqb '.response.error.type // "none"')"
    rk_check_contains "$1: description" "$3" "$(jqb '.response.error.description // ""')"
}

# im_pid PORT PW: the pid of the redis-server answering on PORT (INFO).
im_pid() { rcli "$1" "$2" INFO server | tr -d '\r' | sed -n 's/^process_id://p'; }

# im_save_file VAR PORT DIR NAME: SAVE of the scratch redis-server on PORT
# (its directory DIR); VAR gets the path of a copy of its dump.rdb,
# $RK_TMP/src/NAME (readable by nginx's workers).
im_save_file() {
    local var=$1 port=$2 dir=$3 name=$4
    redis-cli -p "$port" SAVE >/dev/null
    mkdir -p "$RK_TMP/src"
    cp "$dir/dump.rdb" "$RK_TMP/src/$name"
    chmod 644 "$RK_TMP/src/$name"
    printf -v "$var" '%s' "$RK_TMP/src/$name"
}

# im_fill PORT PREFIX N: N keys of each type under PREFIX in a scratch
# redis-server without a password (deterministic: the same call makes the
# same data, so a merge of two fills can be rebuilt in one server).
im_fill() {
    redis-cli -p "$1" EVAL "
local p, n = ARGV[1], tonumber(ARGV[2])
for i = 1, n do
  redis.call('SET', p .. ':s:' .. i, string.rep('x', i % 50) .. i)
  if i % 5 == 0 then
    redis.call('HSET', p .. ':h:' .. i, 'a', i, 'b', 'v' .. i)
    redis.call('RPUSH', p .. ':l:' .. i, 'x', i, 'y')
    redis.call('SADD', p .. ':set:' .. i, 'm' .. i, i)
    redis.call('ZADD', p .. ':z:' .. i, i, 'a', i + 0.25, 'b')
  end
  if i % 11 == 0 then redis.call('PEXPIRE', p .. ':s:' .. i, 86400000) end
end
return n" 0 "$2" "$3" >/dev/null
}

# im_no_staging WHAT DATA_DIR DB: no staging directory nor old directory is
# left beside the database's.
im_no_staging() {
    rk_check_eq "$1: no staging or old directory left" "" \
        "$(ls -d "$2/databases/$3.import" "$2/databases/$3.replaced" 2>/dev/null || true)"
}

# im_staging_port DATA_DIR DB: the staging server's port, from its marker.
im_staging_port() { sed -n 's/^port=//p' "$1/databases/$2.import/rdbkeep-import" 2>/dev/null || true; }

# im_port_closed WHAT PORT: nothing listens on PORT any more.
im_port_closed() {
    if [ -n "$2" ] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
        rk_fail "$1: something still listens on port $2"
    else
        rk_pass
    fi
}

# im_wait_staging DATA_DIR DB: until the staging server of an import runs
# (its marker names its port and the port answers); 0 if it did in 20 s.
im_wait_staging() {
    local deadline=$(($(date +%s) + 20)) port
    while [ "$(date +%s)" -lt "$deadline" ]; do
        port=$(im_staging_port "$1" "$2")
        if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

# im_alive PID: the process runs (a zombie, whose parent died without
# reaping it, does not).
im_alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
