#!/usr/bin/env bash
# The README's walkthrough ("Using the daemon"), run as written against a test
# daemon: the only changes are the ones a reader makes (the keys the daemon
# printed, and here its port, a backup directory and an HTTP port of the
# test's own). Keeps the README true: a step that stops working fails here.
# timeout: 180
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"

readme=$RDBKEEP_SRC/README.md
# The first sh block after the heading.
awk '/^## Using the daemon/ {on = 1; next}
     on && /^```sh$/ {inblock = 1; next}
     inblock && /^```$/ {exit}
     inblock {print}' "$readme" >"$RK_TMP/walkthrough.raw"
rk_check_contains "the README has the walkthrough" "wait_task" "$(cat "$RK_TMP/walkthrough.raw")"

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
HTTP_PORT=$(rk_free_port)
BACKUPS=$RK_TMP/backups

# What a reader substitutes, each of which must be found (a README that
# changed its own text should change this test too).
for s in 'export KEY=' 'http://127.0.0.1:8080/v1' '/tmp/rdbkeep-backups' '8089'; do
    rk_check_contains "the walkthrough uses $s" "$s" "$(cat "$RK_TMP/walkthrough.raw")"
done
sed -e "s|^export KEY=.*|export KEY=$RK_KEY SECRET=$RK_SECRET|" \
    -e "s|http://127.0.0.1:8080/v1|$RK_API/v1|g" \
    -e "s|/tmp/rdbkeep-backups|$BACKUPS|g" \
    -e "s|8089|$HTTP_PORT|g" \
    "$RK_TMP/walkthrough.raw" >"$RK_TMP/walkthrough.sh"

rk_log "running the walkthrough"
rc=0
(cd "$RK_TMP" && bash -e -o pipefail "$RK_TMP/walkthrough.sh") >"$RK_TMP/out" 2>"$RK_TMP/err" || rc=$?
out=$(cat "$RK_TMP/out")
err=$(cat "$RK_TMP/err")
[ "$rc" -eq 0 ] || { echo "--- stdout"; cat "$RK_TMP/out"; echo "--- stderr"; cat "$RK_TMP/err"; } >&2
rk_check_eq "the walkthrough runs to its end" 0 "$rc"
rk_check_eq "nothing on stderr" "" "$err"
rk_check_contains "redis-cli SET answered" "OK" "$out"
rk_check_contains "the backup is listed as succeeded" '"status": "succeeded"' "$out"
rk_check_eq "one backup file and its manifest" "1 1" \
    "$(ls "$BACKUPS"/*.rdb.gz | wc -l) $(ls "$BACKUPS"/*.manifest.json | wc -l)"
vrc=0
"$RDBKEEP_BIN" rdb verify "$BACKUPS"/*.rdb.gz || vrc=$?
rk_check_eq "the backup verifies" 0 "$vrc"
# The import put back the value the backup held, over the one set after it.
rk_check_eq "the import restored the backed-up value (GET greeting)" hello \
    "$(grep -x -e hello -e changed "$RK_TMP/out" || true)"
rk_check_contains "the import status says imported" '"imported"' "$out"

api GET /v1/subscriptions
rk_check_eq "the walkthrough cleaned up after itself" 0 "$(jqb '.subscriptions | length')"
rk_daemon_stop
rk_check_eq "clean exit" 0 "$RK_DAEMON_RC"
rk_finish
