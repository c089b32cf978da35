/* Backup names and the manifest that makes a backup complete. */
#include "service/backup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *backup_stem(const char *db_name, int64_t db_id, uint64_t started_ms)
{
    time_t secs = (time_t)(started_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", &tm);
    return xasprintf("%.30s-%lld-%s.%03uZ", db_name, (long long)db_id, ts,
                     (unsigned)(started_ms % 1000));
}

char *backup_file_name(const char *stem, unsigned i, unsigned n)
{
    return xasprintf("%s-%u_of_%u.rdb.gz", stem, i, n);
}

char *backup_manifest_name(const char *stem)
{
    return xasprintf("%s.manifest.json", stem);
}

static json_t *iso_time(uint64_t ms)
{
    char ts[32];
    rk_format_iso8601(ms, ts, sizeof(ts));
    return json_string(ts);
}

static json_t *file_json(const struct backup_file *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(f->name));
    json_object_set_new(o, "shard", json_integer(f->shard));
    json_object_set_new(o, "shards", json_integer(f->shards));
    json_object_set_new(o, "sizeBytes", json_integer((json_int_t)f->size_bytes));
    json_object_set_new(o, "rdbBytes", json_integer((json_int_t)f->rdb_bytes));
    json_object_set_new(o, "keys", json_integer((json_int_t)f->keys));
    json_object_set_new(o, "rdbVersion", json_integer(f->rdb_version));
    json_object_set_new(o, "sha256", json_string(f->sha256));
    return o;
}

static char *dump(json_t *v, size_t flags)
{
    char *text = json_dumps(v, flags);
    json_decref(v);
    if (!text) rk_panic("cannot serialise backup JSON");
    char *out = xstrdup(text);
    free(text);
    return out;
}

char *backup_manifest_render(const struct backup_manifest *m)
{
    json_t *o = json_object();
    uint64_t size = 0, keys = 0;
    json_t *files = json_array();
    for (size_t i = 0; i < m->nfiles; i++) {
        json_array_append_new(files, file_json(&m->files[i]));
        size += m->files[i].size_bytes;
        keys += m->files[i].keys;
    }
    json_object_set_new(o, "format", json_string("rdbkeep-backup-manifest"));
    json_object_set_new(o, "formatVersion", json_integer(1));
    json_object_set_new(o, "databaseId", json_integer(m->database_id));
    json_object_set_new(o, "subscriptionId", json_integer(m->subscription_id));
    json_object_set_new(o, "databaseName", json_string(m->database_name));
    json_object_set_new(o, "taskId", json_string(m->task_id));
    json_object_set_new(o, "backup", json_string(m->stem));
    json_object_set_new(o, "trigger", json_string(m->scheduled ? "schedule" : "request"));
    json_object_set_new(o, "startedAt", iso_time(m->started_ms));
    json_object_set_new(o, "finishedAt", iso_time(m->finished_ms));
    json_object_set_new(o, "durationMs", json_integer((json_int_t)(m->finished_ms - m->started_ms)));
    json_object_set_new(o, "sourceRedisVersion", json_string(m->redis_version ? m->redis_version : ""));
    json_object_set_new(o, "sourceServer", json_string(m->server ? m->server : ""));
    json_object_set_new(o, "rdbVersion", json_integer(m->nfiles ? m->files[0].rdb_version : 0));
    json_object_set_new(o, "compression", json_string("gzip"));
    json_object_set_new(o, "shards", json_integer((json_int_t)m->nfiles));
    json_object_set_new(o, "totalSizeBytes", json_integer((json_int_t)size));
    json_object_set_new(o, "totalKeys", json_integer((json_int_t)keys));
    json_object_set_new(o, "files", files);
    char *text = dump(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *out = xasprintf("%s\n", text);
    free(text);
    return out;
}

char *backup_files_json(const struct backup_file *files, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, file_json(&files[i]));
    return dump(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

char **backup_files_names(const char *files_json, size_t *n)
{
    *n = 0;
    json_t *a = files_json ? json_loads(files_json, 0, NULL) : NULL;
    size_t count = json_array_size(a);
    char **names = xcalloc(count ? count : 1, sizeof(*names));
    for (size_t i = 0; i < count; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(a, i), "name"));
        if (name && name[0]) names[(*n)++] = xstrdup(name);
    }
    json_decref(a);
    return names;
}

void backup_file_clear(struct backup_file *f)
{
    free(f->name);
    memset(f, 0, sizeof(*f));
}
