/* The reader's stream states (types 15, 19, 21 and 26) and the
 * interpretation of stream nodes: each node is a listpack holding a master
 * entry and then the entries, as t_stream.c lays them out:
 *
 *   master: count, deleted, master-field-count, master fields..., 0
 *   entry:  flags, ms-delta, seq-delta,
 *           [field-count, field, value, ...] or, with SAMEFIELDS, [value ...],
 *           lp-count (the entry's elements before it)
 */
#include "rdb/reader_internal.h"

#include <stdio.h>
#include <string.h>

#define STREAM_FLAG_DELETED    1
#define STREAM_FLAG_SAMEFIELDS 2
#define MASTER_NAMES_MAX       (16u << 20)

enum sn_state {
    SN_COUNT,
    SN_DELETED,
    SN_MASTER_FIELDS,
    SN_MASTER_FIELD,
    SN_MASTER_END,
    SN_FLAGS,
    SN_MS,
    SN_SEQ,
    SN_FIELDS,
    SN_FIELD,
    SN_VALUE,
    SN_LP_COUNT,
};

static int stream_version(const struct rdb_reader *r)
{
    switch (r->enc) {
    case RDB_ENC_STREAM_LISTPACKS: return 1;
    case RDB_ENC_STREAM_LISTPACKS_2: return 2;
    case RDB_ENC_STREAM_LISTPACKS_3: return 3;
    default: return 4;
    }
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static int emit_simple(struct rdb_reader *r)
{
    if (!(r->want & RDB_WANT_VALUES)) return RD_OK;
    return rd_emit_value(r);
}

static int emit_named(struct rdb_reader *r, int slot)
{
    r->v.data = r->whole[slot].data;
    r->v.len = r->whole[slot].len;
    r->v.total = r->v.len;
    return emit_simple(r);
}

/* ---- Node interpretation --------------------------------------------------- */

void rd_stream_node_begin(struct rdb_reader *r)
{
    r->sn.state = SN_COUNT;
    r->sn.seen_valid = r->sn.seen_deleted = 0;
    rk_buf_reset(&r->sn.master_names);
}

static int node_error(struct rdb_reader *r, const struct rdb_blob_entry *e, const char *what)
{
    return rd_error(r, "stream node %llu-%llu, listpack entry %u: %s",
                    (unsigned long long)r->sn.master.ms, (unsigned long long)r->sn.master.seq,
                    e->index, what);
}

static int need_int(struct rdb_reader *r, const struct rdb_blob_entry *e, const char *what,
                    int64_t *out)
{
    if (!e->is_int) {
        char msg[128];
        snprintf(msg, sizeof(msg), "expected an integer (%s), found a string", what);
        return node_error(r, e, msg);
    }
    *out = e->ival;
    return RD_OK;
}

/* The i-th master field name, as stored in master_names (u32 length + bytes). */
static const unsigned char *master_field(struct rdb_reader *r, int64_t i, size_t *len)
{
    const unsigned char *p = r->sn.master_names.data;
    for (;;) {
        uint32_t n;
        memcpy(&n, p, 4);
        if (i-- == 0) {
            *len = n;
            return p + 4;
        }
        p += 4 + n;
    }
}

static int entry_begin(struct rdb_reader *r)
{
    r->sn.field_index = 0;
    /* Deleted entries stay in the node as tombstones; they are reported
     * (consumers skip them) so that writers can keep the node as it is. */
    if (r->want & RDB_WANT_VALUES) {
        rd_value_reset(r, RDB_VALUE_STREAM_ENTRY);
        r->v.id = r->sn.id;
        r->v.deleted = (r->sn.flags & STREAM_FLAG_DELETED) != 0;
        r->v.count = (uint64_t)r->sn.fields;
        if (rd_emit_value(r) != RD_OK) return RD_ERR;
    }
    r->sn.state = r->sn.fields == 0 ? SN_LP_COUNT
                  : (r->sn.flags & STREAM_FLAG_SAMEFIELDS) ? SN_VALUE : SN_FIELD;
    return RD_OK;
}

static int emit_stream_piece(struct rdb_reader *r, enum rdb_value_kind kind,
                             const struct rdb_blob_entry *e)
{
    if (e->is_int) return rd_emit_piece(r, kind, NULL, 0, 0, 0, true, e->ival);
    return rd_emit_piece(r, kind, e->data, e->len, e->offset, e->total, false, 0);
}

int rd_stream_route(struct rdb_reader *r, const struct rdb_blob_entry *e)
{
    bool complete = e->is_int || e->offset + e->len == e->total;
    bool first = e->is_int || e->offset == 0;
    int64_t v = 0;
    int rc;

    switch (r->sn.state) {
    case SN_COUNT:
        if ((rc = need_int(r, e, "entry count", &v)) != RD_OK) return rc;
        r->sn.count = v;
        r->sn.state = SN_DELETED;
        return RD_OK;
    case SN_DELETED:
        if ((rc = need_int(r, e, "deleted count", &v)) != RD_OK) return rc;
        r->sn.deleted = v;
        r->sn.state = SN_MASTER_FIELDS;
        return RD_OK;
    case SN_MASTER_FIELDS:
        if ((rc = need_int(r, e, "master field count", &v)) != RD_OK) return rc;
        if (v < 0) return node_error(r, e, "negative master field count");
        r->sn.master_fields = v;
        r->sn.field_index = 0;
        r->sn.state = v ? SN_MASTER_FIELD : SN_MASTER_END;
        return RD_OK;
    case SN_MASTER_FIELD: {
        struct rk_buf *names = &r->sn.master_names;
        if (first) {
            uint32_t n = e->is_int ? 0 : (uint32_t)e->total;
            if (!e->is_int && e->total > MASTER_NAMES_MAX)
                return node_error(r, e, "master field name too long");
            if (e->is_int) {
                char text[32];
                n = (uint32_t)rdb_ll_to_str(e->ival, text);
                rk_buf_append(names, &n, 4);
                rk_buf_append(names, text, n);
            } else {
                rk_buf_append(names, &n, 4);
            }
        }
        if (!e->is_int) rk_buf_append(names, e->data, e->len);
        if (names->len > MASTER_NAMES_MAX) return node_error(r, e, "master fields too long");
        if (complete && ++r->sn.field_index == r->sn.master_fields) r->sn.state = SN_MASTER_END;
        return RD_OK;
    }
    case SN_MASTER_END:
        if ((rc = need_int(r, e, "master entry terminator", &v)) != RD_OK) return rc;
        if (v != 0) return node_error(r, e, "the master entry does not end with 0");
        r->sn.state = SN_FLAGS;
        return RD_OK;
    case SN_FLAGS:
        if ((rc = need_int(r, e, "entry flags", &v)) != RD_OK) return rc;
        if (v & ~(int64_t)(STREAM_FLAG_DELETED | STREAM_FLAG_SAMEFIELDS))
            return node_error(r, e, "unknown entry flags");
        r->sn.flags = (int)v;
        r->sn.state = SN_MS;
        return RD_OK;
    case SN_MS:
        if ((rc = need_int(r, e, "entry ID milliseconds", &v)) != RD_OK) return rc;
        r->sn.id.ms = r->sn.master.ms + (uint64_t)v;
        r->sn.state = SN_SEQ;
        return RD_OK;
    case SN_SEQ:
        if ((rc = need_int(r, e, "entry ID sequence", &v)) != RD_OK) return rc;
        r->sn.id.seq = r->sn.master.seq + (uint64_t)v;
        if (r->sn.flags & STREAM_FLAG_SAMEFIELDS) {
            r->sn.fields = r->sn.master_fields;
            return entry_begin(r);
        }
        r->sn.state = SN_FIELDS;
        return RD_OK;
    case SN_FIELDS:
        if ((rc = need_int(r, e, "field count", &v)) != RD_OK) return rc;
        if (v < 0) return node_error(r, e, "negative field count");
        r->sn.fields = v;
        return entry_begin(r);
    case SN_FIELD:
        if ((rc = emit_stream_piece(r, RDB_VALUE_STREAM_FIELD, e)) != RD_OK) return rc;
        if (complete) r->sn.state = SN_VALUE;
        return RD_OK;
    case SN_VALUE:
        if (first && (r->sn.flags & STREAM_FLAG_SAMEFIELDS) && (r->want & RDB_WANT_VALUES)) {
            size_t n;
            const unsigned char *name = master_field(r, r->sn.field_index, &n);
            if ((rc = rd_emit_piece(r, RDB_VALUE_STREAM_FIELD, name, n, 0, n, false, 0)) != RD_OK)
                return rc;
        }
        if ((rc = emit_stream_piece(r, RDB_VALUE_STREAM_VALUE, e)) != RD_OK) return rc;
        if (complete && ++r->sn.field_index == r->sn.fields) r->sn.state = SN_LP_COUNT;
        else if (complete && !(r->sn.flags & STREAM_FLAG_SAMEFIELDS)) r->sn.state = SN_FIELD;
        return RD_OK;
    default: { /* SN_LP_COUNT */
        if ((rc = need_int(r, e, "entry element count", &v)) != RD_OK) return rc;
        int64_t want = (r->sn.flags & STREAM_FLAG_SAMEFIELDS) ? r->sn.fields + 3
                                                               : 2 * r->sn.fields + 4;
        if (v != want) return node_error(r, e, "the entry's element count does not match it");
        if (r->sn.flags & STREAM_FLAG_DELETED) {
            r->sn.seen_deleted++;
        } else {
            r->sn.seen_valid++;
            r->elements++;
        }
        r->sn.state = SN_FLAGS;
        return RD_OK;
    }
    }
}

int rd_stream_node_end(struct rdb_reader *r)
{
    if (r->sn.state == SN_COUNT) return rd_error(r, "an empty listpack in a stream node");
    if (r->sn.state != SN_FLAGS)
        return rd_error(r, "stream node %llu-%llu ends in the middle of an entry",
                        (unsigned long long)r->sn.master.ms, (unsigned long long)r->sn.master.seq);
    if ((int64_t)r->sn.seen_valid != r->sn.count || (int64_t)r->sn.seen_deleted != r->sn.deleted)
        return rd_error(r, "stream node %llu-%llu says %lld entries and %lld deleted, holds %llu "
                           "and %llu", (unsigned long long)r->sn.master.ms,
                        (unsigned long long)r->sn.master.seq, (long long)r->sn.count,
                        (long long)r->sn.deleted, (unsigned long long)r->sn.seen_valid,
                        (unsigned long long)r->sn.seen_deleted);
    return RD_OK;
}

/* ---- Stream states ------------------------------------------------------------ */

int rd_stream_step(struct rdb_reader *r)
{
    const unsigned char *p;
    uint64_t n;
    size_t lsize;
    int rc;
    int version = stream_version(r);

    switch (r->state) {
    case RS_STREAM_NODES:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        r->left = n;
        r->state = RS_STREAM_NODE;
        return RD_OK;
    case RS_STREAM_NODE:
        if (r->left == 0) {
            r->state = RS_STREAM_META;
            return RD_OK;
        }
        rd_string_whole(r, 1, RS_STREAM_NODE_KEY_DONE);
        return RD_OK;
    case RS_STREAM_NODE_KEY_DONE:
        if (r->whole[1].len != 16)
            return rd_error(r, "a stream node key of %zu bytes, not 16", r->whole[1].len);
        r->sn.master.ms = be64(r->whole[1].data);
        r->sn.master.seq = be64(r->whole[1].data + 8);
        rd_value_reset(r, RDB_VALUE_STREAM_NODE);
        r->v.id = r->sn.master;
        if (emit_simple(r) != RD_OK) return RD_ERR;
        rd_stream_node_begin(r);
        rd_string_blob(r, RDB_BLOB_LISTPACK, ROUTE_STREAM, 0, RS_STREAM_NODE_DONE);
        return RD_OK;
    case RS_STREAM_NODE_DONE:
        if (rd_stream_node_end(r) != RD_OK) return RD_ERR;
        r->left--;
        r->state = RS_STREAM_NODE;
        return RD_OK;
    case RS_STREAM_META: {
        int count = version == 1 ? 4 : 9;
        if ((rc = rd_read_lens(r, count)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_META);
        struct rdb_stream_meta *m = &r->v.u.stream;
        m->length = r->nums[0];
        m->last_id = (struct rdb_stream_id){r->nums[1], r->nums[2]};
        if (version == 1) {
            m->entries_added = m->length;
            m->groups = r->nums[3];
        } else {
            m->first_id = (struct rdb_stream_id){r->nums[3], r->nums[4]};
            m->max_deleted = (struct rdb_stream_id){r->nums[5], r->nums[6]};
            m->entries_added = r->nums[7];
            m->groups = r->nums[8];
        }
        r->left = m->groups;
        r->state = RS_STREAM_GROUP;
        return emit_simple(r);
    }
    case RS_STREAM_GROUP:
        if (r->left == 0) {
            r->state = version >= 4 ? RS_STREAM_IDMP : RS_KEY_END;
            return RD_OK;
        }
        rd_string_whole(r, 1, RS_STREAM_GROUP_NAME_DONE);
        return RD_OK;
    case RS_STREAM_GROUP_NAME_DONE: {
        int count = version == 1 ? 3 : 4;
        if ((rc = rd_read_lens(r, count)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_GROUP);
        struct rdb_stream_group *g = &r->v.u.group;
        g->last_id = (struct rdb_stream_id){r->nums[0], r->nums[1]};
        g->entries_read = version == 1 ? -1 : (int64_t)r->nums[2];
        g->pel_size = r->nums[count - 1];
        r->left2 = g->pel_size;
        r->state = RS_STREAM_PEL;
        return emit_named(r, 1);
    }
    case RS_STREAM_PEL:
        while (r->left2) {
            if ((rc = rd_peek_len(r, 24, &n, &lsize)) != RD_OK) return rc;
            p = rdb_window_peek(&r->w, 24);
            rd_value_reset(r, RDB_VALUE_STREAM_PEL);
            r->v.id = (struct rdb_stream_id){be64(p), be64(p + 8)};
            r->v.u.pel.delivery_time = (int64_t)rd_le64(p + 16);
            r->v.u.pel.delivery_count = n;
            rdb_window_skip(&r->w, 24 + lsize);
            r->left2--;
            if (emit_simple(r) != RD_OK) return RD_ERR;
        }
        r->state = RS_STREAM_CONSUMERS;
        return RD_OK;
    case RS_STREAM_CONSUMERS:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        r->left2 = n;
        rd_value_reset(r, RDB_VALUE_STREAM_CONSUMERS);
        r->v.count = n;
        r->state = RS_STREAM_CONSUMER;
        return emit_simple(r);
    case RS_STREAM_CONSUMER:
        if (r->left2 == 0) {
            r->state = RS_STREAM_GROUP_DONE;
            return RD_OK;
        }
        rd_string_whole(r, 1, RS_STREAM_CONSUMER_NAME_DONE);
        return RD_OK;
    case RS_STREAM_CONSUMER_NAME_DONE: {
        size_t times = version >= 3 ? 16 : 8;
        if ((rc = rd_peek_len(r, times, &n, &lsize)) != RD_OK) return rc;
        p = rdb_window_peek(&r->w, times);
        rd_value_reset(r, RDB_VALUE_STREAM_CONSUMER);
        struct rdb_stream_consumer *c = &r->v.u.consumer;
        c->seen_time = (int64_t)rd_le64(p);
        c->active_time = version >= 3 ? (int64_t)rd_le64(p + 8) : c->seen_time;
        c->pel_size = n;
        rdb_window_skip(&r->w, times + lsize);
        r->left3 = n;
        r->state = RS_STREAM_CONSUMER_PEL;
        return emit_named(r, 1);
    }
    case RS_STREAM_CONSUMER_PEL:
        while (r->left3) {
            if (!(p = rdb_window_peek(&r->w, 16))) return RD_MORE;
            rd_value_reset(r, RDB_VALUE_STREAM_CONSUMER_PEL);
            r->v.id = (struct rdb_stream_id){be64(p), be64(p + 8)};
            rdb_window_skip(&r->w, 16);
            r->left3--;
            if (emit_simple(r) != RD_OK) return RD_ERR;
        }
        r->left2--;
        r->state = RS_STREAM_CONSUMER;
        return RD_OK;
    case RS_STREAM_GROUP_DONE:
        r->left--;
        r->state = RS_STREAM_GROUP;
        return RD_OK;
    case RS_STREAM_IDMP:
        if ((rc = rd_read_lens(r, 3)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_IDMP);
        r->v.u.idmp.duration = r->nums[0];
        r->v.u.idmp.max_entries = r->nums[1];
        r->v.u.idmp.producers = r->nums[2];
        r->left = r->nums[2];
        r->state = RS_STREAM_PRODUCER;
        return emit_simple(r);
    case RS_STREAM_PRODUCER:
        if (r->left == 0) {
            r->state = RS_STREAM_IDMP_STATS;
            return RD_OK;
        }
        rd_string_whole(r, 1, RS_STREAM_PRODUCER_NAME_DONE);
        return RD_OK;
    case RS_STREAM_PRODUCER_NAME_DONE:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_IDMP_PRODUCER);
        r->v.count = n;
        r->left2 = n;
        r->state = RS_STREAM_IDMP_ENTRY;
        return emit_named(r, 1);
    case RS_STREAM_IDMP_ENTRY:
        if (r->left2 == 0) {
            r->left--;
            r->state = RS_STREAM_PRODUCER;
            return RD_OK;
        }
        rd_string_whole(r, 2, RS_STREAM_IDMP_ENTRY_NAME_DONE);
        return RD_OK;
    case RS_STREAM_IDMP_ENTRY_NAME_DONE:
        if ((rc = rd_read_lens(r, 2)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_IDMP_ENTRY);
        r->v.id = (struct rdb_stream_id){r->nums[0], r->nums[1]};
        r->left2--;
        r->state = RS_STREAM_IDMP_ENTRY;
        return emit_named(r, 2);
    case RS_STREAM_IDMP_STATS:
        if ((rc = rd_read_lens(r, 2)) != RD_OK) return rc;
        rd_value_reset(r, RDB_VALUE_STREAM_IDMP_STATS);
        r->v.u.idmp.iids_added = r->nums[0];
        r->v.u.idmp.iids_duplicates = r->nums[1];
        r->state = RS_KEY_END;
        return emit_simple(r);
    default:
        return rd_error(r, "internal error: unexpected stream state %d", (int)r->state);
    }
}
