/* Just enough XML for the answers of S3, GCS and Azure: find <Tag>...</Tag>
 * and decode the five entities and numeric references. These answers are
 * flat and attribute-free where we read them; the scanner never recurses and
 * never allocates more than the text it returns. */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *find(const char *hay, size_t len, const char *needle, size_t nlen)
{
    if (nlen == 0 || len < nlen) return NULL;
    return memmem(hay, len, needle, nlen);
}

int xml_span(const char *doc, size_t len, size_t *pos, const char *tag, size_t *start, size_t *end)
{
    char open[96], close[96];
    size_t tlen = strlen(tag);
    if (tlen + 4 > sizeof(open)) return -1;
    int on = snprintf(open, sizeof(open), "<%s", tag);
    int cn = snprintf(close, sizeof(close), "</%s>", tag);
    size_t p = *pos;
    while (p < len) {
        const char *o = find(doc + p, len - p, open, (size_t)on);
        if (!o) return -1;
        size_t after = (size_t)(o - doc) + (size_t)on;
        if (after >= len) return -1;
        char c = doc[after];
        if (c == '/' && after + 1 < len && doc[after + 1] == '>') {
            /* <Tag/>: present and empty. */
            *start = *end = after;
            *pos = after + 2;
            return 0;
        }
        if (c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            p = after; /* <TagSomethingElse> */
            continue;
        }
        const char *gt = memchr(doc + after, '>', len - after);
        if (!gt) return -1;
        size_t s = (size_t)(gt - doc) + 1;
        const char *cl = find(doc + s, len - s, close, (size_t)cn);
        if (!cl) return -1;
        *start = s;
        *end = (size_t)(cl - doc);
        *pos = *end + (size_t)cn;
        return 0;
    }
    return -1;
}

static void put_utf8(struct rk_buf *b, unsigned long cp)
{
    if (cp < 0x80) {
        rk_buf_append_byte(b, (unsigned char)cp);
    } else if (cp < 0x800) {
        rk_buf_append_byte(b, (unsigned char)(0xc0 | cp >> 6));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp & 63)));
    } else if (cp < 0x10000) {
        rk_buf_append_byte(b, (unsigned char)(0xe0 | cp >> 12));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp >> 6 & 63)));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp & 63)));
    } else {
        rk_buf_append_byte(b, (unsigned char)(0xf0 | cp >> 18));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp >> 12 & 63)));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp >> 6 & 63)));
        rk_buf_append_byte(b, (unsigned char)(0x80 | (cp & 63)));
    }
}

static char *decode_text(const char *s, size_t len)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    struct rk_buf b = {0};
    rk_buf_reserve(&b, len + 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '&') {
            rk_buf_append_byte(&b, (unsigned char)s[i]);
            continue;
        }
        size_t rest = len - i - 1;
        bool done = false;
        for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]) && !done; k++) {
            size_t n = strlen(ents[k].name);
            if (rest >= n && memcmp(s + i + 1, ents[k].name, n) == 0) {
                rk_buf_append_byte(&b, (unsigned char)ents[k].c);
                i += n;
                done = true;
            }
        }
        if (!done && rest >= 3 && s[i + 1] == '#') {
            size_t j = i + 2;
            int base = 10;
            if (j < len && (s[j] == 'x' || s[j] == 'X')) {
                base = 16;
                j++;
            }
            unsigned long cp = 0;
            size_t digits = 0;
            while (j < len && digits < 8) {
                char c = s[j];
                int v = c >= '0' && c <= '9'                 ? c - '0'
                        : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                             : -1;
                if (v < 0) break;
                cp = cp * (unsigned long)base + (unsigned long)v;
                j++;
                digits++;
            }
            if (digits && j < len && s[j] == ';' && cp > 0 && cp <= 0x10ffff &&
                !(cp >= 0xd800 && cp <= 0xdfff)) {
                put_utf8(&b, cp);
                i = j;
                done = true;
            }
        }
        if (!done) rk_buf_append_byte(&b, '&');
    }
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

char *xml_next(const char *doc, size_t len, size_t *pos, const char *tag)
{
    size_t s, e;
    if (xml_span(doc, len, pos, tag, &s, &e) < 0) return NULL;
    return decode_text(doc + s, e - s);
}

char *xml_first(const char *doc, size_t len, const char *tag)
{
    size_t pos = 0;
    return xml_next(doc, len, &pos, tag);
}

static int month_index(const char *m)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(m, months[i], 3) == 0) return i;
    return -1;
}

int64_t store_parse_date(const char *s)
{
    if (!s) return -1;
    struct tm tm = {0};
    int ms = 0;
    char mon[4] = "";
    int y, mo, d, h, mi, sec;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) == 6) {
        const char *dot = strchr(s, '.');
        if (dot && dot < s + 24) {
            int frac = 0, n = 0;
            for (const char *c = dot + 1; *c >= '0' && *c <= '9'; c++, n++)
                if (n < 3) frac = frac * 10 + (*c - '0');
            while (n > 0 && n < 3) {
                frac *= 10;
                n++;
            }
            ms = frac;
        }
        tm.tm_mon = mo - 1;
    } else if (sscanf(s, "%*3s, %2d %3s %4d %2d:%2d:%2d", &d, mon, &y, &h, &mi, &sec) == 6) {
        tm.tm_mon = month_index(mon);
        if (tm.tm_mon < 0) return -1;
    } else {
        return -1;
    }
    if (y < 1970 || y > 9999 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || tm.tm_mon < 0 ||
        tm.tm_mon > 11)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t < 0) return -1;
    return (int64_t)t * 1000 + ms;
}
