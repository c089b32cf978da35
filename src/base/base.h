/* base: the few helpers every module shares.
 *
 * Errors are values: a function that can fail returns -1 (or NULL) and fills a
 * caller-owned struct rk_err with one line a user can act on. Allocation
 * failure is not an error value: like Redis's zmalloc, the xmalloc family
 * aborts, because a daemon that cannot allocate a few bytes cannot report it
 * either. */
#ifndef RDBKEEP_BASE_H
#define RDBKEEP_BASE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__GNUC__)
#define RK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RK_NORETURN     __attribute__((noreturn))
#define RK_LIKELY(x)    __builtin_expect(!!(x), 1)
#define RK_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#else
#define RK_PRINTF(f, a)
#define RK_NORETURN
#define RK_LIKELY(x)   (x)
#define RK_UNLIKELY(x) (x)
#endif

#define RK_ERR_MAX 512

struct rk_err {
    char msg[RK_ERR_MAX];
};

/* Sets the message and returns -1, so "return rk_err_set(err, ...);" reads well.
 * err may be NULL. */
int rk_err_set(struct rk_err *err, const char *fmt, ...) RK_PRINTF(2, 3);
/* Prepends "<prefix>: " to the message already in err; returns -1. */
int rk_err_prefix(struct rk_err *err, const char *fmt, ...) RK_PRINTF(2, 3);
void rk_err_clear(struct rk_err *err);

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) RK_PRINTF(1, 2);
RK_NORETURN void rk_panic(const char *fmt, ...) RK_PRINTF(1, 2);

/* A growable byte buffer. Owns its memory: free with rk_buf_free(). */
struct rk_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
};

void rk_buf_reserve(struct rk_buf *b, size_t extra);
void rk_buf_append(struct rk_buf *b, const void *data, size_t len);
void rk_buf_append_byte(struct rk_buf *b, unsigned char c);
void rk_buf_printf(struct rk_buf *b, const char *fmt, ...) RK_PRINTF(2, 3);
void rk_buf_reset(struct rk_buf *b);
void rk_buf_free(struct rk_buf *b);

/* Logging: one logfmt line per event on stderr,
 *   ts=2026-11-25T13:07:39.826Z level=info comp=backup msg="started" db=12
 * The message is free text; callers append key=value pairs themselves.
 * Secrets must never reach these functions: mask them first (see store's
 * redaction helpers). */
enum rk_log_level { RK_LOG_DEBUG, RK_LOG_INFO, RK_LOG_WARN, RK_LOG_ERROR };

void rk_log_set_level(enum rk_log_level level);
void rk_log(enum rk_log_level level, const char *component, const char *fmt, ...) RK_PRINTF(3, 4);

/* Time. */
uint64_t rk_now_ms(void);       /* wall clock, ms since the epoch */
uint64_t rk_monotonic_ns(void); /* for durations and rates */
/* Condition variables on the monotonic clock, so that a step of the wall
 * clock neither stretches nor cuts a wait; rk_deadline_after_ms gives the
 * absolute time for their pthread_cond_timedwait. */
/* Sleeps ms milliseconds, signals or not. */
void rk_sleep_ms(uint64_t ms);
void rk_cond_init_monotonic(pthread_cond_t *cv);
struct timespec rk_deadline_after_ms(uint64_t ms);
/* Formats ms since the epoch as "2026-11-25T13:07:39.826Z". out needs 32 bytes. */
void rk_format_iso8601(uint64_t ms, char *out, size_t outlen);

/* Human-readable sizes ("1.5 GiB") for progress bars and messages. out needs 32 bytes. */
void rk_format_bytes(uint64_t bytes, char *out, size_t outlen);

/* Strict decimal parsing: the whole string must be a number in range. */
int rk_parse_u64(const char *s, uint64_t *out);
int rk_parse_i64(const char *s, int64_t *out);

#endif
