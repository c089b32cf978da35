#!/usr/bin/env bash
# Local files: round trips of empty, small and 100 MB files into directories
# that do not exist yet (plain paths and file:// URIs), a write that is only
# visible once complete, interrupted and killed copies (nothing under the
# final name; the temporary file removed, or at least hidden), listing,
# deletion, and the errors for directories, missing files and unwritable
# places.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/emulators.sh"

st_files
D=$RK_TMP/store

rk_log "round trips"
st_roundtrip "local empty" "$RK_TMP/empty" "$D/a/b/empty.rdb"
st_roundtrip "local small" "$RK_TMP/small" "$D/a/small.rdb"
st_roundtrip "local 100MB" "$RK_TMP/big" "$D/a/big.rdb"
st_roundtrip "local file:// URI" "$RK_TMP/small" "file://$D/a/odd%20name.rdb"
rk_check_eq "file:// decoded" "$(st_sha "$RK_TMP/small")" "$(st_sha "$D/a/odd name.rdb")"
rk_check_eq "local stdin to stdout" "$(st_sha "$RK_TMP/big")" \
    "$("${RK_STORE[@]}" cp -q - - <"$RK_TMP/big" | st_sha /dev/stdin)"
if out=$("${RK_STORE[@]}" cp -q "$RK_TMP/small" "$D/into/" 2>&1); then rk_pass; else rk_fail "cp into a folder: $out"; fi
rk_check_eq "cp into a folder keeps the name" "$(st_sha "$RK_TMP/small")" "$(st_sha "$D/into/small")"
rk_check_eq "local offset read" "$(tail -c +5 "$RK_TMP/small" | st_sha /dev/stdin)" \
    "$("${RK_STORE[@]}" cp -q --offset 4 "$D/a/small.rdb" - | st_sha /dev/stdin)"
st_expect_fail "local offset past the end" "past the end" "" "${RK_STORE[@]}" cp --offset 99999999 "$D/a/small.rdb" -
# Overwriting replaces the file in one step.
st_roundtrip "local overwrite" "$RK_TMP/big" "$D/a/small.rdb"
rk_check_eq "no temporary files left" "" "$(find "$D" -name '*rdbkeep-tmp*')"

rk_log "special files and links"
# A FIFO (like /dev/stdout) is written in place, never renamed over.
mkfifo "$RK_TMP/pipe"
st_sha "$RK_TMP/pipe" >"$RK_TMP/pipe.sha" &
reader=$!
if out=$("${RK_STORE[@]}" cp -q "$RK_TMP/small" "$RK_TMP/pipe" 2>&1); then rk_pass; else rk_fail "cp into a FIFO: $out"; fi
wait "$reader"
rk_check_eq "the FIFO got the data" "$(st_sha "$RK_TMP/small")" "$(cat "$RK_TMP/pipe.sha")"
rk_check_eq "the FIFO is still a FIFO" "fifo" "$([ -p "$RK_TMP/pipe" ] && echo fifo)"
# Through a symbolic link, the file it points to is replaced; the link stays.
mkdir -p "$D/real"
ln -s "$D/real/target.rdb" "$D/link.rdb"
st_roundtrip "cp through a link" "$RK_TMP/small" "$D/link.rdb"
rk_check_eq "the link is still a link" "link" "$([ -L "$D/link.rdb" ] && echo link)"
rk_check_eq "the target got the data" "$(st_sha "$RK_TMP/small")" "$(st_sha "$D/real/target.rdb")"
rm -f "$D/link.rdb"

