/* mist-mapped-guard-private.h: reading mapped files that may shrink meanwhile
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*MistMappedFunc) (gpointer data);
typedef struct _MistMappedCover MistMappedCover;

/* Runs func (data) on the calling thread and returns TRUE. If func reads a page of the
 * mapping at [map, map + length) that lies past the end of a file truncated meanwhile,
 * the kernel raises SIGBUS, func is abandoned at that read and FALSE is returned. So
 * func must not hold a lock or a half-done allocation while it reads the mapping. */
gboolean mist_mapped_guard_run (const void *map, gsize length, MistMappedFunc func, gpointer data);

/* Covers [map, map + length) for reads from threads that cannot run a guard, such as a
 * library's worker threads: a read past the end of a file truncated meanwhile gets
 * zeros instead of SIGBUS. Returns NULL, and covers nothing, when 8 covers are in use
 * or length is 0. */
MistMappedCover *mist_mapped_cover_add (const void *map, gsize length);
/* Removes the cover; returns FALSE if a read got zeros, so the results are wrong. */
gboolean mist_mapped_cover_remove (MistMappedCover *cover);

/* Sets a MIST_ERROR_WRONG_SOURCE error for a file of mapped_size bytes at map time
 * that shrank while it was read, with its size now when fd can tell it. role names
 * the file in the message ("source"). */
void mist_mapped_set_truncated_error (GError **error, int fd, const char *role, guint64 mapped_size);

G_END_DECLS
