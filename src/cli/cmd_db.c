/* rdbkeep db: databases through the REST API. */
#include "cli/apiclient.h"
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char db_help[] =
    "Usage: rdbkeep db list [--subscription ID]\n"
    "       rdbkeep db create --subscription ID --name NAME [SETTINGS] [--no-wait]\n"
    "       rdbkeep db get SUBSCRIPTION_ID DATABASE_ID\n"
    "       rdbkeep db update SUBSCRIPTION_ID DATABASE_ID [SETTINGS] [--name NAME] [--no-wait]\n"
    "       rdbkeep db delete SUBSCRIPTION_ID DATABASE_ID [--no-wait]\n"
    "       rdbkeep db backup [SUBSCRIPTION_ID] DATABASE_ID [--path URI] [--wait]\n"
    "       rdbkeep db import [SUBSCRIPTION_ID] DATABASE_ID --source-type TYPE URI... [--wait]\n"
    "\n"
    "Manages databases through the daemon's REST API (rdbkeep serve). create, update\n"
    "and delete wait for their task and show its progress on a terminal; --no-wait\n"
    "prints the task id at once instead (follow it with rdbkeep task wait).\n"
    "\n"
    "backup starts a backup of the database (its subscription is found when only\n"
    "the database id is given) to its configured backup path, or to --path URI (a\n"
    "local directory, s3://, gs://, abs:// or ftp:// place); it prints the task id,\n"
    "or with --wait follows the task with a progress bar and prints where the\n"
    "backup's files and manifest are.\n"
    "\n"
    "import replaces the database's data with the files URI... (.rdb or .rdb.gz of\n"
    "any Redis or Valkey version; several files are merged: the shards of one\n"
    "backup) or with a live server's data. TYPE is aws-s3 (s3://), google-blob-storage\n"
    "(gs://), azure-blob-storage (abs://), ftp (ftp://, ftps://), http (http://,\n"
    "https://) or redis (redis://[password@]host:port, one). The old data serves\n"
    "until the new data has loaded; a failed import leaves it as it was. It prints\n"
    "the task id, or with --wait follows the task with a progress bar.\n"
    "\n"
    "Settings (create and update):\n"
    "  --memory-gb N          maxmemory in GB (memoryLimitInGb; default 1)\n"
    "  --persistence P        none, aof-every-1-second, aof-every-write,\n"
    "                         snapshot-every-1-hour, snapshot-every-6-hours,\n"
    "                         snapshot-every-12-hours (dataPersistence; default none)\n"
    "  --eviction P           dataEvictionPolicy (default volatile-lru)\n"
    "  --password PW          the database's password (default: generated)\n"
    "  --replication on|off   run a replica redis-server next to the primary\n"
    "  --backup-path PATH     periodicBackupPath (\"\" removes it)\n"
    "  --port N               create only: the port (default: from databasePorts)\n"
    "\n"
    "Common options:\n"
    "  --api URL              the API (default $RDBKEEP_API_URL, else http://127.0.0.1:8080)\n"
    "  --json                 print the API's JSON (for scripts)\n"
    "\n"
    "The keys come from RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY.\n"
    "Exit status: 0 done, 1 the API or the task failed, 2 bad command line.\n";

#define CMD "db"

struct db_opts {
    long long subscription;
    const char *name, *persistence, *eviction, *password, *replication, *backup_path;
    const char *path;        /* db backup --path */
    const char *source_type; /* db import --source-type */
    bool wait;               /* db backup --wait */
    double memory_gb;
    long long port;
    bool has_memory, has_port, no_wait;
};

