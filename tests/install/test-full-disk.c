/* test-full-disk.c: updates on a small tmpfs that runs out of bytes or inodes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The tmpfs is mounted in a private user and mount namespace (unshare -rm), so the test
 * needs no privileges. Inside it the crash helper installs version 1, fails to update
 * to version 2 for lack of space, and completes the update once the tmpfs is remounted
 * larger; copies of the trees leave the namespace for the checks.
 */
#include "install-test-util.h"

#include <glib/gstdio.h>

typedef struct
{
  char *folder;
  char *objects;
  char *manifest_1;
  char *manifest_2;
  MistManifest *first;
  MistManifest *second;
} Versions;

static char *
write_manifest (const char *folder, const char *name, MistManifest *manifest)
{
  g_autofree char *json = mist_manifest_to_json (manifest, NULL);
  char *path = g_build_filename (folder, name, NULL);

  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  return path;
}

static void
versions_init (Versions *versions, const TestFile *first, guint n_first, const TestFile *second, guint n_second)
{
  versions->folder = test_make_temporary_folder ();
  versions->objects = g_build_filename (versions->folder, "objects", NULL);
  versions->first = test_make_version (versions->objects, first, n_first);
  versions->second = test_make_version (versions->objects, second, n_second);
  versions->manifest_1 = write_manifest (versions->folder, "1.json", versions->first);
  versions->manifest_2 = write_manifest (versions->folder, "2.json", versions->second);
}

static void
versions_clear (Versions *versions)
{
  test_remove_folder (versions->folder);
  g_free (versions->folder);
  g_free (versions->objects);
  g_free (versions->manifest_1);
  g_free (versions->manifest_2);
  mist_manifest_unref (versions->first);
  mist_manifest_unref (versions->second);
}

static gboolean
namespaces_work (void)
{
  const char *argv[] = { "unshare", "-rm", "true", NULL };
  int status = -1;

  return g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                       NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

/* Runs the scenario with the tmpfs options small_options, then larger_options. */
static void
run_scenario (Versions *versions, const char *small_options, const char *larger_options)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "install", "install-crash-helper", NULL);
  g_autofree char *script = g_strdup_printf (
    "set -eu\n"
    "cd '%s'\n"
    "mkdir -p mnt out\n"
    "mount -t tmpfs -o %s tmpfs mnt\n"
    "'%s' state.db \"$PWD/mnt/game\" objects 1.json 1\n"
    "if '%s' state.db \"$PWD/mnt/game\" objects 2.json 2 2>out/failure.txt; then exit 3; fi\n"
    "cp -a mnt/game out/after-failure\n"
    "mount -o remount,%s mnt\n"
    "'%s' state.db \"$PWD/mnt/game\" objects 2.json 2\n"
    "cp -a mnt/game out/after-resume\n",
    versions->folder, small_options, helper, helper, larger_options, helper);
  const char *argv[] = { "unshare", "-rm", "sh", "-c", script, NULL };
  g_autofree char *failure_path = g_build_filename (versions->folder, "out", "failure.txt", NULL);
  g_autofree char *after_failure = g_build_filename (versions->folder, "out", "after-failure", NULL);
  g_autofree char *after_resume = g_build_filename (versions->folder, "out", "after-resume", NULL);
  g_autofree char *failure = NULL;
  g_autofree char *output = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &output, &status,
                               &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("The scenario failed: %s\n%s", error->message, output);

  g_assert_true (g_file_get_contents (failure_path, &failure, NULL, NULL));
  g_test_message ("update on a full disk: %s", failure);
  g_assert_nonnull (strstr (failure, "Not enough space in "));
  g_assert_nonnull (strstr (failure, " needed, "));
  g_assert_nonnull (strstr (failure, " free"));
  g_assert_true (test_tree_matches (after_failure, versions->first));
  g_assert_true (test_tree_matches (after_resume, versions->second));
}

static void
test_full_disk_bytes (void)
{
  static const TestFile first[] = { { "bin/game", "version 1", 0, TRUE }, { "data/a", NULL, 100000, FALSE } };
  static const TestFile second[] = { { "bin/game", "version 2", 0, TRUE },
                                     { "data/a", NULL, 100000, FALSE },
                                     { "data/huge", NULL, 3000000, FALSE } };
  Versions versions = { 0 };

  if (!namespaces_work ())
    {
      g_test_skip ("unshare -rm fails here: user and mount namespaces are not available");
      return;
    }
  versions_init (&versions, first, G_N_ELEMENTS (first), second, G_N_ELEMENTS (second));
  run_scenario (&versions, "size=1m", "size=16m");
  versions_clear (&versions);
}

/* The byte check before staging passes, then file creation fails midway for lack of
 * inodes: the staged files so far are kept and the resume completes. */
static void
test_full_disk_inodes (void)
{
  static const TestFile first[] = { { "bin/game", "version 1", 0, TRUE }, { "data/a", "a", 0, FALSE } };
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree TestFile *second = g_new0 (TestFile, 42);
  Versions versions = { 0 };

  if (!namespaces_work ())
    {
      g_test_skip ("unshare -rm fails here: user and mount namespaces are not available");
      return;
    }
  second[0] = (TestFile) { "bin/game", "version 2", 0, TRUE };
  second[1] = (TestFile) { "data/a", "a", 0, FALSE };
  for (guint i = 2; i < 42; i++)
    {
      char *path = g_strdup_printf ("more/file-%02u", i);

      g_ptr_array_add (names, path);
      second[i] = (TestFile) { path, NULL, 1000 + i, FALSE };
    }
  versions_init (&versions, first, G_N_ELEMENTS (first), second, 42);
  run_scenario (&versions, "size=16m,nr_inodes=24", "size=16m,nr_inodes=400");
  versions_clear (&versions);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/install/full-disk/bytes", test_full_disk_bytes);
  g_test_add_func ("/install/full-disk/inodes", test_full_disk_inodes);
  return g_test_run ();
}
