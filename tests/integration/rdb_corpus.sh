#!/usr/bin/env bash
# rdb_corpus: the offline RDB tools (rdbkeep rdb verify|inspect|json) against
# the corpus of real RDB files in tests/data/rdb-corpus (PROVENANCE.md).
#
#  1. Every intact file verifies (exit 0): by path, through stdin, gzipped
#     through stdin; all of them in one call.
#  2. Every intentionally corrupt or unsupported file exits 1 (not a signal)
#     with "FILE: offset N: ..." on stderr; the details PROVENANCE.md gives
#     (stored and computed CRC, version) appear in the message.
#  3. Truncated files (every cut of the small ones, a sample of the others)
#     and, for files with a CRC64, single changed bytes: exit 1 with an
#     offset, never a crash or a hang.
#  4. The CRC64 inspect reports, computed again here from the definition.
#  5. `rdb json` against the expected outputs that came with the corpus:
#     HDT3213/rdb cases/*.json and *.aof, redis/librdb test/dumps/*.json.
#  6. `rdb inspect --json` counters against the keys `rdb json` prints.
# timeout: 420
source "${RDBKEEP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/rdbtest.sh"

BIN=$RDBKEEP_BIN
W="$RK_TMP/w"
mkdir -p "$W"
cd "$CORPUS"

mapfile -t ALL < <(rdb_corpus_files)
mapfile -t INTACT < <(rdb_intact_files)
# The corpus is complete: every RDB-bearing file of the manifest is here.
rk_check_eq "RDB-bearing files in the corpus vs manifest.tsv" \
    "$(awk -F'\t' '$4 ~ /(\.rdb|rdb-preamble\.aof)$/ {print $4}' manifest.tsv | wc -l)" "${#ALL[@]}"
rk_log "${#ALL[@]} RDB-bearing files, ${#INTACT[@]} intact, ${#RDB_NEGATIVE[@]} corrupt or unsupported"

# ---- 1. intact files verify ------------------------------------------------------------

for f in "${INTACT[@]}"; do
    rc=0
    out=$("$BIN" rdb verify "$f" 2>"$W/err") || rc=$?
    rk_check_eq "verify $f: exit" 0 "$rc"
    rk_check_contains "verify $f: outcome" "$f: ok: " "$out"
    rk_check_eq "verify $f: stderr" "" "$(cat "$W/err")"
    rc=0
    out=$("$BIN" rdb verify - <"$f" 2>&1) || rc=$?
    rk_check_eq "verify $f through stdin: exit" 0 "$rc"
    rk_check_contains "verify $f through stdin" "stdin: ok: " "$out"
    rc=0
    out=$(gzip -c "$f" | "$BIN" rdb verify - 2>&1) || rc=$?
    rk_check_eq "verify gzipped $f through stdin: exit" 0 "$rc"
    rk_check_contains "verify gzipped $f through stdin" "stdin: ok: " "$out"
done
gzip -c "${INTACT[0]}" >"$W/named.rdb"
rk_check_eq "a gzipped file by path" 0 "$("$BIN" rdb verify -q "$W/named.rdb" >/dev/null 2>&1; echo $?)"

rc=0
out=$("$BIN" rdb verify "${INTACT[@]}" 2>&1) || rc=$?
rk_check_eq "verify all intact files in one call: exit" 0 "$rc"
rk_check_eq "verify all intact files in one call: ok lines" "${#INTACT[@]}" "$(grep -c ': ok: ' <<<"$out")"

# ---- 2. corrupt and unsupported files ------------------------------------------------------

# provenance_cell FILE COLUMN: a cell of the file's row in PROVENANCE.md's
# table of negative files (columns: file, ver, what happens); the version
# is read from the file's own header.
provenance_cell() {
    awk -F' \\| ' -v f="\`$1\`" -v c="$2" 'index($0, "| " f " |") == 1 {gsub(/^\| |`/, "", $0); split($0, a, / \| /); print a[c]; exit}' PROVENANCE.md
}

