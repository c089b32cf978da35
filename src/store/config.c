/* store_config: defaults, the environment, and freeing. The one piece of
 * mutable state a config carries is its OAuth token cache (gcs_auth.c), which
 * is owned by the config, not by the process. */
#include "store/store_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void store_config_init(struct store_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = 10000;
    cfg->low_speed_time_s = 60;
    cfg->low_speed_limit = 1;
    cfg->part_size = 16u << 20;
    cfg->single_put_limit = 5ull << 30;
    cfg->max_retries = 4;
    cfg->retry_base_ms = 500;
    cfg->cache = store_cache_new();
}

static void set_from_env(char **field, const char *name)
{
    const char *v = getenv(name);
    if (v && *v) {
        free(*field);
        *field = xstrdup(v);
    }
}

/* Sizes accept a plain byte count or a K/M/G (KiB/MiB/GiB) suffix. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1u << 10, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1u << 20, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1u << 30, end++;
    if (mul > 1 && (*end == 'i' || *end == 'I')) end++;
    if (mul > 1 && (*end == 'B' || *end == 'b')) end++;
    if (*end || v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

int store_parse_size(const char *s, uint64_t *out)
{
    return parse_size(s, out);
}

static int size_from_env(uint64_t *field, const char *name, uint64_t min, struct rk_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    uint64_t n;
    if (parse_size(v, &n) < 0 || n < min)
        return rk_err_set(err, "%s='%s' is not a size of at least %llu bytes", name, v,
                          (unsigned long long)min);
    *field = n;
    return 0;
}

static int long_from_env(long *field, const char *name, long min, struct rk_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    int64_t n;
    if (rk_parse_i64(v, &n) < 0 || n < min || n > 86400000)
        return rk_err_set(err, "%s='%s' is not a number from %ld", name, v, min);
    *field = (long)n;
    return 0;
}

int store_config_from_env(struct store_config *cfg, struct rk_err *err)
{
    store_config_init(cfg);
    set_from_env(&cfg->s3.access_key_id, "AWS_ACCESS_KEY_ID");
    set_from_env(&cfg->s3.secret_access_key, "AWS_SECRET_ACCESS_KEY");
    set_from_env(&cfg->s3.session_token, "AWS_SESSION_TOKEN");
    set_from_env(&cfg->s3.region, "AWS_DEFAULT_REGION");
    set_from_env(&cfg->s3.region, "AWS_REGION");
    set_from_env(&cfg->s3.endpoint, "AWS_ENDPOINT_URL_S3");
    set_from_env(&cfg->s3.endpoint, "AWS_ENDPOINT_URL");
    const char *ps = getenv("AWS_S3_FORCE_PATH_STYLE");
    if (ps && (!strcmp(ps, "1") || !strcasecmp(ps, "true"))) cfg->s3.path_style = true;
    set_from_env(&cfg->gcs.credentials_file, "GOOGLE_APPLICATION_CREDENTIALS");
    set_from_env(&cfg->gcs.hmac_access_id, "GCS_HMAC_ACCESS_ID");
    set_from_env(&cfg->gcs.hmac_secret, "GCS_HMAC_SECRET");
    set_from_env(&cfg->gcs.endpoint, "GCS_ENDPOINT_URL");
    set_from_env(&cfg->azure.key, "AZURE_STORAGE_KEY");
    set_from_env(&cfg->azure.sas_token, "AZURE_STORAGE_SAS_TOKEN");
    set_from_env(&cfg->azure.endpoint, "AZURE_STORAGE_ENDPOINT");
    set_from_env(&cfg->ca_file, "RDBKEEP_CA_FILE");
    if (size_from_env(&cfg->part_size, "RDBKEEP_STORE_PART_SIZE", 5u << 20, err) < 0 ||
        size_from_env(&cfg->single_put_limit, "RDBKEEP_STORE_SINGLE_PUT_LIMIT", 1, err) < 0 ||
        long_from_env(&cfg->connect_timeout_ms, "RDBKEEP_STORE_CONNECT_TIMEOUT_MS", 1, err) < 0 ||
        long_from_env(&cfg->low_speed_time_s, "RDBKEEP_STORE_LOW_SPEED_TIME", 1, err) < 0) {
        store_config_free(cfg);
        store_config_init(cfg);
        return -1;
    }
    return 0;
}

static void free_secret(char **s)
{
    if (*s) {
        memset(*s, 0, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void store_config_free(struct store_config *cfg)
{
    free(cfg->s3.access_key_id);
    free_secret(&cfg->s3.secret_access_key);
    free_secret(&cfg->s3.session_token);
    free(cfg->s3.region);
    free(cfg->s3.endpoint);
    free(cfg->gcs.credentials_file);
    free(cfg->gcs.hmac_access_id);
    free_secret(&cfg->gcs.hmac_secret);
    free(cfg->gcs.endpoint);
    free_secret(&cfg->azure.key);
    free_secret(&cfg->azure.sas_token);
    free(cfg->azure.endpoint);
    free(cfg->ca_file);
    store_cache_free(cfg->cache);
    memset(cfg, 0, sizeof(*cfg));
}

int store_global_init(struct rk_err *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return rk_err_set(err, "libcurl initialisation failed: %s", curl_easy_strerror(rc));
    return 0;
}

void store_global_cleanup(void)
{
    curl_global_cleanup();
}