rk_log "visible only when complete"
mkfifo "$RK_TMP/fifo"
(head -c 3M /dev/urandom; exec sleep 60) >"$RK_TMP/fifo" &
prod=$!
rk_track_pid "$prod"
"${RK_STORE[@]}" cp -q - "$D/w/partial.rdb" <"$RK_TMP/fifo" >"$RK_TMP/int.out" 2>&1 &
cp_pid=$!
for _ in $(seq 100); do [ -n "$(find "$D/w" -name '*rdbkeep-tmp*' -size +1k 2>/dev/null)" ] && break; sleep 0.05; done
rk_check_eq "during the copy: no final file" "absent" "$([ -e "$D/w/partial.rdb" ] || echo absent)"
rk_check_contains "during the copy: a temporary name beside it" ".partial.rdb.rdbkeep-tmp." "$(ls -a "$D/w")"
rk_check_eq "during the copy: not listed" "" "$(st_ls_keys "$D/w/")"
kill -TERM "$cp_pid"
if wait "$cp_pid"; then rk_fail "interrupted copy reported success"; else rk_pass; fi
rk_check_contains "interrupted: says so" "interrupted" "$(cat "$RK_TMP/int.out")"
rk_check_eq "interrupted: nothing left" "" "$(ls -A "$D/w")"
kill "$prod" 2>/dev/null || true

(head -c 3M /dev/urandom; exec sleep 60) >"$RK_TMP/fifo" &
prod=$!
rk_track_pid "$prod"
"${RK_STORE[@]}" cp -q - "$D/k/killed.rdb" <"$RK_TMP/fifo" >/dev/null 2>&1 &
cp_pid=$!
for _ in $(seq 100); do [ -n "$(find "$D/k" -name '*rdbkeep-tmp*' -size +1k 2>/dev/null)" ] && break; sleep 0.05; done
kill -9 "$cp_pid"
wait "$cp_pid" 2>/dev/null || true
rk_check_eq "killed: no final file" "absent" "$([ -e "$D/k/killed.rdb" ] || echo absent)"
rk_check_eq "killed: the leftover is not listed" "" "$(st_ls_keys "$D/k/")"
kill "$prod" 2>/dev/null || true

rk_log "listing and deletion"
expect=$(printf '%s\n' "$D/a/b/empty.rdb" "$D/a/big.rdb" "$D/a/odd name.rdb" "$D/a/small.rdb")
rk_check_eq "local ls folder" "$expect" "$(st_ls_keys "$D/a/")"
rk_check_eq "local ls prefix" "$(printf '%s\n' "$D/a/b/empty.rdb" "$D/a/big.rdb")" "$(st_ls_keys "$D/a/b")"
rk_check_eq "local ls size" "$(stat -c %s "$RK_TMP/big")" "$("${RK_STORE[@]}" ls "$D/a/big" | awk '{print $1}')"
rk_check_eq "local ls time" "$(date -u -r "$D/a/big.rdb" +%Y-%m-%dT%H:%M:%S)" \
    "$("${RK_STORE[@]}" ls "$D/a/big" | awk '{print substr($2, 1, 19)}')"
if out=$("${RK_STORE[@]}" rm "$D/a/big.rdb" 2>&1); then rk_pass; else rk_fail "local rm: $out"; fi
rk_check_eq "local rm removed it" "absent" "$([ -e "$D/a/big.rdb" ] || echo absent)"
st_expect_fail "local rm missing" "No such file" "" "${RK_STORE[@]}" rm "$D/a/big.rdb"
st_expect_fail "local rm folder" "is a directory" "" "${RK_STORE[@]}" rm "$D/a/b"
st_expect_fail "local read folder" "is a directory" "" "${RK_STORE[@]}" cp "$D/a" -
st_expect_fail "local read missing" "No such file" "" "${RK_STORE[@]}" cp "$D/missing.rdb" -
st_expect_fail "local stat missing" "No such file" "" "${RK_STORE[@]}" stat "$D/missing.rdb"
st_expect_fail "local unwritable place" "cannot" "" "${RK_STORE[@]}" cp "$RK_TMP/small" "/proc/rdbkeep-test.rdb"
st_expect_fail "local write onto a folder" "is a directory" "" "${RK_STORE[@]}" cp "$RK_TMP/small" "$D/a/b"

rk_finish
