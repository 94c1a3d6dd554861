/* test-mistpipe.c: mistpipe's session file and its account and game commands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static void
setup (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_setup (fixture, NULL);
}

static void
teardown (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_teardown (fixture);
}

/* Runs mistpipe without $MIST_TOKEN, so it uses its session file. */
static int
run (BackendFixture *fixture, const char *const *args, const char *input, char **output,
     char **errors)
{
  g_autoptr (GError) error = NULL;
  int status = mist_test_server_run_mistpipe (fixture->server, NULL, args, input, output, errors,
                                              &error);

  g_assert_no_error (error);
  return status;
}

static char *
session_file (BackendFixture *fixture)
{
  g_autofree char *parent = g_path_get_dirname (mist_test_server_get_data_dir (fixture->server));

  return g_build_filename (parent, "config", "mist", "mistpipe-token", NULL);
}

static void
test_mistpipe_login_session_file (BackendFixture *fixture, gconstpointer data)
{
  const char *login[] = { "login", MIST_TEST_ADMIN_NAME, NULL };
  const char *list[] = { "user", "list", NULL };
  const char *logout[] = { "logout", NULL };
  g_autofree char *path = session_file (fixture);
  g_autofree char *output = NULL;
  g_autofree char *errors = NULL;
  GStatBuf info;

  g_assert_cmpint (run (fixture, list, NULL, NULL, &errors), ==, 1);
  g_assert_nonnull (strstr (errors, "Not logged in"));

  g_assert_cmpint (run (fixture, login, MIST_TEST_ADMIN_PASSWORD "\n", NULL, NULL), ==, 0);
  g_assert_cmpint (g_stat (path, &info), ==, 0);
  g_assert_cmpint (info.st_mode & 0777, ==, 0600);

  g_assert_cmpint (run (fixture, list, NULL, &output, NULL), ==, 0);
  g_assert_nonnull (strstr (output, MIST_TEST_ADMIN_NAME " (admin)\n"));
  g_assert_nonnull (strstr (output, MIST_TEST_USER_NAME "\n"));

  g_assert_cmpint (run (fixture, logout, NULL, NULL, NULL), ==, 0);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_mistpipe_wrong_password (BackendFixture *fixture, gconstpointer data)
{
  const char *login[] = { "login", MIST_TEST_ADMIN_NAME, NULL };
  g_autofree char *errors = NULL;
  g_autofree char *path = session_file (fixture);

  g_assert_cmpint (run (fixture, login, "not-the-password\n", NULL, &errors), ==, 1);
  g_assert_nonnull (strstr (errors, "Wrong user name or password"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_mistpipe_user_commands (BackendFixture *fixture, gconstpointer data)
{
  const char *add[] = { "user", "add", "newcomer", NULL };
  const char *disable[] = { "user", "disable", "newcomer", NULL };
  const char *enable[] = { "user", "enable", "newcomer", NULL };
  const char *grant[] = { "user", "grant-admin", "newcomer", NULL };
  const char *list[] = { "user", "list", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *token = NULL;

#define RUN(args, input)                                                                    \
  mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, args, input, NULL, \
                                 NULL, &error)
  g_assert_cmpint (RUN (add, "newcomer-password\n"), ==, 0);
  token = mist_test_server_login (fixture->server, "newcomer", "newcomer-password", &error);
  g_assert_no_error (error);

  g_assert_cmpint (RUN (disable, NULL), ==, 0);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpint (RUN (enable, NULL), ==, 0);
  g_assert_cmpint (RUN (grant, NULL), ==, 0);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, list,
                                                  NULL, &output, NULL, &error),
                   ==, 0);
  g_assert_nonnull (strstr (output, "newcomer (admin)\n"));
  /* A user that exists already, and a password that is too short. */
  g_assert_cmpint (RUN (add, "another-password\n"), ==, 1);
  g_clear_pointer (&output, g_free);
  add[2] = "shortpass";
  g_assert_cmpint (RUN (add, "short\n"), ==, 1);
#undef RUN
  g_assert_no_error (error);
}

static void
test_mistpipe_offline_admin (BackendFixture *fixture, gconstpointer data)
{
  const char *add[] = { "user", "add", "--admin", "offline-admin", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr (JsonNode) me = NULL;

  g_assert_cmpint (mist_test_server_run_mistpipe_offline (fixture->server, add,
                                                          "offline-password\n", &error),
                   ==, 0);
  g_assert_no_error (error);
  token = mist_test_server_login (fixture->server, "offline-admin", "offline-password", &error);
  g_assert_no_error (error);
  me = get_json (fixture, token, "/api/v1/me", SOUP_STATUS_OK);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (me), "is_admin"));
}

static void
test_mistpipe_game_commands (BackendFixture *fixture, gconstpointer data)
{
  const char *edit[] = { "game", "edit", "puzzle", "--title", "Puzzle Deluxe", "--description",
                         "Blocks that fall.", "--public", NULL };
  const char *list[] = { "game", "list", NULL };
  const char *patches[] = { "patches", "puzzle", NULL };
  const char *unknown[] = { "game", "edit", "no-such-game", "--title", "X", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *patch_output = NULL;
  g_autofree char *errors = NULL;
  g_autoptr (JsonNode) game = NULL;

  create_game (fixture, "puzzle", FALSE);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, edit,
                                                  NULL, NULL, NULL, &error),
                   ==, 0);
  game = get_json (fixture, fixture->user_token, "/api/v1/games/puzzle", SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (game), "title"), ==,
                   "Puzzle Deluxe");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (game), "description"),
                   ==, "Blocks that fall.");

  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, list,
                                                  NULL, &output, NULL, &error),
                   ==, 0);
  g_assert_nonnull (strstr (output, "puzzle"));
  g_assert_nonnull (strstr (output, "Puzzle Deluxe"));
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, patches,
                                                  NULL, &patch_output, NULL, &error),
                   ==, 0);
  g_assert_nonnull (strstr (patch_output, "No patch sets"));
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, unknown,
                                                  NULL, NULL, &errors, &error),
                   ==, 1);
  g_assert_nonnull (strstr (errors, "No game “no-such-game”"));
  g_assert_no_error (error);
}

