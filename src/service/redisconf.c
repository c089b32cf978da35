/* redis.conf for one redis-server of a database. Rewritten before every start
 * from the catalog, so the catalog stays the one source of the settings. */
#include "service/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A double-quoted value as redis.conf's parser (sdssplitargs) reads it. */
static void quoted(struct rk_buf *b, const char *s)
{
    rk_buf_append_byte(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') rk_buf_append_byte(b, '\\');
        rk_buf_append_byte(b, (unsigned char)*s);
    }
    rk_buf_append_byte(b, '"');
}

static void directive(struct rk_buf *b, const char *name, const char *value)
{
    rk_buf_printf(b, "%s ", name);
    quoted(b, value);
    rk_buf_append_byte(b, '\n');
}

struct redis_persistence redisconf_persistence(const char *p)
{
    struct redis_persistence ps = {
        .save = strcmp(p, "snapshot-every-1-hour") == 0     ? "3600 1"
                : strcmp(p, "snapshot-every-6-hours") == 0  ? "21600 1"
                : strcmp(p, "snapshot-every-12-hours") == 0 ? "43200 1"
                                                            : "",
        .appendonly = strncmp(p, "aof-", 4) == 0 ? "yes" : "no",
        .appendfsync = strcmp(p, "aof-every-write") == 0 ? "always" : "everysec",
    };
    return ps;
}

char *redisconf_render(const struct redis_instance *in)
{
    const struct rk_db *db = in->db;
    struct rk_buf b = {0};
    char path[4096];
    rk_buf_printf(&b,
                  "# Written by rdbkeep for database %lld (%s) before every start.\n"
                  "# Change the database through the API: edits here are overwritten.\n",
                  (long long)db->id, in->primary_port ? "replica" : "primary");
    rk_buf_printf(&b, "port %u\n", in->port);
    directive(&b, "bind", in->bind);
    rk_buf_printf(&b, "protected-mode no\ndaemonize no\n");
    directive(&b, "dir", in->dir);
    snprintf(path, sizeof(path), "%s/redis.pid", in->dir);
    directive(&b, "pidfile", path);
    snprintf(path, sizeof(path), "%s/redis.log", in->dir);
    directive(&b, "logfile", in->logfile ? in->logfile : path);
    directive(&b, "dbfilename", "dump.rdb");
    directive(&b, "requirepass", db->password);
    /* A replica authenticates to its primary, and the primary to its replica
     * after a role swap, with the database's one password. */
    directive(&b, "masterauth", db->password);
    rk_buf_printf(&b, "maxmemory %" PRIu64 "\n", db_maxmemory_bytes(db));
    rk_buf_printf(&b, "maxmemory-policy %s\n", db->eviction_policy);

    struct redis_persistence ps = redisconf_persistence(db->data_persistence);
    rk_buf_printf(&b, "appendonly %s\n", ps.appendonly);
    rk_buf_printf(&b, "appendfsync %s\n", ps.appendfsync);
    rk_buf_printf(&b, "save %s\n", ps.save[0] ? ps.save : "\"\"");
    /* A backup is a replication snapshot: start it at once rather than wait
     * the default 5 s for other replicas to share the transfer. */
    rk_buf_printf(&b, "repl-diskless-sync-delay 0\n");
    if (in->primary_port) {
        rk_buf_printf(&b, "replicaof ");
        quoted(&b, in->bind);
        rk_buf_printf(&b, " %u\n", in->primary_port);
    }
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

int redisconf_write(const char *path, const struct redis_instance *in, struct rk_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    char *text = redisconf_render(in);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(text);
        return rk_err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(text);
            return rk_err_set(err, "%s: write failed: %s", tmp, strerror(e));
        }
        off += (size_t)n;
    }
    free(text);
    if (fsync(fd) < 0 || close(fd) < 0) {
        unlink(tmp);
        return rk_err_set(err, "%s: cannot flush: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return rk_err_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return 0;
}
