/* mist-plan.c: per-file plans along a route of patch sets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-plan.h"
#include "mist-error.h"

struct _MistPlan
{
  gatomicrefcount ref_count;
  MistPlanRoute route;
  gint64 from;
  gint64 to;
  char *from_name;
  char *to_name;
  GArray *ordinals;     /* gint64 */
  GPtrArray *files;     /* MistPlanFile, sorted by path */
  GHashTable *by_path;  /* path → MistPlanFile in files */
  guint64 full_download_size;
  guint64 installed_size;
};

static void
plan_delta_free (MistPlanDelta *delta)
{
  g_free (delta->object_id);
  g_free (delta->format);
  g_free (delta->source_sha256);
  g_free (delta->target_sha256);
  g_free (delta);
}

static void
plan_file_free (MistPlanFile *file)
{
  g_free (file->path);
  g_free (file->sha256);
  g_free (file->object_id);
  g_free (file->copy_from);
  g_free (file->source_path);
  g_ptr_array_unref (file->deltas);
  g_free (file);
}

void
mist_plan_object_free (MistPlanObject *object)
{
  if (object == NULL)
    return;
  g_free (object->object_id);
  g_free (object);
}

static guint64
count_distinct_objects (MistManifest *manifest)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *files = mist_manifest_get_files (manifest);
  guint64 total = 0;

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);

      if (file->object_id != NULL && g_hash_table_add (seen, file->object_id))
        total += file->object_size;
    }
  return total;
}

static MistPlan *
plan_new (MistPlanRoute route, gint64 from, gint64 to, MistManifest *target)
{
  MistPlan *plan = g_new0 (MistPlan, 1);

  g_atomic_ref_count_init (&plan->ref_count);
  plan->route = route;
  plan->from = from;
  plan->to = to;
  plan->ordinals = g_array_new (FALSE, FALSE, sizeof (gint64));
  plan->files = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_file_free);
  plan->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  plan->full_download_size = count_distinct_objects (target);
  plan->installed_size = mist_manifest_get_total_size (target);
  return plan;
}

MistPlan *
mist_plan_ref (MistPlan *plan)
{
  g_atomic_ref_count_inc (&plan->ref_count);
  return plan;
}

void
mist_plan_unref (MistPlan *plan)
{
  if (!g_atomic_ref_count_dec (&plan->ref_count))
    return;
  g_free (plan->from_name);
  g_free (plan->to_name);
  g_array_unref (plan->ordinals);
  g_hash_table_unref (plan->by_path);
  g_ptr_array_unref (plan->files);
  g_free (plan);
}

static MistPlanFile *
plan_add_file (MistPlan *plan, const MistManifestFile *target)
{
  MistPlanFile *file = g_new0 (MistPlanFile, 1);

  file->path = g_strdup (target->path);
  file->sha256 = g_strdup (target->sha256);
  file->size = target->size;
  file->executable = target->executable;
  file->object_id = g_strdup (target->object_id);
  file->object_size = target->object_size;
  file->deltas = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_delta_free);
  g_ptr_array_add (plan->files, file);
  g_hash_table_insert (plan->by_path, file->path, file);
  return file;
}

static gboolean
check_objects (MistManifest *target, GError **error)
{
  GPtrArray *files = mist_manifest_get_files (target);

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);

      if (file->object_id == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "Manifest file %s has no object to download; the server fills in \"object\"",
                       file->path);
          return FALSE;
        }
    }
  return TRUE;
}

/* Maps content hash → an installed path with it, for local copies. */
static GHashTable *
index_installed_by_hash (MistManifest *installed)
{
  GHashTable *by_hash = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *files;

  if (installed == NULL)
    return by_hash;
  files = mist_manifest_get_files (installed);
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);

      if (!g_hash_table_contains (by_hash, file->sha256))
        g_hash_table_insert (by_hash, file->sha256, file->path);
    }
  return by_hash;
}

/* Walks the route backwards from the target file, following each patch set's delta for
 * the current (path, hash) or, when a set has none, assuming the file did not change in
 * that step. The chain holds when the installed file at the path it reaches has the
 * hash it needs; the deltas are then added to file in apply order. */
