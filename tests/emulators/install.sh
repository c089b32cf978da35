#!/usr/bin/env bash
# install.sh: installs the npm test servers (s3rver, azurite) into
# tests/emulators/node_modules, once: a second run with the same lock file is
# a no-op. Safe to run from parallel tests (flock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
command -v npm >/dev/null || { echo "install.sh: npm is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
exec 9>"${TMPDIR:-/tmp}/rdbkeep-emulators-install.lock"
flock 9
stamp=node_modules/.rdbkeep-installed
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >&2
cp package-lock.json "$stamp"
