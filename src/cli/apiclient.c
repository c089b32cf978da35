/* The REST API client: one libcurl handle per command run (connections are
 * kept alive between the polls of a task). */
#include "cli/apiclient.h"
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_API "http://127.0.0.1:8080"

static int take_value(int *argc, char **argv, int i, const char **value)
{
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    int used = 1;
    if (eq) {
        *value = eq + 1;
    } else {
        if (i + 1 >= *argc) return -1;
        *value = argv[i + 1];
        used = 2;
    }
    return used;
}

int api_client_open(struct api_client *c, const char *cmd, int *argc, char **argv,
                    struct rk_err *err)
{
    memset(c, 0, sizeof(*c));
    const char *api = getenv("RDBKEEP_API_URL");
    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            c->json = true;
            i++;
        } else if (strcmp(a, "--api") == 0 || strncmp(a, "--api=", 6) == 0) {
            int used = take_value(argc, argv, i, &api);
            if (used < 0) return rk_err_set(err, "--api needs a URL");
            i += used;
        } else {
            argv[out++] = argv[i++];
        }
    }
    *argc = out;
    argv[out] = NULL;
    const char *key = getenv("RDBKEEP_API_KEY"), *secret = getenv("RDBKEEP_API_SECRET_KEY");
    if (!key || !*key || !secret || !*secret)
        return rk_err_set(err, "set RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY to the keys "
                               "`rdbkeep serve` printed");
    c->base = xstrdup(api && *api ? api : DEFAULT_API);
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/') c->base[--n] = '\0';
    c->key = xstrdup(key);
    c->secret = xstrdup(secret);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c->curl = curl_easy_init();
    if (!c->curl) return rk_err_set(err, "%s: cannot start libcurl", cmd);
    return 0;
}

void api_client_close(struct api_client *c)
{
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->base);
    free(c->key);
    free(c->secret);
    memset(c, 0, sizeof(*c));
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    rk_buf_append(ud, data, size * n);
    return size * n;
}

long api_call(struct api_client *c, const char *method, const char *path, const json_t *body,
              json_t **out, struct rk_err *err)
{
    *out = NULL;
    CURL *h = c->curl;
    curl_easy_reset(h);
    char *url = xasprintf("%s%s", c->base, path);
    char *key_h = xasprintf("x-api-key: %s", c->key);
    char *secret_h = xasprintf("x-api-secret-key: %s", c->secret);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, key_h);
    headers = curl_slist_append(headers, secret_h);
    char *payload = NULL;
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    struct rk_buf resp = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    long status = -1;
    if (rc != CURLE_OK) {
        rk_err_set(err, "%s %s: %s (is `rdbkeep serve` running there? see --api)", method, url,
                   curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (resp.len) *out = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    }
    rk_buf_free(&resp);
    curl_slist_free_all(headers);
    free(payload);
    free(url);
    free(key_h);
    free(secret_h);
    return status;
}

void api_print_error(const char *cmd, long status, const json_t *body)
{
    json_t *e = json_object_get(body, "error");
    const char *st = json_string_value(json_object_get(e, "status"));
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *desc = json_string_value(json_object_get(e, "description"));
    if (type)
        fprintf(stderr, "rdbkeep %s: %s - %s: %s\n", cmd, st ? st : "", type, desc ? desc : "");
    else
        fprintf(stderr, "rdbkeep %s: the API answered HTTP %ld without an error body\n", cmd,
                status);
}

void api_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (s) printf("%s\n", s);
    free(s);
}

int api_parse_id(const char *s, long long *out)
{
    int64_t v;
    if (rk_parse_i64(s, &v) < 0 || v < 1) return -1;
    *out = v;
    return 0;
}

static const char *field_text(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static uint64_t json_u64(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

int api_wait_task(struct api_client *c, const char *cmd, const char *task_id, double timeout_sec,
                  json_t **final, struct rk_err *err)
{
    *final = NULL;
    char path[160];
    snprintf(path, sizeof(path), "/v1/tasks/%s", task_id);
    struct cli_progress bar;
    char label[64];
    snprintf(label, sizeof(label), "task %.8s", task_id);
    cli_progress_start(&bar, label, 0);
    uint64_t start = rk_monotonic_ns();
    long delay = 100;
    for (;;) {
        json_t *task;
        long status = api_call(c, "GET", path, NULL, &task, err);
        if (status < 0) {
            cli_progress_finish(&bar);
            return -1;
        }
        if (status != 200) {
            cli_progress_finish(&bar);
            api_print_error(cmd, status, task);
            *final = task;
            return 1;
        }
        const char *st = json_string_value(json_object_get(task, "status"));
        json_t *progress = json_object_get(task, "progress");
        bar.total = json_u64(progress, "totalBytes");
        cli_progress_update(&bar, json_u64(progress, "bytes"), json_u64(progress, "keys"));
        if (st && strcmp(st, "processing-completed") == 0) {
            cli_progress_finish(&bar);
            *final = task;
            return 0;
        }
        if (st && strcmp(st, "processing-error") == 0) {
            cli_progress_finish(&bar);
            json_t *e = json_object_get(json_object_get(task, "response"), "error");
            fprintf(stderr, "rdbkeep %s: task %s failed: %s - %s: %s\n", cmd, task_id,
                    field_text(e, "status"), field_text(e, "type"), field_text(e, "description"));
            *final = task;
            return 1;
        }
        json_decref(task);
        if (timeout_sec > 0 && (double)(rk_monotonic_ns() - start) / 1e9 > timeout_sec) {
            cli_progress_finish(&bar);
            fprintf(stderr, "rdbkeep %s: task %s still %s after %.0f s\n", cmd, task_id,
                    st ? st : "unknown", timeout_sec);
            return 1;
        }
        rk_sleep_ms(delay);
        if (delay < 1000) delay += delay / 2;
    }
}
