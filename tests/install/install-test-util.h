/* install-test-util.h: games, objects and trees for the install tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-install.h"

G_BEGIN_DECLS

/* One file of a synthetic game version. */
typedef struct
{
  const char *path;
  const char *content; /* NULL terminated text, or NULL for size bytes of a pattern */
  guint64 size;
  gboolean executable;
} TestFile;

/* Writes a zstd object for each file into objects_dir and returns the manifest. */
MistManifest *test_make_version (const char *objects_dir, const TestFile *files, guint n_files);

/* Writes a VCDIFF delta (xdelta3) from old_content to new_content into objects_dir and
 * returns its object id. */
char *test_make_delta (const char *objects_dir, const char *old_content, const char *new_content, guint64 *size);

/* Returns whether the files below folder (except the staging folder) are exactly those
 * of manifest, with their hashes and modes; the first difference goes to the log. */
gboolean test_tree_matches (const char *folder, MistManifest *manifest);

char *test_make_temporary_folder (void);
void test_remove_folder (const char *folder);

G_END_DECLS
