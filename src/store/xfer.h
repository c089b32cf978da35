/* xfer: one libcurl transfer, driven so that it fits our streams.
 *
 * libcurl pulls upload data through a read callback and pushes download data
 * through a write callback; our writers are pushed into and our readers are
 * pulled from. The bridge is the multi interface, no threads:
 *   - xfer_push() offers the caller's bytes and runs curl until it has taken
 *     them; when curl wants more before the caller has any, the read callback
 *     pauses the upload. xfer_push_source() lets the read callback read a
 *     source straight into curl's buffer instead.
 *   - xfer_pull() runs curl until some bytes have arrived in the caller's
 *     buffer; what curl delivers beyond it waits in a spill buffer, bounded
 *     by how much libcurl reads per call (see xfer.c). xfer_drain() lets the
 *     write callback write straight into a sink instead.
 * Smaller requests (HEAD, DELETE, list pages, a buffered part) run to
 * completion with xfer_run() or in the background with xfer_start() and
 * xfer_poll().
 *
 * Stalls: rather than CURLOPT_LOW_SPEED_*, which would also fire while we
 * hold a transfer paused on purpose (a slow producer or consumer), the
 * progress callback fails a transfer that has moved no byte for
 * low_speed_time_s while curl had the chance to move it. */
#ifndef RDBKEEP_STORE_XFER_H
#define RDBKEEP_STORE_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store_int.h"

struct xfer_headers {
    int64_t content_length; /* -1: absent */
    bool has_range;
    uint64_t range_start, range_end, range_total; /* Content-Range; total 0 if '*' */
    char etag[128];
    char last_modified[64];
    char location[16]; /* presence only */
    char ms_error[64]; /* Azure's x-ms-error-code (HEAD answers have no body) */
};

struct xfer {
    CURL *easy;
    CURLM *multi;
    const struct store_config *cfg;
    bool http; /* statuses are HTTP statuses (else FTP codes) */

    /* Response. */
    long status;
    struct xfer_headers hdr;
    struct rk_buf body; /* collected body (error bodies in stream mode) */
    size_t body_limit;
    bool body_overflow;
    CURLcode result;
    bool done, running;
    bool stalled, cancelled;
    /* Cleanup (aborting an upload, deleting a temporary file) must run even
     * when the caller has cancelled: that is when it is needed. */
    bool ignore_cancel;
    char errbuf[CURL_ERROR_SIZE];

    /* Download streaming. */
    bool stream_down;
    unsigned char *dst;
    size_t dst_cap, dst_len;
    struct rk_buf spill;
    size_t spill_pos;
    bool recv_paused;
    uint64_t delivered;
    /* Download written straight into a sink (xfer_drain). */
    struct io_sink *down_sink;
    bool sink_failed;
    struct rk_err sink_err;

    /* Upload: from memory or pushed. */
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    bool stream_up;
    const unsigned char *src;
    size_t src_len;
    bool src_eof;
    bool send_paused;
    uint64_t sent;
    /* Upload pulled straight from a source (xfer_push_source). */
    struct io_source *up_source;
    uint64_t up_limit; /* fail past this many bytes (a declared size); 0: none */
    bool source_ended, source_failed, over_limit;
    struct rk_err source_err;

    uint64_t last_activity_ns;
};

void xfer_init(struct xfer *x, const struct store_config *cfg);
/* Clears the request and response state; keeps the connection for reuse. */
void xfer_reset(struct xfer *x);
void xfer_cleanup(struct xfer *x);

/* Request set-up beyond curl_easy_setopt() on x->easy. */
void xfer_upload_mem(struct xfer *x, const void *data, size_t len);
/* size < 0: unknown (FTP only; HTTP stores require a length). */
void xfer_upload_stream(struct xfer *x, int64_t size);
void xfer_download_stream(struct xfer *x);

/* Runs a whole request. Returns STORE_OK when the transfer itself worked
 * (whatever the HTTP status), or a transport failure with a message. */
int xfer_run(struct xfer *x, const char *what, struct rk_err *err);

/* Background: start, then poll (timeout_ms 0: no waiting) until x->done. */
int xfer_start(struct xfer *x, struct rk_err *err);
int xfer_poll(struct xfer *x, int timeout_ms);
int xfer_wait(struct xfer *x);

/* Streaming: see the top of this file. xfer_push returns STORE_OK or a
 * failure (x->done tells whether the transfer ended). xfer_pull returns bytes,
 * 0 at a successful end, or a negative store_result. finish_upload marks the
 * end of the data and waits for the answer. */
int xfer_push(struct xfer *x, const void *data, size_t len, const char *what, struct rk_err *err);
int xfer_finish_upload(struct xfer *x, const char *what, struct rk_err *err);
/* Like xfer_push, but curl's read callback reads src straight into curl's own
 * buffer (no copy of ours) until src ends; *moved gets the count. Does not
 * finish the upload. */
int xfer_push_source(struct xfer *x, struct io_source *src, uint64_t limit, uint64_t *moved,
                     const char *what, struct rk_err *err);
ssize_t xfer_pull(struct xfer *x, void *buf, size_t cap, const char *what, struct rk_err *err);

/* Writes what the download has spilled, then the rest of the body straight
 * from curl's buffer into dst, until the transfer ends; *moved gets the
 * count. Returns STORE_OK when the transfer ended (the caller then looks at
 * how: x->result, the status), or a failure of dst. */
int xfer_drain(struct xfer *x, struct io_sink *dst, uint64_t *moved, struct rk_err *err);

/* The store_result and message for a finished transfer whose curl result is
 * not CURLE_OK. */
int xfer_transport_error(struct xfer *x, const char *what, struct rk_err *err);
/* Whether trying again may help: 5xx, 408, 429, a reset or a stall. */
bool xfer_retryable(const struct xfer *x);
/* True for 2xx (HTTP) or any code (FTP: curl reports FTP failures itself). */
bool xfer_status_ok(const struct xfer *x);
/* Maps an HTTP status to a store_result. */
int xfer_status_result(long status);
/* Sleeps for attempt's backoff (base * 2^attempt, capped, with jitter);
 * returns STORE_CANCELLED if the caller cancels meanwhile (unless x is a
 * cleanup transfer, which runs to its end). */
int xfer_backoff(const struct xfer *x, int attempt);

/* Appends "Name: value" to a curl header list. */
struct curl_slist *xfer_header(struct curl_slist *list, const char *name, const char *value);

#endif
