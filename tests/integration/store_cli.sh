#!/usr/bin/env bash
# "rdbkeep store" as a command: its help, usage errors (exit 2), malformed
# URIs named in the message without their secrets (exit 1), stores that
# cannot do what was asked, and the redis:// plug-in point refusing politely
# when no live-data path is plugged in.
# timeout: 60
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

B=$RDBKEEP_BIN
head -c 1000 /dev/urandom >"$RK_TMP/f"

# exit_of CMD...: prints the exit status.
exit_of() { "$@" >/dev/null 2>&1 && echo 0 || echo $?; }

rk_log "help and usage"
help=$("$B" help store)
for word in "store ls" "store stat" "store cp" "store rm" "s3://bucket/key" "abs://" "ftps://" "--gzip" \
    "--part-size" "AWS_ACCESS_KEY_ID" "GOOGLE_APPLICATION_CREDENTIALS" "AZURE_STORAGE_SAS_TOKEN" "RDBKEEP_CA_FILE"; do
    rk_check_contains "help mentions $word" "$word" "$help"
done
rk_check_eq "store --help" "$help" "$("$B" store --help)"
rk_check_eq "no action" 2 "$(exit_of "$B" store)"
rk_check_eq "unknown action" 2 "$(exit_of "$B" store mv a b)"
rk_check_eq "cp needs two" 2 "$(exit_of "$B" store cp "$RK_TMP/f")"
rk_check_eq "ls needs one" 2 "$(exit_of "$B" store ls)"
rk_check_eq "unknown option" 2 "$(exit_of "$B" store ls --frobnicate x)"
rk_check_eq "part size too small" 2 "$(exit_of "$B" store cp --part-size 1M "$RK_TMP/f" "$RK_TMP/g")"
rk_check_eq "bad timeout" 2 "$(exit_of "$B" store ls --connect-timeout 0 /tmp/)"
st_expect_fail "bad env size" "RDBKEEP_STORE_PART_SIZE='tiny'" "" env RDBKEEP_STORE_PART_SIZE=tiny "$B" store ls /tmp/

rk_log "malformed URIs"
st_expect_fail "bad bucket" "'Bad_Bucket' is not a valid S3 bucket name" "" "$B" store cp "$RK_TMP/f" s3://Bad_Bucket/x
st_expect_fail "unknown scheme" "unknown scheme 'gopher://'" "" "$B" store ls gopher://host/x
st_expect_fail "ftp port" "the port 'abc' is not a number from 1 to 65535" "Pa55word" \
    "$B" store cp "$RK_TMP/f" "ftp://user:Pa55word@host:abc/x"
st_expect_fail "password with a raw slash" "percent-encode '/'" "Zq9secret" \
    "$B" store ls "ftp://user:pass/Zq9secret@host/x"
st_expect_fail "azure user part" "the user part must be empty" "c2VjcmV0" \
    "$B" store ls "abs://me:c2VjcmV0@account/container/"
st_expect_fail "redacted in the message" "ftp://user:***@" "Pa55word" \
    "$B" store cp "$RK_TMP/f" "ftp://user:Pa55word@host/dir/"
st_expect_fail "object URI needed" "must name a file" "" "$B" store stat s3://bucket-name/dir/

rk_log "what each store cannot do"
st_expect_fail "redis needs the live-data path" "needs the replication client" "Redis5ecret" \
    "$B" store cp "redis://Redis5ecret@127.0.0.1:6379" -
st_expect_fail "redis is not writable" "do not support writing" "Redis5ecret" \
    "$B" store cp "$RK_TMP/f" "redis://Redis5ecret@127.0.0.1:6379"
st_expect_fail "redis cannot be listed" "do not support listing" "" "$B" store ls "redis://127.0.0.1:6379"
st_expect_fail "redis URI with a database" "nothing may follow host:port" "" "$B" store cp "redis://127.0.0.1:6379/0" -

rk_finish