/* Takes the options out of argv; positional arguments stay, in order. */
static int parse_opts(int *argc, char **argv, struct db_opts *o)
{
    memset(o, 0, sizeof(*o));
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (strcmp(a, "--no-wait") == 0) {
            o->no_wait = true;
            continue;
        }
        if (strcmp(a, "--wait") == 0) {
            o->wait = true;
            continue;
        }
        const char *eq = strchr(a, '=');
        char name[32];
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name)) return cli_usage_error(CMD, "unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = '\0';
        const char *v = eq ? eq + 1 : (i + 1 < *argc ? argv[++i] : NULL);
        if (!v) return cli_usage_error(CMD, "%s needs a value", name);
        if (strcmp(name, "--subscription") == 0) {
            if (api_parse_id(v, &o->subscription) < 0)
                return cli_usage_error(CMD, "--subscription: '%s' is not a positive integer", v);
        } else if (strcmp(name, "--name") == 0) {
            o->name = v;
        } else if (strcmp(name, "--persistence") == 0) {
            o->persistence = v;
        } else if (strcmp(name, "--eviction") == 0) {
            o->eviction = v;
        } else if (strcmp(name, "--password") == 0) {
            o->password = v;
        } else if (strcmp(name, "--backup-path") == 0) {
            o->backup_path = v;
        } else if (strcmp(name, "--path") == 0) {
            o->path = v;
        } else if (strcmp(name, "--source-type") == 0) {
            o->source_type = v;
        } else if (strcmp(name, "--replication") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0 && strcmp(v, "true") != 0 &&
                strcmp(v, "false") != 0)
                return cli_usage_error(CMD, "--replication: '%s' is not on or off", v);
            o->replication = v;
        } else if (strcmp(name, "--memory-gb") == 0) {
            char *end;
            errno = 0;
            o->memory_gb = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(o->memory_gb) || o->memory_gb <= 0)
                return cli_usage_error(CMD, "--memory-gb: '%s' is not a positive number", v);
            o->has_memory = true;
        } else if (strcmp(name, "--port") == 0) {
            if (api_parse_id(v, &o->port) < 0 || o->port > 65535)
                return cli_usage_error(CMD, "--port: '%s' is not a port", v);
            o->has_port = true;
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", name);
        }
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

static json_t *settings_body(const struct db_opts *o, bool create)
{
    json_t *b = json_object();
    if (o->name) json_object_set_new(b, "name", json_string(o->name));
    if (create) json_object_set_new(b, "protocol", json_string("redis"));
    if (o->has_memory) json_object_set_new(b, "memoryLimitInGb", json_real(o->memory_gb));
    if (o->persistence) json_object_set_new(b, "dataPersistence", json_string(o->persistence));
    if (o->eviction) json_object_set_new(b, "dataEvictionPolicy", json_string(o->eviction));
    if (o->password) json_object_set_new(b, "password", json_string(o->password));
    if (o->replication)
        json_object_set_new(
            b, "replication",
            json_boolean(strcmp(o->replication, "on") == 0 || strcmp(o->replication, "true") == 0));
    if (o->backup_path) json_object_set_new(b, "periodicBackupPath", json_string(o->backup_path));
    if (o->has_port) json_object_set_new(b, "port", json_integer(o->port));
    return b;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void print_row(const json_t *db, long long sub)
{
    printf("%-6lld %-6lld %-24s %-22s %-22s %6.2f  %s\n",
           (long long)json_integer_value(json_object_get(db, "databaseId")), sub, str(db, "name"),
           str(db, "status"), str(db, "publicEndpoint"),
           json_number_value(json_object_get(db, "memoryLimitInGb")), str(db, "dataPersistence"));
}

/* Pages through one subscription's databases as Cloud's clients do: until
 * an empty page or a 404. */
static int list_subscription(struct api_client *c, long long sub, json_t *all)
{
    for (long long offset = 0;; offset += 100) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases?offset=%lld&limit=100", sub,
                 offset);
        json_t *page;
        struct rk_err err;
        long st = api_call(c, "GET", path, NULL, &page, &err);
        if (st < 0) {
            fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
            return -1;
        }
        if (st == 404 && offset > 0) {
            json_decref(page);
            return 0;
        }
        if (st != 200) {
            api_print_error(CMD, st, page);
            json_decref(page);
            return -1;
        }
        json_t *dbs =
            json_object_get(json_array_get(json_object_get(page, "subscription"), 0), "databases");
        size_t i, n = json_array_size(dbs);
        json_t *db;
        json_array_foreach(dbs, i, db)
        {
            json_object_set_new(db, "subscriptionId", json_integer(sub));
            json_array_append(all, db);
        }
        json_decref(page);
        if (n < 100) return 0;
    }
}

/* The databases of every subscription; on a failure, those listed before it. */
static int list_all_subscriptions(struct api_client *c, json_t *all)
{
    json_t *subs;
    struct rk_err err;
    long st = api_call(c, "GET", "/v1/subscriptions", NULL, &subs, &err);
    if (st != 200) {
        if (st < 0)
            fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
        else
            api_print_error(CMD, st, subs);
        json_decref(subs);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(subs, "subscriptions"), i, s)
    {
        if (rc == 0) rc = list_subscription(c, json_integer_value(json_object_get(s, "id")), all);
    }
    json_decref(subs);
    return rc;
}

