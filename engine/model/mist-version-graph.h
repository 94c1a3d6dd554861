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

/* Versions are named by their ordinal, an integer from 1 that grows by one per pushed
 * version (docs/api.md); 0 is no version, as before a fresh install. */
#define MIST_VERSION_NONE 0

typedef struct
{
  gint64 ordinal;
  char *name;             /* for people, for example "1.5" */
  guint64 download_size;  /* bytes of the distinct full objects of its manifest */
  guint64 installed_size; /* bytes of its files */
  /* A private version is only planned as the source or the target of a route, never as
   * a step in between, because not every account may download its patch sets. */
  gboolean is_private;
} MistVersionInfo;

/* One file's delta inside a patch set. */
typedef struct
{
  char *path;          /* the target file, a valid relative path (mist_path_validate) */
  char *source_path;   /* the file of the from version it applies to (a rename when it
                        * differs from path) */
  char *format;        /* "vcdiff" or "zstd" (mist_delta_format_to_string) */
  char *object_id;     /* hex SHA-256 of the delta object */
  guint64 object_size; /* bytes of the delta object */
  char *source_sha256; /* the file in the from version */
  char *target_sha256; /* the file in the to version */
} MistPatchFile;

typedef struct _MistPatchSet MistPatchSet;

/* download_size is the bytes to fetch with this set: its deltas plus the full objects of
 * target files it does not cover (the server's "download_size"). */
MistPatchSet *mist_patch_set_new (gint64 from_ordinal, gint64 to_ordinal, guint64 download_size);
MistPatchSet *mist_patch_set_ref (MistPatchSet *patch_set);
void mist_patch_set_unref (MistPatchSet *patch_set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPatchSet, mist_patch_set_unref)

/* Parses one patch set, with or without its "deltas" member, as docs/api.md describes
 * it, validating paths, hashes and formats. A set whose state is not "ready" is rejected
 * with MIST_ERROR_NOT_FOUND. */
MistPatchSet *mist_patch_set_new_from_json_node (JsonNode *node, GError **error);
MistPatchSet *mist_patch_set_new_from_json (const char *data, gssize length, GError **error);

/* Adds a copy of file; fails on an invalid path, hash or format, or a second delta for
 * the same path. */
gboolean mist_patch_set_add_file (MistPatchSet *patch_set, const MistPatchFile *file, GError **error);

gint64 mist_patch_set_get_from (MistPatchSet *patch_set);
gint64 mist_patch_set_get_to (MistPatchSet *patch_set);
guint64 mist_patch_set_get_download_size (MistPatchSet *patch_set);
/* FALSE for a summary from the patch list, which has no per-file deltas yet. */
gboolean mist_patch_set_has_files (MistPatchSet *patch_set);
void mist_patch_set_set_has_files (MistPatchSet *patch_set, gboolean has_files);
/* MistPatchFile elements sorted by path; owned by the patch set. */
GPtrArray *mist_patch_set_get_files (MistPatchSet *patch_set);
const MistPatchFile *mist_patch_set_lookup (MistPatchSet *patch_set, const char *path);
/* The packs of the set's objects (MistPack elements, owned by the patch set), empty
 * when the server listed none. */
GPtrArray *mist_patch_set_get_packs (MistPatchSet *patch_set);

typedef struct _MistVersionGraph MistVersionGraph;

MistVersionGraph *mist_version_graph_new (void);
MistVersionGraph *mist_version_graph_ref (MistVersionGraph *graph);
void mist_version_graph_unref (MistVersionGraph *graph);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistVersionGraph, mist_version_graph_unref)

/* Adds a copy of version; fails when the ordinal is already present. */
gboolean mist_version_graph_add_version (MistVersionGraph *graph,
                                         const MistVersionInfo *version,
                                         GError **error);
/* Adds a patch set between two versions already added; a second patch set for the same
 * pair replaces the first, so a summary can be replaced by the full set. */
gboolean mist_version_graph_add_patch_set (MistVersionGraph *graph,
                                           MistPatchSet *patch_set,
                                           GError **error);

/* Adds the versions of a game entry and the summaries of a patch list, both as
 * docs/api.md describes them ("GET /api/v1/games/{slug}" and ".../patches"); patch sets
 * that are not ready are skipped. */
gboolean mist_version_graph_add_game_json (MistVersionGraph *graph, JsonNode *game, GError **error);
gboolean mist_version_graph_add_patches_json (MistVersionGraph *graph, JsonNode *patches, GError **error);

/* NULL when the version is not in the graph. */
const MistVersionInfo *mist_version_graph_lookup (MistVersionGraph *graph, gint64 ordinal);
/* MistVersionInfo elements sorted by ordinal; owned by the graph. */
GPtrArray *mist_version_graph_get_versions (MistVersionGraph *graph);
/* NULL when there is no patch set from from_version to to_version. */
MistPatchSet *mist_version_graph_lookup_patch_set (MistVersionGraph *graph,
                                                   gint64 from_ordinal,
                                                   gint64 to_ordinal);

/* Finds the cheapest route by download bytes from from_ordinal to to_ordinal among the
 * patch sets and a full download (Dijkstra; ties go to fewer steps; private versions
 * are never intermediate steps). Returns the ordinals from the source to the target
 * (a GArray of gint64), just the target for a full download, or NULL with
 * MIST_ERROR_NOT_FOUND when to_ordinal is not in the graph. *download_size receives the
 * route's estimated bytes when download_size is not NULL. The planner fetches the file
 * lists of exactly these patch sets before mist_plan_compute(). */
GArray *mist_version_graph_find_route (MistVersionGraph *graph,
                                       gint64 from_ordinal,
                                       gint64 to_ordinal,
                                       guint64 *download_size,
                                       GError **error);

G_END_DECLS
