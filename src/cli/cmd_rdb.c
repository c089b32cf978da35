/* rdbkeep rdb: the offline tools for RDB files. */
#include "cli/rdb_tools.h"

#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} rdb_subcommands[] = {
    {"verify", cli_rdb_verify},
    {"inspect", cli_rdb_inspect},
    {"json", cli_rdb_json},
    {"convert", cli_rdb_convert},
    {"pull", cli_rdb_pull},
    {"push", cli_rdb_push},
};

static int cmd_rdb_run(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("rdb", "which tool? verify, inspect, json, convert, pull or push");
    for (size_t i = 0; i < sizeof(rdb_subcommands) / sizeof(rdb_subcommands[0]); i++)
        if (strcmp(argv[1], rdb_subcommands[i].name) == 0)
            return rdb_subcommands[i].run(argc - 1, argv + 1);
    return cli_usage_error("rdb", "no such tool '%s'", argv[1]);
}

const struct cli_command cli_cmd_rdb = {
    .name = "rdb",
    .summary = "tools for RDB files: verify, inspect, json, convert; pull, push (live Redis)",
    .help =
        "Usage: rdbkeep rdb TOOL [OPTIONS] FILE...\n"
        "\n"
        "Offline tools for RDB files of every Redis (RDB 1 to 13) and Valkey (VALKEY080, 081)\n"
        "version. FILE is a path or - for stdin; gzip is recognised by its magic bytes,\n"
        "whatever the name. Nothing is ever held whole in memory.\n"
        "\n"
        "  verify [-q] FILE...\n"
        "      Checks every byte: structure, every encoding, and the CRC64. Prints one\n"
        "      line per intact file; for a damaged one prints \"FILE: offset N: what is\n"
        "      wrong\" on stderr. Exits 0 if and only if every file is intact.\n"
        "\n"
        "  inspect [--json] FILE\n"
        "      What is inside: version, the server that wrote it, aux fields, databases,\n"
        "      keys per type and per encoding, keys with an expiry, functions, modules,\n"
        "      size and checksum status.\n"
        "\n"
        "  json FILE\n"
        "      One JSON object per key per line:\n"
        "        {\"db\":0,\"key\":\"k\",\"type\":\"hash\",\"encoding\":\"listpack\",\n"
        "         \"expire_ms\":1700000000000,\"value\":{\"field\":\"value\"}}\n"
        "      Strings are binary-safe: valid UTF-8 is written as text and every other\n"
        "      byte 0xNN as \\udcNN (Python: s.encode('utf-8', 'surrogateescape')).\n"
        "      Values: string \"...\"; list and set [...]; zset [[member, score], ...];\n"
        "      hash {field: value} plus \"field_expires\" {field: ms} when fields have TTLs;\n"
        "      stream {\"entries\": [{\"id\", \"fields\": [f, v, ...]}], \"length\",\n"
        "      \"last_id\", \"groups\", ...}; module\n"
        "      {\"module\", \"encver\", \"data\" (base64 of the serialized value)}.\n"
        "\n"
        "  convert --target-version N [--drop-expired] IN OUT\n"
        "      Rewrites IN for Redis RDB version N (6 to 12): encodings the target\n"
        "      lacks are rewritten (listpacks to ziplists below 10, quicklist v2 to v1,\n"
        "      set listpacks to intsets or plain sets, newer streams to older forms);\n"
        "      hash field expirations are dropped below 12 (counted as a warning).\n"
        "      --drop-expired leaves out keys already expired. OUT is a path or -.\n"
        "      --target-version 10 output loads in Redis 7.0.\n"
        "\n"
        "  pull [OPTIONS] SRC DST\n"
        "      Takes a snapshot of a running Redis or Valkey over replication (SRC is\n"
        "      redis://[[user:]password@]host:port or rediss://...) and stores it at DST,\n"
        "      a path or any store URI (see rdbkeep help store), or - for stdout; gzip\n"
        "      when DST ends in .gz (--gzip, --no-gzip, --gzip-level 1-3 to choose).\n"
        "      The stream is verified as it passes (structure and CRC64) and goes\n"
        "      straight into DST, with no temporary copy; DST appears only if it verified.\n"
        "\n"
        "  push [OPTIONS] SRC... DST\n"
        "      Loads RDB files (paths, store URIs, - for stdin, or redis:// snapshots;\n"
        "      gzip by magic; several files are the shards of one dataset) into the\n"
        "      running server DST (redis:// or rediss://). The target ends up holding\n"
        "      exactly their data: FLUSHALL (and FUNCTION FLUSH) first, unless\n"
        "      --no-flush merges (RESTORE ... REPLACE). Keys already expired are skipped.\n"
        "      --method auto|restore|replication  auto (default) lets the target load a\n"
        "          replication full sync from rdbkeep when it can (one SRC; the target a\n"
        "          master, no cluster, no maxmemory, CONFIG and REPLICAOF allowed, able to\n"
        "          connect back), else pipelined RESTORE; the summary says which and why\n"
        "      --max-payload SIZE   largest RESTORE payload (default 64M, always under the\n"
        "          target's proto-max-bulk-len); bigger values go as typed commands\n"
        "      --target-version N   the target's RDB version (default: from INFO)\n"
        "      --listen-host H, --listen-port P  where the target connects back to\n"
        "          (replication; default: our address towards it, any port)\n"
        "\n"
        "  Options of pull and push:\n"
        "      --connect-timeout S, --timeout S (default 10 and 60 seconds)\n"
        "      --tls-ca FILE (default RDBKEEP_CA_FILE), --tls-cert FILE, --tls-key FILE,\n"
        "      --tls-server-name NAME, --tls-insecure: TLS for rediss://\n"
        "      -q, --quiet: no progress bar, no summary\n"
        "      Passwords never appear in messages; a URI is shown with ***.\n"
        "\n"
        "Exit codes: 0 success, 1 a file is damaged or an operation failed, 2 usage.\n",
    .run = cmd_rdb_run,
};