for f in "${RDB_NEGATIVE[@]}"; do
    for how in path stdin gzip json inspect; do
        rc=0
        case $how in
        path) "$BIN" rdb verify "$f" >"$W/out" 2>"$W/err" || rc=$? ;;
        stdin) "$BIN" rdb verify - <"$f" >"$W/out" 2>"$W/err" || rc=$? ;;
        gzip) gzip -c "$f" | "$BIN" rdb verify - >"$W/out" 2>"$W/err" || rc=$? ;;
        json) "$BIN" rdb json "$f" >"$W/out" 2>"$W/err" || rc=$? ;;
        inspect) "$BIN" rdb inspect "$f" >"$W/out" 2>"$W/err" || rc=$? ;;
        esac
        err=$(cat "$W/err")
        rk_check_eq "$how $f: exit status (1, not a signal)" 1 "$rc"
        name=$f
        [ "$how" = stdin ] && name=stdin
        [ "$how" = gzip ] && name="stdin (after gunzip)"
        if [[ $err =~ ^"$name: offset "[0-9]+": ". ]]; then rk_pass; else
            rk_fail "$how $f: message not of the form '$name: offset N: ...': $err"
        fi
        [ "$how" = path ] && rk_check_eq "verify $f: nothing on stdout" "" "$(cat "$W/out")"
    done
    "$BIN" rdb verify "$f" 2>"$W/err" >/dev/null || true
    err=$(cat "$W/err")
    what=$(provenance_cell "$f" 3)
    ver=$(head -c 9 "$f" | sed 's/^REDIS0*//; s/^VALKEY0*//')
    rk_log "$f: $err"
    if [ "$ver" -gt 13 ] && [ "$ver" -lt 80 ] || [ "$ver" -gt 81 ]; then
        rk_check_contains "$f: the unknown version in the message" "version $ver " "$err"
    elif [[ $what =~ crc\ BAD\ \(stored\ ([0-9a-f]+)\ calc\ ([0-9a-f]+)\) ]]; then
        rk_check_contains "$f: stored CRC in the message" "${BASH_REMATCH[1]}" "$err"
        rk_check_contains "$f: computed CRC in the message" "${BASH_REMATCH[2]}" "$err"
    elif [[ $what == *"walker stops: ziplist"* ]]; then
        rk_check_contains "$f: names the key it could not read" 'key "' "$err"
        rk_check_contains "$f: names the broken structure" "ziplist" "$err"
    else
        rk_fail "$f: no rule for what PROVENANCE.md says about it: '$what'"
    fi
done
# One bad file among good ones: exit 1, the good ones still reported.
rc=0
out=$("$BIN" rdb verify "${INTACT[0]}" "${RDB_NEGATIVE[0]}" "${INTACT[1]}" 2>"$W/err") || rc=$?
rk_check_eq "verify good, bad, good: exit" 1 "$rc"
rk_check_eq "verify good, bad, good: ok lines" 2 "$(grep -c ': ok: ' <<<"$out")"
rk_check_contains "verify good, bad, good: the bad one named" "${RDB_NEGATIVE[0]}: offset " "$(cat "$W/err")"
# Not an RDB at all, an empty file, a directory, a missing file.
: >"$W/empty.rdb"
for f in "$W/empty.rdb" hdt3213-rdb/cases/memory.aof PROVENANCE.md; do
    rc=0
    "$BIN" rdb verify "$f" >/dev/null 2>"$W/err" || rc=$?
    rk_check_eq "verify $f: exit" 1 "$rc"
    rk_check_contains "verify $f: message" "$f: offset 0: " "$(cat "$W/err")"
done
for f in "$W" "$W/missing.rdb"; do
    rc=0
    "$BIN" rdb verify "$f" >/dev/null 2>"$W/err" || rc=$?
    rk_check_eq "verify $f: exit" 1 "$rc"
    rk_check_contains "verify $f: message names it" "$f: " "$(cat "$W/err")"
done

# ---- inspect every intact file (used below) ------------------------------------------------

