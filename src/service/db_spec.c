/* Database settings: the value rules of create and update requests, the
 * update delta stored with its task, and the resource structs' destructors. */
#include "service/internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const persistence_values[] = {
    "none",
    "aof-every-1-second",
    "aof-every-write",
    "snapshot-every-1-hour",
    "snapshot-every-6-hours",
    "snapshot-every-12-hours",
};
static const char *const eviction_values[] = {
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
    "volatile-lfu", "volatile-random", "volatile-ttl", "noeviction",
};
static const char *const import_source_types[] = {
    "aws-s3", "google-blob-storage", "azure-blob-storage", "ftp", "http", "redis",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_MEMORY_GB 1024.0

static bool one_of(const char *v, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, values[i]) == 0) return true;
    return false;
}

static void join(const char *const *values, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", values[i]);
}

/* Cloud's rule: letters, digits and hyphens, starting with a letter and
 * ending with a letter or digit, at most 40 characters. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40) return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    if (s[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static int check_memory(const char *field, double gb, struct rk_fail *f)
{
    if (!isfinite(gb) || gb <= 0 || gb > MAX_MEMORY_GB)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "%s: %g is not within (0, %g] GB", field, gb, MAX_MEMORY_GB);
    if (gb * 1073741824.0 < 1048576.0)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "%s: %g GB is less than 1 MiB, too small for a database", field, gb);
    return 0;
}

int rk_db_spec_check(const struct rk_db_spec *spec, bool create, struct rk_fail *f)
{
    char list[256];
    if (create && !spec->has_name)
        return rk_fail_set(f, 400, "MISSING_FIELD", "name: required to create a database");
    if (spec->has_name && !valid_name(spec->name))
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "name: must be 1-40 letters, digits and hyphens, start with a letter and "
                           "end with a letter or digit");
    if (spec->has_protocol && strcmp(spec->protocol, "redis") != 0)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "protocol: '%.40s' is not supported; rdbkeep runs 'redis' databases only",
                           spec->protocol);
    if (spec->has_port && (spec->port < 1024 || spec->port > 65535))
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "port: %lld is not within 1024-65535",
                           (long long)spec->port);
    if (spec->has_password) {
        size_t n = strlen(spec->password);
        if (n < 1 || n > 128)
            return rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "password: must be 1-128 characters");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)spec->password[i] < 0x21 || (unsigned char)spec->password[i] > 0x7e)
                return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                                   "password: character %zu is not printable ASCII (spaces and "
                                   "control characters are not allowed)",
                                   i + 1);
    }
    if (spec->has_memory_limit_gb && spec->has_dataset_size_gb)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "memoryLimitInGb and datasetSizeInGb: give one of them, not both");
    if (spec->has_memory_limit_gb && check_memory("memoryLimitInGb", spec->memory_limit_gb, f) < 0)
        return -1;
    if (spec->has_dataset_size_gb && check_memory("datasetSizeInGb", spec->dataset_size_gb, f) < 0)
        return -1;
    if (spec->has_data_persistence &&
        !one_of(spec->data_persistence, persistence_values, COUNT(persistence_values))) {
        join(persistence_values, COUNT(persistence_values), list, sizeof(list));
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "dataPersistence: must be one of %s", list);
    }
    if (spec->has_eviction_policy &&
        !one_of(spec->eviction_policy, eviction_values, COUNT(eviction_values))) {
        join(eviction_values, COUNT(eviction_values), list, sizeof(list));
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "dataEvictionPolicy: must be one of %s",
                           list);
    }
    if (spec->has_shards && spec->shards < 1)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "clustering.numberOfShards: %lld must be at least 1", (long long)spec->shards);
    if (spec->has_shards && spec->shards > 1)
        return rk_fail_set(f, 400, "CLUSTERING_NOT_SUPPORTED",
                           "clustering.numberOfShards: %lld shards asks for a Redis Cluster, which "
                           "this version of rdbkeep cannot run yet; use 1",
                           (long long)spec->shards);
    return 0;
}

int rk_import_spec_check(const struct rk_import_spec *spec, struct rk_fail *f)
{
    char list[256];
    if (!one_of(spec->source_type, import_source_types, COUNT(import_source_types))) {
        join(import_source_types, COUNT(import_source_types), list, sizeof(list));
        return rk_fail_set(f, 400, "DATABASE_INVALID_IMPORT_SOURCE_TYPE",
                           "sourceType: must be one of %s", list);
    }
    if (spec->nuris == 0)
        return rk_fail_set(f, 400, "DATABASE_IMPORT_URI_NOT_PROVIDED",
                           "importFromUri: give at least one URI");
    for (size_t i = 0; i < spec->nuris; i++)
        if (!spec->uris[i][0])
            return rk_fail_set(f, 400, "DATABASE_IMPORT_URI_NOT_PROVIDED",
                               "importFromUri[%zu]: empty URI", i);
    if (strcmp(spec->source_type, "redis") == 0 && spec->nuris > 1)
        return rk_fail_set(f, 400, "DATABASE_IMPORT_MULTIPLE_REDIS_SOURCES",
                           "importFromUri: sourceType redis takes exactly one URI, got %zu",
                           spec->nuris);
    for (size_t i = 0; i < spec->nuris; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->uris[i], spec->uris[j]) == 0)
                return rk_fail_set(f, 400, "DUPLICATE_DATABASE_IMPORT_SOURCE_PATH",
                                   "importFromUri[%zu] repeats importFromUri[%zu]", i, j);
    return import_uris_check(spec, f);
}

uint64_t db_maxmemory_bytes(const struct rk_db *db)
{
    return (uint64_t)llround(db->memory_limit_gb * 1073741824.0);
}

static void replace(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? xstrdup(v) : NULL;
}

static void copy_fixed(char *out, size_t outlen, const char *v)
{
    snprintf(out, outlen, "%s", v);
}

void db_spec_apply(const struct rk_db_spec *spec, struct rk_db *db)
{
    if (spec->has_name) replace(&db->name, spec->name);
    if (spec->has_protocol) copy_fixed(db->protocol, sizeof(db->protocol), spec->protocol);
    if (spec->has_port) db->port = (unsigned)spec->port;
    if (spec->has_password) replace(&db->password, spec->password);
    if (spec->has_memory_limit_gb) {
        db->memory_limit_gb = spec->memory_limit_gb;
        db->dataset_size_gb = 0;
    }
    if (spec->has_dataset_size_gb) {
        db->memory_limit_gb = spec->dataset_size_gb;
        db->dataset_size_gb = spec->dataset_size_gb;
    }
    if (spec->has_data_persistence)
        copy_fixed(db->data_persistence, sizeof(db->data_persistence), spec->data_persistence);
    if (spec->has_eviction_policy)
        copy_fixed(db->eviction_policy, sizeof(db->eviction_policy), spec->eviction_policy);
    if (spec->has_replication) db->replication = spec->replication;
    if (spec->has_shards) db->shards = (int)spec->shards;
    if (spec->has_periodic_backup_path)
        replace(&db->periodic_backup_path,
                spec->periodic_backup_path[0] ? spec->periodic_backup_path : NULL);
    if (spec->has_remote_backup)
        replace(&db->remote_backup, spec->remote_backup_active ? spec->remote_backup : NULL);
}

void db_copy(struct rk_db *dst, const struct rk_db *src)
{
    *dst = *src;
    dst->name = src->name ? xstrdup(src->name) : NULL;
    dst->password = src->password ? xstrdup(src->password) : NULL;
    dst->periodic_backup_path = src->periodic_backup_path ? xstrdup(src->periodic_backup_path) : NULL;
    dst->remote_backup = src->remote_backup ? xstrdup(src->remote_backup) : NULL;
    dst->status_reason = src->status_reason ? xstrdup(src->status_reason) : NULL;
}

/* ---- the update delta as task params ---- */

