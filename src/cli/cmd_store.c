/* rdbkeep store: placeholder until its issue lands. */
#include "cli/cli.h"

#include <stdio.h>

static int cmd_store_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "rdbkeep %s: not available in this build yet\n", argv[0]);
    return CLI_EXIT_FAIL;
}

const struct cli_command cli_cmd_store = {
    .name = "store",
    .summary = "copy, list, inspect and delete backups in every store (S3, GCS, Azure, FTP, HTTP, local)",
    .help = "Usage: rdbkeep store ...\n\n(not available in this build yet)\n",
    .run = cmd_store_run,
};
