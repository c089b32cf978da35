#!/usr/bin/env bash
# run-tests.sh BUILD_DIR: every unit and integration test, as CI runs them.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
# Test servers that come from npm (S3, Azure) are installed once, here.
if [ -f "$here/tests/emulators/package.json" ]; then
    "$here/tests/emulators/install.sh"
fi
cd "$build"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 1800