/* A build of one file, changed once: every count printed is 1, in the singular. */
static void
test_mistpipe_singular_counts (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *first = g_build_filename (fixture->work_dir, "first", NULL);
  g_autofree char *second = g_build_filename (fixture->work_dir, "second", NULL);
  const char *push[] = { "push", "solo", "--version", "2", "--level", "3", second, NULL };
  const char *patches[] = { "patches", "solo", NULL };
  g_autoptr (GBytes) old_text = text_bytes (4000, 1);
  g_autoptr (GBytes) new_text = NULL;
  g_autoptr (GByteArray) changed = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *patch_output = NULL;

  g_byte_array_append (changed, g_bytes_get_data (old_text, NULL),
                       (guint) g_bytes_get_size (old_text));
  g_byte_array_append (changed, (const guint8 *) "one more line\n", 14);
  new_text = g_byte_array_free_to_bytes (g_steal_pointer (&changed));
  write_build_file (first, "data.txt", g_bytes_get_data (old_text, NULL),
                    g_bytes_get_size (old_text), FALSE);
  write_build_file (second, "data.txt", g_bytes_get_data (new_text, NULL),
                    g_bytes_get_size (new_text), FALSE);
  create_game (fixture, "solo", TRUE);
  push_build (fixture, "solo", "1", first);

  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, push,
                                                  NULL, &output, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (output, ": 1 file, "));
  g_assert_nonnull (strstr (output, "; uploaded 1 new file content\n"));

  g_assert_true (mist_test_server_wait_for_patches (fixture->server, fixture->admin_token, "solo",
                                                    60, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, patches,
                                                  NULL, &patch_output, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (patch_output, " ready    1 delta, "));
}

