/* What the api's files share. Private. */
#ifndef RDBKEEP_API_INTERNAL_H
#define RDBKEEP_API_INTERNAL_H

#include "api/api.h"

#include <jansson.h>

/* Cloud's shapes of the resources. */
json_t *render_task(const struct rk_task *t);
/* with_password: only GET of one database shows security.password. */
json_t *render_db(const struct rk_db *db, const char *public_host, bool with_password,
                  const struct rk_backup *latest);
json_t *render_subscription(const struct rk_subscription *s);
json_t *render_backup(const struct rk_backup *b);
json_t *render_error(const struct rk_fail *f);
json_t *render_link(const char *rel, const char *href, const char *method);
/* Prometheus text exposition. Caller frees. */
char *render_metrics(const struct rk_metrics *m);

/* The OpenAPI document, embedded at build time from src/api/openapi.json. */
extern const unsigned char rk_api_openapi_data[];
extern const size_t rk_api_openapi_size;

#endif
