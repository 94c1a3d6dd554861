/* mist-plan.h: the update planner, the cheapest way from one version to another
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A plan is computed before anything is downloaded. It compares the direct patch set,
 * the cheapest chain of patch sets through intermediate versions (Dijkstra over the
 * version graph, weighted by download bytes) and a full download, then decides file by
 * file: a file whose deltas along the route cost more than its full object, or whose
 * chain is broken because a patch set lacks it, is fetched as a full object. Ties go to
 * the route with fewer apply steps. Downgrades and repairs are plans too.
 */
#pragma once

#include "mist-manifest.h"
#include "mist-version-graph.h"

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MIST_PLAN_ROUTE_NONE,  /* nothing to download: the installed files already match */
  MIST_PLAN_ROUTE_FULL,  /* every changed file as a full object */
  MIST_PLAN_ROUTE_PATCH, /* one or more patch sets, steps listed in the route */
  MIST_PLAN_ROUTE_REPAIR, /* full objects for the files that failed verification */
} MistPlanRoute;

/* One delta applied to one file. */
typedef struct
{
  gint64 from_ordinal;
  gint64 to_ordinal;
  char *object_id;
  guint64 object_size;
  char *format;        /* "vcdiff" or "zstd" */
  char *source_sha256;
  char *target_sha256;
} MistPlanDelta;

/* How one file of the target manifest is built, in the order of docs/api.md: a copy of
 * an installed file with the same content (copy_from), else deltas applied in order to
 * the installed file source_path, whose hash is deltas[0]->source_sha256, else the full
 * object. */
typedef struct
{
  char *path;
  char *sha256;    /* of the file as installed */
  guint64 size;
  gboolean executable;
  char *object_id; /* the full object: always set, it is the fallback of a failed delta */
  guint64 object_size;
  char *copy_from;   /* installed path with content sha256, or NULL */
  char *source_path; /* installed path the first delta applies to, or NULL */
  GPtrArray *deltas; /* MistPlanDelta elements, empty unless source_path is set */
} MistPlanFile;

/* An object the downloader must fetch into the objects folder as OBJECTS_DIR/<id>. */
typedef struct
{
  char *object_id;
  guint64 size;
  gboolean is_delta;
} MistPlanObject;

void mist_plan_object_free (MistPlanObject *object);

typedef struct _MistPlan MistPlan;

MistPlan *mist_plan_ref (MistPlan *plan);
void mist_plan_unref (MistPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPlan, mist_plan_unref)

/* Plans the update from the installed version (from_ordinal MIST_VERSION_NONE and
 * installed NULL for a fresh install) to to_ordinal, whose manifest is target. The route
 * is mist_version_graph_find_route(); every patch set on it must have its file list
 * (MIST_ERROR_NOT_FOUND otherwise). installed lists the files as they are on disk (the
 * installed manifest), so unchanged files are never fetched. */
MistPlan *mist_plan_compute (MistVersionGraph *graph,
                             gint64 from_ordinal,
                             MistManifest *installed,
                             gint64 to_ordinal,
                             MistManifest *target,
                             GError **error);

/* Plans a repair of manifest (version ordinal): the files at bad_paths are fetched as
 * full objects. */
MistPlan *mist_plan_new_repair (gint64 ordinal,
                                MistManifest *manifest,
                                const char *const *bad_paths,
                                GError **error);

/* Plans a full download of target, reusing only installed files with the same content
 * when installed is not NULL. */
MistPlan *mist_plan_new_full (gint64 from_ordinal,
                              MistManifest *installed,
                              gint64 to_ordinal,
                              MistManifest *target);

MistPlanRoute mist_plan_get_route (MistPlan *plan);
gint64 mist_plan_get_from (MistPlan *plan); /* MIST_VERSION_NONE for a fresh install */
gint64 mist_plan_get_to (MistPlan *plan);
/* The ordinals the route passes from the installed version to the target (owned by the
 * plan); a FULL plan has only the target. */
GArray *mist_plan_get_route_ordinals (MistPlan *plan);
/* Sets the names shown by mist_plan_to_string() (otherwise the ordinals are shown). */
void mist_plan_set_version_names (MistPlan *plan, const char *from_name, const char *to_name);
/* Number of patch sets the route applies (0 for FULL, NONE and REPAIR). */
guint mist_plan_get_n_patch_sets (MistPlan *plan);

/* MistPlanFile elements, sorted by path: only the files that must be built. */
GPtrArray *mist_plan_get_files (MistPlan *plan);
const MistPlanFile *mist_plan_lookup_file (MistPlan *plan, const char *path);

/* The objects to fetch, each once (new array of MistPlanObject). */
GPtrArray *mist_plan_list_objects (MistPlan *plan);

/* Bytes to download, counting each object once. */
guint64 mist_plan_get_download_size (MistPlan *plan);
/* Bytes the same target costs as a full download, for comparison. */
guint64 mist_plan_get_full_download_size (MistPlan *plan);
/* Extra bytes needed on the install folder's file system while the update runs: the
 * staged files plus the largest intermediate file of a chain. */
guint64 mist_plan_get_staging_size (MistPlan *plan);
/* Bytes of the installed game once the plan is applied. */
guint64 mist_plan_get_installed_size (MistPlan *plan);

/* Replaces a file's deltas with its full object, after a delta failed; returns FALSE
 * when path is not in the plan. */
gboolean mist_plan_use_full_object (MistPlan *plan, const char *path);

/* Describes the plan on one line, for example
 * "1.2 → 1.5: 38 MB via 3 patches, instead of 1.9 GB". */
char *mist_plan_to_string (MistPlan *plan);

G_END_DECLS
