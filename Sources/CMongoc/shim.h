#ifndef TESP_CMONGOC_SHIM_H
#define TESP_CMONGOC_SHIM_H

// Include paths come from `pkg-config --cflags libmongoc-1.0` through the system-library target.
#include <mongoc/mongoc.h>

// Why these helpers exist: bson_t and bson_iter_t are declared 128-byte aligned, and Swift imports every
// `bson_t *` as OpaquePointer and cannot place a correctly aligned bson_t on its stack. So every libmongoc call
// that fills an "uninitialized bson_t" out-parameter is wrapped here, with the bson_t on the C stack, and a heap
// copy (or NULL) handed back to Swift, which owns it and frees it with bson_destroy.

/// The message of a bson_error_t (a char[504], which Swift would import as a tuple).
static inline const char *_Nonnull tesp_bson_error_message(const bson_error_t *_Nonnull error) {
    return error->message;
}

/// Runs findAndModify; returns the server's reply (caller destroys it), or NULL with `error` set.
static inline bson_t *_Nullable tesp_collection_find_and_modify(
    mongoc_collection_t *_Nonnull collection,
    const bson_t *_Nonnull query,
    const bson_t *_Nonnull update,
    const bson_t *_Nullable fields,
    bool return_new,
    bson_error_t *_Nonnull error
) {
    mongoc_find_and_modify_opts_t *opts = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(opts, update);
    if (fields) {
        mongoc_find_and_modify_opts_set_fields(opts, fields);
    }
    mongoc_find_and_modify_opts_set_flags(
        opts, return_new ? MONGOC_FIND_AND_MODIFY_RETURN_NEW : MONGOC_FIND_AND_MODIFY_NONE);
    bson_t reply;
    bool ok = mongoc_collection_find_and_modify_with_opts(collection, query, opts, &reply, error);
    mongoc_find_and_modify_opts_destroy(opts);
    bson_t *copy = ok ? bson_copy(&reply) : NULL;
    bson_destroy(&reply);
    return copy;
}

/// Runs a command that writes (createIndexes, …) on `database`; returns the reply or NULL with `error` set.
static inline bson_t *_Nullable tesp_database_write_command(
    mongoc_database_t *_Nonnull database,
    const bson_t *_Nonnull command,
    bson_error_t *_Nonnull error
) {
    bson_t reply;
    bool ok = mongoc_database_write_command_with_opts(database, command, NULL, &reply, error);
    bson_t *copy = ok ? bson_copy(&reply) : NULL;
    bson_destroy(&reply);
    return copy;
}

/// Runs a read-only command (ping, …) on `database`; returns the reply or NULL with `error` set.
static inline bson_t *_Nullable tesp_database_read_command(
    mongoc_database_t *_Nonnull database,
    const bson_t *_Nonnull command,
    bson_error_t *_Nonnull error
) {
    bson_t reply;
    bool ok = mongoc_database_read_command_with_opts(database, command, NULL, NULL, &reply, error);
    bson_t *copy = ok ? bson_copy(&reply) : NULL;
    bson_destroy(&reply);
    return copy;
}

/// Inserts one document; returns false with `error` set on failure.
static inline bool tesp_collection_insert_one(
    mongoc_collection_t *_Nonnull collection,
    const bson_t *_Nonnull document,
    bson_error_t *_Nonnull error
) {
    return mongoc_collection_insert_one(collection, document, NULL, NULL, error);
}

/// The next document of a cursor, borrowed from the cursor (valid until the next call), or NULL at the end.
static inline const bson_t *_Nullable tesp_cursor_next(mongoc_cursor_t *_Nonnull cursor) {
    const bson_t *doc = NULL;
    return mongoc_cursor_next(cursor, &doc) ? doc : NULL;
}

/// libmongoc logs through a variadic-free handler; this forwards to a Swift function without its user data.
typedef void (*tesp_mongoc_log_func)(int level, const char *_Nullable domain, const char *_Nullable message);

static inline void tesp_mongoc_log_trampoline(
    mongoc_log_level_t level, const char *domain, const char *message, void *user_data
) {
    ((tesp_mongoc_log_func)user_data)((int)level, domain, message);
}

/// Routes libmongoc's own log lines to `handler` instead of stderr.
static inline void tesp_mongoc_set_log_handler(tesp_mongoc_log_func _Nonnull handler) {
    mongoc_log_set_handler(tesp_mongoc_log_trampoline, (void *)handler);
}

#endif
