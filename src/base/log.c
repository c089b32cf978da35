/* logfmt lines on stderr. The level is the one piece of process-wide state
 * here; it is set once at start-up, before threads exist. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

static enum rk_log_level log_min_level = RK_LOG_INFO;

void rk_log_set_level(enum rk_log_level level)
{
    log_min_level = level;
}

void rk_log(enum rk_log_level level, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_min_level) return;
    char ts[32];
    rk_format_iso8601(rk_now_ms(), ts, sizeof(ts));
    char line[2048];
    int n = snprintf(line, sizeof(line), "ts=%s level=%s comp=%s ", ts, names[level], component);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line)) vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    size_t len = strlen(line);
    if (len + 1 < sizeof(line)) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}
