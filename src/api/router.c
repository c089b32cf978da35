/* Paths to endpoints. A path is matched segment by segment against each
 * template; "{name}" segments are captured. One trailing slash is allowed
 * (some clients add it); empty segments elsewhere are not. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#define GET    RK_METHOD_GET
#define POST   RK_METHOD_POST
#define PUT    RK_METHOD_PUT
#define DELETE RK_METHOD_DELETE
#define DB     "/v1/subscriptions/{subscriptionId}/databases/{databaseId}"

static const struct rk_api_route_info routes[] = {
    {RK_ROUTE_HEALTHZ, "/healthz", GET},
    {RK_ROUTE_METRICS, "/metrics", GET},
    {RK_ROUTE_OPENAPI, "/v1/openapi.json", GET},
    {RK_ROUTE_SUBSCRIPTIONS, "/v1/subscriptions", GET | POST},
    {RK_ROUTE_SUBSCRIPTION, "/v1/subscriptions/{subscriptionId}", GET | DELETE},
    {RK_ROUTE_DATABASES, "/v1/subscriptions/{subscriptionId}/databases", GET | POST},
    {RK_ROUTE_DATABASE, DB, GET | PUT | DELETE},
    {RK_ROUTE_DATABASE_BACKUP, DB "/backup", GET | POST},
    {RK_ROUTE_DATABASE_IMPORT, DB "/import", GET | POST},
    {RK_ROUTE_DATABASE_BACKUPS, DB "/backups", GET},
    {RK_ROUTE_TASKS, "/v1/tasks", GET},
    {RK_ROUTE_TASK, "/v1/tasks/{taskId}", GET},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const struct rk_api_route_info *rk_api_route_table(size_t *n)
{
    *n = NROUTES;
    return routes;
}

/* Next segment of s (after its leading '/'): start and length; NULL at the end. */
static const char *next_segment(const char *s, size_t *len)
{
    if (*s != '/') return NULL;
    s++;
    *len = strcspn(s, "/");
    return s;
}

static bool match(const struct rk_api_route_info *r, const char *path, struct rk_api_match *m)
{
    const char *t = r->template_path, *p = path;
    m->nparams = 0;
    for (;;) {
        size_t tl = 0, pl = 0;
        const char *ts = next_segment(t, &tl);
        const char *ps = next_segment(p, &pl);
        if (!ts) {
            /* Template done: the path may end here or with one slash. */
            return !ps || (pl == 0 && ps[0] == '\0');
        }
        if (!ps || pl == 0) return false;
        if (ts[0] == '{') {
            if (pl >= sizeof(m->params[0]) || m->nparams >= RK_API_MAX_PARAMS) return false;
            memcpy(m->params[m->nparams], ps, pl);
            m->params[m->nparams++][pl] = '\0';
        } else if (tl != pl || memcmp(ts, ps, pl) != 0) {
            return false;
        }
        t = ts + tl;
        p = ps + pl;
    }
}

int rk_api_route(const char *path, struct rk_api_match *m)
{
    memset(m, 0, sizeof(*m));
    if (!path) return -1;
    for (size_t i = 0; i < NROUTES; i++) {
        if (match(&routes[i], path, m)) {
            m->route = routes[i].route;
            m->template_path = routes[i].template_path;
            m->methods = routes[i].methods;
            return 0;
        }
    }
    memset(m, 0, sizeof(*m));
    return -1;
}
