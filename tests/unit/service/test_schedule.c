/* The backup schedule's arithmetic: intervals, timeUTC alignment, the
 * anchor without timeUTC, catch-up after downtime, and reading the settings
 * from a database. Expected times are written out as calendar dates and
 * converted by timegm(), not by the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/schedule.h"

#define H SCHEDULE_HOUR_MS

/* ms since the epoch of a UTC date and time. */
static uint64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (uint64_t)timegm(&tm) * 1000;
}

static struct backup_schedule remote(unsigned hours, int minutes)
{
    struct backup_schedule s = {.enabled = true, .interval_hours = hours};
    if (minutes >= 0) {
        s.has_time = true;
        s.time_minutes = (unsigned)minutes;
    }
    return s;
}

static void test_intervals_and_times(void **state)
{
    (void)state;
    assert_int_equal(schedule_interval_hours("every-1-hours"), 1);
    assert_int_equal(schedule_interval_hours("every-2-hours"), 2);
    assert_int_equal(schedule_interval_hours("every-4-hours"), 4);
    assert_int_equal(schedule_interval_hours("every-6-hours"), 6);
    assert_int_equal(schedule_interval_hours("every-12-hours"), 12);
    assert_int_equal(schedule_interval_hours("every-24-hours"), 24);
    assert_int_equal(schedule_interval_hours("every-3-hours"), -1);
    assert_int_equal(schedule_interval_hours("every-24-hour"), -1);
    assert_int_equal(schedule_interval_hours(""), -1);
    assert_int_equal(schedule_parse_time("00:00"), 0);
    assert_int_equal(schedule_parse_time("13:45"), 13 * 60 + 45);
    assert_int_equal(schedule_parse_time("23:59"), 23 * 60 + 59);
    const char *bad[] = {"24:00", "12:60", "7:00",  "07:0", "07:00:00",
                         "ab:cd", "",      "07-00", " 7:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(schedule_parse_time(bad[i]), -1);
}

/* timeUTC: the slots are that time of every day (24 h) or it and 12 h later. */
static void test_time_utc_alignment(void **state)
{
    (void)state;
    struct backup_schedule daily = remote(24, 13 * 60 + 30);
    uint64_t created = utc(2026, 3, 1, 9, 0, 0);
    /* Before 13:30 the same day, after it the next day; the anchor does not matter. */
    assert_int_equal(schedule_next_due(&daily, H, created, utc(2026, 3, 10, 8, 0, 0)),
                     utc(2026, 3, 10, 13, 30, 0));
    assert_int_equal(schedule_next_due(&daily, H, created, utc(2026, 3, 10, 13, 30, 0)),
                     utc(2026, 3, 11, 13, 30, 0));
    assert_int_equal(schedule_next_due(&daily, H, 0, utc(2026, 3, 10, 13, 29, 59)),
                     utc(2026, 3, 10, 13, 30, 0));
    /* Across a month and a year end. */
    assert_int_equal(schedule_next_due(&daily, H, created, utc(2026, 12, 31, 20, 0, 0)),
                     utc(2027, 1, 1, 13, 30, 0));

    struct backup_schedule twice = remote(12, 2 * 60 + 15);
    assert_int_equal(schedule_next_due(&twice, H, created, utc(2026, 3, 10, 1, 0, 0)),
                     utc(2026, 3, 10, 2, 15, 0));
    assert_int_equal(schedule_next_due(&twice, H, created, utc(2026, 3, 10, 3, 0, 0)),
                     utc(2026, 3, 10, 14, 15, 0));
    assert_int_equal(schedule_next_due(&twice, H, created, utc(2026, 3, 10, 14, 15, 0)),
                     utc(2026, 3, 11, 2, 15, 0));
    struct backup_schedule midnight = remote(24, 0);
    assert_int_equal(schedule_next_due(&midnight, H, created, utc(2026, 3, 10, 0, 0, 1)),
                     utc(2026, 3, 11, 0, 0, 0));
}

/* Without timeUTC the slots count from the database's creation. */
static void test_interval_from_creation(void **state)
{
    (void)state;
    uint64_t created = utc(2026, 3, 1, 9, 20, 0);
    unsigned hours[] = {1, 2, 4, 6, 12, 24};
    for (size_t i = 0; i < 6; i++) {
        struct backup_schedule s = remote(hours[i], -1);
        uint64_t step = hours[i] * H;
        /* Just created: the first backup one interval later. */
        assert_int_equal(schedule_next_due(&s, H, created, created), created + step);
        /* A backup taken a little after slot 5: the next is slot 6. */
        assert_int_equal(schedule_next_due(&s, H, created, created + 5 * step + 1234),
                         created + 6 * step);
        /* Exactly on a slot: the next one. */
        assert_int_equal(schedule_next_due(&s, H, created, created + 7 * step), created + 8 * step);
    }
    /* A since before the anchor (a clock set back): still the first slot after it. */
    struct backup_schedule s = remote(6, -1);
    assert_int_equal(schedule_next_due(&s, H, created, created - 13 * H), created - 12 * H);
}

/* After downtime there is one due slot (the first after the last backup),
 * and once a backup ran, the next is in the future: one catch-up. */
static void test_catch_up_once(void **state)
{
    (void)state;
    struct backup_schedule s = remote(1, -1);
    uint64_t created = utc(2026, 3, 1, 0, 0, 0);
    uint64_t last_backup = utc(2026, 3, 2, 10, 0, 5); /* the 10:00 slot's backup */
    uint64_t now = utc(2026, 3, 2, 15, 30, 0);        /* down since 10:00: five slots missed */
    uint64_t due = schedule_next_due(&s, H, created, last_backup);
    assert_int_equal(due, utc(2026, 3, 2, 11, 0, 0));
    assert_true(due <= now); /* due now: one backup */
    uint64_t catch_up_started = now + 200;
    uint64_t next = schedule_next_due(&s, H, created, catch_up_started);
    assert_int_equal(next, utc(2026, 3, 2, 16, 0, 0));
    assert_true(next > now); /* and nothing more until the next slot */
}

/* A shortened hour (the tests' clock) scales every interval and timeUTC. */
static void test_short_hours(void **state)
{
    (void)state;
    struct backup_schedule s = remote(12, 6 * 60); /* 06:00 and 18:00 */
    uint64_t hour = 1000;                          /* a day is 24 s */
    /* 06:00 of a 24 s day is 6 s into it; slots every 12 s from there. */
    assert_int_equal(schedule_next_due(&s, hour, 0, 24000 * 100 + 1), 24000 * 100 + 6000);
    assert_int_equal(schedule_next_due(&s, hour, 0, 24000 * 100 + 6000), 24000 * 100 + 18000);
    assert_int_equal(schedule_next_due(&s, hour, 0, 24000 * 100 + 18500), 24000 * 101 + 6000);
    struct backup_schedule every2 = remote(2, -1);
    assert_int_equal(schedule_next_due(&every2, 250, 10000, 10001), 10500);
}

static void test_since(void **state)
{
    (void)state;
    struct rk_db db = {.updated_ms = 5000};
    assert_int_equal(schedule_since(&db, 0), 5000);    /* no backup yet: the settings' time */
    assert_int_equal(schedule_since(&db, 4000), 5000); /* a schedule set after the last backup */
    assert_int_equal(schedule_since(&db, 9000), 9000);
}

/* Only backups to the schedule's destination count as the last backup: an
 * ad-hoc backup elsewhere, started after a slot came and before the
 * schedule's backup of it ran, must not use that slot up. */
static void test_last_backup_at_destination(void **state)
{
    (void)state;
    struct backup_schedule s = remote(24, 3 * 60);
    s.path = "s3://bucket/scheduled";
    uint64_t scheduled = utc(2026, 3, 1, 3, 0, 1);
    uint64_t adhoc = utc(2026, 3, 2, 3, 0, 2); /* just after the 2 March slot */
    struct rk_backup list[] = {
        /* newest first, as the catalog lists them */
        {.destination = "/var/adhoc", .started_ms = adhoc},
        {.destination = NULL, .started_ms = adhoc - 1},
        {.destination = "s3://bucket/scheduled", .started_ms = scheduled},
        {.destination = "s3://bucket/scheduled", .started_ms = scheduled - 24 * H}};
    uint64_t last = schedule_last_backup_ms(&s, list, 4);
    assert_int_equal(last, scheduled);
    struct rk_db db = {.updated_ms = utc(2026, 2, 1, 0, 0, 0)};
    /* The 2 March slot is still due, not 3 March's. */
    assert_int_equal(schedule_next_due(&s, H, 0, schedule_since(&db, last)),
                     utc(2026, 3, 2, 3, 0, 0));
    /* No backup there yet; a disabled schedule has none. */
    assert_int_equal(schedule_last_backup_ms(&s, list, 2), 0);
    struct backup_schedule off = {0};
    assert_int_equal(schedule_last_backup_ms(&off, list, 4), 0);
}

static void test_from_db(void **state)
{
    (void)state;
    struct backup_schedule s;
    struct rk_db db = {0};
    schedule_from_db(&db, &s);
    assert_false(s.enabled);
    assert_int_equal(schedule_next_due(&s, H, 0, 0), 0);

    db.periodic_backup_path = "s3://bucket/path";
    schedule_from_db(&db, &s);
    assert_true(s.enabled);
    assert_string_equal(s.path, "s3://bucket/path");
    assert_int_equal(s.interval_hours, 24);
    assert_false(s.has_time);
    schedule_clear(&s);

    db.periodic_backup_path = NULL;
    db.remote_backup = "{\"active\":true,\"interval\":\"every-12-hours\",\"timeUTC\":\"18:05\","
                       "\"storageType\":\"ftp\",\"storagePath\":\"ftp://u:p@h/x\","
                       "\"retention\":{\"keepLast\":3,\"maxAgeDays\":7}}";
    schedule_from_db(&db, &s);
    assert_true(s.enabled);
    assert_string_equal(s.storage_type, "ftp");
    assert_int_equal(s.interval_hours, 12);
    assert_true(s.has_time);
    assert_int_equal(s.time_minutes, 18 * 60 + 5);
    assert_int_equal(s.keep_last, 3);
    assert_int_equal(s.max_age_days, 7);
    schedule_clear(&s);

    /* active omitted: active; interval omitted: every 24 hours. */
    db.remote_backup = "{\"storageType\":\"local\",\"storagePath\":\"/b\"}";
    schedule_from_db(&db, &s);
    assert_true(s.enabled);
    assert_int_equal(s.interval_hours, 24);
    schedule_clear(&s);

    const char *off[] = {
        "{\"active\":false,\"storageType\":\"local\",\"storagePath\":\"/b\"}",
        "{\"active\":true,\"storageType\":\"local\"}",
        "{\"active\":true,\"interval\":\"every-5-hours\",\"storageType\":\"local\",\"storagePath\":"
        "\"/b\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        db.remote_backup = (char *)off[i];
        schedule_from_db(&db, &s);
        assert_false(s.enabled);
        schedule_clear(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals_and_times),
        cmocka_unit_test(test_time_utc_alignment),
        cmocka_unit_test(test_interval_from_creation),
        cmocka_unit_test(test_catch_up_once),
        cmocka_unit_test(test_short_hours),
        cmocka_unit_test(test_since),
        cmocka_unit_test(test_last_backup_at_destination),
        cmocka_unit_test(test_from_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
