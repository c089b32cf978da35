/* When backups are due: see schedule.h. */
#include "service/schedule.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned hours;
} intervals[] = {
    {"every-1-hours", 1}, {"every-2-hours", 2},   {"every-4-hours", 4},
    {"every-6-hours", 6}, {"every-12-hours", 12}, {"every-24-hours", 24},
};

int schedule_interval_hours(const char *interval)
{
    for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++)
        if (strcmp(interval, intervals[i].name) == 0) return (int)intervals[i].hours;
    return -1;
}

int schedule_parse_time(const char *t)
{
    /* Exactly HH:MM, two digits each: "7:00" or "07:00:00" are refused
     * rather than guessed at. */
    if (strlen(t) != 5 || t[2] != ':') return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (t[i] < '0' || t[i] > '9')) return -1;
    int h = (t[0] - '0') * 10 + (t[1] - '0');
    int m = (t[3] - '0') * 10 + (t[4] - '0');
    if (h > 23 || m > 59) return -1;
    return h * 60 + m;
}

static unsigned get_uint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
        return 0;
    return (unsigned)json_integer_value(v);
}

void schedule_from_db(const struct rk_db *db, struct backup_schedule *out)
{
    memset(out, 0, sizeof(*out));
    if (db->periodic_backup_path && db->periodic_backup_path[0]) {
        out->enabled = true;
        out->path = xstrdup(db->periodic_backup_path);
        out->interval_hours = 24;
        return;
    }
    if (!db->remote_backup) return;
    json_t *rb = json_loads(db->remote_backup, 0, NULL);
    if (!json_is_object(rb)) {
        json_decref(rb);
        return;
    }
    json_t *active = json_object_get(rb, "active");
    const char *path = json_string_value(json_object_get(rb, "storagePath"));
    const char *type = json_string_value(json_object_get(rb, "storageType"));
    const char *interval = json_string_value(json_object_get(rb, "interval"));
    const char *time = json_string_value(json_object_get(rb, "timeUTC"));
    int hours = interval ? schedule_interval_hours(interval) : 24;
    int minutes = time ? schedule_parse_time(time) : 0;
    if ((active && !json_is_true(active)) || !path || !path[0] || hours < 0 || minutes < 0) {
        json_decref(rb);
        return;
    }
    out->enabled = true;
    out->path = xstrdup(path);
    snprintf(out->storage_type, sizeof(out->storage_type), "%s", type ? type : "");
    out->interval_hours = (unsigned)hours;
    out->has_time = time != NULL;
    out->time_minutes = (unsigned)minutes;
    json_t *ret = json_object_get(rb, "retention");
    if (json_is_object(ret)) {
        out->keep_last = get_uint(ret, "keepLast");
        out->max_age_days = get_uint(ret, "maxAgeDays");
    }
    json_decref(rb);
}

void schedule_clear(struct backup_schedule *s)
{
    free(s->path);
    memset(s, 0, sizeof(*s));
}

/* floor(a / b) for a signed a and a positive b. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

uint64_t schedule_next_due(const struct backup_schedule *s, uint64_t hour_ms, uint64_t anchor_ms,
                           uint64_t since_ms)
{
    if (!s->enabled || !s->interval_hours || !hour_ms) return 0;
    int64_t interval = (int64_t)(s->interval_hours * hour_ms);
    int64_t base = s->has_time ? (int64_t)(s->time_minutes * hour_ms / 60) : (int64_t)anchor_ms;
    int64_t k = floor_div((int64_t)since_ms - base, interval) + 1;
    return (uint64_t)(base + k * interval);
}

uint64_t schedule_last_backup_ms(const struct backup_schedule *s, const struct rk_backup *list,
                                 size_t n)
{
    if (!s->enabled) return 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].destination && strcmp(list[i].destination, s->path) == 0)
            return list[i].started_ms;
    return 0;
}

uint64_t schedule_since(const struct rk_db *db, uint64_t last_backup_ms)
{
    return last_backup_ms > db->updated_ms ? last_backup_ms : db->updated_ms;
}
