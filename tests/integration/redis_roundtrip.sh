#!/usr/bin/env bash
# redis_roundtrip.sh: rdb pull, verify, push round trips between real
# redis-servers, compared by DEBUG DIGEST, keyspace, absolute expiry times,
# functions and XINFO STREAM FULL: every type and encoding of Redis 7.0,
# databases 0 to 15, TTLs (already-expired keys skipped), with a password,
# with ACL users, over TLS, with both load methods, typed commands for every
# type, merges (--no-flush), several files, and a live source.
# timeout: 300
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/redis_lib.bash"

BIN=$RDBKEEP_BIN
PASS='s3cret:p@ss/word'
PASS_ENC='s3cret%3Ap%40ss%2Fword'
DBG=(--enable-debug-command yes)

# run VAR CMD...: runs CMD, VAR gets its output (stdout and stderr) and
# VAR_RC its exit code; the output must never hold a password.
run() {
    rr_run "$@"
    rk_check_not_contains "no password in the output of: ${*:2:3}" "$PASS" "${!1}"
    rk_check_not_contains "no encoded password in the output of: ${*:2:3}" "$PASS_ENC" "${!1}"
}

# ---- the source, behind a password ----------------------------------------------------
rr_start_redis SRC "${DBG[@]}" --requirepass "$PASS"
rr_auth "$SRC" "$PASS"
rr_fill "$SRC"
rk_log "source filled on port $SRC"

# Pull: gzip, verified, committed; the file is checked with independent tools.
run out "$BIN" rdb pull "redis://$PASS_ENC@127.0.0.1:$SRC" "$RK_TMP/full.rdb.gz"
rk_check_eq "pull exit" 0 "$out_RC"
gzip -t "$RK_TMP/full.rdb.gz" && rk_pass || rk_fail "gzip -t refuses the pulled file"
sha=$(sha256sum "$RK_TMP/full.rdb.gz" | cut -d' ' -f1)
rk_check_contains "pull reports the stored file's sha256" "sha256 $sha" "$out"
gzip -dc "$RK_TMP/full.rdb.gz" >"$RK_TMP/full.rdb"
redis-check-rdb "$RK_TMP/full.rdb" >"$RK_TMP/check.out" 2>&1 && rk_pass ||
    rk_fail "redis-check-rdb refuses the pulled RDB: $(tail -3 "$RK_TMP/check.out")"
keys=$(rr_cli "$SRC" INFO keyspace | grep -o 'keys=[0-9]*' | cut -d= -f2 | paste -sd+ | bc)
rk_check_contains "pull counts the keys" " $keys keys" "$out"
rk_check_contains "pull says the snapshot was diskless" "diskless" "$out"
"$BIN" rdb verify -q "$RK_TMP/full.rdb.gz" && rk_pass || rk_fail "rdb verify refuses the pulled file"

# Disk-based transfers ($<len> framing) too, without gzip.
rr_cli "$SRC" CONFIG SET repl-diskless-sync no >/dev/null
run out "$BIN" rdb pull "redis://$PASS_ENC@127.0.0.1:$SRC" "$RK_TMP/disk.rdb"
rk_check_eq "disk-based pull exit" 0 "$out_RC"
rk_check_contains "disk-based pull says so" "disk-based" "$out"
redis-check-rdb "$RK_TMP/disk.rdb" >/dev/null 2>&1 && rk_pass || rk_fail "redis-check-rdb refuses disk.rdb"
rr_cli "$SRC" CONFIG SET repl-diskless-sync yes >/dev/null

# ---- push with each method ---------------------------------------------------------------
rr_start_redis DST "${DBG[@]}"
for method in restore replication auto; do
    rr_cli "$DST" SET stale-key "must be flushed" >/dev/null
    run out "$BIN" rdb push --method "$method" "$RK_TMP/full.rdb.gz" "redis://127.0.0.1:$DST"
    rk_check_eq "push --method $method exit ($out)" 0 "$out_RC"
    rr_compare "push --method $method" "$SRC" "$DST"
    rk_check_eq "push --method $method leaves the target a master" "role:master" \
        "$(rr_cli "$DST" INFO replication | grep -o 'role:[a-z]*')"
done
rk_check_contains "auto chose replication" "with a replication full sync" "$out"
rk_check_eq "settings put back (masterauth)" "" "$(rr_cli "$DST" CONFIG GET masterauth | sed -n 2p)"
rk_check_eq "settings put back (repl-diskless-load)" "disabled" \
    "$(rr_cli "$DST" CONFIG GET repl-diskless-load | sed -n 2p)"

# Typed commands for every type: a payload limit of 1 KiB sends every
# bigger key (lists, sets, zsets, hashes, streams with groups) as commands.
run out "$BIN" rdb push --method restore --max-payload 1K "$RK_TMP/full.rdb.gz" "redis://127.0.0.1:$DST"
rk_check_eq "typed push exit ($out)" 0 "$out_RC"
rk_check_contains "typed push says so" "big values as" "$out"
rr_compare "typed push" "$SRC" "$DST" typed