char *db_spec_to_json(const struct rk_db_spec *s)
{
    json_t *o = json_object();
    if (s->has_name) json_object_set_new(o, "name", json_string(s->name));
    if (s->has_protocol) json_object_set_new(o, "protocol", json_string(s->protocol));
    if (s->has_port) json_object_set_new(o, "port", json_integer(s->port));
    if (s->has_password) json_object_set_new(o, "password", json_string(s->password));
    if (s->has_memory_limit_gb) json_object_set_new(o, "memoryLimitInGb", json_real(s->memory_limit_gb));
    if (s->has_dataset_size_gb) json_object_set_new(o, "datasetSizeInGb", json_real(s->dataset_size_gb));
    if (s->has_data_persistence)
        json_object_set_new(o, "dataPersistence", json_string(s->data_persistence));
    if (s->has_eviction_policy)
        json_object_set_new(o, "dataEvictionPolicy", json_string(s->eviction_policy));
    if (s->has_replication) json_object_set_new(o, "replication", json_boolean(s->replication));
    if (s->has_shards) json_object_set_new(o, "numberOfShards", json_integer(s->shards));
    if (s->has_periodic_backup_path)
        json_object_set_new(o, "periodicBackupPath", json_string(s->periodic_backup_path));
    if (s->has_remote_backup) {
        json_object_set_new(o, "remoteBackup", json_string(s->remote_backup));
        json_object_set_new(o, "remoteBackupActive", json_boolean(s->remote_backup_active));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) rk_panic("cannot serialise a database update");
    char *out = xstrdup(text);
    free(text);
    return out;
}

