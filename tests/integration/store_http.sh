#!/usr/bin/env bash
# HTTP and HTTPS import sources against nginx: downloads of empty, small and
# 100 MB files with basic auth (a percent-encoded password), a self-signed
# certificate trusted through RDBKEEP_CA_FILE, wrong or missing credentials,
# a missing file, writes and listings refused, a download cut off by killing
# nginx's worker and finished with a Range request, and dead or mute servers.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
emu_start_nginx
mkdir -p "$EMU_WWW/dir" "$EMU_WWW/public" "$EMU_WWW/slow"
cp "$RK_TMP/empty" "$RK_TMP/small" "$RK_TMP/big" "$EMU_WWW/dir/"
cp "$RK_TMP/small" "$EMU_WWW/public/"
cp "$RK_TMP/small" "$EMU_WWW/dir/odd name.rdb"
head -c 24M /dev/urandom >"$EMU_WWW/slow/cut.rdb"
chmod -R a+rX "$EMU_WWW"
CRED="$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC"
HTTP="http://$CRED@127.0.0.1:$EMU_HTTP_PORT"
HTTPS="https://$CRED@127.0.0.1:$EMU_HTTPS_PORT"

rk_log "downloads"
for f in empty small big; do
    st_check_download "http $f" "$HTTP/dir/$f" "$RK_TMP/$f"
done
st_check_download "http odd name" "$HTTP/dir/odd%20name.rdb" "$RK_TMP/small"
st_check_download "http public (no auth)" "http://127.0.0.1:$EMU_HTTP_PORT/public/small" "$RK_TMP/small"
export RDBKEEP_CA_FILE=$EMU_CA
st_check_download "https big" "$HTTPS/dir/big" "$RK_TMP/big"
rk_check_eq "https offset read (Range)" "$(tail -c +1001 "$RK_TMP/big" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --offset 1000 "$HTTPS/dir/big" - | st_sha /dev/stdin)"
rk_check_eq "http offset at the end" "" "$("${RK_STORE[@]}" cp -q --offset 1048583 "$HTTP/dir/small" -)"
unset RDBKEEP_CA_FILE
st_expect_fail "https untrusted certificate" "SSL certificate problem" "$EMU_HTTP_PASS_ENC" \
    "${RK_STORE[@]}" cp "$HTTPS/dir/small" -

rk_log "refusals"
st_expect_fail "http wrong password" "HTTP GET http://$EMU_HTTP_USER:***@127.0.0.1:$EMU_HTTP_PORT/dir/small: the server answered 401" \
    "NotThePass" "${RK_STORE[@]}" cp "http://$EMU_HTTP_USER:NotThePass@127.0.0.1:$EMU_HTTP_PORT/dir/small" -
st_expect_fail "http no credentials" "401" "" "${RK_STORE[@]}" cp "http://127.0.0.1:$EMU_HTTP_PORT/dir/small" -
st_expect_fail "http missing file" "404" "$EMU_HTTP_PASS_ENC" "${RK_STORE[@]}" cp "$HTTP/dir/nothing.rdb" -
st_expect_fail "http stat missing" "404" "$EMU_HTTP_PASS_ENC" "${RK_STORE[@]}" stat "$HTTP/dir/nothing.rdb"
st_expect_fail "http is read only" "do not support writing" "$EMU_HTTP_PASS_ENC" \
    "${RK_STORE[@]}" cp "$RK_TMP/small" "$HTTP/dir/new.rdb"
st_expect_fail "http cannot list" "do not support listing" "$EMU_HTTP_PASS_ENC" "${RK_STORE[@]}" ls "$HTTP/dir/"
st_expect_fail "http cannot delete" "do not support deleting" "$EMU_HTTP_PASS_ENC" "${RK_STORE[@]}" rm "$HTTP/dir/small"

rk_log "a download cut off and resumed with Range"
# /slow/ is rate limited (4 MB/s): 24 MB take 6 s. After one second the
# worker dies; nginx's master starts another, and the download goes on from
# where it stopped.
"${RK_STORE[@]}" cp -q "$HTTP/slow/cut.rdb" "$RK_TMP/cut.out" >"$RK_TMP/cut.log" 2>&1 &
cp_pid=$!
sleep 1.5
worker=$(pgrep -P "$EMU_HTTP_PID" | head -1)
if [ -n "$worker" ]; then kill -9 "$worker"; rk_pass; else rk_fail "no nginx worker found"; fi
if wait "$cp_pid"; then rk_pass; else rk_fail "resumed download failed: $(cat "$RK_TMP/cut.log")"; fi
rk_check_eq "resumed content" "$(st_sha "$EMU_WWW/slow/cut.rdb")" "$(st_sha "$RK_TMP/cut.out")"
rk_check_contains "resume logged" "resuming download" "$(cat "$RK_TMP/cut.log")"
rk_check_contains "resume logged without the password" "offset=" "$(cat "$RK_TMP/cut.log")"
rk_check_not_contains "resume log has no password" "$EMU_HTTP_PASS_ENC" "$(cat "$RK_TMP/cut.log")"
# The server saw a partial request (206) for the rest of the file.
rk_check_contains "server answered 206" '"GET /slow/cut.rdb HTTP/1.1" 206' "$(cat "$RK_TMP"/nginx-*/access.log)"
# A file that changes under a resumed download is refused, not spliced.
"${RK_STORE[@]}" cp -q "$HTTP/slow/cut.rdb" "$RK_TMP/cut2.out" >"$RK_TMP/cut2.log" 2>&1 &
cp_pid=$!
sleep 1.5
head -c 24M /dev/urandom >"$EMU_WWW/slow/cut.rdb.new"
chmod a+r "$EMU_WWW/slow/cut.rdb.new"
touch -d '2000-01-01' "$EMU_WWW/slow/cut.rdb.new"
mv "$EMU_WWW/slow/cut.rdb.new" "$EMU_WWW/slow/cut.rdb"
kill -9 "$(pgrep -P "$EMU_HTTP_PID" | head -1)"
if wait "$cp_pid"; then rk_fail "a download spliced from two versions succeeded"; else rk_pass; fi
rk_check_contains "changed file detected" "the object changed while it was being read" "$(cat "$RK_TMP/cut2.log")"

rk_log "dead and mute servers"
dead=$(rk_free_port)
st_timed_fail "http connection refused" "Failed to connect" 10 "${RK_STORE[@]}" cp "http://127.0.0.1:$dead/x.rdb" -
emu_start_blackhole
st_timed_fail "http mute server" "no data moved for 2 s" 12 \
    "${RK_STORE[@]}" cp --stall-timeout 2 --retries 1 "http://127.0.0.1:$EMU_BLACKHOLE_PORT/x.rdb" -

rk_finish
