#!/usr/bin/env bash
# run.sh BIN: what `make run` starts. Until the daemon lands this shows the
# offline tools; afterwards it starts `rdbkeep serve` with embedded defaults.
set -euo pipefail
bin=${1:-build/rdbkeep}
if "$bin" help serve 2>/dev/null | grep -q "not available in this build"; then
    "$bin" --help
    echo
    echo "The daemon is not in this build yet; the offline RDB tools are: rdbkeep help rdb"
    exit 0
fi
exec "$bin" serve
