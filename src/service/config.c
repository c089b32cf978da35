/* The daemon's configuration: embedded defaults, a "key = value" file, the
 * environment, then command-line flags, each overriding the one before. */
#include "service/service.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_SECRET, CFG_UINT, CFG_SIZE, CFG_BOOL, CFG_DOUBLE, CFG_PORTS, CFG_LOGLEVEL };

struct cfg_key {
    const char *key;
    enum cfg_type type;
    size_t offset;
    const char *def;
};

#define CFG_ENTRY_(type, field, key, def, doc) {key, CFG_##type, offsetof(struct rk_config, field), def},
static const struct cfg_key cfg_keys[] = {RK_CONFIG_KEYS(CFG_ENTRY_)};
#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const struct cfg_key *find_key(const char *key, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(cfg_keys[i].key) == len && memcmp(cfg_keys[i].key, key, len) == 0)
            return &cfg_keys[i];
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) return *out = true, 0;
        if (strcmp(v, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

/* Sets one key from text; the message says what is wrong with the value. */
static int set_value(struct rk_config *cfg, const struct cfg_key *k, const char *v, struct rk_err *err)
{
    void *slot = (char *)cfg + k->offset;
    uint64_t u;
    switch (k->type) {
    case CFG_STR:
    case CFG_SECRET: {
        char **s = slot;
        free(*s);
        *s = xstrdup(v);
        return 0;
    }
    case CFG_UINT:
        if (rk_parse_u64(v, &u) < 0 || u > UINT_MAX)
            return rk_err_set(err, "%s: '%s' is not a whole number", k->key, v);
        *(unsigned *)slot = (unsigned)u;
        return 0;
    case CFG_SIZE:
        if (rk_parse_u64(v, &u) < 0) return rk_err_set(err, "%s: '%s' is not a number of bytes", k->key, v);
        *(uint64_t *)slot = u;
        return 0;
    case CFG_BOOL:
        if (parse_bool(v, slot) < 0) return rk_err_set(err, "%s: '%s' is not true or false", k->key, v);
        return 0;
    case CFG_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(d) || d <= 0)
            return rk_err_set(err, "%s: '%s' is not a positive number", k->key, v);
        *(double *)slot = d;
        return 0;
    }
    case CFG_PORTS: {
        const char *dash = strchr(v, '-');
        char first[16], last[16];
        uint64_t a, b;
        if (!dash || (size_t)(dash - v) >= sizeof(first) || strlen(dash + 1) >= sizeof(last))
            return rk_err_set(err, "%s: '%s' is not FIRST-LAST", k->key, v);
        memcpy(first, v, (size_t)(dash - v));
        first[dash - v] = '\0';
        strcpy(last, dash + 1);
        if (rk_parse_u64(first, &a) < 0 || rk_parse_u64(last, &b) < 0 || a < 1 || b > 65535 || a > b)
            return rk_err_set(err, "%s: '%s' is not a port range FIRST-LAST within 1-65535", k->key, v);
        *(struct rk_port_range *)slot = (struct rk_port_range){(unsigned)a, (unsigned)b};
        return 0;
    }
    case CFG_LOGLEVEL: {
        static const char *names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, names[i]) == 0) return *(enum rk_log_level *)slot = (enum rk_log_level)i, 0;
        return rk_err_set(err, "%s: '%s' is not one of debug, info, warn, error", k->key, v);
    }
    }
    return rk_err_set(err, "%s: unknown type", k->key);
}

static int load_line(struct rk_config *cfg, const char *line, size_t len, struct rk_err *err);

void rk_config_init(struct rk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS; i++) {
        struct rk_err err;
        char line[256];
        int n = snprintf(line, sizeof(line), "%s = %s", cfg_keys[i].key, cfg_keys[i].def);
        if (load_line(cfg, line, (size_t)n, &err) < 0) rk_panic("bad embedded default: %s", err.msg);
    }
}

void rk_config_free(struct rk_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (cfg_keys[i].type != CFG_STR && cfg_keys[i].type != CFG_SECRET) continue;
        char **s = (char **)((char *)cfg + cfg_keys[i].offset);
        free(*s);
        *s = NULL;
    }
}

