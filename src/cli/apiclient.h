/* The REST API client shared by `rdbkeep db` and `rdbkeep task`: libcurl for
 * HTTP, jansson for JSON. Private to the cli. */
#ifndef RDBKEEP_CLI_APICLIENT_H
#define RDBKEEP_CLI_APICLIENT_H

#include "base/base.h"

#include <jansson.h>
#include <stdbool.h>

struct api_client {
    char *base; /* "http://127.0.0.1:8080", no trailing slash */
    char *key;
    char *secret;
    void *curl;
    bool json; /* --json: print what the API returned */
};

/* The options every client command takes. Consumes --api URL and --json
 * from argv (compacting it); *argc is updated. Keys come from
 * RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY. */
int api_client_open(struct api_client *c, const char *cmd, int *argc, char **argv, struct rk_err *err);
void api_client_close(struct api_client *c);

/* One request. Returns the HTTP status and the parsed JSON body in *out (NULL
 * if the body is not JSON), or -1 when the request could not be made. */
long api_call(struct api_client *c, const char *method, const char *path, const json_t *body,
              json_t **out, struct rk_err *err);
/* "rdbkeep CMD: 404 NOT_FOUND - DATABASE_NOT_FOUND: database 3 not found" */
void api_print_error(const char *cmd, long status, const json_t *body);

/* Polls a task until it ends (or timeout_sec passes, 0 = never), drawing a
 * progress bar on a terminal. Returns 0 when it completed, 1 when it failed
 * or timed out (the message printed), -1 when the API could not be asked.
 * *final gets the last task JSON (may be NULL). */
int api_wait_task(struct api_client *c, const char *cmd, const char *task_id, double timeout_sec,
                  json_t **final, struct rk_err *err);

/* Prints JSON for scripts: indented, keys in the API's order. */
void api_print_json(const json_t *v);

/* Strict number options. */
int api_parse_id(const char *s, long long *out);

#endif
