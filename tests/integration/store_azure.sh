#!/usr/bin/env bash
# Azure Blob Storage against azurite (which verifies SharedKey and SAS
# signatures): round trips of empty, small and 100 MB blobs (Put Blob, and Put
# Block + Put Block List, checked through the block list azurite reports),
# the key in the URI or the environment, a SAS token, listing, deletion, a
# wrong key, an unreachable endpoint, and azurite killed during an upload.
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
emu_start_azurite
export AZURE_STORAGE_ENDPOINT=http://127.0.0.1:$EMU_AZ_PORT
# The reference signer (bash + openssl) creates the container and reads the
# block lists: it shares no code with ours.
az() { AZ_BLOB_URL=$AZURE_STORAGE_ENDPOINT/$EMU_AZ_ACCOUNT AZ_ACCOUNT=$EMU_AZ_ACCOUNT AZ_KEY=$EMU_AZ_KEY \
    "$EMU_HOME/az-curl.sh" "$@"; }
rk_check_eq "create container" 201 "$(az PUT "/backups?restype=container" 0 "" -- -o /dev/null -w '%{http_code}')"
KEY_ENC=$(printf '%s' "$EMU_AZ_KEY" | sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g')
ABS="abs://:$KEY_ENC@$EMU_AZ_ACCOUNT/backups"
PARTS=(--part-size 5M --single-put-limit 10M)
blocks() { az GET "/backups/$1?comp=blocklist&blocklisttype=committed" "" "" -- -f | grep -o '<Block>' | wc -l; }

rk_log "round trips"
st_roundtrip "azure empty" "$RK_TMP/empty" "$ABS/a/empty.rdb" "${PARTS[@]}"
st_roundtrip "azure small (Put Blob)" "$RK_TMP/small" "$ABS/a/small.rdb" "${PARTS[@]}"
rk_check_eq "azure small: no blocks" 0 "$(blocks a/small.rdb)"
st_roundtrip "azure 100MB (blocks)" "$RK_TMP/big" "$ABS/a/sub/big.rdb" "${PARTS[@]}"
rk_check_eq "azure 100MB: 20 blocks of 5 MiB" 20 "$(blocks a/sub/big.rdb)"
if out=$(cat "$RK_TMP/big" | "${RK_STORE[@]}" cp -q --part-size 5M - "$ABS/a/piped.rdb" 2>&1); then rk_pass; else rk_fail "azure piped: $out"; fi
st_check_download "azure 100MB piped" "$ABS/a/piped.rdb" "$RK_TMP/big"
rk_check_eq "azure content by the reference signer" "$(st_sha "$RK_TMP/big")" \
    "$(az GET "/backups/a/piped.rdb" "" "" -- -f | st_sha /dev/stdin)"
st_roundtrip "azure odd name" "$RK_TMP/small" "$ABS/a/odd name!(x)+&=é.rdb"
rk_check_eq "azure offset read" "$(tail -c +1001 "$RK_TMP/small" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --offset 1000 "$ABS/a/small.rdb" - | st_sha /dev/stdin)"

rk_log "between stores (no local copy)"
emu_start_ftp
FTP="ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"
if out=$("${RK_STORE[@]}" cp -q "$ABS/a/sub/big.rdb" "$FTP/from-azure/big.rdb" 2>&1); then rk_pass; else rk_fail "azure to ftp: $out"; fi
rk_check_eq "azure to ftp" "$(st_sha "$RK_TMP/big")" "$(st_sha "$EMU_FTP_DIR/from-azure/big.rdb")"
if out=$("${RK_STORE[@]}" cp -q "${PARTS[@]}" "$FTP/from-azure/big.rdb" "$ABS/from-ftp/" 2>&1); then rk_pass; else rk_fail "ftp to azure: $out"; fi
st_check_download "ftp to azure" "$ABS/from-ftp/big.rdb" "$RK_TMP/big"
rk_check_eq "ftp to azure went in blocks" 20 "$(blocks from-ftp/big.rdb)"

rk_log "credentials from the environment, SAS"
rk_check_eq "azure key from env" "$(st_sha "$RK_TMP/small")" \
    "$(AZURE_STORAGE_KEY=$EMU_AZ_KEY "${RK_STORE[@]}" cp -q "abs://$EMU_AZ_ACCOUNT/backups/a/small.rdb" - | st_sha /dev/stdin)"
# An account SAS (read, write, delete, list) signed with openssl.
expiry=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
sts=$(printf '%s\n' "$EMU_AZ_ACCOUNT" rwdlac b sco "" "$expiry" "" "https,http" 2021-08-06 "")
hexkey=$(printf '%s' "$EMU_AZ_KEY" | base64 -d | od -An -v -tx1 | tr -d ' \n')
sig=$(printf '%s\n\n' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0 |
    sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g')
SAS="sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=$expiry&spr=https,http&sig=$sig"
if AZURE_STORAGE_SAS_TOKEN=$SAS "${RK_STORE[@]}" cp -q "$RK_TMP/small" "abs://$EMU_AZ_ACCOUNT/backups/sas/s.rdb" 2>"$RK_TMP/sas.err"; then
    rk_pass
else
    rk_fail "azure SAS upload: $(cat "$RK_TMP/sas.err")"
fi
AZURE_STORAGE_SAS_TOKEN=$SAS st_check_download "azure SAS" "abs://$EMU_AZ_ACCOUNT/backups/sas/s.rdb" "$RK_TMP/small"
rk_check_eq "azure SAS ls" "abs://$EMU_AZ_ACCOUNT/backups/sas/s.rdb" \
    "$(AZURE_STORAGE_SAS_TOKEN=$SAS st_ls_keys "abs://$EMU_AZ_ACCOUNT/backups/sas/")"
st_expect_fail "azure bad SAS" "403" "$sig" \
    env AZURE_STORAGE_SAS_TOKEN="${SAS/sp=rwdlac/sp=r}" "${RK_STORE[@]}" cp "$RK_TMP/small" "abs://$EMU_AZ_ACCOUNT/backups/sas/x"
st_expect_fail "azure no credentials" "no credentials for account $EMU_AZ_ACCOUNT" "" \
    "${RK_STORE[@]}" ls "abs://$EMU_AZ_ACCOUNT/backups/"

rk_log "listing and deletion"
expect=$(printf '%s\n' "a/empty.rdb" "a/odd name!(x)+&=é.rdb" "a/piped.rdb" "a/small.rdb" "a/sub/big.rdb" |
    sed "s|^|abs://:***@$EMU_AZ_ACCOUNT/backups/|")
rk_check_eq "azure ls a/" "$expect" "$(st_ls_keys "$ABS/a/")"
rk_check_eq "azure ls a/s" "$(printf '%s\n' "a/small.rdb" "a/sub/big.rdb" | sed "s|^|abs://:***@$EMU_AZ_ACCOUNT/backups/|")" \
    "$(st_ls_keys "$ABS/a/s")"
rk_check_not_contains "azure ls hides the key" "$EMU_AZ_KEY" "$("${RK_STORE[@]}" ls "$ABS/" 2>&1)"
if out=$("${RK_STORE[@]}" rm "$ABS/a/piped.rdb" 2>&1); then rk_pass; else rk_fail "azure rm: $out"; fi
st_expect_fail "azure rm missing" "404 BlobNotFound" "" "${RK_STORE[@]}" rm "$ABS/a/piped.rdb"
st_expect_fail "azure stat missing" "404" "" "${RK_STORE[@]}" stat "$ABS/a/piped.rdb"
st_expect_fail "azure missing container" "ContainerNotFound" "" \
    "${RK_STORE[@]}" cp "$RK_TMP/small" "abs://:$KEY_ENC@$EMU_AZ_ACCOUNT/nocontainer/x.rdb"

rk_log "wrong key, unreachable"
WRONG=$(printf 'wrong-key-%054d' 7 | base64 -w0)
WRONG_ENC=$(printf '%s' "$WRONG" | sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g')
st_expect_fail "azure wrong key (cp)" "Azure GET abs://$EMU_AZ_ACCOUNT/backups/a/small.rdb: the server answered 403" \
    "$WRONG" "${RK_STORE[@]}" cp "abs://:$WRONG_ENC@$EMU_AZ_ACCOUNT/backups/a/small.rdb" -
st_expect_fail "azure wrong key (upload)" "403" "d3Jvbmct" \
    "${RK_STORE[@]}" cp "$RK_TMP/small" "abs://:$WRONG_ENC@$EMU_AZ_ACCOUNT/backups/a/x.rdb"
st_expect_fail "azure wrong key (stat)" "403" "$WRONG" "${RK_STORE[@]}" stat "abs://:$WRONG@$EMU_AZ_ACCOUNT/backups/a/small.rdb"
dead=$(rk_free_port)
st_timed_fail "azure connection refused" "Failed to connect" 10 \
    env AZURE_STORAGE_ENDPOINT=http://127.0.0.1:$dead "${RK_STORE[@]}" ls "$ABS/"

rk_log "azurite killed during an upload"
(head -c 12M /dev/urandom; sleep 2; head -c 12M /dev/urandom) |
    timeout 60 "${RK_STORE[@]}" cp -q --part-size 5M - "$ABS/killed.rdb" >"$RK_TMP/killed.out" 2>&1 &
cp_pid=$!
sleep 1
azdir="$RK_TMP/azurite-$EMU_AZ_PORT"
kill -9 "$EMU_AZ_PID"
wait "$EMU_AZ_PID" 2>/dev/null || true
if wait "$cp_pid"; then rk_fail "upload to a dead azurite succeeded"; else rk_pass; fi
rk_check_contains "killed: error names the store" "Azure" "$(cat "$RK_TMP/killed.out")"
AZURITE_ACCOUNTS="$EMU_AZ_ACCOUNT:$EMU_AZ_KEY" "$EMU_HOME/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$EMU_AZ_PORT" --location "$azdir" --disableTelemetry \
    --skipApiVersionCheck --disableProductStyleUrl --silent >>"$azdir.log" 2>&1 &
rk_track_pid $!
rk_wait_port "$EMU_AZ_PORT" 60
st_expect_fail "killed: no blob" "404" "" "${RK_STORE[@]}" stat "$ABS/killed.rdb"
rk_check_eq "killed: not listed" "" "$(st_ls_keys "$ABS/killed")"
rk_check_eq "killed: earlier blobs intact" "$(st_sha "$RK_TMP/big")" \
    "$("${RK_STORE[@]}" cp -q "$ABS/a/sub/big.rdb" - | st_sha /dev/stdin)"

rk_finish
