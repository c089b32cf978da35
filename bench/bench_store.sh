#!/usr/bin/env bash
# bench_store.sh: rdbkeep store cp of a 1 GiB file to and from each local
# test server (S3 and GCS on s3rver, Azure on azurite, FTP on pyftpdlib, HTTP
# on nginx), against curl making the same transfer in the same run, the two
# interleaved (alternating who goes first, with a sync before each run), best
# of BENCH_RUNS (default 3). Targets: at most 1.1x curl's
# time; peak RSS at most 64 MB whatever the size (also for a stream of
# unknown size, which S3 takes as a multipart upload).
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

runs=${BENCH_RUNS:-3}
size_mb=${BENCH_STORE_MB:-1024}
big=$RK_TMP/big
head -c "${size_mb}M" /dev/urandom >"$big"
chmod 644 "$big"
size=$(stat -c %s "$big")

emu_start_s3
emu_start_azurite
# The FTP server writes into memory: at 1.5 GB/s the kernel's writeback of
# 1 GiB files, not either client, decided which run was faster.
rk_tmpfs_dir EMU_FTP_BASE
emu_start_ftp
emu_start_nginx
ln "$big" "$EMU_WWW/big"
S3URL=http://127.0.0.1:$EMU_S3_PORT
export AWS_ACCESS_KEY_ID=$EMU_S3_KEY AWS_SECRET_ACCESS_KEY=$EMU_S3_SECRET AWS_ENDPOINT_URL=$S3URL
export GCS_ENDPOINT_URL=$S3URL GCS_HMAC_ACCESS_ID=$EMU_S3_KEY GCS_HMAC_SECRET=$EMU_S3_SECRET
export AZURE_STORAGE_ENDPOINT=http://127.0.0.1:$EMU_AZ_PORT AZURE_STORAGE_KEY=$EMU_AZ_KEY
az() { AZ_BLOB_URL=$AZURE_STORAGE_ENDPOINT/$EMU_AZ_ACCOUNT AZ_ACCOUNT=$EMU_AZ_ACCOUNT AZ_KEY=$EMU_AZ_KEY \
    "$EMU_HOME/az-curl.sh" "$@"; }
export -f az
export EMU_HOME EMU_AZ_ACCOUNT EMU_AZ_KEY big size
az PUT "/bench?restype=container" 0 "" -- -o /dev/null
FTP="ftp://$EMU_FTP_USER:$EMU_FTP_PASS_ENC@127.0.0.1:$EMU_FTP_PORT"
HTTP="http://127.0.0.1:$EMU_HTTP_PORT"
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$EMU_S3_KEY:$EMU_S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
GSIG=(--aws-sigv4 "goog:goog:auto:storage" --user "$EMU_S3_KEY:$EMU_S3_SECRET" -H "x-goog-content-sha256: UNSIGNED-PAYLOAD")

# timed VAR CMD...: wall seconds in VAR, peak RSS (KiB) in VAR_RSS, CPU
# seconds (user + system) in VAR_CPU. On a shared machine the CPU time is the
# steadier measure of the client's own cost.
timed() {
    local var=$1 out="$RK_TMP/time.$$"
    shift
    /usr/bin/time -f "%e %M %U %S" -o "$out" "$@" >/dev/null
    read -r e m u s <"$out"
    printf -v "$var" '%s' "$e"
    printf -v "${var}_RSS" '%s' "$m"
    printf -v "${var}_CPU" '%s' "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')"
}

# pair NAME -- CURL... -- RDBKEEP...: interleaved runs, best time of each.
results=()
pair() {
    local name=$1 curl_cmd=() ours_cmd=() t best_c="" best_o="" rss_c="" rss_o="" cpu_c="" cpu_o=""
    shift 2
    while [ "$1" != -- ]; do curl_cmd+=("$1"); shift; done
    shift
    ours_cmd=("$@")
    for i in $(seq "$runs"); do
        # Alternate who goes first, and flush the servers' writes before each
        # run, so neither pays for the other's disk writeback.
        for who in $( ((i % 2)) && echo "curl ours" || echo "ours curl"); do
            sync
            if [ "$who" = curl ]; then
                timed t "${curl_cmd[@]}"
                if [ -z "$best_c" ] || awk "BEGIN{exit !($t < $best_c)}"; then best_c=$t rss_c=$t_RSS cpu_c=$t_CPU; fi
            else
                timed t "${ours_cmd[@]}"
                if [ -z "$best_o" ] || awk "BEGIN{exit !($t < $best_o)}"; then best_o=$t rss_o=$t_RSS cpu_o=$t_CPU; fi
            fi
        done
    done
    results+=("$(printf "%-16s curl %6s s (cpu %5s) %3s MiB | rdbkeep %6s s (cpu %5s) %3s MiB | ratio %s" \
        "$name" "$best_c" "$cpu_c" "$((rss_c / 1024))" "$best_o" "$cpu_o" "$((rss_o / 1024))" \
        "$(bench_ratio "$best_o" "$best_c")")")
    rk_log "${results[-1]}"
}

pair "S3 upload" -- curl -sS -f "${SIG[@]}" -T "$big" "$S3URL/backups/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q "$big" s3://backups/bench/big
pair "S3 download" -- curl -sS -f "${SIG[@]}" -o /dev/null "$S3URL/backups/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q s3://backups/bench/big -
pair "GCS upload" -- curl -sS -f "${GSIG[@]}" -T "$big" "$S3URL/backups/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q "$big" gs://backups/bench/big
pair "GCS download" -- curl -sS -f "${GSIG[@]}" -o /dev/null "$S3URL/backups/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q gs://backups/bench/big -
pair "Azure upload" -- bash -c 'az PUT /bench/big "$size" application/octet-stream x-ms-blob-type:BlockBlob -- -f -o /dev/null -T "$big"' -- \
    "$RDBKEEP_BIN" store cp -q "$big" "abs://$EMU_AZ_ACCOUNT/bench/big"
pair "Azure download" -- bash -c 'az GET /bench/big "" "" -- -f -o /dev/null' -- \
    "$RDBKEEP_BIN" store cp -q "abs://$EMU_AZ_ACCOUNT/bench/big" -
pair "FTP upload" -- curl -sS -f --ftp-create-dirs -T "$big" "$FTP/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q "$big" "$FTP/bench/big"
pair "FTP download" -- curl -sS -f -o /dev/null "$FTP/bench/big" -- \
    "$RDBKEEP_BIN" store cp -q "$FTP/bench/big" -
pair "HTTP download" -- curl -sS -f -o /dev/null "$HTTP/big" -u "$EMU_HTTP_USER:$EMU_HTTP_PASS" -- \
    "$RDBKEEP_BIN" store cp -q "http://$EMU_HTTP_USER:$EMU_HTTP_PASS_ENC@127.0.0.1:$EMU_HTTP_PORT/big" -

# A stream of unknown size: S3 multipart with two 16 MiB part buffers.
stream_up() { "$RDBKEEP_BIN" store cp -q - s3://backups/bench/stream <"$big"; }
export -f stream_up
export RDBKEEP_BIN
timed stream bash -c stream_up
"$RDBKEEP_BIN" store stat s3://backups/bench/stream | grep -q "^size: $size$" || { echo "stream upload incomplete" >&2; exit 1; }

echo "file: $((size / 1048576)) MiB, best of $runs; targets: ratio <= 1.10, rdbkeep RSS <= 64 MiB"
printf '%s\n' "${results[@]}"
printf "%-16s rdbkeep %6s s %5s MiB (multipart, 16 MiB parts)\n" "S3 from a pipe" "$stream" "$((stream_RSS / 1024))"
