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
  char *object_id;
  guint64 object_size;
  char *format;        /* "vcdiff" or "zstd" */
  char *source_sha256;
  char *target_sha256;
} MistPlanDelta;

/* How one file of the target manifest is built. A file with deltas starts from the
 * installed file at the same path, whose hash is deltas[0]->source_sha256, and applies
 * them in order. A file without deltas is unpacked from its full object. */
typedef struct
{
  char *path;
  char *sha256;    /* of the file as installed */
  guint64 size;
  gboolean executable;
  char *object_id; /* the full object: always set, it is the fallback of a failed delta */
  guint64 object_size;
  GPtrArray *deltas; /* MistPlanDelta elements, empty for a full object */
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

/* Plans the update from the installed version (from_version and installed both NULL for
 * a fresh install) to target_version, whose manifest is target. Both versions must be in
 * graph unless from_version is NULL. installed lists the files as they are on disk (the
 * installed manifest), so unchanged files are never fetched. */
MistPlan *mist_plan_compute (MistVersionGraph *graph,
                             const char *from_version,
                             MistManifest *installed,
                             const char *target_version,
                             MistManifest *target,
                             GError **error);

/* Plans a repair of version's manifest: the files at bad_paths are fetched as full
 * objects. */
MistPlan *mist_plan_new_repair (const char *version,
                                MistManifest *manifest,
                                const char *const *bad_paths,
                                GError **error);

/* Plans a full download of target with nothing reused. */
MistPlan *mist_plan_new_full (const char *target_version, MistManifest *target);

MistPlanRoute mist_plan_get_route (MistPlan *plan);
const char *mist_plan_get_from_version (MistPlan *plan); /* NULL for a fresh install */
const char *mist_plan_get_target_version (MistPlan *plan);
/* The versions the route passes, from the installed version to the target (NULL
 * terminated, owned by the plan); a FULL plan has only the target. */
const char *const *mist_plan_get_versions (MistPlan *plan);
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
