/* redis_load: what the target is, which method to use, and the RESTORE
 * method's driver. */
#include "redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PAYLOAD (64ull << 20)
#define FLUSH_TIMEOUT_MS    (30L * 60 * 1000) /* FLUSHALL of a large dataset blocks the server */

const char *redis_load_method_name(enum redis_load_method m)
{
    switch (m) {
    case REDIS_LOAD_RESTORE: return "restore";
    case REDIS_LOAD_REPLICATION: return "replication";
    default: return "auto";
    }
}

/* What INFO says about the target, beyond its version. */
struct target_facts {
    char role[16];
    bool cluster;
    uint64_t maxmemory;
};

static int learn_target(struct rconn *c, const struct redis_load_options *o,
                        struct target_caps *caps, struct target_facts *facts,
                        struct redis_load_stats *st, struct rk_err *err)
{
    redisReply *r = rconn_callv(c, err, "PING", NULL);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        rk_err_set(err, "%s%s", r->str,
                   strncmp(r->str, "NOAUTH", 6) == 0 ? " (give the password in the URI)" : "");
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);

    r = rconn_callv(c, err, "INFO", NULL);
    if (!r) return -1;
    char rv[32] = "", vv[32] = "", tmp[32];
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        rconn_info_field(r->str, "redis_version", rv, sizeof(rv));
        rconn_info_field(r->str, "valkey_version", vv, sizeof(vv));
        rconn_info_field(r->str, "role", facts->role, sizeof(facts->role));
        rconn_info_field(r->str, "cluster_enabled", tmp, sizeof(tmp));
        facts->cluster = strcmp(tmp, "1") == 0;
        rconn_info_field(r->str, "maxmemory", tmp, sizeof(tmp));
        if (rk_parse_u64(tmp, &facts->maxmemory)) facts->maxmemory = 0;
    } else if (r->type == REDIS_REPLY_ERROR && !o->target_version) {
        rk_err_set(err, "INFO: %s (give the target's RDB version with --target-version)", r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    if (vv[0])
        snprintf(st->server, sizeof(st->server), "valkey %s", vv);
    else if (rv[0])
        snprintf(st->server, sizeof(st->server), "redis %s", rv);

    caps->rdb_version = o->target_version ? o->target_version : redis_rdb_version_for(rv, vv);
    if (caps->rdb_version < RDB_WRITER_MIN_VERSION || caps->rdb_version > RDB_WRITER_MAX_VERSION)
        return rk_err_set(err,
                          "cannot load into %s: RDB versions %d to %d can be written "
                          "(Redis 2.6 and later)",
                          st->server[0] ? st->server : "this server", RDB_WRITER_MIN_VERSION,
                          RDB_WRITER_MAX_VERSION);
    if (sscanf(rv, "%d.%d", &caps->major, &caps->minor) != 2) {
        /* No version to go by: assume what the RDB version implies. */
        static const int major_of[] = {
            [6] = 2, [7] = 3, [8] = 4, [9] = 5, [10] = 7, [11] = 7, [12] = 7};
        static const int minor_of[] = {
            [6] = 6, [7] = 2, [8] = 0, [9] = 0, [10] = 0, [11] = 2, [12] = 4};
        caps->major = major_of[caps->rdb_version];
        caps->minor = minor_of[caps->rdb_version];
    }
    int v = caps->major * 100 + caps->minor;
    caps->abs_ttl = v >= 500;
    caps->functions = v >= 700;
    caps->stream_ext = v >= 700;
    caps->create_consumer = v >= 602;
    caps->hash_field_ttl = v >= 704 && !vv[0];

    caps->proto_max_bulk_len = 512ull << 20;
    r = rconn_callv(c, err, "CONFIG", "GET", "proto-max-bulk-len", NULL);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        uint64_t n;
        if (rk_parse_u64(r->element[1]->str, &n) == 0 && n > 0) caps->proto_max_bulk_len = n;
    }
    freeReplyObject(r);
    st->target_version = caps->rdb_version;
    st->proto_max_bulk_len = caps->proto_max_bulk_len;
    return 0;
}

static void note_reply(void *ctx, enum rcmd cmd)
{
    struct redis_load_stats *st = ctx;
    if (cmd == RC_XCLAIM) st->stream_pel_dropped++;
}