static gboolean
find_delta_chain (MistVersionGraph *graph,
                  GArray *route,
                  MistManifest *installed,
                  MistPlanFile *file,
                  guint64 *chain_size)
{
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  g_autoptr (GArray) chain_steps = g_array_new (FALSE, FALSE, sizeof (guint));
  const char *path = file->path;
  const char *sha256 = file->sha256;
  const MistManifestFile *source;

  *chain_size = 0;
  for (guint step = route->len - 1; step > 0; step--)
    {
      gint64 from = g_array_index (route, gint64, step - 1);
      gint64 to = g_array_index (route, gint64, step);
      MistPatchSet *patch_set = mist_version_graph_lookup_patch_set (graph, from, to);
      const MistPatchFile *delta = mist_patch_set_lookup (patch_set, path);

      if (delta == NULL || strcmp (delta->target_sha256, sha256) != 0)
        continue;
      g_ptr_array_add (chain, (gpointer) delta);
      g_array_append_val (chain_steps, step);
      *chain_size += delta->object_size;
      path = delta->source_path;
      sha256 = delta->source_sha256;
    }

  source = installed != NULL ? mist_manifest_lookup (installed, path) : NULL;
  if (chain->len == 0 || source == NULL || strcmp (source->sha256, sha256) != 0)
    return FALSE;

  file->source_path = g_strdup (path);
  for (guint i = chain->len; i > 0; i--)
    {
      const MistPatchFile *delta = g_ptr_array_index (chain, i - 1);
      guint route_step = g_array_index (chain_steps, guint, i - 1);
      MistPlanDelta *step = g_new0 (MistPlanDelta, 1);

      step->from_ordinal = g_array_index (route, gint64, route_step - 1);
      step->to_ordinal = g_array_index (route, gint64, route_step);
      step->object_id = g_strdup (delta->object_id);
      step->object_size = delta->object_size;
      step->format = g_strdup (delta->format);
      step->source_sha256 = g_strdup (delta->source_sha256);
      step->target_sha256 = g_strdup (delta->target_sha256);
      g_ptr_array_add (file->deltas, step);
    }
  return TRUE;
}

static gboolean
check_route_has_files (MistVersionGraph *graph, GArray *route, GError **error)
{
  for (guint step = 1; step < route->len; step++)
    {
      gint64 from = g_array_index (route, gint64, step - 1);
      gint64 to = g_array_index (route, gint64, step);
      MistPatchSet *patch_set = mist_version_graph_lookup_patch_set (graph, from, to);

      if (!mist_patch_set_has_files (patch_set))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                       "Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT
                       " has no file list; fetch it (patches/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                       ") before planning",
                       from, to, from, to);
          return FALSE;
        }
    }
  return TRUE;
}

/* Fills plan->files for every target file that differs from the installed one. */
static void
plan_files (MistPlan *plan, MistVersionGraph *graph, GArray *route, MistManifest *installed, MistManifest *target)
{
  g_autoptr (GHashTable) installed_by_hash = index_installed_by_hash (installed);
  GPtrArray *files = mist_manifest_get_files (target);

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *wanted = g_ptr_array_index (files, i);
      const MistManifestFile *present = installed != NULL ? mist_manifest_lookup (installed, wanted->path) : NULL;
      const char *copy_from;
      MistPlanFile *file;
      guint64 chain_size;

      if (present != NULL && strcmp (present->sha256, wanted->sha256) == 0)
        continue;

      file = plan_add_file (plan, wanted);
      copy_from = g_hash_table_lookup (installed_by_hash, wanted->sha256);
      if (copy_from != NULL)
        {
          file->copy_from = g_strdup (copy_from);
          continue;
        }

      if (graph == NULL || route == NULL || route->len < 2 ||
          !find_delta_chain (graph, route, installed, file, &chain_size))
        continue;
      /* A chain that costs as much as the full object only adds apply steps. */
      if (chain_size >= file->object_size)
        {
          g_clear_pointer (&file->source_path, g_free);
          g_ptr_array_set_size (file->deltas, 0);
          continue;
        }
    }
}