static int db_list(struct api_client *c, const struct db_opts *o)
{
    json_t *all = json_array();
    int rc = 0;
    if (o->subscription)
        rc = list_subscription(c, o->subscription, all);
    else
        rc = list_all_subscriptions(c, all);
    if (rc == 0) {
        if (c->json) {
            api_print_json(all);
        } else {
            printf("%-6s %-6s %-24s %-22s %-22s %6s  %s\n", "ID", "SUB", "NAME", "STATUS",
                   "ENDPOINT", "GB", "PERSISTENCE");
            size_t i;
            json_t *db;
            json_array_foreach(all, i, db)
            {
                print_row(db, json_integer_value(json_object_get(db, "subscriptionId")));
            }
        }
    }
    json_decref(all);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* What a finished task printed, per command. */
typedef void (*task_printer)(const json_t *task, const char *what);

static void print_database_done(const json_t *task, const char *what)
{
    printf("%s: database %lld\n", what,
           (long long)json_integer_value(
               json_object_get(json_object_get(task, "response"), "resourceId")));
}

/* After an accepted request: the task id, or with wait its progress and then
 * what print_done makes of the finished task. */
static int follow(struct api_client *c, bool wait, json_t *accepted, const char *what,
                  task_printer print_done)
{
    const char *id = json_string_value(json_object_get(accepted, "taskId"));
    if (!id) {
        fprintf(stderr, "rdbkeep %s: the API accepted the request without a taskId\n", CMD);
        return CLI_EXIT_FAIL;
    }
    if (!wait) {
        if (c->json)
            api_print_json(accepted);
        else
            printf("%s\n", id);
        return CLI_EXIT_OK;
    }
    json_t *task;
    struct rk_err err;
    int rc = api_wait_task(c, CMD, id, 0, &task, &err);
    if (rc < 0) fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
    if (rc == 0) {
        if (c->json)
            api_print_json(task);
        else
            print_done(task, what);
    }
    json_decref(task);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* Sends a request that starts a task; prints the API's error if refused. */
static int submit(struct api_client *c, bool wait, const char *method, const char *path,
                  json_t *body, const char *what, task_printer print_done)
{
    json_t *resp;
    struct rk_err err;
    long st = api_call(c, method, path, body, &resp, &err);
    json_decref(body);
    int rc;
    if (st < 0) {
        fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
        rc = CLI_EXIT_FAIL;
    } else if (st < 200 || st > 299) {
        api_print_error(CMD, st, resp);
        rc = CLI_EXIT_FAIL;
    } else {
        rc = follow(c, wait, resp, what, print_done);
    }
    json_decref(resp);
    return rc;
}

static int db_get(struct api_client *c, long long sub, long long id)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases/%lld", sub, id);
    json_t *db;
    struct rk_err err;
    long st = api_call(c, "GET", path, NULL, &db, &err);
    if (st != 200) {
        if (st < 0)
            fprintf(stderr, "rdbkeep %s: %s\n", CMD, err.msg);
        else
            api_print_error(CMD, st, db);
        json_decref(db);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        api_print_json(db);
    } else {
        json_t *backup = json_object_get(db, "backup");
        printf("database:     %lld (subscription %lld)\n", id, sub);
        printf("name:         %s\n", str(db, "name"));
        printf("status:       %s\n", str(db, "status"));
        if (json_object_get(db, "statusReason"))
            printf("reason:       %s\n", str(db, "statusReason"));
        printf("endpoint:     %s\n", str(db, "publicEndpoint"));
        printf("password:     %s\n", str(json_object_get(db, "security"), "password"));
        printf("memory:       %g GB\n", json_number_value(json_object_get(db, "memoryLimitInGb")));
        printf("persistence:  %s\n", str(db, "dataPersistence"));
        printf("eviction:     %s\n", str(db, "dataEvictionPolicy"));
        printf("replication:  %s\n",
               json_is_true(json_object_get(db, "replication")) ? "on" : "off");
        printf("redis:        %s\n", str(db, "redisVersion"));
        printf("backup:       %s\n", json_is_true(json_object_get(backup, "enableRemoteBackup"))
                                         ? str(backup, "destination")
                                         : "none");
        if (json_object_get(backup, "nextBackupTime"))
            printf("next backup:  %s\n", str(backup, "nextBackupTime"));
        if (json_object_get(backup, "lastBackupTime"))
            printf("last backup:  %s\n", str(backup, "lastBackupTime"));
    }
    json_decref(db);
    return CLI_EXIT_OK;
}

/* ---- db backup ---- */

/* The subscription a database belongs to, by looking through them all. */
static int find_subscription(struct api_client *c, long long id, long long *sub)
{
    json_t *all = json_array();
    int lrc = list_all_subscriptions(c, all);
    int rc = -1;
    size_t i;
    json_t *db;
    json_array_foreach(all, i, db)
    {
        if (json_integer_value(json_object_get(db, "databaseId")) == id) {
            *sub = json_integer_value(json_object_get(db, "subscriptionId"));
            rc = 0;
        }
    }
    if (rc < 0 && lrc == 0)
        fprintf(stderr, "rdbkeep %s: database %lld not found in any subscription\n", CMD, id);
    json_decref(all);
    return rc;
}

static void print_backup_result(const json_t *task, const char *what)
{
    (void)what;
    json_t *r = json_object_get(json_object_get(task, "response"), "resource");
    char size[32];
    rk_format_bytes((uint64_t)json_integer_value(json_object_get(r, "sizeBytes")), size,
                    sizeof(size));
    printf("backup %lld of database %lld: %lld keys, %s, %.1f s\n",
           (long long)json_integer_value(json_object_get(r, "backupId")),
           (long long)json_integer_value(
               json_object_get(json_object_get(task, "response"), "resourceId")),
           (long long)json_integer_value(json_object_get(r, "keys")), size,
           (double)json_integer_value(json_object_get(r, "durationMs")) / 1000.0);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "files"), i, f)
        printf("  file:      %s\n", str(f, "uri"));
    printf("  manifest:  %s\n", str(r, "manifest"));
}