# A target with a password; the password in the URI.
rr_start_redis DSTP "${DBG[@]}" --requirepass "$PASS"
rr_auth "$DSTP" "$PASS"
run out "$BIN" rdb push "$RK_TMP/full.rdb.gz" "redis://$PASS_ENC@127.0.0.1:$DSTP"
rk_check_eq "push with a password exit ($out)" 0 "$out_RC"
rr_compare "push with a password" "$SRC" "$DSTP"

# ---- ACL users -------------------------------------------------------------------------------
# A loader without CONFIG and REPLICAOF: auto falls back to RESTORE and says why.
rr_cli "$DSTP" ACL SETUSER loader on '>loadpw' '~*' '&*' +@all -config -replicaof -slaveof >/dev/null
run out "$BIN" rdb push "$RK_TMP/full.rdb.gz" "redis://loader:loadpw@127.0.0.1:$DSTP"
rk_check_eq "push as an ACL user exit ($out)" 0 "$out_RC"
rk_check_contains "the fallback is visible" "the replication method was not used" "$out"
rk_check_contains "loaded with RESTORE" "with RESTORE" "$out"
rr_compare "push as an ACL user" "$SRC" "$DSTP"
# A backup user that may only replicate (no INFO).
rr_cli "$SRC" ACL SETUSER backup on '>backpw' +ping +replconf +psync +sync >/dev/null
run out "$BIN" rdb pull "redis://backup:backpw@127.0.0.1:$SRC" "$RK_TMP/acl.rdb"
rk_check_eq "pull as an ACL user exit ($out)" 0 "$out_RC"
redis-check-rdb "$RK_TMP/acl.rdb" >/dev/null 2>&1 && rk_pass || rk_fail "redis-check-rdb refuses acl.rdb"
# A user without PSYNC: a clear refusal, nothing stored.
rr_cli "$SRC" ACL SETUSER reader on '>readpw' '~*' +@read +ping +replconf >/dev/null
run out "$BIN" rdb pull "redis://reader:readpw@127.0.0.1:$SRC" "$RK_TMP/denied.rdb"
rk_check_eq "pull without PSYNC permission fails" 1 "$out_RC"
rk_check_contains "the refusal is the server's" "NOPERM" "$out"
[ ! -e "$RK_TMP/denied.rdb" ] && rk_pass || rk_fail "a refused pull left a file"

# ---- merging (--no-flush) --------------------------------------------------------------------
rr_cli "$DST" FLUSHALL >/dev/null
rr_cli "$DST" SET extra kept >/dev/null
rr_cli "$DST" SET str:emb "to be replaced" >/dev/null
run out "$BIN" rdb push --no-flush "$RK_TMP/full.rdb.gz" "redis://127.0.0.1:$DST"
rk_check_eq "push --no-flush exit ($out)" 0 "$out_RC"
rk_check_eq "--no-flush keeps other keys" "kept" "$(rr_cli "$DST" GET extra)"
rk_check_eq "--no-flush replaces keys of the file" "short" "$(rr_cli "$DST" GET str:emb)"
rr_cli "$DST" DEL extra >/dev/null
rr_compare "push --no-flush" "$SRC" "$DST"
run out "$BIN" rdb push --no-flush --method replication "$RK_TMP/full.rdb.gz" "redis://127.0.0.1:$DST"
rk_check_eq "--no-flush refuses the replication method" 1 "$out_RC"

# ---- several files: the shards of one dataset ----------------------------------------------------
rr_start_redis SHA "${DBG[@]}"
rr_start_redis SHB "${DBG[@]}"
rr_start_redis ALL "${DBG[@]}"
for port in "$SHA" "$ALL"; do
    rr_cli "$port" RPUSH a:list 1 2 3 >/dev/null
    rr_cli "$port" HSET a:hash f v >/dev/null
    rr_cli "$port" -n 3 SET a:db3 x >/dev/null
done
for port in "$SHB" "$ALL"; do
    rr_cli "$port" SADD b:set x y z >/dev/null
    rr_cli "$port" SET b:str "$(printf 'b%.0s' $(seq 500))" >/dev/null
    rr_cli "$port" -n 3 SET b:db3 y >/dev/null
done
"$BIN" rdb pull -q "redis://127.0.0.1:$SHA" "$RK_TMP/shard-a.rdb" &&
    "$BIN" rdb pull -q "redis://127.0.0.1:$SHB" "$RK_TMP/shard-b.rdb.gz" && rk_pass || rk_fail "shard pulls"
run out "$BIN" rdb push "$RK_TMP/shard-a.rdb" "$RK_TMP/shard-b.rdb.gz" "redis://127.0.0.1:$DST"
rk_check_eq "push of two shards exit ($out)" 0 "$out_RC"
rk_check_contains "two files" "from 2 files" "$out"
rk_check_eq "two shards: same digest as one server holding both" "$(rr_cli "$ALL" DEBUG DIGEST)" \
    "$(rr_cli "$DST" DEBUG DIGEST)"

