/* test-launcher.c: running an installed game as a child process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-launcher.h"
#include "mist-manifest.h"

#include <glib/gstdio.h>
#include <sys/wait.h>

/* The game prints its arguments, two variables and its folder, waits while the file
 * named by $MIST_TEST_HOLD exists, and exits with status 3. */
static const char game_script[] =
  "#!/bin/sh\n"
  "echo \"args: $*\"\n"
  "echo \"env: $FROM_MANIFEST $FROM_USER\"\n"
  "echo \"cwd: $(pwd)\"\n"
  "while [ -n \"$MIST_TEST_HOLD\" ] && [ -e \"$MIST_TEST_HOLD\" ]; do sleep 0.05; done\n"
  "exit 3\n";

typedef struct
{
  char *folder;
  char *install;
  MistStateDb *db;
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Records a game "tetris" whose only file is bin/game.sh, as the installer would. */
static void
install_game (Fixture *fixture, const char *hold_path)
{
  g_autoptr (MistManifest) manifest = mist_manifest_new ();
  g_autoptr (GHashTable) environment = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *script_path = g_build_filename (fixture->install, "bin", "game.sh", NULL);
  g_autofree char *bin = g_path_get_dirname (script_path);
  g_autofree char *hash = mist_sha256_hex_data (game_script, strlen (game_script));
  g_autofree char *json = NULL;
  const char *arguments[] = { "--fullscreen", NULL };
  MistManifestFile file = { 0 };
  MistInstalledGame game = { 0 };
  MistInstalledFile installed_file = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_true (g_file_set_contents (script_path, game_script, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (script_path, 0755), ==, 0);

  file.path = (char *) "bin/game.sh";
  file.size = strlen (game_script);
  file.sha256 = hash;
  file.executable = TRUE;
  g_assert_true (mist_manifest_add_file (manifest, &file, &error));
  g_assert_no_error (error);
  g_hash_table_insert (environment, (gpointer) "FROM_MANIFEST", (gpointer) "manifest");
  if (hold_path != NULL)
    g_hash_table_insert (environment, (gpointer) "MIST_TEST_HOLD", (gpointer) hold_path);
  g_assert_true (mist_manifest_set_launch (manifest, "bin/game.sh", arguments, "bin",
                                           environment, &error));
  g_assert_no_error (error);
  json = mist_manifest_to_json (manifest, NULL);

  game.game_id = (char *) "tetris";
  game.version_ordinal = 1;
  game.version_name = (char *) "1.0";
  game.install_path = fixture->install;
  game.size = file.size;
  game.manifest_json = json;
  installed_file.path = file.path;
  installed_file.sha256 = hash;
  installed_file.size = file.size;
  installed_file.executable = TRUE;
  g_ptr_array_add (files, &installed_file);
  g_assert_true (mist_state_db_set_installed (fixture->db, &game, files, 0, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db_path = NULL;

  fixture->folder = g_dir_make_tmp ("mist-launcher-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->install = g_build_filename (fixture->folder, "games", "tetris", NULL);
  db_path = g_build_filename (fixture->folder, "state.db", NULL);
  fixture->db = mist_state_db_open (db_path, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  remove_tree (fixture->folder);
  g_free (fixture->folder);
  g_free (fixture->install);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
test_launcher_runs_game (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GHashTable) environment = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *log_path = mist_launcher_get_log_path ("tetris");
  g_autofree char *log = NULL;
  g_autofree char *expected_cwd = NULL;
  const char *extra[] = { "--level", "2", NULL };
  MistLaunchOptions options = { 0 };
  MistPlaySession *session;
  int wait_status = -1;

  install_game (fixture, NULL);
  g_hash_table_insert (environment, (gpointer) "FROM_USER", (gpointer) "user");
  options.extra_arguments = extra;
  options.extra_environment = environment;
  options.wrapper = "env WRAPPED=yes %command%";

  mist_launcher_run_async (fixture->db, "tetris", &options, NULL, on_done, &result);
  g_assert_true (mist_launcher_run_finish (wait_for (&result), &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 3);
  g_assert_false (mist_launcher_is_running ("tetris"));

  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (log, "args: --fullscreen --level 2\n"));
  g_assert_nonnull (strstr (log, "env: manifest user\n"));
  expected_cwd = g_strdup_printf ("cwd: %s/bin\n", fixture->install);
  g_assert_nonnull (strstr (log, expected_cwd));

  sessions = mist_state_db_session_list (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 1);
  session = g_ptr_array_index (sessions, 0);
  g_assert_cmpint (session->started_at, >, 0);
  g_assert_cmpint (session->ended_at, >=, session->started_at);
}

static void
test_launcher_running_game_busy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *hold = g_build_filename (fixture->folder, "hold", NULL);
  g_autoptr (GAsyncResult) first = NULL;
  g_autoptr (GAsyncResult) second = NULL;
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  int wait_status = -1;

  install_game (fixture, hold);
  g_assert_true (g_file_set_contents (hold, "", 0, NULL));
  mist_launcher_run_async (fixture->db, "tetris", NULL, NULL, on_done, &first);
  while (!mist_launcher_is_running ("tetris") && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (mist_launcher_is_running ("tetris"));

  mist_launcher_run_async (fixture->db, "tetris", NULL, NULL, on_done, &second);
  g_assert_false (mist_launcher_run_finish (wait_for (&second), NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_BUSY);

  g_unlink (hold);
  g_clear_error (&error);
  g_assert_true (mist_launcher_run_finish (wait_for (&first), &wait_status, &error));
  g_assert_no_error (error);
  g_assert_false (mist_launcher_is_running ("tetris"));
}

static void
test_launcher_not_installed (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  mist_launcher_run_async (fixture->db, "tetris", NULL, NULL, on_done, &result);
  g_assert_false (mist_launcher_run_finish (wait_for (&result), NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "not installed"));
}

static void
test_launcher_wrapper_argv (void)
{
  const char *arguments[] = { "-a", NULL };
  const char *extra[] = { "-b", NULL };
  MistLaunchOptions options = { 0 };
  g_auto (GStrv) plain = NULL;
  g_auto (GStrv) substituted = NULL;
  g_auto (GStrv) appended = NULL;
  g_auto (GStrv) invalid = NULL;
  g_autoptr (GError) error = NULL;

  options.extra_arguments = extra;
  plain = mist_launcher_build_argv ("/games/x", "bin/x", arguments, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (plain, ((const char *[]) { "/games/x/bin/x", "-a", "-b", NULL }));

  options.wrapper = "gamemoderun 'strace -f' %command% --after";
  substituted = mist_launcher_build_argv ("/games/x", "bin/x", arguments, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (substituted, ((const char *[]) { "gamemoderun", "strace -f",
                                                     "/games/x/bin/x", "-a", "-b", "--after",
                                                     NULL }));

  options.wrapper = "wine";
  appended = mist_launcher_build_argv ("/games/x", "bin/x", arguments, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (appended, ((const char *[]) { "wine", "/games/x/bin/x", "-a", "-b", NULL }));

  options.wrapper = "broken 'quote";
  invalid = mist_launcher_build_argv ("/games/x", "bin/x", arguments, &options, &error);
  g_assert_null (invalid);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
}

int
main (int argc, char **argv)
{
  g_autofree char *home = g_dir_make_tmp ("mist-launcher-home-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (home, "state", NULL);
  g_autofree char *runtime = g_build_filename (home, "runtime", NULL);
  int status;

  /* Before GLib caches the folders: logs and running markers go to a private place. */
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/launcher/wrapper-argv", test_launcher_wrapper_argv);
  g_test_add ("/net/launcher/runs-game", Fixture, NULL, fixture_set_up, test_launcher_runs_game,
              fixture_tear_down);
  g_test_add ("/net/launcher/running-game-busy", Fixture, NULL, fixture_set_up,
              test_launcher_running_game_busy, fixture_tear_down);
  g_test_add ("/net/launcher/not-installed", Fixture, NULL, fixture_set_up,
              test_launcher_not_installed, fixture_tear_down);
  status = g_test_run ();
  remove_tree (home);
  return status;
}
