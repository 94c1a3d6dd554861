/* mist-manifest.h: the file list and launch configuration of one game version
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The JSON form is specified in docs/api.md ("Build manifest"). Parsing validates every
 * path (mist-path.h), size and hash, so code that receives a MistManifest may trust it.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MIST_MANIFEST_FORMAT 1

typedef struct
{
  char *path;       /* valid relative path (mist_path_validate) */
  guint64 size;     /* bytes of the file as installed */
  char *sha256;     /* lowercase hex SHA-256 of the installed file */
  gboolean executable;
  char *object_id;  /* hex SHA-256 of the stored object (compressed full file), or NULL */
  guint64 object_size; /* bytes of that object, 0 when object_id is NULL */
} MistManifestFile;

typedef struct
{
  char *executable;        /* path of a file in the manifest */
  char **arguments;        /* NULL-terminated, never NULL */
  char *working_directory; /* relative path, "" for the install folder */
  GHashTable *environment; /* char * name → char * value, owned */
} MistLaunchConfig;

typedef struct _MistManifest MistManifest;

MistManifest *mist_manifest_new (void);
MistManifest *mist_manifest_ref (MistManifest *manifest);
void mist_manifest_unref (MistManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistManifest, mist_manifest_unref)

MistManifest *mist_manifest_new_from_json (const char *data, gssize length, GError **error);
MistManifest *mist_manifest_new_from_json_node (JsonNode *node, GError **error);
JsonNode *mist_manifest_to_json_node (MistManifest *manifest);
char *mist_manifest_to_json (MistManifest *manifest, gsize *length);

/* Adds a copy of file; fails on an invalid path or hash, or a path that clashes with
 * one already added (mist_path_set_add). */
gboolean mist_manifest_add_file (MistManifest *manifest,
                                 const MistManifestFile *file,
                                 GError **error);

/* Files sorted by path (byte order); the array and its entries belong to the manifest. */
GPtrArray *mist_manifest_get_files (MistManifest *manifest);
const MistManifestFile *mist_manifest_lookup (MistManifest *manifest, const char *path);
guint mist_manifest_get_n_files (MistManifest *manifest);
/* The packs of the version's full objects as the server listed them (MistPack elements,
 * owned by the manifest); empty when it listed none. mist_manifest_to_json() leaves
 * them out, because they describe the server's storage, not the build. */
GPtrArray *mist_manifest_get_packs (MistManifest *manifest);
guint64 mist_manifest_get_total_size (MistManifest *manifest);

/* The launch configuration, or NULL when the manifest has none. */
const MistLaunchConfig *mist_manifest_get_launch (MistManifest *manifest);
gboolean mist_manifest_set_launch (MistManifest *manifest,
                                   const char *executable,
                                   const char *const *arguments,
                                   const char *working_directory,
                                   GHashTable *environment,
                                   GError **error);

G_END_DECLS