# ---- a live source: redis -> redis ---------------------------------------------------------------
run out "$BIN" rdb push "redis://$PASS_ENC@127.0.0.1:$SRC" "redis://127.0.0.1:$DST"
rk_check_eq "push from a live source exit ($out)" 0 "$out_RC"
rr_compare "push from a live source" "$SRC" "$DST"

# ---- expiry: absolute times kept, already-expired keys skipped --------------------------------------
rr_start_redis EXP "${DBG[@]}"
rr_cli "$EXP" DEBUG SET-ACTIVE-EXPIRE 0 >/dev/null
for i in 1 2 3 4 5; do rr_cli "$EXP" SET "gone:$i" v PX 100 >/dev/null; done
rr_cli "$EXP" HSET gone:hash f v >/dev/null
rr_cli "$EXP" PEXPIRE gone:hash 100 >/dev/null
rr_cli "$EXP" SET live:1 v >/dev/null
rr_cli "$EXP" SET live:ttl v PXAT 4102444800999 >/dev/null
rr_cli "$EXP" RPUSH live:list a >/dev/null
sleep 0.5 # the 6 keys expire but stay in memory (no active expiry, never read)
"$BIN" rdb pull -q "redis://127.0.0.1:$EXP" "$RK_TMP/expired.rdb" && rk_pass || rk_fail "pull of expired keys"
in_file=$("$BIN" rdb inspect "$RK_TMP/expired.rdb" 2>&1 | grep -i -o '[0-9]* keys' | head -1)
rk_check_eq "the RDB holds the expired keys too" "9 keys" "$in_file"
for method in restore replication; do
    run out "$BIN" rdb push --method "$method" "$RK_TMP/expired.rdb" "redis://127.0.0.1:$DST"
    rk_check_eq "push of expired keys ($method) exit ($out)" 0 "$out_RC"
    rk_check_contains "expired keys counted ($method)" "6 expired keys skipped" "$out"
    rk_check_eq "only live keys loaded ($method)" 3 "$(rr_cli "$DST" DBSIZE)"
    rk_check_eq "absolute expiry kept ($method)" 4102444800999 "$(rr_cli "$DST" PEXPIRETIME live:ttl)"
done

# ---- TLS ---------------------------------------------------------------------------------------------
rr_tls_certs "$RK_TMP/tls"
rr_start_redis TLS --tls --enable-debug-command yes --requirepass "$PASS" \
    --tls-cert-file "$RK_TMP/tls/server.pem" --tls-key-file "$RK_TMP/tls/server.key" \
    --tls-ca-cert-file "$RK_TMP/tls/ca.pem" --tls-auth-clients no
tcli() { REDISCLI_AUTH="$PASS" redis-cli --no-auth-warning --tls --cacert "$RK_TMP/tls/ca.pem" -p "$TLS" "$@"; }
tcli RPUSH tls:list a b c >/dev/null
tcli SET tls:str "over TLS" >/dev/null
run out "$BIN" rdb pull --tls-ca "$RK_TMP/tls/ca.pem" "rediss://$PASS_ENC@127.0.0.1:$TLS" "$RK_TMP/tls.rdb.gz"
rk_check_eq "pull over TLS exit ($out)" 0 "$out_RC"
RDBKEEP_CA_FILE=$RK_TMP/tls/ca.pem run out "$BIN" rdb pull "rediss://$PASS_ENC@127.0.0.1:$TLS" "$RK_TMP/tls2.rdb"
rk_check_eq "pull over TLS, CA from RDBKEEP_CA_FILE ($out)" 0 "$out_RC"
run out "$BIN" rdb pull "rediss://$PASS_ENC@127.0.0.1:$TLS" "$RK_TMP/tls-untrusted.rdb"
rk_check_eq "an untrusted certificate fails" 1 "$out_RC"
rk_check_contains "the certificate is named as the reason" "certificate" "$out"
run out "$BIN" rdb pull --tls-ca "$RK_TMP/tls/ca.pem" "redis://$PASS_ENC@127.0.0.1:$TLS" "$RK_TMP/plain-to-tls.rdb"
rk_check_eq "plain text to a TLS port fails" 1 "$out_RC"
tcli FLUSHALL >/dev/null
run out "$BIN" rdb push --method restore --tls-ca "$RK_TMP/tls/ca.pem" "$RK_TMP/full.rdb.gz" "rediss://$PASS_ENC@127.0.0.1:$TLS"
rk_check_eq "push over TLS exit ($out)" 0 "$out_RC"
rk_check_eq "push over TLS: same digest" "$(rr_cli "$SRC" DEBUG DIGEST)" "$(tcli DEBUG DIGEST)"

rk_finish
