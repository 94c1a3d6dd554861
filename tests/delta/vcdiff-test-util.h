/* vcdiff-test-util.h: test data, the xdelta3 reference encoder and file helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Creates a private temporary folder; test_dir_remove deletes it with its files. */
char *test_dir_new (void);
void test_dir_remove (const char *dir);

/* Fills a buffer with deterministic pseudo-random bytes from seed. */
void test_fill_random (guint8 *data, gsize length, guint64 seed);

/* Returns a copy of source with inserted, deleted, replaced and moved blocks, so that an
 * encoder finds both copies and new data. */
GByteArray *test_edit_data (const guint8 *source, gsize length, guint64 seed);

void test_write_file (const char *path, const guint8 *data, gsize length);
char *test_sha256_file (const char *path);

/* Runs `xdelta3 -e -f OPTIONS [-s SOURCE] TARGET PATCH`; source may be NULL. */
void test_xdelta3_encode (const char *const *options,
                          const char *source,
                          const char *target,
                          const char *patch);

/* Applies patch to source (NULL for none) with mist_vcdiff_apply_fd into output. */
gboolean
test_vcdiff_apply (const char *source, const char *patch, const char *output, GError **error);

/* Applies an in-memory patch to an in-memory source (NULL for none) through memfds.
 * Returns the output, or NULL with error set. */
GBytes *test_vcdiff_apply_bytes (const guint8 *source,
                                 gsize source_length,
                                 const guint8 *patch,
                                 gsize patch_length,
                                 GError **error);

G_END_DECLS
