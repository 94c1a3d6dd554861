/* mist-path.h: rules for relative paths inside a game build
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every path that comes from a manifest, an upload or the server is checked here before
 * it touches the disk. A valid path is relative, UTF-8, '/'-separated, without empty,
 * "." or ".." components, backslashes, control characters or a trailing slash, and not
 * inside MIST_PATH_STAGING_FOLDER.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIST_PATH_MAX_LENGTH 4096
#define MIST_PATH_MAX_COMPONENT 255
/* The folder in an install folder where the launcher builds new files before it commits
 * them; no build may have a path inside it. */
#define MIST_PATH_STAGING_FOLDER ".mist-staging"

gboolean mist_path_validate (const char *path, GError **error);

/* Returns the key two paths share when they would name the same file on a
 * case-insensitive file system: case-folded and NFC-normalized. */
char *mist_path_collation_key (const char *path);

typedef struct _MistPathSet MistPathSet;

/* Collects paths and rejects duplicates, also after case folding, and a file whose path
 * is also used as a folder by another path ("a" and "a/b"). */
MistPathSet *mist_path_set_new (void);
gboolean mist_path_set_add (MistPathSet *set, const char *path, GError **error);
void mist_path_set_free (MistPathSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPathSet, mist_path_set_free)

G_END_DECLS
