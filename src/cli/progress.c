/* The terminal progress bar. Quiet unless stderr is a terminal, so scripts and
 * logs never see carriage returns. */
#include "cli/cli.h"
#include "base/base.h"

#include <stdio.h>
#include <unistd.h>

void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total)
{
    *p = (struct cli_progress){.label = label, .total = total};
    p->enabled = isatty(STDERR_FILENO);
    p->start_ns = rk_monotonic_ns();
}

static void format_duration(double secs, char *out, size_t outlen)
{
    if (secs < 0 || secs > 359999) {
        snprintf(out, outlen, "--:--");
        return;
    }
    unsigned s = (unsigned)secs;
    if (s >= 3600)
        snprintf(out, outlen, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, outlen, "%02u:%02u", s / 60, s % 60);
}

static void progress_draw(struct cli_progress *p, uint64_t now)
{
    double elapsed = (double)(now - p->start_ns) / 1e9;
    double rate = elapsed > 0 ? (double)p->bytes / elapsed : 0;
    char done[32], rate_s[32], eta[16], keys[48] = "";
    rk_format_bytes(p->bytes, done, sizeof(done));
    rk_format_bytes((uint64_t)rate, rate_s, sizeof(rate_s));
    if (p->keys) snprintf(keys, sizeof(keys), " %llu keys", (unsigned long long)p->keys);
    if (p->total) {
        double frac = (double)p->bytes / (double)p->total;
        if (frac > 1) frac = 1;
        char bar[21];
        int fill = (int)(frac * 20);
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        format_duration(rate > 0 ? (double)(p->total - (p->bytes < p->total ? p->bytes : p->total)) / rate : -1,
                        eta, sizeof(eta));
        fprintf(stderr, "\r\033[K%s [%s] %5.1f%% %s%s %s/s eta %s", p->label, bar, frac * 100, done,
                keys, rate_s, eta);
    } else {
        format_duration(elapsed, eta, sizeof(eta));
        fprintf(stderr, "\r\033[K%s %s%s %s/s %s", p->label, done, keys, rate_s, eta);
    }
    fflush(stderr);
    p->drawn = true;
    p->last_draw_ns = now;
}

void cli_progress_update(struct cli_progress *p, uint64_t bytes, uint64_t keys)
{
    p->bytes = bytes;
    p->keys = keys;
    if (!p->enabled) return;
    uint64_t now = rk_monotonic_ns();
    if (p->drawn && now - p->last_draw_ns < 100000000u) return;
    progress_draw(p, now);
}

void cli_progress_finish(struct cli_progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}