static int restore_load(const struct redis_config *cfg, struct rconn *c,
                        const struct target_caps *caps, const struct redis_load_inputs *in,
                        const struct redis_load_options *o, struct redis_load_stats *st,
                        bool *target_side, struct rk_err *err)
{
    uint64_t cap = o->max_payload ? o->max_payload : DEFAULT_MAX_PAYLOAD;
    if (cap > caps->proto_max_bulk_len) cap = caps->proto_max_bulk_len;
    struct rpipe *p = rpipe_new(c, note_reply, st);
    int rc = 0;
    *target_side = true;
    if (!o->no_flush) {
        rpipe_begin(p, RC_FLUSHALL, NULL, 0);
        rpipe_argc(p, 1);
        rpipe_arg_str(p, "FLUSHALL");
        if (caps->functions) {
            rpipe_begin(p, RC_FUNCTION_FLUSH, NULL, 0);
            rpipe_argc(p, 2);
            rpipe_arg_str(p, "FUNCTION");
            rpipe_arg_str(p, "FLUSH");
        }
        rc = rpipe_drain(p, FLUSH_TIMEOUT_MS, err);
        if (rc == 0) st->target_flushed = true;
    }
    struct loader *l = NULL;
    if (rc == 0) {
        l = loader_new(p, caps, cap, st, o->progress, err);
        if (!l) rc = -1;
    }
    if (rc == 0) {
        struct input_run run = {.in = in,
                                .progress = o->progress,
                                .stats = st,
                                .cancelled = cfg->cancelled,
                                .cancel_arg = cfg->cancel_arg,
                                .handler_error = loader_target_failed(l)};
        rc = input_run_all(&run, loader_event, l, err);
        *target_side = *loader_target_failed(l);
        if (rc == 0) {
            *target_side = true;
            rc = rpipe_drain(p, 0, err);
        }
        loader_finish_stats(l);
    }
    loader_free(l);
    rpipe_free(p);
    return rc;
}

int redis_load(const struct redis_config *cfg, const struct store_uri *target,
               const struct redis_load_inputs *in, const struct redis_load_options *o,
               struct redis_load_stats *st, struct rk_err *err)
{
    struct redis_config defaults;
    if (!cfg) {
        redis_config_init(&defaults);
        cfg = &defaults;
    }
    struct redis_load_options opts = o ? *o : (struct redis_load_options){0};
    struct redis_load_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof(*st));
    if (opts.no_flush && opts.method == REDIS_LOAD_REPLICATION)
        return rk_err_set(err, "the replication method replaces everything: it cannot merge "
                               "(--no-flush)");
    struct rconn *c = rconn_open_uri(cfg, target, err);
    if (!c) return -1;
    struct target_caps caps = {0};
    struct target_facts facts = {0};
    int rc = learn_target(c, &opts, &caps, &facts, st, err);
    if (rc) rk_err_prefix(err, "target %s", rconn_name(c));

    enum redis_load_method method = opts.no_flush ? REDIS_LOAD_RESTORE : opts.method;
    if (rc == 0 && method != REDIS_LOAD_RESTORE) {
        bool fallback = false;
        struct master_plan plan = {.cfg = cfg,
                                   .ctl = c,
                                   .caps = &caps,
                                   .in = in,
                                   .listen_host = opts.listen_host,
                                   .listen_port = opts.listen_port,
                                   .stats = st,
                                   .progress = opts.progress};
        const char *why = NULL;
        if (facts.cluster)
            why = "the target is a cluster node";
        else if (strcmp(facts.role, "master") != 0)
            why = "the target is not a master";
        else if (facts.maxmemory)
            why = "the target has a maxmemory limit (a replica would ignore it)";
        if (why) {
            fallback = true;
            rc = rk_err_set(err, "%s", why);
        } else {
            st->method = REDIS_LOAD_REPLICATION;
            rc = master_load(&plan, &fallback, err);
        }
        if (rc && fallback && method == REDIS_LOAD_AUTO) {
            snprintf(st->method_note, sizeof(st->method_note), "%s", err->msg);
            rc = 0;
            method = REDIS_LOAD_RESTORE;
        } else if (rc) {
            rk_err_prefix(err, "target %s: replication method", rconn_name(c));
        }
    }
    if (rc == 0 && method == REDIS_LOAD_RESTORE) {
        st->method = REDIS_LOAD_RESTORE;
        bool target_side = false;
        rc = restore_load(cfg, c, &caps, in, &opts, st, &target_side, err);
        if (rc && target_side) rk_err_prefix(err, "target %s", rconn_name(c));
    }
    rconn_close(c);
    return rc;
}
