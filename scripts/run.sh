#!/usr/bin/env bash
# run.sh BIN: what `make run` starts: `rdbkeep serve` in the foreground with
# its embedded defaults (API on 127.0.0.1:8080, state in ./var, databases on
# ports 12000 and up). The daemon prints the URL and the keys; the secret is
# shown on the first start only (it is stored hashed). Ctrl-C stops the
# daemon; the databases keep running and are adopted on the next start.
set -euo pipefail
bin=${1:-build/rdbkeep}
if [ -f var/catalog.db ] && [ -z "${RDBKEEP_API_SECRET_KEY:-}" ]; then
    echo "(./var exists: the API secret was shown on its first start; for a new one:" \
         "$bin serve --reset-api-secret)" >&2
fi
exec "$bin" serve
