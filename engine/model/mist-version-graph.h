/* mist-version-graph.h: the versions of one game and the patch sets between them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The update planner (mist-plan.h) searches this graph. A version is a node with the
 * size of its full build; a patch set is a directed edge from one version to another
 * with one delta per changed file. A changed file that a patch set lacks is fetched as
 * the full object named by the target manifest. The JSON forms follow docs/api.md.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *id;          /* version name, for example "1.5" */
  gint64 ordinal;    /* release order: higher is newer */
  guint64 full_size; /* bytes of all full objects in the version's manifest */
  /* A private version is only planned as the source or the target of a route, never as
   * a step in between, because not every account may download its patch sets. */
  gboolean is_private;
} MistVersionInfo;

/* One file's delta inside a patch set. */
typedef struct
{
  char *path;          /* valid relative path (mist_path_validate) */
  char *format;        /* "vcdiff" or "zstd" (mist_delta_format_to_string) */
  char *object_id;     /* hex SHA-256 of the delta object */
  guint64 object_size; /* bytes of the delta object */
  char *source_sha256; /* the file in the from version */
  char *target_sha256; /* the file in the to version */
} MistPatchFile;

typedef struct _MistPatchSet MistPatchSet;

MistPatchSet *mist_patch_set_new (const char *from_version, const char *to_version);
MistPatchSet *mist_patch_set_ref (MistPatchSet *patch_set);
void mist_patch_set_unref (MistPatchSet *patch_set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPatchSet, mist_patch_set_unref)

/* Parses a patch set as docs/api.md describes it, validating paths, hashes and formats. */
MistPatchSet *mist_patch_set_new_from_json_node (JsonNode *node, GError **error);
MistPatchSet *mist_patch_set_new_from_json (const char *data, gssize length, GError **error);

/* Adds a copy of file; fails on an invalid path, hash or format, or a second delta for
 * the same path. */
gboolean mist_patch_set_add_file (MistPatchSet *patch_set, const MistPatchFile *file, GError **error);

const char *mist_patch_set_get_from (MistPatchSet *patch_set);
const char *mist_patch_set_get_to (MistPatchSet *patch_set);
/* Sum of the delta objects' sizes. */
guint64 mist_patch_set_get_total_size (MistPatchSet *patch_set);
/* MistPatchFile elements sorted by path; owned by the patch set. */
GPtrArray *mist_patch_set_get_files (MistPatchSet *patch_set);
const MistPatchFile *mist_patch_set_lookup (MistPatchSet *patch_set, const char *path);

typedef struct _MistVersionGraph MistVersionGraph;

MistVersionGraph *mist_version_graph_new (void);
MistVersionGraph *mist_version_graph_ref (MistVersionGraph *graph);
void mist_version_graph_unref (MistVersionGraph *graph);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistVersionGraph, mist_version_graph_unref)

/* Adds a copy of version; fails when the id is already present. */
gboolean mist_version_graph_add_version (MistVersionGraph *graph,
                                         const MistVersionInfo *version,
                                         GError **error);
/* Adds a patch set between two versions already added; a second patch set for the same
 * pair replaces the first. */
gboolean mist_version_graph_add_patch_set (MistVersionGraph *graph,
                                           MistPatchSet *patch_set,
                                           GError **error);

/* NULL when the version is not in the graph. */
const MistVersionInfo *mist_version_graph_lookup (MistVersionGraph *graph, const char *id);
/* MistVersionInfo elements sorted by ordinal; owned by the graph. */
GPtrArray *mist_version_graph_get_versions (MistVersionGraph *graph);
/* NULL when there is no patch set from from_version to to_version. */
MistPatchSet *mist_version_graph_lookup_patch_set (MistVersionGraph *graph,
                                                   const char *from_version,
                                                   const char *to_version);

G_END_DECLS
