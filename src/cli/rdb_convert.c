/* rdbkeep rdb convert: lands with the writer. */
#include "cli/rdb_tools.h"

int cli_rdb_convert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rdbkeep rdb convert: not available yet\n");
    return CLI_EXIT_FAIL;
}
