/* The libcurl bridge described in xfer.h. */
#include "store/xfer.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How far a download may run ahead of its reader. libcurl 7.88 reads up to
 * 100 buffers per call while data keeps coming, so the spill stays within 100
 * receive buffers (6.4 MiB of DOWNLOAD_BUFFER; curl's own tool reads 100 KiB at
 * a time). Pausing the transfer instead would bound it tighter, but 7.88 can
 * then stall at the end of a body until the server closes the connection;
 * pausing remains only as a safety valve above the normal bound. */
#define DOWNLOAD_BUFFER (64 * 1024)
#define SPILL_MAX       (16u << 20)

static bool cancelled(const struct store_config *cfg)
{
    return cfg->cancelled && cfg->cancelled(cfg->cancel_arg);
}

/* Copies a header value, cut to fit: these fields are compared, not parsed. */
static void set_field(char *dst, size_t cap, const char *val)
{
    size_t n = strlen(val);
    if (n >= cap) n = cap - 1;
    memcpy(dst, val, n);
    dst[n] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    x->last_activity_ns = rk_monotonic_ns();
    if (!x->http) return len;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): start over. */
        memset(&x->hdr, 0, sizeof(x->hdr));
        x->hdr.content_length = -1;
        const char *sp = memchr(line, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return len;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vlen = (size_t)(end - v);
    char val[256];
    if (vlen >= sizeof(val)) vlen = sizeof(val) - 1;
    memcpy(val, v, vlen);
    val[vlen] = '\0';
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(line, name, nlen) == 0)
    if (IS("Content-Length")) {
        uint64_t cl;
        if (rk_parse_u64(val, &cl) == 0) x->hdr.content_length = (int64_t)cl;
    } else if (IS("Content-Range")) {
        unsigned long long a, b, t;
        if (sscanf(val, "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
            x->hdr.has_range = true;
            x->hdr.range_start = a;
            x->hdr.range_end = b;
            x->hdr.range_total = t;
        } else if (sscanf(val, "bytes */%llu", &t) == 1) {
            x->hdr.range_total = t; /* 416: what the size is */
        } else if (sscanf(val, "bytes %llu-%llu/*", &a, &b) == 2) {
            x->hdr.has_range = true;
            x->hdr.range_start = a;
            x->hdr.range_end = b;
        }
    } else if (IS("ETag")) {
        set_field(x->hdr.etag, sizeof(x->hdr.etag), val);
    } else if (IS("Last-Modified")) {
        set_field(x->hdr.last_modified, sizeof(x->hdr.last_modified), val);
    } else if (IS("x-ms-error-code")) {
        set_field(x->hdr.ms_error, sizeof(x->hdr.ms_error), val);
    } else if (IS("Location")) {
        set_field(x->hdr.location, sizeof(x->hdr.location), "yes");
    }
#undef IS
    return len;
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    x->last_activity_ns = rk_monotonic_ns();
    if (!x->stream_down || !xfer_status_ok(x)) {
        size_t room = x->body.len < x->body_limit ? x->body_limit - x->body.len : 0;
        if (len > room) {
            x->body_overflow = true;
            /* An error body is only for the message: keep its start. A body
             * we were asked to collect must fit. */
            if (!x->stream_down) return 0;
            rk_buf_append(&x->body, ptr, room);
            return len;
        }
        rk_buf_append(&x->body, ptr, len);
        return len;
    }
    if (x->down_sink) {
        if (io_sink_write(x->down_sink, ptr, len, &x->sink_err) < 0) {
            x->sink_failed = true;
            return 0; /* ends the transfer with CURLE_WRITE_ERROR */
        }
        x->delivered += len;
        return len;
    }
    size_t taken = 0;
    if (x->dst && x->dst_len < x->dst_cap) {
        taken = x->dst_cap - x->dst_len < len ? x->dst_cap - x->dst_len : len;
        memcpy(x->dst + x->dst_len, ptr, taken);
        x->dst_len += taken;
    } else if (x->spill.len - x->spill_pos >= SPILL_MAX) {
        x->recv_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (taken < len) {
        if (x->spill_pos == x->spill.len) x->spill.len = x->spill_pos = 0;
        rk_buf_append(&x->spill, ptr + taken, len - taken);
    }
    x->delivered += len;
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t cap = size * n;
    x->last_activity_ns = rk_monotonic_ns();
    if (x->mem) {
        size_t k = x->mem_len - x->mem_pos < cap ? x->mem_len - x->mem_pos : cap;
        memcpy(buf, x->mem + x->mem_pos, k);
        x->mem_pos += k;
        x->sent += k;
        return k;
    }
    if (x->up_source) {
        ssize_t got = io_source_read(x->up_source, buf, cap, &x->source_err);
        if (got < 0) {
            x->source_failed = true;
            return CURL_READFUNC_ABORT;
        }
        if (got == 0) {
            /* The source is done, not the upload: close decides that. */
            x->source_ended = true;
            x->send_paused = true;
            return CURL_READFUNC_PAUSE;
        }
        if (x->up_limit && x->sent + (uint64_t)got > x->up_limit) {
            x->over_limit = true;
            return CURL_READFUNC_ABORT;
        }
        x->sent += (uint64_t)got;
        return (size_t)got;
    }
    if (x->src_len) {
        size_t k = x->src_len < cap ? x->src_len : cap;
        memcpy(buf, x->src, k);
        x->src += k;
        x->src_len -= k;
        x->sent += k;
        return k;
    }
    if (x->src_eof || !x->stream_up) return 0;
    x->send_paused = true;
    return CURL_READFUNC_PAUSE;
}

static int seek_cb(void *arg, curl_off_t offset, int origin)
{
    struct xfer *x = arg;
    /* Only a buffered body can be sent again (curl rewinds on a redirect or
     * an auth negotiation). */
    if (!x->mem || origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->mem_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent -= x->mem_pos - (size_t)offset;
    x->mem_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = arg;
    if (!x->ignore_cancel && cancelled(x->cfg)) {
        x->cancelled = true;
        return 1;
    }
    if (x->recv_paused || x->send_paused) {
        /* Waiting on purpose for our own caller is not a stall. */
        x->last_activity_ns = rk_monotonic_ns();
        return 0;
    }
    uint64_t idle = rk_monotonic_ns() - x->last_activity_ns;
    if (x->cfg->low_speed_time_s > 0 && idle > (uint64_t)x->cfg->low_speed_time_s * 1000000000u) {
        x->stalled = true;
        return 1;
    }
    return 0;
}

static void apply_defaults(struct xfer *x)
{
    const struct store_config *cfg = x->cfg;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rdbkeep/" RDBKEEP_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, x);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)DOWNLOAD_BUFFER);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (cfg->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
}

static void clear_response(struct xfer *x)
{
    x->status = 0;
    memset(&x->hdr, 0, sizeof(x->hdr));
    x->hdr.content_length = -1;
    x->body.len = 0;
    x->body_limit = 8u << 20;
    x->body_overflow = false;
    x->result = CURLE_OK;
    x->done = x->running = false;
    x->stalled = x->cancelled = false;
    x->errbuf[0] = '\0';
    x->stream_down = false;
    x->dst = NULL;
    x->dst_cap = x->dst_len = 0;
    x->spill.len = x->spill_pos = 0;
    x->recv_paused = false;
    x->delivered = 0;
    x->down_sink = NULL;
    x->sink_failed = false;
    x->mem = NULL;
    x->mem_len = x->mem_pos = 0;
    x->stream_up = false;
    x->src = NULL;
    x->src_len = 0;
    x->src_eof = false;
    x->send_paused = false;
    x->sent = 0;
    x->up_source = NULL;
    x->up_limit = 0;
    x->source_ended = x->source_failed = x->over_limit = false;
}

void xfer_init(struct xfer *x, const struct store_config *cfg)
{
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->easy = curl_easy_init();
    x->multi = curl_multi_init();
    if (!x->easy || !x->multi) rk_panic("libcurl could not allocate a handle");
    x->http = true;
    clear_response(x);
    apply_defaults(x);
}

void xfer_reset(struct xfer *x)
{
    if (x->running) {
        curl_multi_remove_handle(x->multi, x->easy);
        x->running = false;
    }
    curl_easy_reset(x->easy);
    clear_response(x);
    x->http = true;
    apply_defaults(x);
}

void xfer_cleanup(struct xfer *x)
{
    if (!x->easy) return;
    if (x->running) curl_multi_remove_handle(x->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_multi_cleanup(x->multi);
    rk_buf_free(&x->body);
    rk_buf_free(&x->spill);
    x->easy = NULL;
}

void xfer_upload_mem(struct xfer *x, const void *data, size_t len)
{
    x->mem = data ? data : (const unsigned char *)"";
    x->mem_len = len;
    x->mem_pos = 0;
    curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
}

void xfer_upload_stream(struct xfer *x, int64_t size)
{
    x->stream_up = true;
    curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
}

void xfer_download_stream(struct xfer *x)
{
    x->stream_down = true;
    x->body_limit = 64 * 1024;
}

struct curl_slist *xfer_header(struct curl_slist *list, const char *name, const char *value)
{
    char *h = xasprintf("%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(list, h);
    free(h);
    if (!n) rk_panic("libcurl could not allocate a header");
    return n;
}

bool xfer_status_ok(const struct xfer *x)
{
    return !x->http || (x->status >= 200 && x->status < 300);
}

int xfer_status_result(long status)
{
    if (status == 404) return STORE_NOT_FOUND;
    if (status == 401 || status == 403) return STORE_DENIED;
    return STORE_FAIL;
}

bool xfer_retryable(const struct xfer *x)
{
    if (x->cancelled) return false;
    switch (x->result) {
    case CURLE_OK: return x->http && (x->status >= 500 || x->status == 408 || x->status == 429);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    case CURLE_ABORTED_BY_CALLBACK: return x->stalled;
    default: return false;
    }
}

int xfer_transport_error(struct xfer *x, const char *what, struct rk_err *err)
{
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
    if (x->cancelled) {
        rk_err_set(err, "%s: cancelled", what);
        return STORE_CANCELLED;
    }
    if (x->stalled) {
        rk_err_set(err, "%s: no data moved for %ld s (timed out)", what, x->cfg->low_speed_time_s);
        return STORE_UNREACHABLE;
    }
    rk_err_set(err, "%s: %s", what, detail);
    switch (x->result) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT: return STORE_UNREACHABLE;
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED: return STORE_DENIED;
    case CURLE_REMOTE_FILE_NOT_FOUND: return STORE_NOT_FOUND;
    default: return STORE_FAIL;
    }
}

/* Collects finished transfers; returns whether x is done. */
static bool collect(struct xfer *x)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(x->multi, &left))) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == x->easy) {
            x->result = m->data.result;
            x->done = true;
        }
    }
    if (x->done && x->running) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (!x->http || !x->status) x->status = code;
        curl_multi_remove_handle(x->multi, x->easy);
        x->running = false;
    }
    return x->done;
}

