/* install-update-bench.c: times one install or update through the engine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * install-update-bench install WORK OBJECTS MANIFEST
 *   installs MANIFEST as version 1 into WORK/game (state in WORK/state.db)
 * install-update-bench update WORK OBJECTS OLD_MANIFEST NEW_MANIFEST PATCH_SET
 *   plans 1 → 2 with the patch set (docs/api.md JSON) and applies it
 * Prints the plan, the wall time of the apply and the peak resident memory of the process.
 */
#include "mist-install.h"

#include <sys/resource.h>

static MistManifest *
load_manifest (const char *path, GError **error)
{
  g_autofree char *json = NULL;

  if (!g_file_get_contents (path, &json, NULL, error))
    return NULL;
  return mist_manifest_new_from_json (json, -1, error);
}

static MistPlan *
plan_update (MistManifest *old_manifest, MistManifest *new_manifest, const char *patch_set_path, GError **error)
{
  g_autoptr (MistVersionGraph) graph = mist_version_graph_new ();
  g_autoptr (MistPatchSet) patch_set = NULL;
  g_autofree char *json = NULL;
  MistVersionInfo version = { 0 };

  if (!g_file_get_contents (patch_set_path, &json, NULL, error) ||
      (patch_set = mist_patch_set_new_from_json (json, -1, error)) == NULL)
    return NULL;
  version.ordinal = 1;
  version.name = (char *) "old";
  version.download_size = mist_manifest_get_total_size (old_manifest);
  if (!mist_version_graph_add_version (graph, &version, error))
    return NULL;
  version.ordinal = 2;
  version.name = (char *) "new";
  version.download_size = mist_manifest_get_total_size (new_manifest);
  if (!mist_version_graph_add_version (graph, &version, error) ||
      !mist_version_graph_add_patch_set (graph, patch_set, error))
    return NULL;
  return mist_plan_compute (graph, 1, old_manifest, 2, new_manifest, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistStateDb) db = NULL;
  g_autoptr (MistManifest) old_manifest = NULL;
  g_autoptr (MistManifest) new_manifest = NULL;
  g_autoptr (MistPlan) plan = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *install = NULL;
  g_autofree char *description = NULL;
  gboolean update = argc == 7 && g_str_equal (argv[1], "update");
  MistInstallRequest request = { 0 };
  struct rusage usage;
  gint64 start;

  if (!update && !(argc == 5 && g_str_equal (argv[1], "install")))
    {
      g_printerr ("Usage: %s install WORK OBJECTS MANIFEST\n"
                  "       %s update WORK OBJECTS OLD_MANIFEST NEW_MANIFEST PATCH_SET\n",
                  argv[0], argv[0]);
      return 2;
    }
  db_path = g_build_filename (argv[2], "state.db", NULL);
  install = g_build_filename (argv[2], "game", NULL);
  db = mist_state_db_open (db_path, &error);
  old_manifest = db != NULL ? load_manifest (argv[4], &error) : NULL;
  if (old_manifest == NULL)
    goto failed;

  if (update)
    {
      new_manifest = load_manifest (argv[5], &error);
      plan = new_manifest != NULL ? plan_update (old_manifest, new_manifest, argv[6], &error) : NULL;
      if (plan == NULL)
        goto failed;
    }
  else
    plan = mist_plan_new_full (MIST_VERSION_NONE, NULL, 1, old_manifest);

  description = mist_plan_to_string (plan);
  g_print ("plan: %s\n", description);
  request.game_id = "bench";
  request.install_path = install;
  request.target = update ? new_manifest : old_manifest;
  request.version_name = update ? "new" : "old";
  request.plan = plan;
  request.objects_dir = argv[3];
  start = g_get_monotonic_time ();
  if (!mist_install_apply (db, &request, NULL, NULL, NULL, NULL, &error))
    goto failed;
  getrusage (RUSAGE_SELF, &usage);
  g_print ("%s: %.2f s wall, %ld MiB peak resident memory, %u files built\n", argv[1],
           (g_get_monotonic_time () - start) / 1e6, usage.ru_maxrss / 1024, mist_plan_get_files (plan)->len);
  return 0;

failed:
  g_printerr ("%s\n", error->message);
  return 1;
}
