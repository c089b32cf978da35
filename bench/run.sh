#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [NAME...]: runs bench/bench_*.sh (or the named ones).
# Each benchmark measures its own baseline in the same run and prints the ratio;
# results are also appended to bench/out/results.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
shift || true
export RDBKEEP_BIN="$build/rdbkeep" RDBKEEP_SRC=$(cd "$here/.." && pwd)
mkdir -p "$here/out"
if [ $# -gt 0 ]; then
    scripts=()
    for n in "$@"; do scripts+=("$here/bench_$n.sh"); done
else
    scripts=("$here"/bench_*.sh)
fi
for s in "${scripts[@]}"; do
    [ -f "$s" ] || { echo "no such benchmark: $s" >&2; exit 2; }
    echo "== $(basename "$s" .sh)"
    bash "$s" | tee -a "$here/out/results.txt"
done
