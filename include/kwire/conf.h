/* kwire: client configuration.
 *
 * A kw_conf holds string properties with the names Java and librdkafka users already know
 * (`bootstrap.servers`, `linger.ms`, `acks`, ...). One table in the library defines every
 * property: its name, aliases, type, default, range and documentation. docs/configuration.md is
 * generated from that table (kw_conf_describe) and a test keeps the two identical.
 *
 * Every setter checks its value at once: an unknown name or a bad value is an error that names
 * the property, never a silent default. Combinations that cannot work (SASL_SSL with no
 * mechanism, an idempotent producer with acks=1 ...) are checked when a client is created from
 * the configuration, because only then is it known whether it produces or consumes.
 *
 * Threads: a kw_conf has no internal locking. Different kw_conf objects may be used from
 * different threads at once; one kw_conf may be read (get, dump, dup) from several threads at
 * once as long as no thread modifies it. No function here calls back except kw_conf_dump, which
 * calls `line` synchronously before it returns. */
#ifndef KWIRE_CONF_H
#define KWIRE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque configuration: one value per property, plus whether it was set explicitly. */
typedef struct kw_conf kw_conf;

/** The type of a property, which decides which strings it accepts. Leading and trailing
 *  whitespace is ignored for every type except KW_CONF_SECRET. */
typedef enum kw_conf_type {
    KW_CONF_BOOL = 0,   /**< `true` or `false`, any case */
    KW_CONF_INT = 1,    /**< a decimal integer (optional sign) within [min, max] */
    KW_CONF_MS = 2,     /**< a duration in milliseconds: an integer within [min, max] */
    KW_CONF_BYTES = 3,  /**< a size in bytes: an integer within [min, max] */
    KW_CONF_ENUM = 4,   /**< one of the listed values, any case; stored in its canonical form */
    KW_CONF_STRING = 5, /**< any text */
    KW_CONF_LIST = 6,   /**< comma-separated items, each trimmed; no empty items */
    KW_CONF_SECRET = 7  /**< text kept as given (not trimmed), never shown: see kw_conf_get */
} kw_conf_type;

/** Which clients read a property (bits of kw_conf_prop.scope). */
#define KW_CONF_SCOPE_PRODUCER 0x1u
#define KW_CONF_SCOPE_CONSUMER 0x2u
#define KW_CONF_SCOPE_ADMIN    0x4u
#define KW_CONF_SCOPE_ALL      0x7u

/** The most aliases one property has; kw_conf_prop.aliases has one more slot for a NULL. */
#define KW_CONF_MAX_ALIASES 3

/** What kw_conf_describe reports about one property. Every pointer refers to static storage
 *  that lives as long as the library is loaded. */
typedef struct kw_conf_prop {
    const char *name; /**< the canonical name, e.g. "linger.ms" */
    kw_conf_type type;
    const char *default_value; /**< as kw_conf_get prints it; NULL when there is no default */
    int64_t min, max;          /**< the accepted range of KW_CONF_INT, _MS and _BYTES; else 0 */
    /** KW_CONF_ENUM: the canonical values separated by ", " (synonyms that are also accepted
     *  follow in parentheses, e.g. "earliest (smallest, beginning)"); a KW_CONF_LIST whose
     *  items come from a fixed set: that set; NULL otherwise. */
    const char *values;
    /** Other names for the property (Java and librdkafka spellings), NULL-terminated. */
    const char *aliases[KW_CONF_MAX_ALIASES + 1];
    /** For each alias: the property's value is the alias's value times this factor (1, or 1024
     *  for a KiB alias of a byte property). */
    int64_t alias_scale[KW_CONF_MAX_ALIASES + 1];
    unsigned scope;  /**< KW_CONF_SCOPE_* bits */
    const char *doc; /**< one or more sentences of documentation */
} kw_conf_prop;

/**
 * @brief Create a configuration holding every property's default.
 * @param a the allocator for this configuration and every string it stores; NULL means
 *        kw_allocator_default(). The struct is copied; its functions and user data must stay
 *        valid until kw_conf_free.
 * @param out receives the new configuration; set to NULL on failure.
 * @return KW_ERR_OK, KW_ERR_INVALID_ARG (out is NULL) or KW_ERR_NOMEM.
 */
KW_API kw_err kw_conf_new(const kw_allocator *a, kw_conf **out);

/** @brief Release a configuration and everything it stores. kw_conf_free(NULL) does nothing. */
KW_API void kw_conf_free(kw_conf *c);

/**
 * @brief Deep copy: values, which properties were set explicitly, and the allocator.
 *        Changing one copy never changes the other.
 * @param out receives the copy; set to NULL on failure.
 * @return KW_ERR_OK, KW_ERR_INVALID_ARG (c or out is NULL) or KW_ERR_NOMEM.
 */
KW_API kw_err kw_conf_dup(const kw_conf *c, kw_conf **out);

