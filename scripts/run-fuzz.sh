#!/usr/bin/env bash
# run-fuzz.sh BUILD_DIR SECONDS: run every libFuzzer target for SECONDS each,
# seeded with the checked-in corpora; new crashes land in fuzz-out/<target>/.
set -euo pipefail
build=$1
secs=${2:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    out="$here/fuzz-out/$name"
    mkdir -p "$out/corpus"
    seeds=()
    [ -d "$here/tests/fuzz/seeds/$name" ] && seeds+=("$here/tests/fuzz/seeds/$name")
    # The RDB targets start from the real files of the test corpus.
    case "$name" in fuzz_rdb_reader) seeds+=("$here/tests/data/rdb-corpus") ;; esac
    echo "== $name for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -artifact_prefix="$out/" -print_final_stats=1 \
        "$out/corpus" "${seeds[@]}"; then
        echo "$name found a crash: see $out" >&2
        status=1
    fi
done
exit $status
