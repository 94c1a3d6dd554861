/* test-large-file.c: a file over 4 GiB through install, verify and an update around it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The source file is sparse, with data on both sides of the 4 GiB mark; its object is
 * made by the zstd tool. The installed copy is written in full (about 4.5 GB of disk).
 */
#include "install-test-util.h"
#include "mist-hash.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define LARGE_SIZE (G_GUINT64_CONSTANT (9) << 29) /* 4.5 GiB */

static void
write_at (int fd, guint64 offset, const char *text)
{
  g_assert_cmpint (pwrite (fd, text, strlen (text), (off_t) offset), ==, (gssize) strlen (text));
}

static void
add_large_file (MistManifest *manifest, const char *folder, const char *objects)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *source = g_build_filename (folder, "large.bin", NULL);
  g_autofree char *compressed = g_build_filename (folder, "large.bin.zst", NULL);
  g_autofree char *sha256 = NULL;
  g_autofree char *object_id = NULL;
  g_autofree char *object_path = NULL;
  const char *argv[] = { "zstd", "-q", "-1", "-T0", "-f", source, "-o", compressed, NULL };
  MistManifestFile file = { 0 };
  GStatBuf info;
  int status;
  int fd = open (source, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) LARGE_SIZE), ==, 0);
  write_at (fd, 0, "start of a large file");
  write_at (fd, (G_GUINT64_CONSTANT (1) << 32) - 7, "across the 4 GiB mark");
  write_at (fd, LARGE_SIZE - 4, "end!");
  close (fd);

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  sha256 = mist_sha256_hex_file (source, NULL, &error);
  object_id = mist_sha256_hex_file (compressed, NULL, &error);
  g_assert_no_error (error);
  object_path = g_build_filename (objects, object_id, NULL);
  g_assert_cmpint (g_rename (compressed, object_path), ==, 0);
  g_assert_cmpint (g_stat (object_path, &info), ==, 0);
  g_assert_cmpint (g_unlink (source), ==, 0);

  file.path = (char *) "data/large.bin";
  file.size = LARGE_SIZE;
  file.sha256 = sha256;
  file.object_id = object_id;
  file.object_size = (guint64) info.st_size;
  g_assert_true (mist_manifest_add_file (manifest, &file, &error));
  g_assert_no_error (error);
}

static void
test_large_file_install_and_update (void)
{
  static const TestFile small_1[] = { { "bin/game", "version 1", 0, TRUE } };
  static const TestFile small_2[] = { { "bin/game", "version 2", 0, TRUE } };
  g_autofree char *folder = test_make_temporary_folder ();
  g_autofree char *objects = g_build_filename (folder, "objects", NULL);
  g_autofree char *install = g_build_filename (folder, "game", NULL);
  g_autofree char *db_path = g_build_filename (folder, "state.db", NULL);
  g_autoptr (MistManifest) first = test_make_version (objects, small_1, 1);
  g_autoptr (MistManifest) second = test_make_version (objects, small_2, 1);
  g_autoptr (MistStateDb) db = mist_state_db_open (db_path, NULL);
  g_autoptr (MistPlan) install_plan = NULL;
  g_autoptr (MistPlan) update_plan = NULL;
  g_autoptr (GPtrArray) bad = NULL;
  g_autoptr (GError) error = NULL;
  MistInstallRequest request = { 0 };

  if (!mist_install_check_space (folder, 2 * LARGE_SIZE, NULL))
    {
      g_test_skip ("Needs 9 GiB of free disk space for a 4.5 GiB file and its staged copy");
      test_remove_folder (folder);
      return;
    }
  add_large_file (first, folder, objects);
  g_assert_true (mist_manifest_add_file (second, mist_manifest_lookup (first, "data/large.bin"), &error));

  install_plan = mist_plan_new_full (0, NULL, 1, first);
  request.game_id = "large";
  request.install_path = install;
  request.target = first;
  request.version_name = "1";
  request.plan = install_plan;
  request.objects_dir = objects;
  g_assert_true (mist_install_apply (db, &request, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  bad = mist_install_verify (db, "large", NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bad->len, ==, 0);

  /* The large file does not change, so the update stages only the small one. */
  update_plan = mist_plan_new_full (1, first, 2, second);
  g_assert_cmpuint (mist_plan_get_files (update_plan)->len, ==, 1);
  request.target = second;
  request.version_name = "2";
  request.plan = update_plan;
  g_assert_true (mist_install_apply (db, &request, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (install, second));
  test_remove_folder (folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/install/large-file/install-and-update", test_large_file_install_and_update);
  return g_test_run ();
}