declare -A INSPECT UNIQUE
i=0
for f in "${INTACT[@]}"; do
    i=$((i + 1))
    rc=0
    "$BIN" rdb inspect --json "$f" >"$W/inspect.$i.json" 2>"$W/err" || rc=$?
    rk_check_eq "inspect --json $f: exit" 0 "$rc"
    INSPECT[$f]="$W/inspect.$i.json"
    "$BIN" rdb json "$f" >"$W/json.$i" 2>"$W/err" || rc=$?
    rk_check_eq "json $f: exit" 0 "$rc"
    rk_check_eq "json $f: stderr" "" "$(cat "$W/err")"
    JSON[$i]="$W/json.$i"
    sum=$(sha256sum <"$f" | cut -c1-64)
    [ -n "${UNIQUE[$sum]:-}" ] || UNIQUE[$sum]=$f
done

# rdb_end FILE: where the RDB ends (files may carry an AOF tail or a
# replication mark after the checksum).
rdb_end() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "${INSPECT[$1]}"; }

# ---- 3. truncated and damaged files ---------------------------------------------------------

: >"$W/cuts.tsv"
: >"$W/flips.tsv"
for f in "${UNIQUE[@]}"; do
    end=$(rdb_end "$f")
    if [ "$end" -le 160 ]; then mode=all; else mode=64; fi
    printf '%s\t%s\t%s\n' "$f" "$end" "$mode" >>"$W/cuts.tsv"
    if grep -q '"checksum":"ok"' "${INSPECT[$f]}"; then printf '%s\t%s\n' "$f" "$end" >>"$W/flips.tsv"; fi
done
rk_log "truncation: $(wc -l <"$W/cuts.tsv") distinct files; changed bytes: $(wc -l <"$W/flips.tsv") files with a CRC64"
rk_tally "$PY" "$RDBJSON" truncate "$BIN" "$W/cuts.tsv"
rk_tally "$PY" "$RDBJSON" flip "$BIN" "$W/flips.tsv" 12
# A truncated gzip stream is an error too, never a quiet success.
big=hdt3213-rdb/cases/hash.rdb
gzip -c "$big" >"$W/big.gz"
gzsize=$(stat -c %s "$W/big.gz")
for cut in 10 $((gzsize / 2)) $((gzsize - 4)); do
    rc=0
    head -c "$cut" "$W/big.gz" | timeout 20 "$BIN" rdb verify - >/dev/null 2>"$W/err" || rc=$?
    rk_check_eq "gzip stream cut at $cut of $gzsize: exit" 1 "$rc"
    rk_check_contains "gzip stream cut at $cut: message" "stdin" "$(cat "$W/err")"
done

# ---- 4. CRC64 computed independently ----------------------------------------------------------

rk_tally "$PY" "$RDBJSON" crc "${INSPECT[@]}"

# ---- 5. rdb json against the corpus's expected outputs -------------------------------------

json_of() {
    local n
    for n in "${!INTACT[@]}"; do
        [ "${INTACT[$n]}" = "$1" ] && { echo "${JSON[$((n + 1))]}"; return; }
    done
    echo "no json for $1" >&2
    return 1
}

