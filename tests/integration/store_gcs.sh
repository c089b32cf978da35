#!/usr/bin/env bash
# GCS through its S3-compatible XML API, on the SigV4-verifying s3rver
# (tests/emulators): HMAC keys signed GOOG4-HMAC-SHA256, and a service
# account's RS256 JWT exchanged for a bearer token at a token endpoint that
# verifies the JWT with the account's public key. Round trips (empty, small,
# 100 MB multipart), listing, deletion, wrong keys, and an unreachable token
# endpoint.
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
# A service account of our own: its key signs the JWT, its public half lets
# the token endpoint check it.
openssl genrsa 2048 2>/dev/null >"$RK_TMP/sa.pem"
openssl rsa -in "$RK_TMP/sa.pem" -pubout 2>/dev/null >"$RK_TMP/sa.pub"
emu_start_s3 S3_MAX_PUT_SIZE=10485760 GCS_OAUTH_PUBLIC_KEY="$RK_TMP/sa.pub"
ENDPOINT=http://127.0.0.1:$EMU_S3_PORT
python3 - "$RK_TMP/sa.pem" "$ENDPOINT/token" >"$RK_TMP/sa.json" <<'EOF'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "rdbkeep-test",
                  "private_key": open(sys.argv[1]).read(),
                  "client_email": "backup@rdbkeep-test.iam.gserviceaccount.com",
                  "token_uri": sys.argv[2]}))
EOF
export GCS_ENDPOINT_URL=$ENDPOINT
GS=gs://backups
PARTS=(--part-size 5M --single-put-limit 10M)

rk_log "HMAC keys (GOOG4-HMAC-SHA256)"
export GCS_HMAC_ACCESS_ID=$EMU_S3_KEY GCS_HMAC_SECRET=$EMU_S3_SECRET
st_roundtrip "gcs empty" "$RK_TMP/empty" "$GS/g/empty.rdb" "${PARTS[@]}"
st_roundtrip "gcs small" "$RK_TMP/small" "$GS/g/small.rdb" "${PARTS[@]}"
st_roundtrip "gcs 100MB multipart" "$RK_TMP/big" "$GS/g/big.rdb" "${PARTS[@]}"
rk_check_eq "gcs ls" "$(printf '%s\n' "$GS/g/big.rdb" "$GS/g/empty.rdb" "$GS/g/small.rdb")" "$(st_ls_keys "$GS/g/")"
# What the server holds, read with curl's own GOOG4 signer.
rk_check_eq "gcs content by curl" "$(st_sha "$RK_TMP/big")" \
    "$(curl -sS -f --aws-sigv4 "goog:goog:auto:storage" --user "$EMU_S3_KEY:$EMU_S3_SECRET" \
        -H "x-goog-content-sha256: UNSIGNED-PAYLOAD" "$ENDPOINT/backups/g/big.rdb" | st_sha /dev/stdin)"
if out=$("${RK_STORE[@]}" rm "$GS/g/small.rdb" 2>&1); then rk_pass; else rk_fail "gcs rm: $out"; fi
st_expect_fail "gcs stat after rm" "GCS DELETE" "" "${RK_STORE[@]}" rm "$GS/g/small.rdb"
st_expect_fail "gcs wrong secret" "GCS GET gs://backups/g/big.rdb: the server answered 403 SignatureDoesNotMatch" \
    "NotTheSecret99" env GCS_HMAC_SECRET=NotTheSecret99 "${RK_STORE[@]}" cp "$GS/g/big.rdb" -
st_expect_fail "gcs no credentials" "no credentials configured" "" \
    env -u GCS_HMAC_ACCESS_ID -u GCS_HMAC_SECRET "${RK_STORE[@]}" ls "$GS/"
unset GCS_HMAC_ACCESS_ID GCS_HMAC_SECRET

rk_log "service account (JWT bearer flow)"
export GOOGLE_APPLICATION_CREDENTIALS=$RK_TMP/sa.json
st_roundtrip "gcs oauth small" "$RK_TMP/small" "$GS/o/small.rdb" "${PARTS[@]}"
st_roundtrip "gcs oauth 100MB multipart" "$RK_TMP/big" "$GS/o/big.rdb" "${PARTS[@]}"
# Between stores: S3 (AWS4 signatures) to GCS (bearer token), same server.
if out=$(AWS_ACCESS_KEY_ID=$EMU_S3_KEY AWS_SECRET_ACCESS_KEY=$EMU_S3_SECRET AWS_ENDPOINT_URL=$ENDPOINT \
    "${RK_STORE[@]}" cp -q "${PARTS[@]}" "s3://backups/g/big.rdb" "$GS/o/copied.rdb" 2>&1); then rk_pass; else rk_fail "s3 to gcs: $out"; fi
st_check_download "s3 to gcs" "$GS/o/copied.rdb" "$RK_TMP/big"
"${RK_STORE[@]}" rm "$GS/o/copied.rdb"
rk_check_eq "gcs oauth ls" "$(printf '%s\n' "$GS/o/big.rdb" "$GS/o/small.rdb")" "$(st_ls_keys "$GS/o/")"
if out=$("${RK_STORE[@]}" rm "$GS/o/big.rdb" 2>&1); then rk_pass; else rk_fail "gcs oauth rm: $out"; fi
# A key the token endpoint does not know: its JWT signature is refused.
openssl genrsa 2048 2>/dev/null >"$RK_TMP/other.pem"
python3 - "$RK_TMP/other.pem" "$ENDPOINT/token" >"$RK_TMP/other.json" <<'EOF'
import json, sys
print(json.dumps({"type": "service_account", "private_key": open(sys.argv[1]).read(),
                  "client_email": "intruder@rdbkeep-test.iam.gserviceaccount.com", "token_uri": sys.argv[2]}))
EOF
st_expect_fail "gcs wrong service account" "token endpoint http://127.0.0.1:$EMU_S3_PORT/token answered 400 invalid_grant: Invalid JWT Signature" \
    "PRIVATE KEY" env GOOGLE_APPLICATION_CREDENTIALS="$RK_TMP/other.json" "${RK_STORE[@]}" stat "$GS/o/small.rdb"
st_expect_fail "gcs bad key file" "not a service-account key" "" \
    env GOOGLE_APPLICATION_CREDENTIALS=<(echo '{"type":"authorized_user"}') "${RK_STORE[@]}" stat "$GS/o/small.rdb"
dead=$(rk_free_port)
sed "s|$ENDPOINT/token|http://127.0.0.1:$dead/token|" "$RK_TMP/sa.json" >"$RK_TMP/dead.json"
st_timed_fail "gcs token endpoint down" "Failed to connect" 10 \
    env GOOGLE_APPLICATION_CREDENTIALS="$RK_TMP/dead.json" "${RK_STORE[@]}" stat "$GS/o/small.rdb"
unset GOOGLE_APPLICATION_CREDENTIALS

rk_log "unreachable endpoint"
st_timed_fail "gcs connection refused" "Failed to connect" 10 \
    env GCS_ENDPOINT_URL=http://127.0.0.1:$dead GCS_HMAC_ACCESS_ID=a GCS_HMAC_SECRET=b "${RK_STORE[@]}" ls "$GS/"

rk_finish
