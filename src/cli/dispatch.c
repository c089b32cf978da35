/* Subcommand dispatch, --version, --help and "help CMD". */
#include "cli/cli.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command *const commands[] = {
    &cli_cmd_serve, &cli_cmd_db, &cli_cmd_task, &cli_cmd_rdb, &cli_cmd_store,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out, "rdbkeep %s: a self-hosted Redis database service\n\n"
                 "Usage: rdbkeep COMMAND [ARGS...]\n\nCommands:\n",
            RDBKEEP_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "  %-8s %s\n", "help", "show the help of a command: rdbkeep help COMMAND");
    fprintf(out, "\nOptions:\n  --help     this text\n  --version  print the version\n");
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rdbkeep %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see: rdbkeep help %s)\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("rdbkeep %s\n", RDBKEEP_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_overview(stdout);
            return CLI_EXIT_OK;
        }
        const struct cli_command *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "rdbkeep: no such command '%s'\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        fputs(c->help, stdout);
        return CLI_EXIT_OK;
    }
    const struct cli_command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "rdbkeep: no such command '%s' (see: rdbkeep --help)\n", name);
        return CLI_EXIT_USAGE;
    }
    /* libcurl's global state, once per process and before any thread. */
    struct rk_err err;
    if (store_global_init(&err) < 0) {
        fprintf(stderr, "rdbkeep: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    /* "rdbkeep CMD --help" is the same as "rdbkeep help CMD". */
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->help, stdout);
            return CLI_EXIT_OK;
        }
    }
    return c->run(argc - 1, argv + 1);
}