int xfer_start(struct xfer *x, struct rk_err *err)
{
    x->last_activity_ns = rk_monotonic_ns();
    x->done = false;
    CURLMcode mc = curl_multi_add_handle(x->multi, x->easy);
    if (mc != CURLM_OK) return rk_err_set(err, "libcurl: %s", curl_multi_strerror(mc));
    x->running = true;
    return STORE_OK;
}

int xfer_poll(struct xfer *x, int timeout_ms)
{
    if (x->done) return 0;
    int still;
    curl_multi_perform(x->multi, &still);
    if (collect(x)) return 0;
    if (timeout_ms > 0) {
        curl_multi_poll(x->multi, NULL, 0, timeout_ms, NULL);
        curl_multi_perform(x->multi, &still);
        collect(x);
    }
    return 0;
}

int xfer_wait(struct xfer *x)
{
    while (!x->done) xfer_poll(x, 1000);
    return 0;
}

int xfer_run(struct xfer *x, const char *what, struct rk_err *err)
{
    if (xfer_start(x, err) < 0) return STORE_FAIL;
    xfer_wait(x);
    if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
    return STORE_OK;
}

int xfer_push(struct xfer *x, const void *data, size_t len, const char *what, struct rk_err *err)
{
    x->src = data;
    x->src_len = len;
    if (x->send_paused && !x->done) {
        x->send_paused = false;
        x->last_activity_ns = rk_monotonic_ns();
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
    while (x->src_len && !x->done) xfer_poll(x, 1000);
    x->src = NULL;
    if (x->src_len) {
        x->src_len = 0;
        if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
        rk_err_set(err, "%s: the server ended the upload early (status %ld)", what, x->status);
        return xfer_status_result(x->status);
    }
    return STORE_OK;
}

int xfer_push_source(struct xfer *x, struct io_source *src, uint64_t limit, uint64_t *moved,
                     const char *what, struct rk_err *err)
{
    uint64_t before = x->sent;
    x->up_source = src;
    x->up_limit = limit;
    x->source_ended = false;
    if (x->send_paused && !x->done) {
        x->send_paused = false;
        x->last_activity_ns = rk_monotonic_ns();
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
    while (!x->source_ended && !x->done) xfer_poll(x, 1000);
    x->up_source = NULL;
    *moved = x->sent - before;
    if (!x->source_ended && x->done && x->result == CURLE_OK && !x->source_failed &&
        !x->over_limit) {
        /* curl stops asking once it has the announced size: the source
         * must be at its end too. */
        char probe;
        ssize_t n = io_source_read(src, &probe, 1, &x->source_err);
        if (n < 0)
            x->source_failed = true;
        else if (n > 0)
            x->over_limit = true;
        else
            x->source_ended = true;
    }
    if (x->source_failed) {
        rk_err_set(err, "%s", x->source_err.msg);
        return STORE_FAIL;
    }
    if (x->over_limit) {
        rk_err_set(err, "%s: more data than the %llu bytes announced", what,
                   (unsigned long long)limit);
        return STORE_FAIL;
    }
    if (!x->source_ended) {
        if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
        rk_err_set(err, "%s: the server ended the upload early (status %ld)", what, x->status);
        return xfer_status_result(x->status);
    }
    return STORE_OK;
}

int xfer_finish_upload(struct xfer *x, const char *what, struct rk_err *err)
{
    x->src_eof = true;
    if (x->send_paused && !x->done) {
        x->send_paused = false;
        x->last_activity_ns = rk_monotonic_ns();
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
    xfer_wait(x);
    if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
    return STORE_OK;
}

ssize_t xfer_pull(struct xfer *x, void *buf, size_t cap, const char *what, struct rk_err *err)
{
    for (;;) {
        size_t have = x->spill.len - x->spill_pos;
        if (have) {
            size_t n = have < cap ? have : cap;
            memcpy(buf, x->spill.data + x->spill_pos, n);
            x->spill_pos += n;
            return (ssize_t)n;
        }
        if (x->done) {
            if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
            if (!xfer_status_ok(x)) {
                rk_err_set(err, "%s: status %ld", what, x->status);
                return xfer_status_result(x->status);
            }
            return 0;
        }
        x->dst = buf;
        x->dst_cap = cap;
        x->dst_len = 0;
        if (x->recv_paused) {
            x->recv_paused = false;
            x->last_activity_ns = rk_monotonic_ns();
            curl_easy_pause(x->easy, CURLPAUSE_CONT);
        }
        while (x->dst_len == 0 && x->spill.len == x->spill_pos && !x->done) xfer_poll(x, 1000);
        x->dst = NULL;
        if (x->dst_len) return (ssize_t)x->dst_len;
    }
}

int xfer_drain(struct xfer *x, struct io_sink *dst, uint64_t *moved, struct rk_err *err)
{
    *moved = 0;
    size_t have = x->spill.len - x->spill_pos;
    if (have) {
        if (io_sink_write(dst, x->spill.data + x->spill_pos, have, err) < 0) return STORE_FAIL;
        x->spill.len = x->spill_pos = 0;
        *moved += have;
    }
    uint64_t before = x->delivered;
    x->down_sink = dst;
    if (x->recv_paused && !x->done) {
        x->recv_paused = false;
        x->last_activity_ns = rk_monotonic_ns();
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
    while (!x->done) xfer_poll(x, 1000);
    x->down_sink = NULL;
    *moved += x->delivered - before;
    if (x->sink_failed) {
        rk_err_set(err, "%s", x->sink_err.msg);
        return STORE_FAIL;
    }
    return STORE_OK;
}

int xfer_backoff(const struct xfer *x, int attempt)
{
    const struct store_config *cfg = x->cfg;
    uint64_t ms = (uint64_t)cfg->retry_base_ms << (attempt < 10 ? attempt : 10);
    if (ms > 30000) ms = 30000;
    /* Jitter (up to a quarter) keeps parallel workers from retrying in step. */
    ms += (rk_monotonic_ns() / 1000) % (ms / 4 + 1);
    uint64_t end = rk_monotonic_ns() + ms * 1000000u;
    while (rk_monotonic_ns() < end) {
        if (!x->ignore_cancel && cancelled(cfg)) return STORE_CANCELLED;
        rk_sleep_ms(50);
    }
    return STORE_OK;
}
