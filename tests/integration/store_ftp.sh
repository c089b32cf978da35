#!/usr/bin/env bash
# FTP and FTPS (explicit TLS) against pyftpdlib: round trips of empty, small
# and 100 MB files into directories that do not exist yet, checked on the
# server's disk; a password that needs percent-encoding; listing (MLSD,
# recursive); deletion; reading from an offset (REST); a wrong password;
# unreachable and mute servers; the server killed during an upload (nothing
# under the final name) and the client interrupted (the temporary file is
# removed).
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
emu_start_ftp
FTP="ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"

rk_log "round trips"
st_roundtrip "ftp empty" "$RK_TMP/empty" "$FTP/new/dir/empty.rdb"
st_roundtrip "ftp small" "$RK_TMP/small" "$FTP/new/dir/small.rdb"
st_roundtrip "ftp 100MB" "$RK_TMP/big" "$FTP/new/big.rdb"
st_roundtrip "ftp odd name" "$RK_TMP/small" "$FTP/new/odd%20name%21%28x%29.rdb"
if out=$(cat "$RK_TMP/big" | "${RK_STORE[@]}" cp -q - "$FTP/new/piped.rdb" 2>&1); then rk_pass; else rk_fail "ftp piped: $out"; fi
# What the server wrote, read from its disk.
rk_check_eq "ftp on disk: big" "$(st_sha "$RK_TMP/big")" "$(st_sha "$EMU_FTP_DIR/new/big.rdb")"
rk_check_eq "ftp on disk: piped" "$(st_sha "$RK_TMP/big")" "$(st_sha "$EMU_FTP_DIR/new/piped.rdb")"
rk_check_eq "ftp on disk: odd name" "$(st_sha "$RK_TMP/small")" "$(st_sha "$EMU_FTP_DIR/new/odd name!(x).rdb")"
rk_check_eq "ftp no temporary files left" "" "$(find "$EMU_FTP_DIR" -name '*rdbkeep-tmp*')"
rk_check_eq "ftp offset read (REST)" "$(tail -c +1001 "$RK_TMP/big" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --offset 1000 "$FTP/new/big.rdb" - | st_sha /dev/stdin)"

rk_log "listing and deletion"
shown="ftp://$EMU_FTP_USER:***@127.0.0.1:$EMU_FTP_PORT"
expect=$(printf '%s\n' new/big.rdb new/dir/empty.rdb new/dir/small.rdb "new/odd%20name%21%28x%29.rdb" new/piped.rdb |
    sed "s|^|$shown/|")
rk_check_eq "ftp ls recursive" "$expect" "$(st_ls_keys "$FTP/")"
rk_check_eq "ftp ls prefix" "$(printf '%s\n' new/big.rdb | sed "s|^|$shown/|")" "$(st_ls_keys "$FTP/new/b")"
rk_check_eq "ftp ls sizes" "104857600" "$("${RK_STORE[@]}" ls "$FTP/new/big" | awk '{print $1}')"
rk_check_eq "ftp ls missing dir" "" "$(st_ls_keys "$FTP/nowhere/")"
: >"$EMU_FTP_DIR/new/.x.rdb.rdbkeep-tmp.123"
rk_check_not_contains "ftp ls hides temporary files" "rdbkeep-tmp" "$("${RK_STORE[@]}" ls "$FTP/")"
rm -f "$EMU_FTP_DIR/new/.x.rdb.rdbkeep-tmp.123"
if out=$("${RK_STORE[@]}" rm "$FTP/new/piped.rdb" 2>&1); then rk_pass; else rk_fail "ftp rm: $out"; fi
rk_check_eq "ftp rm on disk" "gone" "$([ -e "$EMU_FTP_DIR/new/piped.rdb" ] || echo gone)"
st_expect_fail "ftp rm missing" "550" "$EMU_FTP_PASS" "${RK_STORE[@]}" rm "$FTP/new/piped.rdb"
st_expect_fail "ftp stat missing" "FTP" "$EMU_FTP_PASS" "${RK_STORE[@]}" stat "$FTP/new/piped.rdb"
st_expect_fail "ftp get missing" "FTP RETR" "$EMU_FTP_PASS" "${RK_STORE[@]}" cp "$FTP/new/piped.rdb" -

rk_log "wrong password, unreachable, mute"
st_expect_fail "ftp wrong password" "530" "Wr0ngPass" \
    "${RK_STORE[@]}" cp "$RK_TMP/small" "ftp://$EMU_FTP_USER:Wr0ngPass@127.0.0.1:$EMU_FTP_PORT/x.rdb"
