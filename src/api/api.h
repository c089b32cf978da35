/* api: the REST API (Redis Cloud API v1, see docs/daemon.md) over
 * libmicrohttpd. It routes, authenticates, validates JSON bodies into the
 * service's structs, calls the service and renders its answers; every 4xx and
 * 5xx has the body {"error": {"type", "status", "description"}}. It knows
 * nothing of how jobs work inside. */
#ifndef RDBKEEP_API_H
#define RDBKEEP_API_H

#include "base/base.h"
#include "service/service.h"

#include <stdbool.h>
#include <stddef.h>

struct rk_api;

/* Listens on the service's `listen` address with `httpThreads` threads.
 * The service must outlive the api. */
struct rk_api *rk_api_start(struct rk_service *svc, struct rk_err *err);
/* Finishes the requests in flight and closes the socket. */
void rk_api_stop(struct rk_api *api);
/* The port actually bound (listen may ask for port 0). */
unsigned rk_api_port(const struct rk_api *api);

/* One request, whatever carried it. Strings may be NULL when absent. */
struct rk_api_request {
    const char *method;
    const char *path; /* decoded, without the query */
    /* Query parameter lookup: returns the value of name or NULL. */
    const char *(*query)(void *ctx, const char *name);
    void *query_ctx;
    const char *api_key;
    const char *api_secret;
    const char *content_type;
    const char *body;
    size_t body_len;
    bool body_too_large; /* the body passed maxBodyBytes and was dropped */
};

struct rk_api_response {
    int status;
    char *body; /* malloc'd, owned by the caller after rk_api_handle */
    size_t len;
    const char *content_type; /* static */
    const char *allow;        /* for 405: the methods the path takes (static) */
};

/* Answers one request: the whole API minus the transport. */
void rk_api_handle(struct rk_service *svc, const struct rk_api_request *req,
                   struct rk_api_response *resp);

/* ---- request parsing, exposed for the fuzzers and unit tests ---- */

/* Parses a JSON body into an object. Empty bodies give *out = NULL when
 * allow_empty, else an error. Errors say what and at which byte. */
int rk_api_parse_json(const char *body, size_t len, unsigned max_depth, bool allow_empty,
                      void **out /* json_t * */, struct rk_fail *f);
/* Database create (create=true) or update body into spec (cleared first). */
int rk_api_parse_db_body(const char *body, size_t len, unsigned max_depth, bool create,
                         struct rk_db_spec *spec, struct rk_fail *f);
int rk_api_parse_import_body(const char *body, size_t len, unsigned max_depth,
                             struct rk_import_spec *spec, struct rk_fail *f);
/* Backup body: optional; *adhoc_path is NULL when not given. */
int rk_api_parse_backup_body(const char *body, size_t len, unsigned max_depth, char **adhoc_path,
                             struct rk_fail *f);
/* Subscription create body: optional; *name is NULL when not given. */
int rk_api_parse_subscription_body(const char *body, size_t len, unsigned max_depth, char **name,
                                   struct rk_fail *f);

/* Routing: which endpoint a method and path name. */
enum rk_api_route_id {
    RK_ROUTE_NONE,
    RK_ROUTE_HEALTHZ,
    RK_ROUTE_METRICS,
    RK_ROUTE_OPENAPI,
    RK_ROUTE_SUBSCRIPTIONS,
    RK_ROUTE_SUBSCRIPTION,
    RK_ROUTE_DATABASES,
    RK_ROUTE_DATABASE,
    RK_ROUTE_DATABASE_BACKUP,
    RK_ROUTE_DATABASE_IMPORT,
    RK_ROUTE_DATABASE_BACKUPS,
    RK_ROUTE_TASKS,
    RK_ROUTE_TASK,
};

#define RK_API_MAX_PARAMS 3

struct rk_api_match {
    enum rk_api_route_id route;
    const char *template_path; /* "/v1/tasks/{taskId}" */
    unsigned methods;          /* RK_METHOD_* the path takes */
    char params[RK_API_MAX_PARAMS][80]; /* path parameters in order */
    unsigned nparams;
};

#define RK_METHOD_GET    1u
#define RK_METHOD_POST   2u
#define RK_METHOD_PUT    4u
#define RK_METHOD_DELETE 8u

/* Fills m for path; returns 0, or -1 when no endpoint has this path. */
int rk_api_route(const char *path, struct rk_api_match *m);

struct rk_api_route_info {
    enum rk_api_route_id route;
    const char *template_path;
    unsigned methods;
};
/* Every endpoint, for the OpenAPI document's test. */
const struct rk_api_route_info *rk_api_route_table(size_t *n);

/* The OpenAPI 3 document served at /v1/openapi.json. */
const char *rk_api_openapi(size_t *len);

#endif
