/* Request bodies: JSON into the service's structs. Unknown fields are
 * ignored (clients send many Cloud fields rdbkeep has no use for), null is
 * the same as absent, and a known field of the wrong type is a 400 that
 * names the field and both types. */
#include "api/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMPORT_URIS 1000

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* Nesting depth, found before jansson parses the body so that the error
 * names the byte where the limit is passed. */
static int check_depth(const char *body, size_t len, unsigned max_depth, struct rk_fail *f)
{
    unsigned depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return rk_fail_set(f, 400, "INVALID_JSON",
                                   "JSON nested deeper than %u levels at byte offset %zu", max_depth, i);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int rk_api_parse_json(const char *body, size_t len, unsigned max_depth, bool allow_empty, void **out,
                      struct rk_fail *f)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) i++;
    if (i == len) {
        if (allow_empty) return 0;
        return rk_fail_set(f, 400, "INVALID_JSON", "this request needs a JSON object as its body");
    }
    if (check_depth(body, len, max_depth, f) < 0) return -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return rk_fail_set(f, 400, "INVALID_JSON", "malformed JSON at byte offset %d (line %d, column %d): %s",
                           je.position, je.line, je.column, je.text);
    if (!json_is_object(root)) {
        const char *t = type_name(root);
        json_decref(root);
        return rk_fail_set(f, 400, "INVALID_JSON", "the body must be a JSON object, not %s", t);
    }
    *out = root;
    return 0;
}

/* Field getters: 0 with *has false when absent or null; -1 on a wrong type. */

static json_t *field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int wrong_type(struct rk_fail *f, const char *path, const char *want, const json_t *v)
{
    return rk_fail_set(f, 400, "INVALID_FIELD_TYPE", "%s: expected %s, got %s", path, want, type_name(v));
}

static int get_string(json_t *o, const char *key, const char *path, bool *has, char **out,
                      struct rk_fail *f)
{
    json_t *v = field(o, key);
    *has = false;
    if (!v) return 0;
    if (!json_is_string(v)) return wrong_type(f, path, "a string", v);
    *out = xstrdup(json_string_value(v));
    *has = true;
    return 0;
}

static int get_number(json_t *o, const char *key, bool *has, double *out, struct rk_fail *f)
{
    json_t *v = field(o, key);
    *has = false;
    if (!v) return 0;
    if (!json_is_number(v)) return wrong_type(f, key, "a number", v);
    *out = json_number_value(v);
    *has = true;
    return 0;
}

static int get_integer(json_t *o, const char *key, const char *path, bool *has, int64_t *out,
                       struct rk_fail *f)
{
    json_t *v = field(o, key);
    *has = false;
    if (!v) return 0;
    if (!json_is_integer(v)) return wrong_type(f, path, "an integer", v);
    *out = json_integer_value(v);
    *has = true;
    return 0;
}

static int get_bool(json_t *o, const char *key, const char *path, bool *has, bool *out,
                    struct rk_fail *f)
{
    json_t *v = field(o, key);
    *has = false;
    if (!v) return 0;
    if (!json_is_boolean(v)) return wrong_type(f, path, "a boolean", v);
    *out = json_is_true(v);
    *has = true;
    return 0;
}

static int get_object(json_t *o, const char *key, const char *path, json_t **out, struct rk_fail *f)
{
    json_t *v = field(o, key);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_object(v)) return wrong_type(f, path, "an object", v);
    *out = v;
    return 0;
}

/* remoteBackup: the known fields with their types, re-serialised compactly
 * so the catalog keeps only what rdbkeep understands. */
static int parse_remote_backup(json_t *rb, struct rk_db_spec *spec, struct rk_fail *f)
{
    static const char *const strings[] = {"interval", "timeUTC", "storageType", "storagePath"};
    json_t *clean = json_object();
    bool has, active = true;
    if (get_bool(rb, "active", "remoteBackup.active", &has, &active, f) < 0) goto fail;
    if (has) json_object_set_new(clean, "active", json_boolean(active));
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        char path[64], *value = NULL;
        snprintf(path, sizeof(path), "remoteBackup.%s", strings[i]);
        if (get_string(rb, strings[i], path, &has, &value, f) < 0) goto fail;
        if (has) json_object_set_new(clean, strings[i], json_string(value));
        free(value);
    }
    json_t *retention;
    if (get_object(rb, "retention", "remoteBackup.retention", &retention, f) < 0) goto fail;
    if (retention) {
        json_t *r = json_object();
        json_object_set_new(clean, "retention", r);
        int64_t n;
        if (get_integer(retention, "keepLast", "remoteBackup.retention.keepLast", &has, &n, f) < 0) goto fail;
        if (has) json_object_set_new(r, "keepLast", json_integer(n));
        if (get_integer(retention, "maxAgeDays", "remoteBackup.retention.maxAgeDays", &has, &n, f) < 0)
            goto fail;
        if (has) json_object_set_new(r, "maxAgeDays", json_integer(n));
    }
    char *text = json_dumps(clean, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) rk_panic("cannot serialise remoteBackup");
    spec->remote_backup = xstrdup(text);
    free(text);
    spec->has_remote_backup = true;
    spec->remote_backup_active = active;
    json_decref(clean);
    return 0;
fail:
    json_decref(clean);
    return -1;
}