static int db_backup(struct api_client *c, const struct db_opts *o, int argc, char **argv)
{
    long long sub = 0, id = 0;
    if (argc == 3) {
        if (api_parse_id(argv[2], &id) < 0)
            return cli_usage_error(CMD, "'%s' is not a database id", argv[2]);
        if (find_subscription(c, id, &sub) < 0) return CLI_EXIT_FAIL;
    } else if (argc == 4) {
        if (api_parse_id(argv[2], &sub) < 0)
            return cli_usage_error(CMD, "'%s' is not a subscription id", argv[2]);
        if (api_parse_id(argv[3], &id) < 0)
            return cli_usage_error(CMD, "'%s' is not a database id", argv[3]);
    } else {
        return cli_usage_error(CMD, "backup takes [SUBSCRIPTION_ID] DATABASE_ID");
    }
    char path[128];
    snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases/%lld/backup", sub, id);
    json_t *body = o->path ? json_pack("{s:s}", "adhocBackupPath", o->path) : NULL;
    return submit(c, o->wait, "POST", path, body, "backup", print_backup_result);
}

/* ---- db import ---- */

static void print_import_result(const json_t *task, const char *what)
{
    (void)what;
    json_t *r = json_object_get(json_object_get(task, "response"), "resource");
    char size[32];
    rk_format_bytes((uint64_t)json_integer_value(json_object_get(r, "sourceBytes")), size,
                    sizeof(size));
    printf("imported into database %lld: %lld keys from %s in %.1f s",
           (long long)json_integer_value(json_object_get(r, "databaseId")),
           (long long)json_integer_value(json_object_get(r, "keys")), size,
           (double)json_integer_value(json_object_get(r, "durationMs")) / 1000.0);
    long long expired = json_integer_value(json_object_get(r, "keysExpiredSkipped"));
    if (expired) printf(" (%lld expired keys left out)", expired);
    printf("\n");
}

