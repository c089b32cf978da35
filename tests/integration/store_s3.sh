#!/usr/bin/env bash
# S3 against s3rver behind a strict SigV4 verifier (tests/emulators): round
# trips of empty, small and 100 MB objects (single streamed PUT, multipart of
# known and of unknown size, forced by a 10 MiB single-PUT limit that the
# server enforces too), listing, deletion, part retries on 500, a wrong key,
# unreachable and hung servers, and uploads cut off by a dying server or an
# interrupted client.
# timeout: 240
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
# Objects over 10 MiB in one PUT are refused (EntityTooLarge), so a 100 MB
# object that arrives proves the multipart path; parts under 5 MiB are refused
# at completion (EntityTooSmall) as on AWS.
emu_start_s3 S3_MAX_PUT_SIZE=10485760
export AWS_ACCESS_KEY_ID=$EMU_S3_KEY AWS_SECRET_ACCESS_KEY=$EMU_S3_SECRET AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$EMU_S3_PORT
S3=s3://backups
MAIN_PID=$EMU_S3_PID MAIN_DIR=$EMU_S3_DIR MAIN_PORT=$EMU_S3_PORT
PARTS=(--part-size 5M --single-put-limit 10M)

rk_log "round trips"
st_roundtrip "s3 empty" "$RK_TMP/empty" "$S3/t/empty.rdb" "${PARTS[@]}"
st_roundtrip "s3 small" "$RK_TMP/small" "$S3/t/small.rdb" "${PARTS[@]}"
st_roundtrip "s3 odd key" "$RK_TMP/small" "$S3/t/odd name!(x)*'+&=.rdb" "${PARTS[@]}"
st_roundtrip "s3 100MB multipart" "$RK_TMP/big" "$S3/t/sub/big.rdb" "${PARTS[@]}"
# Unknown size (a pipe): multipart whatever the limit.
if out=$(cat "$RK_TMP/big" | "${RK_STORE[@]}" cp -q --part-size 5M - "$S3/t/sub/piped.rdb" 2>&1); then
    rk_pass
else
    rk_fail "s3 piped upload: $out"
fi
st_check_download "s3 100MB piped" "$S3/t/sub/piped.rdb" "$RK_TMP/big"
# A small object from a pipe goes out as one PUT.
if out=$(cat "$RK_TMP/small" | "${RK_STORE[@]}" cp -q - "$S3/t/piped-small.rdb" 2>&1); then rk_pass; else rk_fail "s3 piped small: $out"; fi
st_check_download "s3 piped small" "$S3/t/piped-small.rdb" "$RK_TMP/small"
# Reading from an offset (Range).
rk_check_eq "s3 offset read" "$(tail -c +1001 "$RK_TMP/small" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --offset 1000 "$S3/t/small.rdb" - | st_sha /dev/stdin)"

rk_log "listing"
expect=$(printf '%s\n' "$S3/t/empty.rdb" "$S3/t/odd name!(x)*'+&=.rdb" "$S3/t/piped-small.rdb" \
    "$S3/t/small.rdb" "$S3/t/sub/big.rdb" "$S3/t/sub/piped.rdb")
rk_check_eq "s3 ls prefix t/" "$expect" "$(st_ls_keys "$S3/t/")"
rk_check_eq "s3 ls prefix t/s" "$(printf '%s\n' "$S3/t/small.rdb" "$S3/t/sub/big.rdb" "$S3/t/sub/piped.rdb")" \
    "$(st_ls_keys "$S3/t/s")"
rk_check_eq "s3 ls sizes" "104857600" "$("${RK_STORE[@]}" ls "$S3/t/sub/big" | awk '{print $1}')"
rk_check_eq "s3 ls nothing" "" "$(st_ls_keys "$S3/nothing-here/")"
# Listing pages: s3rver answers at most 1000 keys a page; 1005 need two. The
# keys go in with curl's own SigV4 signer, independent of ours.
printf 'x' >"$RK_TMP/one"
seq -f 'k%04g' 0 1004 | xargs -P 4 -I{} curl -sS -f -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$EMU_S3_KEY:$EMU_S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -T "$RK_TMP/one" "$AWS_ENDPOINT_URL/backups/page/{}"
rk_check_eq "s3 ls 1005 keys over pages" 1005 "$(st_ls_keys "$S3/page/" | wc -l)"
rk_check_eq "s3 ls pages in order" "$(seq -f "$S3/page/k%04g" 0 1004)" "$(st_ls_keys "$S3/page/")"

rk_log "deletion"
if out=$("${RK_STORE[@]}" rm "$S3/t/small.rdb" 2>&1); then rk_pass; else rk_fail "s3 rm: $out"; fi
st_expect_fail "s3 stat after rm" "not found" "" "${RK_STORE[@]}" stat "$S3/t/small.rdb"
st_expect_fail "s3 rm missing" "not found" "" "${RK_STORE[@]}" rm "$S3/t/small.rdb"
rk_check_not_contains "s3 ls after rm" "$S3/t/small.rdb" "$(st_ls_keys "$S3/t/")"

rk_log "wrong credentials"
st_expect_fail "s3 wrong secret (cp up)" "S3 PUT s3://backups/x: the server answered 403 SignatureDoesNotMatch" \
    "WrongSecret123" env AWS_SECRET_ACCESS_KEY=WrongSecret123 "${RK_STORE[@]}" cp "$RK_TMP/small" "$S3/x"