static void
test_mistpipe_push_empty_folder (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *empty = g_build_filename (fixture->work_dir, "empty", NULL);
  const char *push[] = { "push", "hollow", "--version", "1", empty, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;
  g_autoptr (JsonNode) game = NULL;

  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  create_game (fixture, "hollow", TRUE);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, push,
                                                  NULL, NULL, &errors, &error),
                   ==, 1);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (errors, "has no files"));
  g_assert_nonnull (strstr (errors, empty));

  game = get_json (fixture, fixture->admin_token, "/api/v1/games/hollow", SOUP_STATUS_OK);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (game), "versions")),
                    ==, 0);
}

/* A mistyped --data-dir must not become a new data folder without --init. */
static void
test_mistpipe_data_dir_missing (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *typo = g_build_filename (fixture->work_dir, "no-such-data", NULL);
  g_autofree char *database = g_build_filename (typo, "mist.sqlite3", NULL);
  const char *add[] = { "--data-dir", typo, "user", "add", "--admin", "first", NULL };
  const char *add_init[] = { "--data-dir", typo, "--init", "user", "add", "--admin", "first",
                             NULL };
  g_autofree char *errors = NULL;

  g_assert_cmpint (run (fixture, add, "first-password\n", NULL, &errors), ==, 1);
  g_assert_nonnull (strstr (errors, typo));
  g_assert_nonnull (strstr (errors, "does not exist"));
  g_assert_nonnull (strstr (errors, "--init"));
  g_assert_false (g_file_test (typo, G_FILE_TEST_EXISTS));

  g_assert_cmpint (run (fixture, add_init, "first-password\n", NULL, NULL), ==, 0);
  g_assert_true (g_file_test (database, G_FILE_TEST_IS_REGULAR));
}

static void
test_mistpipe_data_dir_foreign (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *foreign = g_build_filename (fixture->work_dir, "photos", NULL);
  g_autofree char *database = g_build_filename (foreign, "mist.sqlite3", NULL);
  const char *list[] = { "--data-dir", foreign, "user", "list", NULL };
  g_autofree char *errors = NULL;

  write_build_file (foreign, "holiday.jpg", "jpeg", 4, FALSE);
  g_assert_cmpint (run (fixture, list, NULL, NULL, &errors), ==, 1);
  g_assert_nonnull (strstr (errors, "is not a Mist data folder"));
  g_assert_false (g_file_test (database, G_FILE_TEST_EXISTS));
}

static void
test_mistpipe_server_url_invalid (BackendFixture *fixture, gconstpointer data)
{
  const char *ftp[] = { "--server", "ftp://127.0.0.1:21", "game", "list", NULL };
  const char *word[] = { "--server", "notaurl", "game", "list", NULL };
  g_autofree char *ftp_errors = NULL;
  g_autofree char *word_errors = NULL;

  g_assert_cmpint (run (fixture, ftp, NULL, NULL, &ftp_errors), ==, 2);
  g_assert_nonnull (strstr (ftp_errors, "Unsupported scheme “ftp”"));
  g_assert_cmpint (run (fixture, word, NULL, NULL, &word_errors), ==, 2);
  g_assert_nonnull (strstr (word_errors, "Invalid server URL “notaurl”"));
  g_assert_null (strstr (word_errors, "Not logged in"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) g_test_add (name, BackendFixture, NULL, setup, function, teardown)
  ADD ("/backend/mistpipe/login-session-file", test_mistpipe_login_session_file);
  ADD ("/backend/mistpipe/wrong-password", test_mistpipe_wrong_password);
  ADD ("/backend/mistpipe/user-commands", test_mistpipe_user_commands);
  ADD ("/backend/mistpipe/offline-admin", test_mistpipe_offline_admin);
  ADD ("/backend/mistpipe/game-commands", test_mistpipe_game_commands);
  ADD ("/backend/mistpipe/singular-counts", test_mistpipe_singular_counts);
  ADD ("/backend/mistpipe/push-empty-folder", test_mistpipe_push_empty_folder);
  ADD ("/backend/mistpipe/data-dir-missing", test_mistpipe_data_dir_missing);
  ADD ("/backend/mistpipe/data-dir-foreign", test_mistpipe_data_dir_foreign);
  ADD ("/backend/mistpipe/server-url-invalid", test_mistpipe_server_url_invalid);
#undef ADD

  return g_test_run ();
}