int rk_config_set(struct rk_config *cfg, const char *key, const char *value, struct rk_err *err)
{
    const struct cfg_key *k = find_key(key, strlen(key));
    if (!k) return rk_err_set(err, "unknown key '%s' (see: rdbkeep help serve)", key);
    return set_value(cfg, k, value, err);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one line (without its newline). Values may be "quoted" so that
 * leading or trailing blanks survive; inside quotes \" and \\ are escapes. */
static int load_line(struct rk_config *cfg, const char *line, size_t len, struct rk_err *err)
{
    size_t i = 0;
    while (i < len && is_blank(line[i])) i++;
    while (len > i && is_blank(line[len - 1])) len--;
    if (i == len || line[i] == '#') return 0;
    const char *eq = memchr(line + i, '=', len - i);
    if (!eq) return rk_err_set(err, "expected 'key = value'");
    size_t kend = (size_t)(eq - line);
    while (kend > i && is_blank(line[kend - 1])) kend--;
    if (kend == i) return rk_err_set(err, "missing key before '='");
    if (memchr(line + i, '\0', kend - i)) return rk_err_set(err, "NUL byte in key");
    const struct cfg_key *k = find_key(line + i, kend - i);
    if (!k) {
        char name[64];
        size_t n = kend - i < sizeof(name) - 1 ? kend - i : sizeof(name) - 1;
        memcpy(name, line + i, n);
        name[n] = '\0';
        for (size_t j = 0; j < n; j++)
            if (!isprint((unsigned char)name[j])) name[j] = '?';
        return rk_err_set(err, "unknown key '%s' (see: rdbkeep help serve)", name);
    }
    size_t v = (size_t)(eq - line) + 1;
    while (v < len && is_blank(line[v])) v++;
    struct rk_buf value = {0};
    if (v < len && line[v] == '"') {
        size_t j = v + 1;
        for (; j < len && line[j] != '"'; j++) {
            if (line[j] == '\\' && j + 1 < len && (line[j + 1] == '"' || line[j + 1] == '\\')) j++;
            rk_buf_append_byte(&value, (unsigned char)line[j]);
        }
        if (j >= len || j + 1 != len) {
            rk_buf_free(&value);
            return rk_err_set(err, "%s: unterminated quoted value or text after the closing quote",
                              k->key);
        }
    } else {
        rk_buf_append(&value, line + v, len - v);
    }
    rk_buf_append_byte(&value, '\0');
    int rc;
    if (memchr(value.data, '\0', value.len - 1))
        rc = rk_err_set(err, "%s: NUL byte in value", k->key);
    else
        rc = set_value(cfg, k, (const char *)value.data, err);
    rk_buf_free(&value);
    return rc;
}

int rk_config_load_text(struct rk_config *cfg, const char *text, size_t len, const char *name,
                        struct rk_err *err)
{
    size_t start = 0;
    unsigned lineno = 0;
    while (start < len) {
        lineno++;
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (load_line(cfg, text + start, end - start, err) < 0)
            return rk_err_prefix(err, "%s:%u", name, lineno);
        start = end + 1;
    }
    return 0;
}

int rk_config_load_file(struct rk_config *cfg, const char *path, struct rk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return rk_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct rk_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rk_buf_append(&b, chunk, n);
        if (b.len > 1 << 20) {
            fclose(f);
            rk_buf_free(&b);
            return rk_err_set(err, "%s: larger than 1 MiB: not a config file", path);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        rk_buf_free(&b);
        return rk_err_set(err, "%s: read error", path);
    }
    int rc = rk_config_load_text(cfg, (const char *)b.data, b.len, path, err);
    rk_buf_free(&b);
    return rc;
}

/* maxConcurrentBackups -> RDBKEEP_MAX_CONCURRENT_BACKUPS */
static void env_name(const char *key, char *out, size_t outlen)
{
    size_t o = 0;
    const char *prefix = "RDBKEEP_";
    for (; *prefix && o + 1 < outlen; prefix++) out[o++] = *prefix;
    for (const char *p = key; *p && o + 2 < outlen; p++) {
        if (isupper((unsigned char)*p) && p != key) out[o++] = '_';
        out[o++] = (char)toupper((unsigned char)*p);
    }
    out[o] = '\0';
}

int rk_config_load_env(struct rk_config *cfg, struct rk_err *err)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char name[96];
        env_name(cfg_keys[i].key, name, sizeof(name));
        const char *v = getenv(name);
        if (v && set_value(cfg, &cfg_keys[i], v, err) < 0) return rk_err_prefix(err, "environment %s", name);
    }
    static const struct {
        const char *env, *key;
    } aws[] = {{"AWS_ACCESS_KEY_ID", "s3AccessKeyId"},
               {"AWS_SECRET_ACCESS_KEY", "s3SecretAccessKey"},
               {"AWS_REGION", "s3Region"},
               {"AWS_ENDPOINT_URL", "s3EndpointUrl"}};
    for (size_t i = 0; i < sizeof(aws) / sizeof(aws[0]); i++) {
        const char *v = getenv(aws[i].env);
        if (v && *v && rk_config_set(cfg, aws[i].key, v, err) < 0)
            return rk_err_prefix(err, "environment %s", aws[i].env);
    }
    return 0;
}

