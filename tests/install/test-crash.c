/* test-crash.c: SIGKILL at every commit step and at random times, then recovery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A helper process updates a game from version 1 to 2 and is killed at a named fault
 * point or after a random delay. After each kill a new process recovers. The installed
 * tree must then hash exactly to version 1 or 2 and agree with the database, which must
 * pass PRAGMA integrity_check, and running the update again must give version 2.
 * MIST_CRASH_ITERATIONS sets the number of random kills (tests/bench/ runs hundreds).
 */
#include "install-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>

typedef struct
{
  char *folder;
  char *db_path;
  char *install;
  char *objects;
  char *manifest_1;
  char *manifest_2;
  MistManifest *first;
  MistManifest *second;
} Game;

static char *
write_manifest (const char *folder, const char *name, MistManifest *manifest)
{
  g_autofree char *json = mist_manifest_to_json (manifest, NULL);
  char *path = g_build_filename (folder, name, NULL);

  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  return path;
}

static void
game_init (Game *game)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  TestFile first[40];
  TestFile second[40];

  /* Version 2 changes, removes, adds and renames files and flips an executable bit. */
  for (guint i = 0; i < 40; i++)
    {
      char *path_1 = g_strdup_printf ("data/%02u/file-%02u.bin", i / 8, i);
      char *path_2 = i % 5 == 0 ? g_strdup_printf ("moved/file-%02u.bin", i) : g_strdup (path_1);

      g_ptr_array_add (names, path_1);
      g_ptr_array_add (names, path_2);
      first[i] = (TestFile) { path_1, NULL, 20000 + i * 300, i % 7 == 0 };
      second[i] = (TestFile) { path_2, NULL, 20000 + i * 300 + (i % 3 == 0 ? 17 : 0), i % 7 == 1 };
    }

  game->folder = test_make_temporary_folder ();
  game->db_path = g_build_filename (game->folder, "state.db", NULL);
  game->install = g_build_filename (game->folder, "game", NULL);
  game->objects = g_build_filename (game->folder, "objects", NULL);
  game->first = test_make_version (game->objects, first, 36);
  game->second = test_make_version (game->objects, second + 4, 36);
  game->manifest_1 = write_manifest (game->folder, "1.json", game->first);
  game->manifest_2 = write_manifest (game->folder, "2.json", game->second);
}

static void
game_clear (Game *game)
{
  test_remove_folder (game->folder);
  g_free (game->folder);
  g_free (game->db_path);
  g_free (game->install);
  g_free (game->objects);
  g_free (game->manifest_1);
  g_free (game->manifest_2);
  mist_manifest_unref (game->first);
  mist_manifest_unref (game->second);
}

/* Starts the helper; returns its pid. */
static GPid
spawn_helper (Game *game, const char *manifest, const char *ordinal, const char *fault_point)
{
  g_autoptr (GError) error = NULL;
  const char *configured = g_getenv ("MIST_INSTALL_CRASH_HELPER");
  /* G_TEST_BUILDDIR is the build folder of tests/, as meson's test environment sets it. */
  g_autofree char *helper = configured != NULL
                              ? g_strdup (configured)
                              : g_test_build_filename (G_TEST_BUILT, "install", "install-crash-helper", NULL);
  g_auto (GStrv) environment = g_get_environ ();
  const char *argv[] = { helper, game->db_path, game->install, game->objects, manifest, ordinal, NULL };
  GPid pid;

  environment = fault_point != NULL ? g_environ_setenv (environment, "MIST_FAULT_POINT", fault_point, TRUE)
                                    : g_environ_unsetenv (environment, "MIST_FAULT_POINT");
  g_assert_true (g_spawn_async (NULL, (char **) argv, environment, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                &error));
  g_assert_no_error (error);
  return pid;
}

static int
wait_helper (GPid pid)
{
  int status = 0;

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return status;
}

static void
run_helper_ok (Game *game, const char *manifest, const char *ordinal)
{
  int status = wait_helper (spawn_helper (game, manifest, ordinal, NULL));

  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* Recovers in a fresh process and checks the tree, the database and the final update. */
static void
check_after_kill (Game *game, const char *what)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistStateDb) db = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;
  gboolean is_first;
  gboolean is_second;

  run_helper_ok (game, "-", "0");

  is_first = test_tree_matches (game->install, game->first);
  is_second = !is_first && test_tree_matches (game->install, game->second);
  if (!is_first && !is_second)
    g_error ("After a kill %s the installed tree is neither version 1 nor 2", what);

  db = mist_state_db_open (game->db_path, &error);
  g_assert_no_error (error);
  g_assert_true (mist_state_db_check_integrity (db, &error));
  g_assert_no_error (error);
  installed = mist_state_db_get_installed (db, "crash", &error);
  g_assert_no_error (error);
  g_assert_nonnull (installed);
  g_assert_cmpint (installed->version_ordinal, ==, is_first ? 1 : 2);
  g_clear_pointer (&db, mist_state_db_unref);

  run_helper_ok (game, game->manifest_2, "2");
  g_assert_true (test_tree_matches (game->install, game->second));
}

static void
reset_to_first (Game *game)
{
  test_remove_folder (game->install);
  g_remove (game->db_path);
  {
    g_autofree char *wal = g_strconcat (game->db_path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (game->db_path, "-shm", NULL);

    g_remove (wal);
    g_remove (shm);
  }
  run_helper_ok (game, game->manifest_1, "1");
  g_assert_true (test_tree_matches (game->install, game->first));
}

static void
test_crash_fault_points (void)
{
  const char *points[] = {
    "after-stage-1", "after-stage-10", "before-commit", "after-journal", "after-delete-1", "after-delete-4",
    "after-rename-1", "after-rename-2", "after-rename-7", "after-rename-9", "before-database", "after-database",
  };
  Game game = { 0 };

  game_init (&game);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      int status;

      reset_to_first (&game);
      status = wait_helper (spawn_helper (&game, game.manifest_2, "2", points[i]));
      g_test_message ("fault point %s: %s", points[i], WIFSIGNALED (status) ? "killed" : "not reached");
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
      check_after_kill (&game, points[i]);
    }
  game_clear (&game);
}

static void
test_crash_random_kills (void)
{
  const char *configured = g_getenv ("MIST_CRASH_ITERATIONS");
  guint iterations = configured != NULL ? (guint) g_ascii_strtoull (configured, NULL, 10) : 24;
  Game game = { 0 };
  guint killed = 0;

  game_init (&game);
  for (guint i = 0; i < iterations; i++)
    {
      g_autofree char *what = NULL;
      guint delay = (guint) g_test_rand_int_range (0, 400000);
      GPid pid;
      int status;

      reset_to_first (&game);
      pid = spawn_helper (&game, game.manifest_2, "2", NULL);
      g_usleep (delay);
      kill (pid, SIGKILL);
      status = wait_helper (pid);
      if (WIFSIGNALED (status))
        killed++;
      what = g_strdup_printf ("after %u µs", delay);
      check_after_kill (&game, what);
    }
  g_test_message ("%u of %u runs were killed before they finished", killed, iterations);
  game_clear (&game);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/install/crash/fault-points", test_crash_fault_points);
  g_test_add_func ("/install/crash/random-kills", test_crash_random_kills);
  return g_test_run ();
}