static int parse_db_fields(json_t *o, bool create, struct rk_db_spec *s, struct rk_fail *f)
{
    bool has;
    bool dry_run = false;
    json_t *obj;
    if (get_string(o, "name", "name", &s->has_name, &s->name, f) < 0 ||
        get_string(o, "protocol", "protocol", &s->has_protocol, &s->protocol, f) < 0 ||
        get_integer(o, "port", "port", &s->has_port, &s->port, f) < 0 ||
        get_string(o, "password", "password", &s->has_password, &s->password, f) < 0 ||
        get_number(o, "memoryLimitInGb", &s->has_memory_limit_gb, &s->memory_limit_gb, f) < 0 ||
        get_number(o, "datasetSizeInGb", &s->has_dataset_size_gb, &s->dataset_size_gb, f) < 0 ||
        get_string(o, "dataPersistence", "dataPersistence", &s->has_data_persistence,
                   &s->data_persistence, f) < 0 ||
        get_string(o, "dataEvictionPolicy", "dataEvictionPolicy", &s->has_eviction_policy,
                   &s->eviction_policy, f) < 0 ||
        get_bool(o, "replication", "replication", &s->has_replication, &s->replication, f) < 0 ||
        get_string(o, "periodicBackupPath", "periodicBackupPath", &s->has_periodic_backup_path,
                   &s->periodic_backup_path, f) < 0 ||
        get_string(o, "redisVersion", "redisVersion", &s->has_redis_version, &s->redis_version, f) < 0 ||
        get_bool(o, "dryRun", "dryRun", &has, &dry_run, f) < 0)
        return -1;
    if (dry_run)
        return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                           "dryRun: true is not supported; rdbkeep has no pricing to show");
    if (get_object(o, "clustering", "clustering", &obj, f) < 0) return -1;
    if (obj && get_integer(obj, "numberOfShards", "clustering.numberOfShards", &s->has_shards,
                           &s->shards, f) < 0)
        return -1;
    if (get_object(o, "remoteBackup", "remoteBackup", &obj, f) < 0) return -1;
    if (obj && parse_remote_backup(obj, s, f) < 0) return -1;
    (void)create;
    return 0;
}

int rk_api_parse_db_body(const char *body, size_t len, unsigned max_depth, bool create,
                         struct rk_db_spec *spec, struct rk_fail *f)
{
    memset(spec, 0, sizeof(*spec));
    void *root;
    if (rk_api_parse_json(body, len, max_depth, false, &root, f) < 0) return -1;
    int rc = parse_db_fields(root, create, spec, f);
    json_decref(root);
    if (rc == 0) rc = rk_db_spec_check(spec, create, f);
    if (rc < 0) rk_db_spec_clear(spec);
    return rc;
}

int rk_api_parse_import_body(const char *body, size_t len, unsigned max_depth,
                             struct rk_import_spec *spec, struct rk_fail *f)
{
    memset(spec, 0, sizeof(*spec));
    void *v;
    if (rk_api_parse_json(body, len, max_depth, false, &v, f) < 0) return -1;
    json_t *root = v;
    int rc = -1;
    bool has;
    if (get_string(root, "sourceType", "sourceType", &has, &spec->source_type, f) < 0) goto done;
    if (!has) {
        rk_fail_set(f, 400, "DATABASE_INVALID_IMPORT_SOURCE_TYPE", "sourceType: required");
        goto done;
    }
    json_t *uris = field(root, "importFromUri");
    if (!uris) {
        rk_fail_set(f, 400, "DATABASE_IMPORT_URI_NOT_PROVIDED", "importFromUri: required");
        goto done;
    }
    if (!json_is_array(uris)) {
        wrong_type(f, "importFromUri", "an array of strings", uris);
        goto done;
    }
    size_t n = json_array_size(uris);
    if (n > MAX_IMPORT_URIS) {
        rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "importFromUri: %zu URIs, at most %d", n,
                    MAX_IMPORT_URIS);
        goto done;
    }
    spec->uris = xcalloc(n ? n : 1, sizeof(*spec->uris));
    for (size_t i = 0; i < n; i++) {
        json_t *u = json_array_get(uris, i);
        if (!json_is_string(u)) {
            char path[48];
            snprintf(path, sizeof(path), "importFromUri[%zu]", i);
            wrong_type(f, path, "a string", u);
            goto done;
        }
        spec->uris[spec->nuris++] = xstrdup(json_string_value(u));
    }
    rc = rk_import_spec_check(spec, f);
done:
    json_decref(root);
    if (rc < 0) rk_import_spec_clear(spec);
    return rc;
}

int rk_api_parse_backup_body(const char *body, size_t len, unsigned max_depth, char **adhoc_path,
                             struct rk_fail *f)
{
    *adhoc_path = NULL;
    void *root;
    if (rk_api_parse_json(body, len, max_depth, true, &root, f) < 0) return -1;
    if (!root) return 0;
    bool has;
    int rc = get_string(root, "adhocBackupPath", "adhocBackupPath", &has, adhoc_path, f);
    json_decref(root);
    return rc;
}

int rk_api_parse_subscription_body(const char *body, size_t len, unsigned max_depth, char **name,
                                   struct rk_fail *f)
{
    *name = NULL;
    void *root;
    if (rk_api_parse_json(body, len, max_depth, true, &root, f) < 0) return -1;
    if (!root) return 0;
    bool has, dry_run = false;
    int rc = get_string(root, "name", "name", &has, name, f);
    if (rc == 0) rc = get_bool(root, "dryRun", "dryRun", &has, &dry_run, f);
    if (rc == 0 && dry_run)
        rc = rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                         "dryRun: true is not supported; rdbkeep has no pricing to show");
    json_decref(root);
    if (rc < 0) {
        free(*name);
        *name = NULL;
    }
    return rc;
}