int rk_config_check(const struct rk_config *cfg, struct rk_err *err)
{
    if (!*cfg->listen || !strrchr(cfg->listen, ':'))
        return rk_err_set(err, "listen: '%s' is not HOST:PORT", cfg->listen);
    if (!*cfg->data_dir) return rk_err_set(err, "dataDir: must not be empty");
    if (!*cfg->redis_server) return rk_err_set(err, "redisServer: must not be empty");
    if (cfg->task_workers < 1 || cfg->task_workers > 64)
        return rk_err_set(err, "taskWorkers: %u is not within 1-64", cfg->task_workers);
    if (cfg->http_threads < 1 || cfg->http_threads > 64)
        return rk_err_set(err, "httpThreads: %u is not within 1-64", cfg->http_threads);
    if (cfg->max_concurrent_backups < 1)
        return rk_err_set(err, "maxConcurrentBackups: must be at least 1");
    if (cfg->max_body_bytes < 1024 || cfg->max_body_bytes > (64u << 20))
        return rk_err_set(err, "maxBodyBytes: %llu is not within 1024-67108864",
                          (unsigned long long)cfg->max_body_bytes);
    if (cfg->max_json_depth < 2 || cfg->max_json_depth > 1000)
        return rk_err_set(err, "maxJsonDepth: %u is not within 2-1000", cfg->max_json_depth);
    if (cfg->max_connections < 4)
        return rk_err_set(err, "maxConnections: must be at least 4");
    if (cfg->ports.first < 1024)
        return rk_err_set(err, "databasePorts: ports below 1024 need root and clash with system "
                               "services; start at 1024 or above");
    if (cfg->redis_start_timeout_sec < 1)
        return rk_err_set(err, "redisStartTimeoutSec: must be at least 1");
    if (cfg->restart_backoff_max_sec < 1)
        return rk_err_set(err, "restartBackoffMaxSec: must be at least 1");
    if ((cfg->api_key[0] != '\0') != (cfg->api_secret_key[0] != '\0'))
        return rk_err_set(err, "apiKey and apiSecretKey: set both or neither");
    return 0;
}

void rk_config_dump(const struct rk_config *cfg, struct rk_buf *out)
{
    static const char *levels[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        const void *slot = (const char *)cfg + k->offset;
        rk_buf_printf(out, "%s = ", k->key);
        switch (k->type) {
        case CFG_STR: {
            const char *s = *(char *const *)slot;
            rk_buf_append_byte(out, '"');
            for (; s && *s; s++) {
                if (*s == '"' || *s == '\\') rk_buf_append_byte(out, '\\');
                rk_buf_append_byte(out, (unsigned char)*s);
            }
            rk_buf_append_byte(out, '"');
            break;
        }
        case CFG_SECRET: {
            const char *s = *(char *const *)slot;
            rk_buf_printf(out, "%s", s && *s ? "\"(set)\"" : "\"\"");
            break;
        }
        case CFG_UINT: rk_buf_printf(out, "%u", *(const unsigned *)slot); break;
        case CFG_SIZE: rk_buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)slot); break;
        case CFG_BOOL: rk_buf_printf(out, "%s", *(const bool *)slot ? "true" : "false"); break;
        case CFG_DOUBLE: rk_buf_printf(out, "%g", *(const double *)slot); break;
        case CFG_PORTS: {
            const struct rk_port_range *r = slot;
            rk_buf_printf(out, "%u-%u", r->first, r->last);
            break;
        }
        case CFG_LOGLEVEL: rk_buf_printf(out, "%s", levels[*(const enum rk_log_level *)slot]); break;
        }
        rk_buf_append_byte(out, '\n');
    }
}
