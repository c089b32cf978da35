/* rdbkeep task: follow tasks through the REST API. */
#include "cli/apiclient.h"
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char task_help[] =
    "Usage: rdbkeep task list [--limit N]\n"
    "       rdbkeep task get TASK_ID\n"
    "       rdbkeep task wait TASK_ID [--timeout SECONDS]\n"
    "\n"
    "Shows the daemon's tasks, newest first (list), one task (get), or waits until a\n"
    "task ends (wait), with a progress bar on a terminal: bytes, keys, rate, ETA.\n"
    "\n"
    "Options:\n"
    "  --limit N          list: at most N tasks (1-1000, default 20)\n"
    "  --timeout SECONDS  wait: give up after this long (default: wait for ever)\n"
    "  --api URL          the API (default $RDBKEEP_API_URL, else http://127.0.0.1:8080)\n"
    "  --json             print the API's JSON (for scripts)\n"
    "\n"
    "The keys come from RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY.\n"
    "Exit status: 0 done (wait: the task completed), 1 the API failed or the task\n"
    "failed or timed out, 2 bad command line.\n";

#define CMD "task"

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void print_task(const json_t *t, bool long_form)
{
    json_t *resp = json_object_get(t, "response");
    json_t *err = json_object_get(resp, "error");
    json_t *progress = json_object_get(t, "progress");
    if (!long_form) {
        printf("%-36s  %-28s  %-22s  %s\n", str(t, "taskId"), str(t, "commandType"), str(t, "status"),
               str(t, "timestamp"));
        return;
    }
    printf("task:         %s\n", str(t, "taskId"));
    printf("command:      %s\n", str(t, "commandType"));
    printf("status:       %s\n", str(t, "status"));
    printf("description:  %s\n", str(t, "description"));
    printf("updated:      %s\n", str(t, "timestamp"));
    if (json_object_get(resp, "resourceId"))
        printf("resource:     %lld\n", (long long)json_integer_value(json_object_get(resp, "resourceId")));
    if (progress && json_integer_value(json_object_get(progress, "bytes")) > 0)
        printf("progress:     %lld of %lld bytes, %lld keys, %.1f%%\n",
               (long long)json_integer_value(json_object_get(progress, "bytes")),
               (long long)json_integer_value(json_object_get(progress, "totalBytes")),
               (long long)json_integer_value(json_object_get(progress, "keys")),
               json_number_value(json_object_get(progress, "percent")));
    if (err)
        printf("error:        %s - %s: %s\n", str(err, "status"), str(err, "type"), str(err, "description"));
}

static int fetch(struct api_client *c, const char *path, json_t **out)
{
    struct rk_err err;
    long st = api_call(c, "GET", path, NULL, out, &err);
    if (st == 200) return 0;
    if (st < 0)
        fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
    else
        api_print_error(CMD, st, *out);
    json_decref(*out);
    *out = NULL;
    return -1;
}

/* A task id goes into the path: keep it to the characters ids have. */
static bool plausible_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') ||
              (id[i] >= 'A' && id[i] <= 'F') || id[i] == '-'))
            return false;
    return true;
}

static int cmd_task_run(int argc, char **argv)
{
    struct api_client c;
    struct rk_err err;
    if (api_client_open(&c, CMD, &argc, argv, &err) < 0) {
        api_client_close(&c);
        return cli_usage_error(CMD, "%s", err.msg);
    }
    long long limit = 20;
    double timeout = 0;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (strcmp(a, "--limit") == 0 || strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc) {
                rc = cli_usage_error(CMD, "%s needs a value", a);
                break;
            }
            v = argv[++i];
        } else if (strncmp(a, "--limit=", 8) == 0 || strncmp(a, "--timeout=", 10) == 0) {
            v = strchr(a, '=') + 1;
        }
        if (v && strncmp(a, "--limit", 7) == 0) {
            if (api_parse_id(v, &limit) < 0 || limit > 1000)
                rc = cli_usage_error(CMD, "--limit: '%s' is not within 1-1000", v);
        } else if (v) {
            char *end;
            errno = 0;
            timeout = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(timeout) || timeout <= 0)
                rc = cli_usage_error(CMD, "--timeout: '%s' is not a positive number of seconds", v);
        } else if (strncmp(a, "--", 2) == 0) {
            rc = cli_usage_error(CMD, "unknown option '%s'", a);
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            rc = cli_usage_error(CMD, "too many arguments");
        }
    }
    const char *sub_cmd = npos > 0 ? pos[0] : "";
    json_t *t = NULL;
    char path[128];
    if (rc != 0) {
        /* usage error already printed */
    } else if (strcmp(sub_cmd, "list") == 0 && npos == 1) {
        snprintf(path, sizeof(path), "/v1/tasks?limit=%lld", limit);
        if (fetch(&c, path, &t) < 0) {
            rc = CLI_EXIT_FAIL;
        } else if (c.json) {
            api_print_json(t);
        } else {
            printf("%-36s  %-28s  %-22s  %s\n", "TASK", "COMMAND", "STATUS", "UPDATED");
            size_t i;
            json_t *task;
            json_array_foreach(json_object_get(t, "tasks"), i, task) print_task(task, false);
        }
    } else if ((strcmp(sub_cmd, "get") == 0 || strcmp(sub_cmd, "wait") == 0) && npos == 2) {
        if (!plausible_id(pos[1])) {
            rc = cli_usage_error(CMD, "'%s' is not a task id", pos[1]);
        } else if (strcmp(sub_cmd, "get") == 0) {
            snprintf(path, sizeof(path), "/v1/tasks/%s", pos[1]);
            if (fetch(&c, path, &t) < 0)
                rc = CLI_EXIT_FAIL;
            else if (c.json)
                api_print_json(t);
            else
                print_task(t, true);
        } else {
            int w = api_wait_task(&c, CMD, pos[1], timeout, &t, &err);
            if (w < 0) fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
            if (t && c.json)
                api_print_json(t);
            else if (t && w == 0)
                print_task(t, true);
            rc = w == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        }
    } else {
        rc = cli_usage_error(CMD, "expected list, get TASK_ID or wait TASK_ID");
    }
    json_decref(t);
    api_client_close(&c);
    return rc;
}

const struct cli_command cli_cmd_task = {
    .name = "task",
    .summary = "follow tasks through the API: list, get, wait",
    .help = task_help,
    .run = cmd_task_run,
};