static bool get_str(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) return false;
    *out = xstrdup(json_string_value(v));
    return true;
}

int db_spec_from_json(const char *text, struct rk_db_spec *s, struct rk_err *err)
{
    memset(s, 0, sizeof(*s));
    json_error_t je;
    json_t *o = json_loads(text ? text : "", 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return rk_err_set(err, "stored update is not a JSON object: %s", je.text);
    }
    json_t *v;
    s->has_name = get_str(o, "name", &s->name);
    s->has_protocol = get_str(o, "protocol", &s->protocol);
    if ((v = json_object_get(o, "port"))) s->has_port = true, s->port = json_integer_value(v);
    s->has_password = get_str(o, "password", &s->password);
    if ((v = json_object_get(o, "memoryLimitInGb")))
        s->has_memory_limit_gb = true, s->memory_limit_gb = json_number_value(v);
    if ((v = json_object_get(o, "datasetSizeInGb")))
        s->has_dataset_size_gb = true, s->dataset_size_gb = json_number_value(v);
    s->has_data_persistence = get_str(o, "dataPersistence", &s->data_persistence);
    s->has_eviction_policy = get_str(o, "dataEvictionPolicy", &s->eviction_policy);
    if ((v = json_object_get(o, "replication"))) s->has_replication = true, s->replication = json_is_true(v);
    if ((v = json_object_get(o, "numberOfShards"))) s->has_shards = true, s->shards = json_integer_value(v);
    s->has_periodic_backup_path = get_str(o, "periodicBackupPath", &s->periodic_backup_path);
    s->has_remote_backup = get_str(o, "remoteBackup", &s->remote_backup);
    s->remote_backup_active = json_is_true(json_object_get(o, "remoteBackupActive"));
    json_decref(o);
    return 0;
}

/* ---- destructors ---- */

void rk_db_spec_clear(struct rk_db_spec *s)
{
    free(s->name);
    free(s->protocol);
    free(s->password);
    free(s->data_persistence);
    free(s->eviction_policy);
    free(s->periodic_backup_path);
    free(s->remote_backup);
    free(s->redis_version);
    memset(s, 0, sizeof(*s));
}

void rk_import_spec_clear(struct rk_import_spec *s)
{
    free(s->source_type);
    for (size_t i = 0; i < s->nuris; i++) free(s->uris[i]);
    free(s->uris);
    memset(s, 0, sizeof(*s));
}

void rk_db_clear(struct rk_db *db)
{
    free(db->name);
    free(db->password);
    free(db->periodic_backup_path);
    free(db->remote_backup);
    free(db->status_reason);
    memset(db, 0, sizeof(*db));
}

void rk_subscription_clear(struct rk_subscription *s)
{
    free(s->name);
    memset(s, 0, sizeof(*s));
}

void rk_task_clear(struct rk_task *t)
{
    free(t->description);
    free(t->resource);
    free(t->error_type);
    free(t->error_status);
    free(t->error_description);
    memset(t, 0, sizeof(*t));
}

void rk_backup_clear(struct rk_backup *b)
{
    free(b->destination);
    free(b->redis_version);
    free(b->sha256);
    free(b->files);
    free(b->manifest);
    free(b->error);
    memset(b, 0, sizeof(*b));
}