MistPlan *
mist_plan_compute (MistVersionGraph *graph,
                   gint64 from_ordinal,
                   MistManifest *installed,
                   gint64 to_ordinal,
                   MistManifest *target,
                   GError **error)
{
  g_autoptr (GArray) route = NULL;
  MistPlan *plan;
  const MistVersionInfo *info;

  g_return_val_if_fail (graph != NULL && target != NULL, NULL);

  if (!check_objects (target, error))
    return NULL;
  route = mist_version_graph_find_route (graph, from_ordinal, to_ordinal, NULL, error);
  if (route == NULL || !check_route_has_files (graph, route, error))
    {
      g_prefix_error (error, "Cannot plan the update to version %" G_GINT64_FORMAT ": ", to_ordinal);
      return NULL;
    }

  plan = plan_new (route->len > 1 ? MIST_PLAN_ROUTE_PATCH : MIST_PLAN_ROUTE_FULL, from_ordinal, to_ordinal, target);
  g_array_append_vals (plan->ordinals, route->data, route->len);
  plan_files (plan, graph, route, installed, target);
  if (plan->files->len == 0 && from_ordinal != MIST_VERSION_NONE)
    plan->route = MIST_PLAN_ROUTE_NONE;

  info = mist_version_graph_lookup (graph, from_ordinal);
  plan->from_name = info != NULL ? g_strdup (info->name) : NULL;
  info = mist_version_graph_lookup (graph, to_ordinal);
  plan->to_name = info != NULL ? g_strdup (info->name) : NULL;
  return plan;
}

MistPlan *
mist_plan_new_full (gint64 from_ordinal, MistManifest *installed, gint64 to_ordinal, MistManifest *target)
{
  MistPlan *plan = plan_new (MIST_PLAN_ROUTE_FULL, from_ordinal, to_ordinal, target);

  g_array_append_val (plan->ordinals, to_ordinal);
  plan_files (plan, NULL, NULL, installed, target);
  return plan;
}

MistPlan *
mist_plan_new_repair (gint64 ordinal, MistManifest *manifest, const char *const *bad_paths, GError **error)
{
  g_autoptr (MistPlan) plan = NULL;

  if (!check_objects (manifest, error))
    return NULL;
  plan = plan_new (MIST_PLAN_ROUTE_REPAIR, ordinal, ordinal, manifest);
  g_array_append_val (plan->ordinals, ordinal);
  for (guint i = 0; bad_paths != NULL && bad_paths[i] != NULL; i++)
    {
      const MistManifestFile *file = mist_manifest_lookup (manifest, bad_paths[i]);

      if (file == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "Cannot repair %s: it is not in the manifest",
                       bad_paths[i]);
          return NULL;
        }
      if (!g_hash_table_contains (plan->by_path, file->path))
        plan_add_file (plan, file);
    }
  return g_steal_pointer (&plan);
}

MistPlanRoute
mist_plan_get_route (MistPlan *plan)
{
  return plan->route;
}

gint64
mist_plan_get_from (MistPlan *plan)
{
  return plan->from;
}

gint64
mist_plan_get_to (MistPlan *plan)
{
  return plan->to;
}

GArray *
mist_plan_get_route_ordinals (MistPlan *plan)
{
  return plan->ordinals;
}

void
mist_plan_set_version_names (MistPlan *plan, const char *from_name, const char *to_name)
{
  g_free (plan->from_name);
  g_free (plan->to_name);
  plan->from_name = g_strdup (from_name);
  plan->to_name = g_strdup (to_name);
}

guint
mist_plan_get_n_patch_sets (MistPlan *plan)
{
  if (plan->route != MIST_PLAN_ROUTE_PATCH)
    return 0;
  return plan->ordinals->len - 1;
}

GPtrArray *
mist_plan_get_files (MistPlan *plan)
{
  return plan->files;
}

const MistPlanFile *
mist_plan_lookup_file (MistPlan *plan, const char *path)
{
  return g_hash_table_lookup (plan->by_path, path);
}