st_expect_fail "s3 wrong secret (stat)" "403 SignatureDoesNotMatch" "WrongSecret123" \
    env AWS_SECRET_ACCESS_KEY=WrongSecret123 "${RK_STORE[@]}" stat "$S3/t/sub/big.rdb"
st_expect_fail "s3 wrong secret (ls)" "403 SignatureDoesNotMatch" "WrongSecret123" \
    env AWS_SECRET_ACCESS_KEY=WrongSecret123 "${RK_STORE[@]}" ls "$S3/"
st_expect_fail "s3 unknown key id" "403 InvalidAccessKeyId" "" \
    env AWS_ACCESS_KEY_ID=AKIDNOBODY "${RK_STORE[@]}" cp "$S3/t/sub/big.rdb" -
st_expect_fail "s3 no credentials" "no credentials configured" "" \
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "${RK_STORE[@]}" stat "$S3/t/sub/big.rdb"
st_expect_fail "s3 missing bucket" "NoSuchBucket" "" "${RK_STORE[@]}" cp "$RK_TMP/small" "s3://nobucket/x"

rk_log "part retries"
emu_start_s3 S3_FAIL_PART_ONCE=1
FLAKY=http://127.0.0.1:$EMU_S3_PORT
head -c 23M /dev/urandom >"$RK_TMP/mid"
if out=$(AWS_ENDPOINT_URL=$FLAKY "${RK_STORE[@]}" cp -q "${PARTS[@]}" "$RK_TMP/mid" "$S3/retried.rdb" 2>&1); then
    rk_pass
    rk_check_contains "s3 retries logged" "retrying part" "$out"
else
    rk_fail "s3 upload with failing parts: $out"
fi
AWS_ENDPOINT_URL=$FLAKY st_check_download "s3 retried parts" "$S3/retried.rdb" "$RK_TMP/mid"
emu_stop "$EMU_S3_PID"
EMU_S3_PID=$MAIN_PID EMU_S3_DIR=$MAIN_DIR EMU_S3_PORT=$MAIN_PORT

rk_log "unreachable and hung servers"
dead=$(rk_free_port)
st_timed_fail "s3 connection refused" "Failed to connect" 10 \
    env AWS_ENDPOINT_URL=http://127.0.0.1:$dead "${RK_STORE[@]}" cp "$RK_TMP/small" "$S3/x"
emu_start_blackhole
st_timed_fail "s3 hung server" "no data moved for 2 s" 12 \
    env AWS_ENDPOINT_URL=http://127.0.0.1:$EMU_BLACKHOLE_PORT "${RK_STORE[@]}" stat --stall-timeout 2 --retries 1 "$S3/x"
st_timed_fail "s3 unroutable host" "S3" 12 \
    env AWS_ENDPOINT_URL=http://10.255.255.1:9 "${RK_STORE[@]}" stat --connect-timeout 2 "$S3/x"
st_timed_fail "s3 unknown host" "resolve" 12 \
    env AWS_ENDPOINT_URL=http://no-such-host.invalid "${RK_STORE[@]}" stat "$S3/x"

rk_log "server killed during an upload"
# The producer stalls after 12 MB (two parts sent); the server dies meanwhile.
(head -c 12M /dev/urandom; sleep 2; head -c 12M /dev/urandom) |
    timeout 60 "${RK_STORE[@]}" cp -q --part-size 5M - "$S3/killed.rdb" >"$RK_TMP/killed.out" 2>&1 &
cp_pid=$!
sleep 1
kill -9 "$EMU_S3_PID"
wait "$EMU_S3_PID" 2>/dev/null || true
if wait "$cp_pid"; then rk_fail "upload to a dead server succeeded"; else rk_pass; fi
rk_check_contains "killed: error names the store" "S3" "$(cat "$RK_TMP/killed.out")"
# Back up on the same data: no object under that name.
killed_dir=$EMU_S3_DIR
emu_run_s3 "$EMU_S3_DIR" "$EMU_S3_PORT"
st_expect_fail "killed: no object" "not found" "" "${RK_STORE[@]}" stat "$S3/killed.rdb"
rk_check_eq "killed: not listed" "" "$(st_ls_keys "$S3/killed")"

rk_log "client interrupted during an upload"
uploads() { find "$killed_dir/backups" -mindepth 2 -maxdepth 2 -path '*_S3rver_uploads/*' -type d | wc -l; }
before=$(uploads)
mkfifo "$RK_TMP/fifo"
# The producer sends two parts, then idles (exec: its PID is the sleep's).
(head -c 12M /dev/urandom; exec sleep 60) >"$RK_TMP/fifo" &
rk_track_pid $!
"${RK_STORE[@]}" cp -q --part-size 5M - "$S3/interrupted.rdb" <"$RK_TMP/fifo" >"$RK_TMP/int.out" 2>&1 &
cp_pid=$!
for _ in $(seq 100); do [ "$(uploads)" -gt "$before" ] && break; sleep 0.1; done
rk_check_eq "interrupted: upload started" $((before + 1)) "$(uploads)"
sleep 0.5
kill -TERM "$cp_pid"
if wait "$cp_pid"; then rk_fail "interrupted upload reported success"; else rk_pass; fi
rk_check_contains "interrupted: says so" "interrupted" "$(cat "$RK_TMP/int.out")"
st_expect_fail "interrupted: no object" "not found" "" "${RK_STORE[@]}" stat "$S3/interrupted.rdb"
# The multipart upload was aborted: s3rver dropped its parts.
rk_check_eq "interrupted: multipart upload aborted" "$before" "$(uploads)"

rk_finish
