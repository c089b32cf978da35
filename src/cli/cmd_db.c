/* rdbkeep db: placeholder until its issue lands. */
#include "cli/cli.h"

#include <stdio.h>

static int cmd_db_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "rdbkeep %s: not available in this build yet\n", argv[0]);
    return CLI_EXIT_FAIL;
}

const struct cli_command cli_cmd_db = {
    .name = "db",
    .summary = "manage databases through the API: list, create, get, update, delete",
    .help = "Usage: rdbkeep db ...\n\n(not available in this build yet)\n",
    .run = cmd_db_run,
};
