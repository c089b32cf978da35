/* The rule of an import body that needs the store module: each URI must be
 * one object of its sourceType's kind (store_uri_parse names the error type:
 * DATABASE_IMPORT_S3_BAD_URI, ..._GCS_, _AZURE_, _FTP_, _HTTP_, _REDIS_).
 * Checked at once, so that a bad URI is a 400 and not a failed task. And
 * what the swap needs of the daemon's redis-server. */
#include "service/import.h"
#include "store/store.h"

#include <stdio.h>

int import_uris_check(const struct rk_import_spec *spec, struct rk_fail *f)
{
    enum store_type type;
    if (store_type_from_name(spec->source_type, &type) < 0)
        return rk_fail_set(f, 400, "DATABASE_INVALID_IMPORT_SOURCE_TYPE",
                           "sourceType: '%.40s' is not a source type", spec->source_type);
    for (size_t i = 0; i < spec->nuris; i++) {
        const char *etype = NULL;
        struct rk_err err;
        struct store_uri *u = store_uri_parse(spec->uris[i], type, STORE_URI_OBJECT, &etype, &err);
        if (!u)
            return rk_fail_set(f, 400, etype ? etype : store_type_bad_uri_error(type),
                               "importFromUri[%zu]: %s", i, err.msg);
        store_uri_free(u);
    }
    return 0;
}

bool import_swap_supported(const char *redis_version)
{
    int major = 0, minor = 0;
    return redis_version && sscanf(redis_version, "%d.%d", &major, &minor) == 2 && major >= 7;
}
