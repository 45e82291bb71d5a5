/* error.h — the library's one error channel.
 *
 * Every public entry point that can fail returns DS_OK (0) or DS_ERR (-1) and, on failure,
 * leaves a human-readable message naming what was wrong in a per-process buffer that
 * ds_last_error() returns. The CLI prints it; the WASM worker reads it (through
 * ds_api_last_error, wasm_api.h) and rejects the promise with it. Not thread-safe by design: the library is driven from one thread
 * (worker threads inside the trainer never report errors through it). */
#ifndef DS_ERROR_H
#define DS_ERROR_H

#define DS_OK 0
#define DS_ERR (-1)

/* printf-style; always returns DS_ERR so callers can write `return ds_fail(...)`. An argument
 * may quote ds_last_error() (the message is formatted before it replaces the old one). */
int ds_fail(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The message of the most recent failure ("" if none). Valid until the next failure. */
const char *ds_last_error(void);
void ds_clear_error(void);

/* Checks shared by every entry point: return DS_ERR with a message naming `what`. */
int ds_check_finite(double v, const char *what);
int ds_check_range_int(long v, long lo, long hi, const char *what);
int ds_check_range(double v, double lo, double hi, const char *what);

#endif
