/* Streaming JSON output of binary strings (see struct json_str). */
#include "cli/rdb_tools.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_str_begin(struct json_str *js, FILE *out)
{
    js->out = out;
    js->pending_len = 0;
    js->need = 0;
    putc('"', out);
}

static void escape_byte(FILE *out, unsigned char c)
{
    fprintf(out, "\\udc%02x", c);
}

static void flush_pending_as_invalid(struct json_str *js)
{
    for (size_t i = 0; i < js->pending_len; i++) escape_byte(js->out, js->pending[i]);
    js->pending_len = 0;
    js->need = 0;
}

static void ascii_byte(FILE *out, unsigned char c)
{
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    default:
        if (c < 0x20 || c == 0x7F) fprintf(out, "\\u%04x", c);
        else putc(c, out);
    }
}

/* A UTF-8 decoder as a small state machine: need = continuation bytes still
 * expected, [lo, hi] the range the next one must fall in (which rules out
 * overlong forms, surrogates and code points past U+10FFFF). */
void json_str_piece(struct json_str *js, const unsigned char *data, size_t len)
{
    FILE *out = js->out;
    size_t i = 0;
    while (i < len) {
        unsigned char c = data[i];
        if (js->need) {
            if (c >= js->lo && c <= js->hi) {
                js->pending[js->pending_len++] = c;
                js->lo = 0x80, js->hi = 0xBF;
                if (--js->need == 0) {
                    fwrite(js->pending, 1, js->pending_len, out);
                    js->pending_len = 0;
                }
                i++;
            } else {
                flush_pending_as_invalid(js); /* and look at c again as a start */
            }
            continue;
        }
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            size_t run = i + 1;
            while (run < len && data[run] >= 0x20 && data[run] < 0x7F && data[run] != '"' &&
                   data[run] != '\\')
                run++;
            fwrite(data + i, 1, run - i, out);
            i = run;
            continue;
        }
        i++;
        if (c < 0x80) {
            ascii_byte(out, c);
            continue;
        }
        js->lo = 0x80, js->hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) js->need = 1;
        else if (c == 0xE0) js->need = 2, js->lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) js->need = 2;
        else if (c == 0xED) js->need = 2, js->hi = 0x9F;
        else if (c == 0xF0) js->need = 3, js->lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) js->need = 3;
        else if (c == 0xF4) js->need = 3, js->hi = 0x8F;
        if (js->need) js->pending[js->pending_len++] = c;
        else escape_byte(out, c);
    }
}

void json_str_end(struct json_str *js)
{
    flush_pending_as_invalid(js);
    putc('"', js->out);
}

void json_write_string(FILE *out, const unsigned char *data, size_t len)
{
    struct json_str js;
    json_str_begin(&js, out);
    json_str_piece(&js, data, len);
    json_str_end(&js);
}

void json_write_double(FILE *out, double d)
{
    if (isnan(d)) {
        fputs("\"nan\"", out);
        return;
    }
    if (isinf(d)) {
        fputs(d > 0 ? "\"inf\"" : "\"-inf\"", out);
        return;
    }
    /* The shortest of %.15g/%.17g that reads back as the same double. */
    char buf[40];
    snprintf(buf, sizeof(buf), "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, sizeof(buf), "%.17g", d);
    fputs(buf, out);
}
