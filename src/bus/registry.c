/* The registry of event types: the C counterpart of registering an event class with
 * eventsource-py's bus. A consumed event whose type nobody registered is detected here and
 * goes to the DLQ as a deserialization_error (eventsource-py: "Unknown event type: X"),
 * rather than being acknowledged unseen.
 *
 * Types are kept sorted by name for binary search: lookups happen for every consumed record,
 * registrations a handful of times at start-up. */
#include <string.h>

#include "bus/bus_int.h"

void
kwi_bus_registry_init(kwi_bus_registry *r, const kw_allocator *a)
{
    memset(r, 0, sizeof(*r));
    r->a = a ? a : kw_allocator_default();
}

void
kwi_bus_registry_fini(kwi_bus_registry *r)
{
    if (!r || !r->a)
        return;
    for (size_t i = 0; i < r->n; i++)
        r->a->free(r->a->ud, r->types[i].name, r->types[i].name_len + 1);
    if (r->types)
        r->a->free(r->a->ud, r->types, r->cap * sizeof(*r->types));
    memset(r, 0, sizeof(*r));
}

static int
cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* The index of name, or where it would go (*found false). */
static size_t
search(const kwi_bus_registry *r, const char *name, size_t len, bool *found)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(r->types[mid].name, r->types[mid].name_len, name, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

kwi_bus_type *
kwi_bus_registry_find(const kwi_bus_registry *r, const char *name, size_t len)
{
    if (!r || !name || r->n == 0)
        return NULL;
    bool found;
    size_t i = search(r, name, len, &found);
    return found ? &r->types[i] : NULL;
}

static kw_err
check_name(const char *name, kw_error *err)
{
    if (!name || !name[0])
        return kw_error_set(err, KW_ERR_INVALID_ARG, "event type: empty");
    size_t len = strlen(name);
    if (len > 249 || !kwi_bus_utf8_valid(name, len))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "event type: must be 1-249 bytes of UTF-8, got %zu bytes", len);
    return KW_ERR_OK;
}

static kw_err
insert(kwi_bus_registry *r, size_t at, const char *name, kwi_bus_type **out, kw_error *err)
{
    size_t len = strlen(name);
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        kwi_bus_type *t = r->a->realloc(r->a->ud, r->types, r->cap * sizeof(*t), ncap * sizeof(*t));
        if (!t)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory registering an event type");
        r->types = t;
        r->cap = ncap;
    }
    char *copy = r->a->alloc(r->a->ud, len + 1);
    if (!copy)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory registering an event type");
    memcpy(copy, name, len + 1);
    memmove(&r->types[at + 1], &r->types[at], (r->n - at) * sizeof(*r->types));
    r->types[at] = (kwi_bus_type){.name = copy, .name_len = len};
    r->n++;
    *out = &r->types[at];
    return KW_ERR_OK;
}

kw_err
kwi_bus_registry_ensure(kwi_bus_registry *r, const char *name, kwi_bus_type **out, kw_error *err)
{
    kw_err e = check_name(name, err);
    if (e != KW_ERR_OK)
        return e;
    bool found;
    size_t i = search(r, name, strlen(name), &found);
    if (found) {
        *out = &r->types[i];
        return KW_ERR_OK;
    }
    return insert(r, i, name, out, err);
}

kw_err
kwi_bus_registry_add(kwi_bus_registry *r, const char *name, kw_bus_validate_fn validate, void *ud,
                     kw_error *err)
{
    kwi_bus_type *t = NULL;
    kw_err e = kwi_bus_registry_ensure(r, name, &t, err);
    if (e != KW_ERR_OK)
        return e;
    t->validate = validate;
    t->validate_ud = ud;
    return KW_ERR_OK;
}

kw_err
kwi_bus_registry_check(const kwi_bus_registry *r, const kw_bus_event *ev, kw_bus_failure *why)
{
    const char *type = ev->event_type ? ev->event_type : "";
    const kwi_bus_type *t = kwi_bus_registry_find(r, type, strlen(type));
    if (!t) {
        kw_bus_failure_set(why, "UnknownEventType", "Unknown event type: %s", type);
        return KW_ERR_NOT_FOUND;
    }
    if (!t->validate)
        return KW_ERR_OK;
    kw_bus_failure tmp;
    kw_bus_failure *f = why ? why : &tmp;
    f->type[0] = '\0';
    f->message[0] = '\0';
    if (t->validate(ev, f, t->validate_ud) == 0)
        return KW_ERR_OK;
    /* A validator that refused without a word still produces a DLQ record that says who. */
    f->type[sizeof(f->type) - 1] = '\0';
    f->message[sizeof(f->message) - 1] = '\0';
    if (!f->type[0])
        memcpy(f->type, "ValidationError", sizeof("ValidationError"));
    if (!f->message[0])
        kw_bus_failure_set(f, f->type, "the validator of %s refused the event", type);
    return KW_ERR_MALFORMED;
}