st_expect_fail "ftp wrong password (ls)" "FTP MLSD ftp://$EMU_FTP_USER:***@" "Wr0ngPass" \
    "${RK_STORE[@]}" ls "ftp://$EMU_FTP_USER:Wr0ngPass@127.0.0.1:$EMU_FTP_PORT/"
dead=$(rk_free_port)
st_timed_fail "ftp connection refused" "Failed to connect" 10 \
    "${RK_STORE[@]}" cp "$RK_TMP/small" "ftp://u:p@127.0.0.1:$dead/x.rdb"
emu_start_blackhole
st_timed_fail "ftp mute server" "no data moved for 2 s" 12 \
    "${RK_STORE[@]}" ls --stall-timeout 2 --retries 0 "ftp://u:p@127.0.0.1:$EMU_BLACKHOLE_PORT/"

rk_log "server killed during an upload"
(head -c 20M /dev/urandom; sleep 2; head -c 20M /dev/urandom) |
    timeout 60 "${RK_STORE[@]}" cp -q - "$FTP/killed/k.rdb" >"$RK_TMP/killed.out" 2>&1 &
cp_pid=$!
for _ in $(seq 100); do [ -n "$(find "$EMU_FTP_DIR/killed" -type f 2>/dev/null)" ] && break; sleep 0.05; done
sleep 0.5
kill -9 "$EMU_FTP_PID"
wait "$EMU_FTP_PID" 2>/dev/null || true
if wait "$cp_pid"; then rk_fail "upload to a dead FTP server succeeded"; else rk_pass; fi
rk_check_contains "killed: error names the store" "FTP" "$(cat "$RK_TMP/killed.out")"
rk_check_eq "killed: nothing under the final name" "absent" "$([ -e "$EMU_FTP_DIR/killed/k.rdb" ] || echo absent)"
olddir=$EMU_FTP_DIR
/usr/bin/python3 "$EMU_HOME/ftpd.py" --port "$EMU_FTP_PORT" --dir "$olddir" --user "$EMU_FTP_USER" \
    --password "$EMU_FTP_PASS" >>"$olddir.log" 2>&1 &
EMU_FTP_PID=$!
rk_track_pid "$EMU_FTP_PID"
rk_wait_port "$EMU_FTP_PORT" 30
rk_check_eq "killed: not listed" "" "$(st_ls_keys "$FTP/killed/")"

rk_log "client interrupted during an upload"
mkfifo "$RK_TMP/fifo"
(head -c 8M /dev/urandom; exec sleep 60) >"$RK_TMP/fifo" &
rk_track_pid $!
"${RK_STORE[@]}" cp -q - "$FTP/int/i.rdb" <"$RK_TMP/fifo" >"$RK_TMP/int.out" 2>&1 &
cp_pid=$!
for _ in $(seq 100); do [ -n "$(find "$EMU_FTP_DIR/int" -type f 2>/dev/null)" ] && break; sleep 0.05; done
sleep 0.5
rk_check_contains "interrupted: uploading to a temporary name" "rdbkeep-tmp" "$(find "$EMU_FTP_DIR/int" -type f)"
kill -TERM "$cp_pid"
if wait "$cp_pid"; then rk_fail "interrupted upload reported success"; else rk_pass; fi
rk_check_contains "interrupted: says so" "interrupted" "$(cat "$RK_TMP/int.out")"
rk_check_eq "interrupted: temporary file removed" "" "$(find "$EMU_FTP_DIR/int" -type f)"

rk_log "FTPS (explicit TLS)"
emu_start_ftp --tls
FTPS="ftps://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"
export RDBKEEP_CA_FILE=$EMU_CA
st_roundtrip "ftps small" "$RK_TMP/small" "$FTPS/tls/small.rdb"
st_roundtrip "ftps 100MB" "$RK_TMP/big" "$FTPS/tls/big.rdb"
rk_check_eq "ftps on disk" "$(st_sha "$RK_TMP/big")" "$(st_sha "$EMU_FTP_DIR/tls/big.rdb")"
rk_check_eq "ftps ls" "$(printf '%s\n' tls/big.rdb tls/small.rdb | sed "s|^|ftps://$EMU_FTP_USER:***@127.0.0.1:$EMU_FTP_PORT/|")" \
    "$(st_ls_keys "$FTPS/")"
unset RDBKEEP_CA_FILE
st_expect_fail "ftps untrusted certificate" "certificate" "$EMU_FTP_PASS" "${RK_STORE[@]}" ls "$FTPS/"
# Plain FTP to a server that requires TLS is refused by the server.
st_expect_fail "ftp to a TLS-only server" "FTP MLSD" "$EMU_FTP_PASS" \
    "${RK_STORE[@]}" ls "ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT/"

rk_finish
