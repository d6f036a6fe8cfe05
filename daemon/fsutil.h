/*
 * fsutil.h: the durable-file helpers every writer in daemon/ and
 * dashboards/ shares (STYLE "Durability").
 */
#ifndef LABQCD_FSUTIL_H
#define LABQCD_FSUTIL_H

#include <stddef.h>

/* mkdir -p with `mode` for every directory it creates. 0 or -1/errno. */
int fs_mkdir_p(const char *path, unsigned mode);

/* Write `len` bytes to `path` atomically: a temporary file in the same
 * directory, fsync, rename over `path`, fsync the directory. A reader
 * sees the old file or the new one, never half of one. 0 or -1/errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* The same without the two fsyncs, for files drawn again from their
 * sources (the dashboard's graphs and pages): a reader still never sees
 * half a file, but a power cut may leave one old or empty until the next
 * start redraws everything. Each fsync is a device flush (20 to 500 ms
 * each under load on the bench machine), and a render's thousands of them
 * held up the alert path's own fsyncs (audit, alert states, spool). */
int fs_write_replace(const char *path, const void *data, size_t len, unsigned mode);

/* Read a whole file (NUL-terminated for convenience); caller frees.
 * 0 or -1/errno. */
int fs_read_all(const char *path, char **data, size_t *len);

/* Move a corrupt file aside to "<path>.corrupt-<epoch>"; the new name is
 * written to `aside` (may be NULL). 0 or -1/errno. */
int fs_move_aside(const char *path, char *aside, size_t len);

/* fsync a directory, so that a rename or unlink in it is durable. 0 or
 * -1/errno. */
int fs_fsync_dir(const char *dir);

/* A secret (password, HMAC key) from a regular file that others may not
 * read, the trailing newline removed, into buf (len bytes). 0, or -1 with
 * the reason in err. */
int fs_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen);

#endif
