/* ISO-8601 UTC timestamps for the event bus: occurred_at and dlq_timestamp as eventsource-py
 * writes them (Python's datetime.isoformat() of an aware UTC time), and a parser for what
 * other producers send. Calendar arithmetic uses Howard Hinnant's days-from-civil algorithm,
 * which is exact over the proleptic Gregorian calendar, so no timegm/gmtime (and no time-zone
 * state) is involved. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/bus_int.h"

#define US_PER_SEC 1000000LL
#define US_PER_DAY (86400LL * US_PER_SEC)

/* Days from 1970-01-01 to y-m-d. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0001-01-01T00:00:00Z and the first instant after 9999-12-31T23:59:59.999999Z. */
static const int64_t MIN_US = -62135596800LL * US_PER_SEC;
static const int64_t END_US = 253402300800LL * US_PER_SEC;

int64_t
kw_bus_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

size_t
kw_bus_time_format(int64_t us, kw_bus_time_style style, char *buf, size_t size)
{
    if (!buf || size == 0)
        return 0;
    buf[0] = '\0';
    if (us < MIN_US || us >= END_US)
        return 0;
    int64_t days = us / US_PER_DAY, rem = us % US_PER_DAY;
    if (rem < 0) {
        rem += US_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    unsigned sec = (unsigned)(rem / US_PER_SEC), frac = (unsigned)(rem % US_PER_SEC);
    char tmp[KW_BUS_TIME_STR_SIZE];
    int n;
    if (style == KW_BUS_TIME_MILLIS)
        n = snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", (int)y, mo, d,
                     sec / 3600, sec / 60 % 60, sec % 60, frac / 1000);
    else if (frac != 0)
        n = snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02u:%02u:%02u.%06u+00:00", (int)y, mo, d,
                     sec / 3600, sec / 60 % 60, sec % 60, frac);
    else /* Python leaves the fraction out when the microseconds are zero */
        n = snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02u:%02u:%02u+00:00", (int)y, mo, d,
                     sec / 3600, sec / 60 % 60, sec % 60);
    if (n < 0 || (size_t)n >= size)
        return 0;
    memcpy(buf, tmp, (size_t)n + 1);
    return (size_t)n;
}

/* Exactly `n` decimal digits at s[*i]; -1 if they are not there. */
static int
digits(const char *s, size_t len, size_t *i, int n)
{
    if (len - *i < (size_t)n)
        return -1;
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    return v;
}

static bool
expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

static unsigned
days_in_month(int y, int m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The UTC offset at s[*i] in seconds: Z, z, +hh:mm or -hh:mm (also +hhmm). */
static bool
parse_offset(const char *s, size_t len, size_t *i, int *off)
{
    if (*i >= len)
        return false;
    char c = s[*i];
    if (c == 'Z' || c == 'z') {
        (*i)++;
        *off = 0;
        return true;
    }
    if (c != '+' && c != '-')
        return false;
    (*i)++;
    int hh = digits(s, len, i, 2);
    if (*i < len && s[*i] == ':')
        (*i)++;
    int mm = digits(s, len, i, 2);
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59)
        return false;
    *off = (hh * 3600 + mm * 60) * (c == '-' ? -1 : 1);
    return true;
}

kw_err
kw_bus_time_parse(const char *s, size_t len, int64_t *out_us)
{
    if (!s || !out_us)
        return KW_ERR_MALFORMED;
    size_t i = 0;
    int y = digits(s, len, &i, 4);
    bool ok = y >= 1 && expect(s, len, &i, '-');
    int mo = ok ? digits(s, len, &i, 2) : -1;
    ok = ok && mo >= 1 && mo <= 12 && expect(s, len, &i, '-');
    int d = ok ? digits(s, len, &i, 2) : -1;
    ok = ok && d >= 1 && (unsigned)d <= days_in_month(y, mo) && i < len &&
         (s[i] == 'T' || s[i] == 't' || s[i] == ' ');
    if (!ok)
        return KW_ERR_MALFORMED;
    i++;
    int hh = digits(s, len, &i, 2);
    ok = hh >= 0 && hh <= 23 && expect(s, len, &i, ':');
    int mi = ok ? digits(s, len, &i, 2) : -1;
    ok = ok && mi >= 0 && mi <= 59 && expect(s, len, &i, ':');
    int ss = ok ? digits(s, len, &i, 2) : -1;
    if (!ok || ss < 0 || ss > 59) /* no leap second: Python and Java refuse :60 too */
        return KW_ERR_MALFORMED;
    int64_t frac = 0;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        int nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 9) {
            if (nd < 6)
                frac = frac * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0)
            return KW_ERR_MALFORMED;
        for (int k = nd; k < 6; k++)
            frac *= 10;
    }
    int off;
    if (!parse_offset(s, len, &i, &off) || i != len)
        return KW_ERR_MALFORMED;
    int64_t secs =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + hh * 3600 + mi * 60 + ss - off;
    int64_t us = secs * US_PER_SEC + frac;
    if (us < MIN_US || us >= END_US)
        return KW_ERR_MALFORMED; /* an offset pushed it outside years 1-9999 */
    *out_us = us;
    return KW_ERR_OK;
}