static int db_import(struct api_client *c, const struct db_opts *o, int argc, char **argv)
{
    long long sub = 0, id = 0;
    int first_uri;
    /* [SUBSCRIPTION_ID] DATABASE_ID URI...: ids are numbers, URIs never are. */
    if (argc >= 4 && api_parse_id(argv[2], &sub) == 0 && api_parse_id(argv[3], &id) == 0) {
        first_uri = 4;
    } else if (argc >= 3 && api_parse_id(argv[2], &id) == 0) {
        sub = 0;
        first_uri = 3;
    } else {
        return cli_usage_error(
            CMD, "import takes [SUBSCRIPTION_ID] DATABASE_ID --source-type TYPE URI...");
    }
    if (!o->source_type) return cli_usage_error(CMD, "import needs --source-type TYPE");
    if (first_uri >= argc) return cli_usage_error(CMD, "import needs at least one URI");
    if (!sub && find_subscription(c, id, &sub) < 0) return CLI_EXIT_FAIL;
    json_t *uris = json_array();
    for (int i = first_uri; i < argc; i++) json_array_append_new(uris, json_string(argv[i]));
    json_t *body = json_pack("{s:s, s:o}", "sourceType", o->source_type, "importFromUri", uris);
    char path[128];
    snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases/%lld/import", sub, id);
    return submit(c, o->wait, "POST", path, body, "import", print_import_result);
}

static int two_ids(int argc, char **argv, const char *sub_cmd, long long *sub, long long *id)
{
    if (argc != 4) return cli_usage_error(CMD, "%s takes SUBSCRIPTION_ID DATABASE_ID", sub_cmd);
    if (api_parse_id(argv[2], sub) < 0)
        return cli_usage_error(CMD, "'%s' is not a subscription id", argv[2]);
    if (api_parse_id(argv[3], id) < 0)
        return cli_usage_error(CMD, "'%s' is not a database id", argv[3]);
    return 0;
}

static int cmd_db_run(int argc, char **argv)
{
    struct api_client c;
    struct rk_err err;
    struct db_opts o;
    if (api_client_open(&c, CMD, &argc, argv, &err) < 0) {
        api_client_close(&c);
        return cli_usage_error(CMD, "%s", err.msg);
    }
    int rc = parse_opts(&argc, argv, &o);
    if (rc != 0) {
        api_client_close(&c);
        return rc;
    }
    const char *sub_cmd = argc > 1 ? argv[1] : "";
    long long sub = 0, id = 0;
    char path[96];
    if (strcmp(sub_cmd, "list") == 0) {
        rc = argc == 2 ? db_list(&c, &o) : cli_usage_error(CMD, "list takes no arguments");
    } else if (strcmp(sub_cmd, "create") == 0) {
        if (argc != 2 || !o.subscription || !o.name) {
            rc = cli_usage_error(CMD, "create needs --subscription ID and --name NAME");
        } else {
            snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases", o.subscription);
            rc = submit(&c, !o.no_wait, "POST", path, settings_body(&o, true), "created",
                        print_database_done);
        }
    } else if (strcmp(sub_cmd, "get") == 0) {
        rc = two_ids(argc, argv, sub_cmd, &sub, &id);
        if (rc == 0) rc = db_get(&c, sub, id);
    } else if (strcmp(sub_cmd, "update") == 0) {
        rc = two_ids(argc, argv, sub_cmd, &sub, &id);
        if (rc == 0 && o.has_port)
            rc = cli_usage_error(CMD, "a database keeps its port: no --port on update");
        if (rc == 0) {
            snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases/%lld", sub, id);
            rc = submit(&c, !o.no_wait, "PUT", path, settings_body(&o, false), "updated",
                        print_database_done);
        }
    } else if (strcmp(sub_cmd, "delete") == 0) {
        rc = two_ids(argc, argv, sub_cmd, &sub, &id);
        if (rc == 0) {
            snprintf(path, sizeof(path), "/v1/subscriptions/%lld/databases/%lld", sub, id);
            rc = submit(&c, !o.no_wait, "DELETE", path, NULL, "deleted", print_database_done);
        }
    } else if (strcmp(sub_cmd, "backup") == 0) {
        rc = db_backup(&c, &o, argc, argv);
    } else if (strcmp(sub_cmd, "import") == 0) {
        rc = db_import(&c, &o, argc, argv);
    } else {
        rc = cli_usage_error(CMD, "expected list, create, get, update, delete, backup or import");
    }
    api_client_close(&c);
    return rc;
}

const struct cli_command cli_cmd_db = {
    .name = "db",
    .summary =
        "manage databases through the API: list, create, get, update, delete, backup, import",
    .help = db_help,
    .run = cmd_db_run,
};
