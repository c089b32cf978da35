#!/usr/bin/env bash
# Backup failures whose outcome is ambiguous: an FTP server (pyftpdlib) that
# renames a file into place and then drops the connection instead of
# answering, so the daemon sees a failed write of an object that exists:
# the manifest (under lost/) or the shard's file (under lostshard/). The task
# must fail and leave neither a manifest naming files that are gone nor a
# shard file; the FTP password stays out of the task and the log.
# timeout: 120
source "$(dirname "$0")/../lib/common.sh"
source "$RDBKEEP_SRC/tests/lib/daemon.sh"
source "$RDBKEEP_SRC/tests/lib/backup.sh"

FTP_USER=backup
FTP_PASS='lost-reply-s3cret'
FTP_DIR=$RK_TMP/ftp
mkdir -p "$FTP_DIR"
cat >"$RK_TMP/ftpd_lost_reply.py" <<'EOF'
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


class LostReply(FTPHandler):
    """The rename is done, its answer never sent: for manifests under lost/
    and shard files under lostshard/."""

    def ftp_RNTO(self, path):
        lose = (path.endswith(".manifest.json") and "/lost/" in path) or (
            path.endswith(".rdb.gz") and "/lostshard/" in path)
        if not lose or not self._rnfr:
            return super().ftp_RNTO(path)
        src, self._rnfr = self._rnfr, None
        self.run_as_current_user(self.fs.rename, src, path)
        with open(sys.argv[5], "a") as log:
            log.write(path + "\n")
        self.close()


auth = DummyAuthorizer()
auth.add_user(sys.argv[3], sys.argv[4], sys.argv[2], perm="elradfmwMT")
LostReply.authorizer = auth
FTPServer(("127.0.0.1", int(sys.argv[1])), LostReply).serve_forever()
EOF
FTP_PORT=$(rk_free_port)
# Debian's pyftpdlib is importable only by the system python.
/usr/bin/python3 "$RK_TMP/ftpd_lost_reply.py" "$FTP_PORT" "$FTP_DIR" "$FTP_USER" "$FTP_PASS" \
    "$RK_TMP/renamed" >"$RK_TMP/ftpd.log" 2>&1 &
rk_track_pid $!
rk_wait_port "$FTP_PORT" 30

rk_daemon_config "$RK_TMP/d"
rk_daemon_start
SUB=$(rk_create_sub failures)
DBS=/v1/subscriptions/$SUB/databases
PW=Pw-failures-1
DB=$(rk_create_db "$SUB" "{\"name\": \"lost\", \"password\": \"$PW\"}")
PORT=$(rk_db_field "$SUB" "$DB" .publicEndpoint | cut -d: -f2)
rk_wait_redis "$PORT" "$PW"
bk_fill "$PORT" "$PW" 2000

rk_log "the manifest's write fails after it was renamed into place"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"ftp://$FTP_USER:$FTP_PASS@127.0.0.1:$FTP_PORT/lost\"}"
rk_check_eq "backup whose manifest reply was lost" processing-error "$RK_TASK_STATUS"
rk_check_eq "error type" DATABASE_BACKUP_FAILED "$(jqb .response.error.type)"
desc=$(jqb .response.error.description)
rk_check_contains "the error names the manifest" "manifest could not be written" "$desc"
rk_check_not_contains "the FTP password is not in the error" "$FTP_PASS" "$desc"
# The server did put a manifest in place (so this tests the cleanup, not a
# write that never happened) ...
renamed=$(sort -u "$RK_TMP/renamed" 2>/dev/null | wc -l)
if [ "$renamed" -ge 1 ]; then rk_pass; else rk_fail "the FTP server renamed no manifest into place"; fi
# ... and nothing of the backup is left: no manifest, no shard file.
rk_check_eq "no manifest left" 0 "$(find "$FTP_DIR/lost" -name '*.manifest.json' | wc -l)"
rk_check_eq "no shard file left" 0 "$(find "$FTP_DIR/lost" -name '*.rdb.gz' | wc -l)"
api GET "$DBS/$DB/backups"
rk_check_eq "catalog: failed" failed "$(jqb '.backups[0].status')"

rk_log "the shard file's write fails after it was renamed into place"
: >"$RK_TMP/renamed"
bk_backup "$SUB" "$DB" "{\"adhocBackupPath\": \"ftp://$FTP_USER:$FTP_PASS@127.0.0.1:$FTP_PORT/lostshard\"}"
rk_check_eq "backup whose shard reply was lost" processing-error "$RK_TASK_STATUS"
rk_check_contains "retried" "after 4 attempts" "$(jqb .response.error.description)"
rk_check_not_contains "the FTP password is not in the error" "$FTP_PASS" "$(jqb .response.error.description)"
if grep -q 'rdb.gz$' "$RK_TMP/renamed"; then rk_pass; else rk_fail "the FTP server renamed no shard file into place"; fi
rk_check_eq "no shard file left" 0 "$(find "$FTP_DIR/lostshard" -name '*.rdb.gz' | wc -l)"
rk_check_eq "no manifest written" 0 "$(find "$FTP_DIR/lostshard" -name '*.manifest.json' | wc -l)"

log=$(cat "$RK_DAEMON_DIR/daemon.log")
rk_check_not_contains "the FTP password is not logged" "$FTP_PASS" "$log"
rk_daemon_stop
rk_check_eq "clean exit" 0 "$RK_DAEMON_RC"
rk_finish
