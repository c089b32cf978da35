/* The endpoints. rk_api_handle checks, in order: body size, keys, path,
 * method, content type; then the endpoint validates its parameters and body
 * and calls the service. Every failure is Cloud's error body. */
#include "api/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_PAGE 100
#define MAX_PAGE     1000

struct call {
    struct rk_service *svc;
    const struct rk_api_request *req;
    struct rk_api_response *resp;
    const struct rk_api_match *m;
    unsigned max_depth;
};

static void respond_json(struct rk_api_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!text) rk_panic("cannot serialise a response");
    resp->status = status;
    resp->body = text;
    resp->len = strlen(text);
    resp->content_type = "application/json";
}

static void fail(struct rk_api_response *resp, const struct rk_fail *f)
{
    respond_json(resp, f->http, render_error(f));
}

static void fail_with(struct rk_api_response *resp, int http, const char *type, const char *fmt, ...)
    RK_PRINTF(4, 5);
static void fail_with(struct rk_api_response *resp, int http, const char *type, const char *fmt, ...)
{
    struct rk_fail f = {.http = http};
    snprintf(f.type, sizeof(f.type), "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.description, sizeof(f.description), fmt, ap);
    va_end(ap);
    fail(resp, &f);
}

/* A path id: a positive decimal integer. */
static int path_id(struct call *c, unsigned i, const char *name, int64_t *out)
{
    const char *s = c->m->params[i];
    int64_t v;
    if (rk_parse_i64(s, &v) < 0 || v < 1 || s[0] == '+' || (s[0] == '0')) {
        fail_with(c->resp, 400, "INVALID_FIELD_VALUE", "%s: '%.40s' is not a positive integer", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int query_int(struct call *c, const char *name, int64_t def, int64_t min, int64_t max,
                     int64_t *out)
{
    const char *s = c->req->query ? c->req->query(c->req->query_ctx, name) : NULL;
    *out = def;
    if (!s) return 0;
    int64_t v;
    if (rk_parse_i64(s, &v) < 0 || v < min || v > max) {
        fail_with(c->resp, 400, "INVALID_FIELD_VALUE", "query parameter %s: '%.40s' is not an integer within %lld-%lld",
                  name, s, (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

static void task_accepted(struct call *c, int status, struct rk_task *task)
{
    respond_json(c->resp, status, render_task(task));
    rk_task_clear(task);
}

/* ---- open endpoints ---- */

static void h_healthz(struct call *c)
{
    respond_json(c->resp, 200, json_pack("{s:s, s:s, s:s}", "status", "ok", "version", RDBKEEP_VERSION,
                                         "redisVersion", rk_service_redis_version(c->svc)));
}

static void h_metrics(struct call *c)
{
    struct rk_metrics m;
    struct rk_fail f;
    if (rk_service_metrics(c->svc, &m, &f) < 0) return fail(c->resp, &f);
    c->resp->status = 200;
    c->resp->body = render_metrics(&m);
    c->resp->len = strlen(c->resp->body);
    c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void h_openapi(struct call *c)
{
    size_t len;
    const char *doc = rk_api_openapi(&len);
    c->resp->status = 200;
    c->resp->body = xstrndup(doc, len);
    c->resp->len = len;
    c->resp->content_type = "application/json";
}

/* ---- subscriptions ---- */

static void h_subscriptions(struct call *c, unsigned method)
{
    struct rk_fail f;
    if (method == RK_METHOD_POST) {
        char *name;
        struct rk_task task;
        if (rk_api_parse_subscription_body(c->req->body, c->req->body_len, c->max_depth, &name, &f) < 0)
            return fail(c->resp, &f);
        int rc = rk_service_subscription_create(c->svc, name, &task, &f);
        free(name);
        if (rc < 0) return fail(c->resp, &f);
        return task_accepted(c, 202, &task);
    }
    struct rk_subscription *subs;
    size_t n;
    if (rk_service_subscription_list(c->svc, &subs, &n, &f) < 0) return fail(c->resp, &f);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, render_subscription(&subs[i]));
        rk_subscription_clear(&subs[i]);
    }
    free(subs);
    respond_json(c->resp, 200,
                 json_pack("{s:o, s:[o]}", "subscriptions", list, "links",
                           render_link("self", "/v1/subscriptions", "GET")));
}

static void h_subscription(struct call *c, unsigned method)
{
    struct rk_fail f;
    int64_t id;
    if (path_id(c, 0, "subscriptionId", &id) < 0) return;
    if (method == RK_METHOD_DELETE) {
        struct rk_task task;
        if (rk_service_subscription_delete(c->svc, id, &task, &f) < 0) return fail(c->resp, &f);
        return task_accepted(c, 200, &task);
    }
    struct rk_subscription s;
    if (rk_service_subscription_get(c->svc, id, &s, &f) < 0) return fail(c->resp, &f);
    respond_json(c->resp, 200, render_subscription(&s));
    rk_subscription_clear(&s);
}

/* ---- databases ---- */

static void h_databases(struct call *c, unsigned method)
{
    struct rk_fail f;
    int64_t sub;
    if (path_id(c, 0, "subscriptionId", &sub) < 0) return;
    if (method == RK_METHOD_POST) {
        struct rk_db_spec spec;
        struct rk_task task;
        if (rk_api_parse_db_body(c->req->body, c->req->body_len, c->max_depth, true, &spec, &f) < 0)
            return fail(c->resp, &f);
        int rc = rk_service_db_create(c->svc, sub, &spec, &task, &f);
        rk_db_spec_clear(&spec);
        if (rc < 0) return fail(c->resp, &f);
        return task_accepted(c, 202, &task);
    }
    int64_t offset, limit, total;
    if (query_int(c, "offset", 0, 0, INT32_MAX, &offset) < 0 ||
        query_int(c, "limit", DEFAULT_PAGE, 1, MAX_PAGE, &limit) < 0)
        return;
    struct rk_db *dbs;
    size_t n;
    if (rk_service_db_list(c->svc, sub, offset, limit, &dbs, &n, &total, &f) < 0) return fail(c->resp, &f);
    if (offset > 0 && offset >= total) {
        free(dbs);
        /* Cloud's clients page until a 404. */
        return fail_with(c->resp, 404, "NOT_FOUND", "no databases at offset %lld: subscription %lld has %lld",
                         (long long)offset, (long long)sub, (long long)total);
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, render_db(&dbs[i], rk_service_public_host(c->svc), false, NULL));
        rk_db_clear(&dbs[i]);
    }
    free(dbs);
    char self[128];
    snprintf(self, sizeof(self), "/v1/subscriptions/%lld/databases?offset=%lld&limit=%lld",
             (long long)sub, (long long)offset, (long long)limit);
    json_t *links = json_pack("[o]", render_link("self", self, "GET"));
    if (offset + limit < total) {
        char next[128];
        snprintf(next, sizeof(next), "/v1/subscriptions/%lld/databases?offset=%lld&limit=%lld",
                 (long long)sub, (long long)(offset + limit), (long long)limit);
        json_array_append_new(links, render_link("next", next, "GET"));
    }
    respond_json(c->resp, 200,
                 json_pack("{s:[{s:I, s:I, s:o, s:[]}], s:o}", "subscription", "subscriptionId",
                           (json_int_t)sub, "numberOfDatabases", (json_int_t)total, "databases", list,
                           "links", "links", links));
}

/* Ours: backup.nextBackupTime, when the schedule is due next. */
static void add_next_backup(struct rk_service *svc, const struct rk_db *db, json_t *out)
{
    uint64_t next = rk_service_backup_next(svc, db);
    json_t *backup = json_object_get(out, "backup");
    if (!next || !backup) return;
    char ts[32];
    rk_format_iso8601(next, ts, sizeof(ts));
    json_object_set_new(backup, "nextBackupTime", json_string(ts));
}

static void h_database(struct call *c, unsigned method)
{
    struct rk_fail f;
    int64_t sub, id;
    if (path_id(c, 0, "subscriptionId", &sub) < 0 || path_id(c, 1, "databaseId", &id) < 0) return;
    struct rk_task task;
    if (method == RK_METHOD_PUT) {
        struct rk_db_spec spec;
        if (rk_api_parse_db_body(c->req->body, c->req->body_len, c->max_depth, false, &spec, &f) < 0)
            return fail(c->resp, &f);
        int rc = rk_service_db_update(c->svc, sub, id, &spec, &task, &f);
        rk_db_spec_clear(&spec);
        if (rc < 0) return fail(c->resp, &f);
        return task_accepted(c, 202, &task);
    }
    if (method == RK_METHOD_DELETE) {
        if (rk_service_db_delete(c->svc, sub, id, &task, &f) < 0) return fail(c->resp, &f);
        return task_accepted(c, 202, &task);
    }
    struct rk_db db;
    struct rk_backup latest;
    bool found;
    if (rk_service_db_get(c->svc, sub, id, &db, &f) < 0) return fail(c->resp, &f);
    if (rk_service_backup_latest(c->svc, id, &latest, &found, &f) < 0) {
        rk_db_clear(&db);
        return fail(c->resp, &f);
    }
    json_t *out = render_db(&db, rk_service_public_host(c->svc), true, found ? &latest : NULL);
    add_next_backup(c->svc, &db, out);
    respond_json(c->resp, 200, out);
    rk_db_clear(&db);
    if (found) rk_backup_clear(&latest);
}

/* Backup and import: the database must exist and the body be well formed;
 * then the task goes to the job registered for it (the service answers 501
 * while there is none). */
static void submit_db_task(struct call *c, const char *command_type, const char *params)
{
    struct rk_fail f;
    struct rk_task task;
    int64_t sub, id;
    if (path_id(c, 0, "subscriptionId", &sub) < 0 || path_id(c, 1, "databaseId", &id) < 0) return;
    if (rk_service_submit(c->svc, command_type, sub, id, params, &task, &f) < 0) return fail(c->resp, &f);
    task_accepted(c, 202, &task);
}

static bool db_exists(struct call *c)
{
    struct rk_fail f;
    struct rk_db db;
    int64_t sub, id;
    if (path_id(c, 0, "subscriptionId", &sub) < 0 || path_id(c, 1, "databaseId", &id) < 0) return false;
    if (rk_service_db_get(c->svc, sub, id, &db, &f) < 0) {
        fail(c->resp, &f);
        return false;
    }
    rk_db_clear(&db);
    return true;
}

static void h_backup(struct call *c, unsigned method)
{
    if (!db_exists(c)) return;
    if (method == RK_METHOD_GET) return submit_db_task(c, "databaseBackupStatusRequest", NULL);
    struct rk_fail f;
    char *path;
    if (rk_api_parse_backup_body(c->req->body, c->req->body_len, c->max_depth, &path, &f) < 0)
        return fail(c->resp, &f);
    char *params = NULL;
    if (path && rk_service_backup_path_check(path, &f) < 0) {
        free(path);
        return fail(c->resp, &f);
    }
    if (path) {
        json_t *p = json_pack("{s:s}", "adhocBackupPath", path);
        params = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        free(path);
    }
    submit_db_task(c, "databaseBackupRequest", params);
    free(params);
}

static void h_import(struct call *c, unsigned method)
{
    if (!db_exists(c)) return;
    if (method == RK_METHOD_GET) return submit_db_task(c, "databaseImportStatusRequest", NULL);
    struct rk_fail f;
    struct rk_import_spec spec;
    if (rk_api_parse_import_body(c->req->body, c->req->body_len, c->max_depth, &spec, &f) < 0)
        return fail(c->resp, &f);
    json_t *uris = json_array();
    for (size_t i = 0; i < spec.nuris; i++) json_array_append_new(uris, json_string(spec.uris[i]));
    json_t *p = json_pack("{s:s, s:o}", "sourceType", spec.source_type, "importFromUri", uris);
    char *params = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    rk_import_spec_clear(&spec);
    submit_db_task(c, "databaseImportRequest", params);
    free(params);
}

static void h_backups(struct call *c)
{
    struct rk_fail f;
    int64_t sub, id;
    if (path_id(c, 0, "subscriptionId", &sub) < 0 || path_id(c, 1, "databaseId", &id) < 0) return;
    struct rk_backup *b;
    size_t n;
    if (rk_service_backup_list(c->svc, sub, id, &b, &n, &f) < 0) return fail(c->resp, &f);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, render_backup(&b[i]));
        rk_backup_clear(&b[i]);
    }
    free(b);
    respond_json(c->resp, 200, json_pack("{s:I, s:o}", "databaseId", (json_int_t)id, "backups", list));
}

/* ---- tasks ---- */

static void h_tasks(struct call *c)
{
    struct rk_fail f;
    int64_t offset, limit, total;
    if (query_int(c, "offset", 0, 0, INT32_MAX, &offset) < 0 ||
        query_int(c, "limit", DEFAULT_PAGE, 1, MAX_PAGE, &limit) < 0)
        return;
    struct rk_task *tasks;
    size_t n;
    if (rk_service_task_list(c->svc, offset, limit, &tasks, &n, &total, &f) < 0) return fail(c->resp, &f);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, render_task(&tasks[i]));
        rk_task_clear(&tasks[i]);
    }
    free(tasks);
    json_t *links = json_array();
    if (offset + limit < total) {
        char next[96];
        snprintf(next, sizeof(next), "/v1/tasks?offset=%lld&limit=%lld", (long long)(offset + limit),
                 (long long)limit);
        json_array_append_new(links, render_link("next", next, "GET"));
    }
    respond_json(c->resp, 200,
                 json_pack("{s:o, s:I, s:o}", "tasks", list, "total", (json_int_t)total, "links", links));
}

static void h_task(struct call *c)
{
    struct rk_fail f;
    struct rk_task t;
    if (rk_service_task_get(c->svc, c->m->params[0], &t, &f) < 0) return fail(c->resp, &f);
    respond_json(c->resp, 200, render_task(&t));
    rk_task_clear(&t);
}

/* ---- the entry ---- */

static unsigned method_bit(const char *method)
{
    if (!method) return 0;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return RK_METHOD_GET;
    if (strcmp(method, "POST") == 0) return RK_METHOD_POST;
    if (strcmp(method, "PUT") == 0) return RK_METHOD_PUT;
    if (strcmp(method, "DELETE") == 0) return RK_METHOD_DELETE;
    return 0;
}

static const char *allow_header(unsigned methods)
{
    static const char *const names[16] = {
        "",          "GET",         "POST",          "GET, POST",          "PUT",
        "GET, PUT",  "POST, PUT",   "GET, POST, PUT", "DELETE",            "GET, DELETE",
        "POST, DELETE", "GET, POST, DELETE", "PUT, DELETE", "GET, PUT, DELETE", "POST, PUT, DELETE",
        "GET, POST, PUT, DELETE",
    };
    return names[methods & 15];
}

static bool json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct) return true;
    size_t n = sizeof(want) - 1;
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Paths go into messages; keep them short and printable. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; in && *in && o + 1 < outlen; in++) out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[o] = '\0';
}