# HDT3213/rdb: cases/NAME.json is its JSON of cases/NAME.rdb; memory_regex.*
# are memory.rdb filtered by a key pattern (a subset). Its .csv reports are
# memory estimates, which our tools do not make.
hdt=0
for exp in hdt3213-rdb/cases/*.json; do
    name=${exp%.json}
    rdb=$name.rdb
    extra=()
    if [ "$name" = hdt3213-rdb/cases/memory_regex ]; then rdb=hdt3213-rdb/cases/memory.rdb; extra=(--subset); fi
    rk_tally "$PY" "$RDBJSON" hdt "$exp" "$(json_of "$rdb")" "${INSPECT[$rdb]}" "${extra[@]}"
    hdt=$((hdt + 1))
done
for exp in hdt3213-rdb/cases/*.aof; do
    name=${exp%.aof}
    rdb=$name.rdb
    extra=()
    if [ "$name" = hdt3213-rdb/cases/memory_regex ]; then rdb=hdt3213-rdb/cases/memory.rdb; extra=(--subset); fi
    rk_tally "$PY" "$RDBJSON" aof "$exp" "$(json_of "$rdb")" "${extra[@]}"
    hdt=$((hdt + 1))
done

# redis/librdb: the pairs its tests make (test/test_rdb_to_json.c), data
# level only: *_raw.json and *_struct.json show librdb's internal parsing
# levels (raw RDB bytes, ziplist/listpack nodes), which our format does not
# carry; so is multiple_lists_strings_subset_str.json (raw bytes).
# set_expired.json is the expired-keys filter: checked by rdb_convert.sh
# with --drop-expired. The filtered files are subsets.
L=librdb/test/dumps
librdb_pairs=(
    "hash_v3.rdb hash_data.json"
    "hash_v3.rdb plain_hash_data.json"
    "hash_lp_v11.rdb hash_lp_v11_data.json"
    "hash_lp_with_hexpire_v12.rdb hash_lp_ex_v12_data.json"
    "hash_with_expire_v12.rdb hash_ex_v12_data.json"
    "hash_zl_v6.rdb hash_zl_v6_data.json"
    "hash_zm_v2.rdb hash_zm_v2_data.json"
    "module.rdb module_data.json"
    "module_aux.rdb module_aux_data.json"
    "multiple_dbs.rdb multiple_dbs_data.json"
    "multiple_lists_strings.rdb multiple_lists_strings_data.json"
    "multiple_lists_strings.rdb multiple_lists_strings_no_aux.json"
    "multiple_lists_strings.rdb multiple_lists_strings_subset_list.json --subset"
    "multiple_lists_strings.rdb multiple_lists_strings_2filters.json --subset"
    "plain_list_v6.rdb plain_list_v6_data.json"
    "plain_set_v6.rdb plain_set_v6_data.json"
    "plain_zset_2_v11.rdb plain_zset_2_v11_data.json"
    "plain_zset_v6.rdb plain_zset_v6_data.json"
    "quicklist.rdb quicklist_data.json"
    "quicklist2_v11.rdb single_list_data.json"
    "set_is_v11.rdb set_is_v11_data.json"
    "set_lp_v11.rdb set_lp_v11_data.json"
    "single_key.rdb single_key_data.json"
    "stream_v11.rdb stream_data.json"
    "stream_v11.rdb stream_data_with_meta.json"
    "stream_v13_idmp.rdb stream_v13.json"
    "ziplist_v3.rdb ziplist_data.json"
    "zset_lp_v11.rdb zset_lp_v11_data.json"
    "zset_zl_v6.rdb zset_zl_v6_data.json"
    "cluster_slot_info.rdb cluster_slot_info.json"
    "function2.rdb function2.json"
    "mem_policy_lfu.rdb mem_policy_lfu.json"
    "mem_policy_lru.rdb mem_policy_lru.json"
    "set_not_expired_v11.rdb set_not_expired.json"
    "string_int_encoded.rdb string_int_encoded.json"
)
lib=0
for p in "${librdb_pairs[@]}"; do
    read -r rdb exp extra <<<"$p"
    rk_tally "$PY" "$RDBJSON" librdb "$L/$exp" "$(json_of "$L/$rdb")" "${INSPECT[$L/$rdb]}" $extra
    lib=$((lib + 1))
done
rk_log "compared with $hdt HDT3213/rdb and $lib librdb expected outputs"

# ---- 6. inspect's counters against rdb json ---------------------------------------------------

: >"$W/counts.tsv"
for n in "${!INTACT[@]}"; do
    printf '%s\t%s\n' "${INSPECT[${INTACT[$n]}]}" "${JSON[$((n + 1))]}" >>"$W/counts.tsv"
done
rk_tally "$PY" "$RDBJSON" counts-list "$W/counts.tsv"

rk_finish