/**
 * @brief Set one property from its string form.
 *
 * `name` is a canonical name or an alias (`queue.buffering.max.kbytes` sets `buffer.memory` to
 * the value times 1024). Names are case-sensitive, as in Java and librdkafka. The property is
 * then marked as set explicitly, which decides how combinations are checked later (an explicit
 * conflicting setting is an error; a default gives way). `value` NULL restores the default and
 * clears that mark.
 *
 * @param err optional detail; on failure its message names the property as the caller spelled
 *        it, e.g. `linger.ms: "abc" is not an integer`,
 *        `unknown property "lingr.ms" (did you mean "linger.ms"?)`. Secret values never appear
 *        in a message.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND for an unknown name; KW_ERR_CONFIG for a value the
 *         property does not accept (bad syntax, out of range, not one of the listed values);
 *         KW_ERR_INVALID_ARG if c or name is NULL; KW_ERR_NOMEM. On failure the configuration
 *         is unchanged.
 */
KW_API kw_err kw_conf_set(kw_conf *c, const char *name, const char *value, kw_error *err);

/**
 * @brief Read one property in its canonical string form.
 *
 * Booleans print as `true`/`false`, numbers in decimal, enums in their canonical spelling
 * (`acks` set to `-1` reads back as `all`), lists as items joined by ",". Read through an
 * alias, a scaled number is divided by the alias's factor, rounding down. A property with no
 * value (no default and never set) reads as the empty string. A secret that is set reads as
 * `[hidden]`: the library never hands a secret back.
 *
 * @param buf where to write the NUL-terminated value; NULL only asks for the size.
 * @param len in: the size of buf; out: the size the value needs, including its NUL.
 * @return KW_ERR_OK (also when buf is NULL: then only *len is written); KW_ERR_NOSPACE when
 *         buf is too small (buf is left untouched, *len tells the size needed);
 *         KW_ERR_NOT_FOUND for an unknown name; KW_ERR_INVALID_ARG if c, name or len is NULL.
 */
KW_API kw_err kw_conf_get(const kw_conf *c, const char *name, char *buf, size_t *len);

/**
 * @brief Apply a file of properties, in a subset of Java's .properties syntax.
 *
 * Each line is `key=value` or `key: value` (the first `=` or `:` separates; whitespace around
 * key and value is trimmed). Lines whose first non-blank character is `#` or `!` are comments;
 * blank lines are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted. Not
 * supported, and reported as errors rather than misread: a line with no separator, and a line
 * ending in a backslash (Java's line continuation). Backslash escapes are not interpreted. A
 * later line overrides an earlier one. The file is read through the configuration's allocator;
 * at most 1 MiB.
 *
 * @param err optional detail; messages start with `PATH:LINE: `, e.g.
 *        `client.properties:3: linger.ms: "abc" is not an integer`.
 * @return KW_ERR_OK; KW_ERR_IO if the file cannot be read; KW_ERR_TOO_LARGE over 1 MiB;
 *         KW_ERR_CONFIG for a syntax error or a bad value; KW_ERR_NOT_FOUND for an unknown
 *         property; KW_ERR_INVALID_ARG if c or path is NULL; KW_ERR_NOMEM. All or nothing: on
 *         any failure the configuration is unchanged.
 */
KW_API kw_err kw_conf_set_file(kw_conf *c, const char *path, kw_error *err);

/**
 * @brief Print the configuration as (name, value) pairs, in the order of the property table.
 *
 * Values are as kw_conf_get prints them, under canonical names only. Every secret that is set
 * prints as `[hidden]`, so a dump is safe to log. `line` is called synchronously, once per
 * property, before kw_conf_dump returns; the strings it receives are valid only during the
 * call. The function allocates nothing.
 *
 * @param include_defaults false: only properties set explicitly; true: also every property
 *        that has a default value (properties with neither are skipped).
 * @return KW_ERR_OK, or KW_ERR_INVALID_ARG if c or line is NULL (line is then never called).
 */
KW_API kw_err kw_conf_dump(const kw_conf *c, bool include_defaults,
                           void (*line)(void *ud, const char *name, const char *value), void *ud);

/**
 * @brief Describe the property at `index` in the table (0, 1, 2, ... until KW_ERR_NOT_FOUND).
 *        The order is the order of kw_conf_dump. Needs no kw_conf; any thread.
 * @return KW_ERR_OK and *out filled; KW_ERR_NOT_FOUND past the last property (out untouched);
 *         KW_ERR_INVALID_ARG if out is NULL.
 */
KW_API kw_err kw_conf_describe(size_t index, kw_conf_prop *out);

/** @brief "bool", "int", "ms", "bytes", "enum", "string", "list", "secret"; "unknown" for
 *  anything else. Never NULL. */
KW_API const char *kw_conf_type_name(kw_conf_type t);

#ifdef __cplusplus
}
#endif
#endif