static void
add_object (GPtrArray *objects, GHashTable *seen, const char *id, guint64 size, gboolean is_delta)
{
  MistPlanObject *object;

  if (!g_hash_table_add (seen, (gpointer) id))
    return;
  object = g_new0 (MistPlanObject, 1);
  object->object_id = g_strdup (id);
  object->size = size;
  object->is_delta = is_delta;
  g_ptr_array_add (objects, object);
}

GPtrArray *
mist_plan_list_objects (MistPlan *plan)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_plan_object_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < plan->files->len; i++)
    {
      const MistPlanFile *file = g_ptr_array_index (plan->files, i);

      if (file->copy_from != NULL)
        continue;
      if (file->deltas->len == 0)
        add_object (objects, seen, file->object_id, file->object_size, FALSE);
      for (guint j = 0; j < file->deltas->len; j++)
        {
          const MistPlanDelta *delta = g_ptr_array_index (file->deltas, j);

          add_object (objects, seen, delta->object_id, delta->object_size, TRUE);
        }
    }
  return objects;
}

guint64
mist_plan_get_download_size (MistPlan *plan)
{
  g_autoptr (GPtrArray) objects = mist_plan_list_objects (plan);
  guint64 total = 0;

  for (guint i = 0; i < objects->len; i++)
    total += ((MistPlanObject *) g_ptr_array_index (objects, i))->size;
  return total;
}

guint64
mist_plan_get_full_download_size (MistPlan *plan)
{
  return plan->full_download_size;
}

guint64
mist_plan_get_staging_size (MistPlan *plan)
{
  guint64 staged = 0;
  guint64 largest_intermediate = 0;

  for (guint i = 0; i < plan->files->len; i++)
    {
      const MistPlanFile *file = g_ptr_array_index (plan->files, i);

      staged += file->size;
      /* NOTE: patch sets do not give the sizes of intermediate files, so this uses the
       * target size as an estimate. A file that shrinks along a chain needs less. */
      if (file->deltas->len > 1)
        largest_intermediate = MAX (largest_intermediate, file->size);
    }
  return staged + largest_intermediate;
}

guint64
mist_plan_get_installed_size (MistPlan *plan)
{
  return plan->installed_size;
}

gboolean
mist_plan_use_full_object (MistPlan *plan, const char *path)
{
  MistPlanFile *file = g_hash_table_lookup (plan->by_path, path);

  if (file == NULL)
    return FALSE;
  g_clear_pointer (&file->copy_from, g_free);
  g_clear_pointer (&file->source_path, g_free);
  g_ptr_array_set_size (file->deltas, 0);
  return TRUE;
}

static char *
version_label (gint64 ordinal, const char *name)
{
  return name != NULL ? g_strdup (name) : g_strdup_printf ("%" G_GINT64_FORMAT, ordinal);
}

char *
mist_plan_to_string (MistPlan *plan)
{
  g_autofree char *from = version_label (plan->from, plan->from_name);
  g_autofree char *to = version_label (plan->to, plan->to_name);
  g_autofree char *download = g_format_size (mist_plan_get_download_size (plan));
  g_autofree char *full = g_format_size (plan->full_download_size);
  guint n_patch_sets = mist_plan_get_n_patch_sets (plan);

  switch (plan->route)
    {
    case MIST_PLAN_ROUTE_NONE:
      return g_strdup_printf ("%s is up to date: nothing to download", to);
    case MIST_PLAN_ROUTE_REPAIR:
      return g_strdup_printf ("Repair %s: %s for %u %s", to, download, plan->files->len,
                              plan->files->len == 1 ? "file" : "files");
    case MIST_PLAN_ROUTE_FULL:
      if (plan->from == MIST_VERSION_NONE)
        return g_strdup_printf ("Install %s: %s", to, download);
      return g_strdup_printf ("%s → %s: %s as a full download", from, to, download);
    case MIST_PLAN_ROUTE_PATCH:
    default:
      return g_strdup_printf ("%s → %s: %s via %u %s, instead of %s", from, to, download, n_patch_sets,
                              n_patch_sets == 1 ? "patch" : "patches", full);
    }
}