void rk_api_handle(struct rk_service *svc, const struct rk_api_request *req,
                   struct rk_api_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    const struct rk_config *cfg = rk_service_config(svc);
    struct rk_api_match m;
    bool routed = rk_api_route(req->path, &m) == 0;
    if (req->body_too_large)
        return fail_with(resp, 413, "REQUEST_TOO_LARGE", "the request body is larger than maxBodyBytes (%llu bytes)",
                         (unsigned long long)cfg->max_body_bytes);
    bool open = routed && (m.route == RK_ROUTE_HEALTHZ || (m.route == RK_ROUTE_METRICS && !cfg->metrics_auth));
    if (!open && !rk_service_auth(svc, req->api_key, req->api_secret)) {
        if (!req->api_key || !req->api_secret)
            return fail_with(resp, 401, "UNAUTHORIZED",
                             "send the API keys in the x-api-key and x-api-secret-key headers");
        return fail_with(resp, 401, "UNAUTHORIZED", "the API keys are not valid");
    }
    char shown[120];
    printable(req->path, shown, sizeof(shown));
    if (!routed) return fail_with(resp, 404, "NOT_FOUND", "no endpoint at %s", shown);
    unsigned method = method_bit(req->method);
    if (!(m.methods & method)) {
        fail_with(resp, 405, "METHOD_NOT_ALLOWED", "%s %s: this endpoint takes %s",
                  req->method ? req->method : "?", m.template_path, allow_header(m.methods));
        resp->allow = allow_header(m.methods);
        return;
    }
    if (req->body_len > 0 && !json_content_type(req->content_type))
        return fail_with(resp, 415, "UNSUPPORTED_MEDIA_TYPE",
                         "send the body as JSON with Content-Type: application/json");
    struct call c = {.svc = svc, .req = req, .resp = resp, .m = &m, .max_depth = cfg->max_json_depth};
    switch (m.route) {
    case RK_ROUTE_HEALTHZ: h_healthz(&c); break;
    case RK_ROUTE_METRICS: h_metrics(&c); break;
    case RK_ROUTE_OPENAPI: h_openapi(&c); break;
    case RK_ROUTE_SUBSCRIPTIONS: h_subscriptions(&c, method); break;
    case RK_ROUTE_SUBSCRIPTION: h_subscription(&c, method); break;
    case RK_ROUTE_DATABASES: h_databases(&c, method); break;
    case RK_ROUTE_DATABASE: h_database(&c, method); break;
    case RK_ROUTE_DATABASE_BACKUP: h_backup(&c, method); break;
    case RK_ROUTE_DATABASE_IMPORT: h_import(&c, method); break;
    case RK_ROUTE_DATABASE_BACKUPS: h_backups(&c); break;
    case RK_ROUTE_TASKS: h_tasks(&c); break;
    case RK_ROUTE_TASK: h_task(&c); break;
    case RK_ROUTE_NONE: fail_with(resp, 404, "NOT_FOUND", "no endpoint at %s", shown); break;
    }
}

const char *rk_api_openapi(size_t *len)
{
    *len = rk_api_openapi_size;
    return (const char *)rk_api_openapi_data;
}
