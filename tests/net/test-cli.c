/* test-cli.c: mist-cli end to end against a backend-stub, in a private keyring session
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs through with-keyring, so login stores the token in a real gnome-keyring.
 */
#include "net-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>

typedef struct
{
  NetServer net;
  gboolean started;
  char *cli;       /* path of mist-cli */
  char *url;
  char *data_home; /* XDG_DATA_HOME of the client: games go to data_home/mist/games */
  char *config_home;
  char *cache_home;
  char *state_db;
} Fixture;

typedef struct
{
  int status;
  char *output;
  char *errors;
} CliResult;

static void
cli_result_free (CliResult *result)
{
  g_free (result->output);
  g_free (result->errors);
  g_free (result);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliResult, cli_result_free)

static GSubprocessLauncher *
new_launcher (Fixture *fixture, GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", fixture->data_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", fixture->config_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", fixture->cache_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "MIST_STATE_DB", fixture->state_db, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "MIST_SERVER");
  g_subprocess_launcher_unsetenv (launcher, "MIST_TOKEN");
  return launcher;
}

/* Runs mist-cli with args (NULL-terminated) and input on standard input. */
static CliResult *
run_cli_env (Fixture *fixture, const char *input, const char *bus_address, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  CliResult *result = g_new0 (CliResult, 1);

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (bus_address != NULL)
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  g_ptr_array_add (argv, fixture->cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &result->output, &result->errors, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process))
    g_printerr ("mist-cli %s was killed by signal %d:\n%s", args[0],
                g_subprocess_get_term_sig (process), result->errors);
  g_assert_true (g_subprocess_get_if_exited (process));
  result->status = g_subprocess_get_exit_status (process);
  if (g_test_verbose ())
    g_printerr ("mist-cli %s → %d\n%s%s", args[0], result->status, result->output,
                result->errors);
  return result;
}

static CliResult *
run_cli (Fixture *fixture, const char *const *args)
{
  return run_cli_env (fixture, NULL, NULL, args);
}

#define CLI(fixture, ...) run_cli ((fixture), (const char *const[]) { __VA_ARGS__, NULL })

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  const char *build_root = g_getenv ("MIST_BUILD_ROOT");

  fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  fixture->cli = g_build_filename (build_root, "client", "cli", "mist-cli", NULL);
  fixture->url = g_strdup (mist_test_server_get_url (fixture->net.server));
  fixture->data_home = g_build_filename (fixture->net.work_dir, "data", NULL);
  fixture->config_home = g_build_filename (fixture->net.work_dir, "config", NULL);
  fixture->cache_home = g_build_filename (fixture->net.work_dir, "cache", NULL);
  fixture->state_db = g_build_filename (fixture->net.work_dir, "state.db", NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  if (fixture->started)
    net_server_stop (&fixture->net);
  g_free (fixture->cli);
  g_free (fixture->url);
  g_free (fixture->data_home);
  g_free (fixture->config_home);
  g_free (fixture->cache_home);
  g_free (fixture->state_db);
}

static void
login (Fixture *fixture)
{
  g_autoptr (CliResult) result = NULL;
  const char *args[] = { "--server", fixture->url, "login", MIST_TEST_USER_NAME, NULL };

  result = run_cli_env (fixture, MIST_TEST_USER_PASSWORD "\n", NULL, args);
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->output, "Logged in"));
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* The entry of slug in the output of `games --json`. */
static JsonObject *
find_game (JsonNode *games, const char *slug)
{
  JsonArray *array = json_node_get_array (games);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *game = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (game, "slug"), slug) == 0)
        return game;
    }
  g_assert_not_reached ();
}

static char *
install_path (Fixture *fixture, const char *slug)
{
  return g_build_filename (fixture->data_home, "mist", "games", slug, NULL);
}

static void
test_cli_lifecycle (Fixture *fixture, gconstpointer data)
{
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;
  g_autoptr (CliResult) games = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliResult) games_after = NULL;
  g_autoptr (CliResult) plan = NULL;
  g_autoptr (CliResult) plan_unknown = NULL;
  g_autoptr (CliResult) install_unknown = NULL;
  g_autoptr (CliResult) install_unknown_name = NULL;
  g_autoptr (CliResult) update = NULL;
  g_autoptr (CliResult) verify = NULL;
  g_autoptr (CliResult) verify_damaged = NULL;
  g_autoptr (CliResult) repair = NULL;
  g_autoptr (CliResult) verify_repaired = NULL;
  g_autoptr (CliResult) launch = NULL;
  g_autoptr (CliResult) uninstall = NULL;
  g_autoptr (CliResult) whoami = NULL;
  g_autoptr (CliResult) logout = NULL;
  g_autoptr (CliResult) whoami_after = NULL;
  g_autoptr (JsonNode) games_json = NULL;
  g_autoptr (JsonNode) games_after_json = NULL;
  g_autoptr (JsonNode) plan_json = NULL;
  JsonObject *tetris;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 3, 100 * 1024, 11);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  login (fixture);

  whoami = CLI (fixture, "whoami");
  g_assert_cmpint (whoami->status, ==, 0);
  g_assert_nonnull (strstr (whoami->output, MIST_TEST_USER_NAME));

  games = CLI (fixture, "games", "--json");
  g_assert_cmpint (games->status, ==, 0);
  games_json = parse_json (games->output);
  tetris = find_game (games_json, "tetris");
  g_assert_true (json_object_get_null_member (tetris, "installed_version"));

  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);
  g_assert_nonnull (strstr (install->errors, "tetris: done"));
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (v1, path);

  v2 = net_write_build (&fixture->net, "v2", 3, 100 * 1024, 12);
  net_push (&fixture->net, "tetris", "2.0", v2);
  games_after = CLI (fixture, "games", "--json");
  games_after_json = parse_json (games_after->output);
  tetris = find_game (games_after_json, "tetris");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (tetris,
                                                                              "installed_version"),
                                               "ordinal"),
                   ==, 1);
  g_assert_true (json_object_get_boolean_member (tetris, "update_available"));

  plan = CLI (fixture, "plan", "tetris", "--json");
  g_assert_cmpint (plan->status, ==, 0);
  plan_json = parse_json (plan->output);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (plan_json), "from"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (plan_json), "to"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (plan_json), "download_size"),
                   >, 0);

  plan_unknown = CLI (fixture, "plan", "tetris", "--version", "99");
  g_assert_cmpint (plan_unknown->status, ==, 4);
  g_assert_nonnull (strstr (plan_unknown->errors, "tetris: version 99 is not on the server"));
  g_assert_nonnull (strstr (plan_unknown->errors, "1 (1.0), 2 (2.0)"));
  install_unknown = CLI (fixture, "install", "tetris", "--version", "99");
  g_assert_cmpint (install_unknown->status, ==, 4);
  g_assert_nonnull (strstr (install_unknown->errors, "tetris has no version 99"));
  g_assert_nonnull (strstr (install_unknown->errors, "1 (1.0), 2 (2.0)"));
  /* Not an ordinal from 1, so a name: 0 no longer stands for the newest. */
  install_unknown_name = CLI (fixture, "install", "tetris", "--version", "0");
  g_assert_cmpint (install_unknown_name->status, ==, 4);
  g_assert_nonnull (strstr (install_unknown_name->errors, "tetris has no version “0”"));
  g_assert_nonnull (strstr (install_unknown_name->errors, "1 (1.0), 2 (2.0)"));

  update = CLI (fixture, "update", "tetris");
  g_assert_cmpint (update->status, ==, 0);
  net_assert_tree_equal (v2, path);

  verify = CLI (fixture, "verify", "tetris");
  g_assert_cmpint (verify->status, ==, 0);
  damaged = g_build_filename (path, "data", "part-01.bin", NULL);
  g_assert_true (g_file_set_contents (damaged, "damaged", -1, NULL));
  verify_damaged = CLI (fixture, "verify", "tetris");
  g_assert_cmpint (verify_damaged->status, ==, 8);
  g_assert_nonnull (strstr (verify_damaged->output, "data/part-01.bin"));
  repair = CLI (fixture, "repair", "tetris");
  g_assert_cmpint (repair->status, ==, 0);
  verify_repaired = CLI (fixture, "verify", "tetris");
  g_assert_cmpint (verify_repaired->status, ==, 0);
  net_assert_tree_equal (v2, path);

  launch = CLI (fixture, "launch", "tetris", "--", "--extra");
  g_assert_cmpint (launch->status, ==, 0);
  log_path = g_build_filename (g_get_user_state_dir (), "mist", "logs", "tetris.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "game started: --demo --extra"));

  uninstall = CLI (fixture, "uninstall", "tetris");
  g_assert_cmpint (uninstall->status, ==, 0);
  g_assert_false (g_file_test (damaged, G_FILE_TEST_EXISTS));

  logout = CLI (fixture, "logout");
  g_assert_cmpint (logout->status, ==, 0);
  whoami_after = CLI (fixture, "whoami");
  g_assert_cmpint (whoami_after->status, ==, 3);
}

static void
test_cli_errors (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CliResult) wrong_password = NULL;
  g_autoptr (CliResult) unreachable = NULL;
  g_autoptr (CliResult) unknown_info = NULL;
  g_autoptr (CliResult) unknown_install = NULL;
  g_autoptr (CliResult) not_installed = NULL;
  g_autoptr (CliResult) usage = NULL;
  g_autoptr (CliResult) unknown_action = NULL;
  g_autoptr (CliResult) cancel_all = NULL;
  g_autoptr (CliResult) negative_rate = NULL;
  g_autoptr (CliResult) huge_rate = NULL;
  g_autoptr (CliResult) tiny_rate = NULL;
  const char *wrong_args[] = { "--server", fixture->url, "login", MIST_TEST_USER_NAME, NULL };
  const char *unreachable_args[] = { "--server", "http://127.0.0.1:1", "login", "someone", NULL };
  const char *not_tls_args[] = { "--server", NULL, "login", MIST_TEST_USER_NAME, NULL };
  g_autofree char *https_url = NULL;
  g_autoptr (CliResult) not_tls = NULL;

  if (!fixture->started)
    return;
  wrong_password = run_cli_env (fixture, "wrong-password\n", NULL, wrong_args);
  g_assert_cmpint (wrong_password->status, ==, 3);
  g_assert_nonnull (strstr (wrong_password->errors, "mist-cli: "));

  unreachable = run_cli_env (fixture, "password\n", NULL, unreachable_args);
  g_assert_cmpint (unreachable->status, ==, 5);
  g_assert_nonnull (strstr (unreachable->errors, "127.0.0.1:1"));

  /* https:// to a server that speaks plain HTTP is not a certificate problem. */
  https_url = g_strdup_printf ("https://%s", fixture->url + strlen ("http://"));
  not_tls_args[1] = https_url;
  not_tls = run_cli_env (fixture, MIST_TEST_USER_PASSWORD "\n", NULL, not_tls_args);
  g_assert_cmpint (not_tls->status, !=, 0);
  g_assert_nonnull (strstr (not_tls->errors, "does not answer with TLS"));
  g_assert_nonnull (strstr (not_tls->errors, "use an address that starts with http://"));
  g_assert_null (strstr (not_tls->errors, "not trusted"));

  login (fixture);
  unknown_info = CLI (fixture, "info", "no-such-game");
  g_assert_cmpint (unknown_info->status, ==, 4);
  unknown_install = CLI (fixture, "install", "no-such-game");
  g_assert_cmpint (unknown_install->status, ==, 4);
  g_assert_nonnull (strstr (unknown_install->errors, "`mist-cli games` lists the games"));
  not_installed = CLI (fixture, "verify", "no-such-game");
  g_assert_cmpint (not_installed->status, ==, 4);
  usage = CLI (fixture, "install");
  g_assert_cmpint (usage->status, ==, 2);
  unknown_action = CLI (fixture, "queue", "frobnicate");
  g_assert_cmpint (unknown_action->status, ==, 2);
  g_assert_nonnull (strstr (unknown_action->errors, "unknown action “frobnicate”"));
  cancel_all = CLI (fixture, "queue", "cancel", "--all");
  g_assert_cmpint (cancel_all->status, ==, 2);
  g_assert_nonnull (strstr (cancel_all->errors, "--all works with pause and resume only"));

  negative_rate = CLI (fixture, "--limit-rate", "-5", "games");
  g_assert_cmpint (negative_rate->status, ==, 2);
  g_assert_nonnull (strstr (negative_rate->errors, "invalid rate “-5”"));
  g_assert_nonnull (strstr (negative_rate->errors, "suffix K, M or G"));
  huge_rate = CLI (fixture, "--limit-rate", "99999999999999999999999M", "games");
  g_assert_cmpint (huge_rate->status, ==, 2);
  g_assert_nonnull (strstr (huge_rate->errors, "“99999999999999999999999M” is out of range"));
  g_assert_nonnull (strstr (huge_rate->errors, "to 10G"));
  tiny_rate = CLI (fixture, "--limit-rate", "10", "games");
  g_assert_cmpint (tiny_rate->status, ==, 2);
  g_assert_nonnull (strstr (tiny_rate->errors, "from 1K"));
}

/* A session token from MIST_TOKEN that the server rejects is named as the cause. */
static void
test_cli_bad_token (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;

  if (!fixture->started)
    return;
  login (fixture);
  launcher
    = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "MIST_TOKEN", "not-a-token", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, fixture->cli, "--server", fixture->url,
                                         "games", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &errors, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 3);
  g_assert_nonnull (strstr (errors, "rejected the session token in MIST_TOKEN"));
  g_assert_nonnull (strstr (errors, fixture->url));
}

static void
test_cli_no_keyring (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CliResult) result = NULL;
  g_autoptr (CliResult) whoami = NULL;
  g_autofree char *config = NULL;
  const char *args[] = { "--server", fixture->url, "login", MIST_TEST_USER_NAME, NULL };
  const char *whoami_args[] = { "whoami", NULL };

  if (!fixture->started)
    return;
  result = run_cli_env (fixture, MIST_TEST_USER_PASSWORD "\n", "unix:path=/nonexistent/bus", args);
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->errors, "will not be remembered"));

  /* No file contains the token, so the next run is not logged in. */
  whoami = run_cli_env (fixture, NULL, "unix:path=/nonexistent/bus", whoami_args);
  g_assert_cmpint (whoami->status, ==, 3);
  config = g_build_filename (fixture->config_home, "mist", "mist-cli.conf", NULL);
  g_assert_true (g_file_test (config, G_FILE_TEST_EXISTS));
}

/* Bytes of each data file of the builds that start_slow_install() fetches. Compressed
 * to about half, such files stay above the server's 1 MiB limit for pack entries, so
 * each is a single object with a partial file while it downloads. */
#define SLOW_FILE_SIZE (3 * 1024 * 1024)

/* Starts `mist-cli --limit-rate 256K` with args (NULL-terminated) and returns once its
 * first partial file exists, so that the download runs for seconds more. */
static GSubprocess *
start_slow_cli (Fixture *fixture, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *objects = NULL;
  GSubprocess *process;
  gint64 deadline;
  gboolean started = FALSE;

  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_ptr_array_add (argv, fixture->cli);
  g_ptr_array_add (argv, (gpointer) "--limit-rate");
  g_ptr_array_add (argv, (gpointer) "256K");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  objects = g_build_filename (fixture->cache_home, "mist", "objects", NULL);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!started && g_get_monotonic_time () < deadline)
    {
      g_autoptr (GDir) dir = g_dir_open (objects, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        started |= g_str_has_suffix (name, ".part");
      g_usleep (50000);
    }
  g_assert_true (started);
  return process;
}

static GSubprocess *
start_slow_command (Fixture *fixture, const char *command, const char *slug)
{
  return start_slow_cli (fixture, (const char *const[]){ command, slug, NULL });
}

static GSubprocess *
start_slow_install (Fixture *fixture, const char *slug)
{
  return start_slow_command (fixture, "install", slug);
}

/* Sends Ctrl-C to a mist-cli process and checks that it stops as interrupted. */
static void
interrupt_cli (GSubprocess *process)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (process, SIGINT);
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 7);
}

static void
test_cli_second_process_busy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autofree char *owner = NULL;
  g_autoptr (GSubprocess) first = NULL;
  g_autoptr (CliResult) second = NULL;
  g_autoptr (CliResult) cancel = NULL;
  g_autoptr (CliResult) pause = NULL;
  g_autoptr (CliResult) resumed = NULL;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "big", 2, SLOW_FILE_SIZE, 23);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);

  first = start_slow_install (fixture, "tetris");
  owner = g_strdup_printf ("is running in process %s (mist-cli install)",
                           g_subprocess_get_identifier (first));
  second = CLI (fixture, "install", "tetris");
  g_assert_cmpint (second->status, ==, 6);
  g_assert_nonnull (strstr (second->errors, owner));
  cancel = CLI (fixture, "queue", "cancel", "tetris");
  g_assert_cmpint (cancel->status, ==, 6);
  g_assert_nonnull (strstr (cancel->errors, owner));
  pause = CLI (fixture, "queue", "pause", "tetris");
  g_assert_cmpint (pause->status, ==, 6);
  g_assert_nonnull (strstr (pause->errors, owner));
  interrupt_cli (first);

  /* Once the first process stopped, the job continues in the next one. */
  resumed = CLI (fixture, "install", "tetris");
  g_assert_cmpint (resumed->status, ==, 0);
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (build, path);
}

static void
test_cli_interrupt_resumes (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) resumed = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "big", 2, SLOW_FILE_SIZE, 21);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);

  /* At 256 KiB/s the download takes seconds: interrupt it once a partial file exists. */
  process = start_slow_install (fixture, "tetris");
  g_usleep (500000);
  interrupt_cli (process);

  queue = CLI (fixture, "queue", "list", "--json");
  g_assert_cmpint (queue->status, ==, 0);
  queue_json = parse_json (queue->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue_json)), ==, 1);
  job = json_array_get_object_element (json_node_get_array (queue_json), 0);
  g_assert_cmpstr (json_object_get_string_member (job, "state"), ==, "queued");
  g_assert_cmpint (json_object_get_int_member (job, "bytes_done"), >, 0);

  resumed = CLI (fixture, "install", "tetris");
  g_assert_cmpint (resumed->status, ==, 0);
  g_assert_nonnull (strstr (resumed->errors, "continuing job"));
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (build, path);
}

/* Whether folder contains any file. */
static gboolean
folder_has_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) != NULL;
}

/* The string member of the index-th job of a `queue list --json` array. */
static const char *
job_field (JsonArray *jobs, guint index, const char *member)
{
  return json_object_get_string_member (json_array_get_object_element (jobs, index), member);
}

/* Installing one game leaves another game's interrupted job alone. `queue run` runs
 * both, and ends on Ctrl-C although the job waiting behind the stopped one never starts.
 * A move of the queued jobs lasts beyond the process that asked for it. */
static void
test_cli_interrupt_waiting_job (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *pong_build = NULL;
  g_autofree char *pong_path = NULL;
  g_autoptr (GSubprocess) first = NULL;
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (GSubprocess) run = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) moved = NULL;
  g_autoptr (CliResult) moved_back = NULL;
  g_autoptr (CliResult) queue_after = NULL;
  g_autoptr (CliResult) pong = NULL;
  g_autoptr (CliResult) queue_last = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  g_autoptr (JsonNode) queue_after_json = NULL;
  g_autoptr (JsonNode) queue_last_json = NULL;
  JsonArray *jobs;
  gint64 tetris_bytes;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "big", 2, SLOW_FILE_SIZE, 22);
  pong_build = net_write_build (&fixture->net, "big-pong", 2, SLOW_FILE_SIZE, 23);
  net_create_game (&fixture->net, "tetris");
  net_create_game (&fixture->net, "pong");
  net_push (&fixture->net, "tetris", "1.0", build);
  net_push (&fixture->net, "pong", "1.0", pong_build);
  login (fixture);

  first = start_slow_install (fixture, "tetris");
  g_usleep (300000);
  interrupt_cli (first);
  second = start_slow_install (fixture, "pong");
  g_usleep (300000);
  interrupt_cli (second);

  /* queue run resumes tetris first; pong waits behind it when Ctrl-C comes. */
  run = start_slow_command (fixture, "queue", "run");
  g_usleep (300000);
  interrupt_cli (run);

  queue = CLI (fixture, "queue", "list", "--json");
  g_assert_cmpint (queue->status, ==, 0);
  queue_json = parse_json (queue->output);
  jobs = json_node_get_array (queue_json);
  g_assert_cmpuint (json_array_get_length (jobs), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (job_field (jobs, i, "state"), ==, "queued");
  g_assert_cmpstr (job_field (jobs, 0, "game"), ==, "tetris");

  moved = CLI (fixture, "queue", "move", "pong", "1");
  g_assert_cmpint (moved->status, ==, 0);
  queue_after = CLI (fixture, "queue", "list", "--json");
  queue_after_json = parse_json (queue_after->output);
  jobs = json_node_get_array (queue_after_json);
  g_assert_cmpstr (job_field (jobs, 0, "game"), ==, "pong");
  g_assert_cmpstr (job_field (jobs, 1, "game"), ==, "tetris");
  tetris_bytes = json_object_get_int_member (json_array_get_object_element (jobs, 1), "bytes_done");

  /* With tetris first again, installing pong must not run tetris first. */
  moved_back = CLI (fixture, "queue", "move", "tetris", "1");
  g_assert_cmpint (moved_back->status, ==, 0);
  pong = CLI (fixture, "install", "pong");
  g_assert_cmpint (pong->status, ==, 0);
  g_assert_null (strstr (pong->errors, "tetris"));
  pong_path = install_path (fixture, "pong");
  net_assert_tree_equal (pong_build, pong_path);
  queue_last = CLI (fixture, "queue", "list", "--json");
  queue_last_json = parse_json (queue_last->output);
  jobs = json_node_get_array (queue_last_json);
  g_assert_cmpuint (json_array_get_length (jobs), ==, 1);
  g_assert_cmpstr (job_field (jobs, 0, "game"), ==, "tetris");
  g_assert_cmpstr (job_field (jobs, 0, "state"), ==, "queued");
  g_assert_cmpint (
    json_object_get_int_member (json_array_get_object_element (jobs, 0), "bytes_done"), ==,
    tetris_bytes);
}

/* A mist-cli process whose standard error the test reads line by line. */
typedef struct
{
  GSubprocess *process;
  GDataInputStream *errors;
  GPtrArray *lines; /* char *: every line read so far */
} CliProcess;

static void
cli_process_free (CliProcess *cli)
{
  g_clear_object (&cli->errors);
  g_clear_object (&cli->process);
  g_ptr_array_unref (cli->lines);
  g_free (cli);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliProcess, cli_process_free)

/* Starts mist-cli with args (NULL-terminated), with MIST_FAULT_DELAY set to fault_delay
 * unless it is NULL. */
static CliProcess *
start_cli_process (Fixture *fixture, const char *fault_delay, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  CliProcess *cli = g_new0 (CliProcess, 1);

  launcher
    = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (fault_delay != NULL)
    g_subprocess_launcher_setenv (launcher, "MIST_FAULT_DELAY", fault_delay, TRUE);
  g_ptr_array_add (argv, fixture->cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  cli->process = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  cli->errors = g_data_input_stream_new (g_subprocess_get_stderr_pipe (cli->process));
  cli->lines = g_ptr_array_new_with_free_func (g_free);
  return cli;
}

#define START_CLI(fixture, fault_delay, ...)                                                       \
  start_cli_process ((fixture), (fault_delay), (const char *const[]){ __VA_ARGS__, NULL })

/* Returns the next line of standard error, or NULL at its end. */
static const char *
read_cli_line (CliProcess *cli)
{
  g_autoptr (GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (cli->errors, NULL, NULL, &error);

  g_assert_no_error (error);
  if (line == NULL)
    return NULL;
  if (g_test_verbose ())
    g_printerr ("mist-cli: %s\n", line);
  g_ptr_array_add (cli->lines, line);
  return line;
}

/* Reads standard error up to the first line that matches pattern (a GRegex) and returns
 * that line; fails when the output ends first. */
static const char *
read_cli_until (CliProcess *cli, const char *pattern)
{
  const char *line;

  while ((line = read_cli_line (cli)) != NULL)
    if (g_regex_match_simple (pattern, line, 0, 0))
      return line;
  g_error ("mist-cli ended without printing a line that matches “%s”", pattern);
}

/* Reads the rest of standard error and waits for the process; returns its exit status. */
static int
finish_cli (CliProcess *cli)
{
  g_autoptr (GError) error = NULL;

  while (read_cli_line (cli) != NULL)
    ;
  g_assert_true (g_subprocess_wait (cli->process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (cli->process));
  return g_subprocess_get_exit_status (cli->process);
}

/* Whether one of the lines read contains text. */
static gboolean
cli_printed (CliProcess *cli, const char *text)
{
  for (guint i = 0; i < cli->lines->len; i++)
    if (strstr (g_ptr_array_index (cli->lines, i), text) != NULL)
      return TRUE;
  return FALSE;
}

/* The percentages of the lines "GAME: downloading N% (...)" from index start on, in the
 * order printed. */
static GArray *
download_percents (CliProcess *cli, guint start)
{
  GArray *percents = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = start; i < cli->lines->len; i++)
    {
      const char *line = g_ptr_array_index (cli->lines, i);
      const char *found = strstr (line, ": downloading ");
      guint percent;

      if (found != NULL && sscanf (found, ": downloading %u%%", &percent) == 1)
        g_array_append_val (percents, percent);
    }
  return percents;
}

/* Parses "GAME: stopped at X of Y bytes" from the lines read. */
static gboolean
find_stopped_at (CliProcess *cli, guint64 *done, guint64 *total)
{
  for (guint i = 0; i < cli->lines->len; i++)
    {
      const char *found = strstr (g_ptr_array_index (cli->lines, i), ": stopped at ");

      if (found != NULL
          && sscanf (found, ": stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, done, total)
               == 2)
        return TRUE;
    }
  return FALSE;
}

/* Counts the files an apply has staged in folder: their names are content hashes, and
 * files still being built are named tmp-HASH. */
static guint
count_staged (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint count = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (!g_str_has_prefix (name, "tmp-"))
      count++;
  return count;
}

/* Data files of the builds in the tests of a stopped apply. */
#define APPLY_FILES 24
/* Each staged file takes this long (MIST_FAULT_DELAY), so that an apply runs for seconds. */
#define APPLY_FILE_DELAY_MS 1000
/* Staging runs on at most this many threads (count_staging_threads() in mist-install.c). */
#define APPLY_MAX_THREADS 4

/* The first Ctrl-C during an update's apply lets it go on; the second stops it well
 * before it would have finished, before its commit. The installed version stays and
 * runs, and the next run finishes the update. */
static void
test_cli_interrupt_apply_twice (Fixture *fixture, gconstpointer data)
{
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *staging = NULL;
  g_autofree char *delay = g_strdup_printf ("stage-file:%u", APPLY_FILE_DELAY_MS);
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliProcess) update = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) games = NULL;
  g_autoptr (CliResult) launch = NULL;
  g_autoptr (CliResult) resumed = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  g_autoptr (JsonNode) games_json = NULL;
  JsonObject *installed;
  gint64 stop_requested;
  gint64 stop_took;
  guint staged;
  gint64 staging_left_us;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", APPLY_FILES, 16 * 1024, 51);
  v2 = net_write_build (&fixture->net, "v2", APPLY_FILES, 16 * 1024, 52);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  login (fixture);
  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);
  net_push (&fixture->net, "tetris", "2.0", v2);

  update = START_CLI (fixture, delay, "update", "tetris");
  read_cli_until (update, "^tetris: applying$");
  g_subprocess_send_signal (update->process, SIGINT);
  read_cli_until (update, "press Ctrl-C again");
  stop_requested = g_get_monotonic_time ();
  g_subprocess_send_signal (update->process, SIGINT);
  read_cli_until (update, "stopping the apply before its commit");
  g_assert_cmpint (finish_cli (update), ==, 7);
  stop_took = g_get_monotonic_time () - stop_requested;
  g_assert_true (cli_printed (update, "tetris: stopped before the commit"));

  /* The staging was cut short, and what it had left takes longer than the stop took. */
  path = install_path (fixture, "tetris");
  staging = g_build_filename (path, ".mist-staging", NULL);
  staged = count_staged (staging);
  g_assert_cmpuint (staged, <, APPLY_FILES);
  staging_left_us = (gint64)((APPLY_FILES - staged + APPLY_MAX_THREADS - 1) / APPLY_MAX_THREADS)
                    * APPLY_FILE_DELAY_MS * 1000;
  g_assert_cmpint (stop_took, <, staging_left_us);

  queue = CLI (fixture, "queue", "list", "--json");
  queue_json = parse_json (queue->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue_json)), ==, 1);
  g_assert_cmpstr (job_field (json_node_get_array (queue_json), 0, "state"), ==, "queued");

  /* Version 1.0 is still installed and starts. */
  net_assert_tree_equal (v1, path);
  games = CLI (fixture, "games", "--json");
  games_json = parse_json (games->output);
  installed = json_object_get_object_member (find_game (games_json, "tetris"), "installed_version");
  g_assert_cmpint (json_object_get_int_member (installed, "ordinal"), ==, 1);
  launch = CLI (fixture, "launch", "tetris");
  g_assert_cmpint (launch->status, ==, 0);

  resumed = CLI (fixture, "update", "tetris");
  g_assert_cmpint (resumed->status, ==, 0);
  g_assert_nonnull (strstr (resumed->errors, "continuing job"));
  net_assert_tree_equal (v2, path);
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
}

/* Writes zeros over every pack file in the object cache, keeping their sizes and
 * indexes: a new process then finds each entry damaged when it first reads it. */
static void
damage_packs (const char *objects)
{
  g_autoptr (GDir) dir = g_dir_open (objects, 0, NULL);
  const char *name;
  guint damaged = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *pack = g_build_filename (objects, name, NULL);
      g_autofree char *zeros = NULL;
      GStatBuf info;

      if (!g_str_has_prefix (name, "pack-") || g_str_has_suffix (name, ".index"))
        continue;
      g_assert_cmpint (g_stat (pack, &info), ==, 0);
      zeros = g_malloc0 ((gsize)info.st_size);
      g_assert_true (g_file_set_contents (pack, zeros, (gssize)info.st_size, NULL));
      damaged++;
    }
  g_assert_cmpuint (damaged, >, 0);
}

static void
remove_files_in (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (folder, name, NULL);

      g_assert_cmpint (g_unlink (file), ==, 0);
    }
}

/* Objects that the apply finds damaged in the cache are downloaded again, as a download
 * with its progress, which the first Ctrl-C stops. */
static void
test_cli_interrupt_refetch (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autofree char *staging = NULL;
  g_autofree char *objects = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) crashed = NULL;
  g_autoptr (CliProcess) install = NULL;
  g_autoptr (CliResult) resumed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) percents = NULL;
  guint applying_line;
  gint64 stop_requested;
  gint64 stop_took;
  guint64 done = 0;
  guint64 total = 0;
  /* --limit-rate below, in bytes per second */
  const guint64 rate = 256 * 1024;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "v1", 12, 256 * 1024, 53);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);

  /* A first run downloads the objects, stages the files and ends before the commit as a
   * crash would. */
  launcher = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "MIST_FAULT_POINT", "before-commit", TRUE);
  crashed = g_subprocess_launcher_spawn (launcher, &error, fixture->cli, "install", "tetris", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (crashed, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (crashed));
  g_assert_cmpint (g_subprocess_get_term_sig (crashed), ==, SIGKILL);

  /* The download finds every object in the cache, and the apply then finds them damaged. */
  objects = g_build_filename (fixture->cache_home, "mist", "objects", NULL);
  path = install_path (fixture, "tetris");
  staging = g_build_filename (path, ".mist-staging", NULL);
  damage_packs (objects);
  remove_files_in (staging);

  install = START_CLI (fixture, NULL, "--limit-rate", "256K", "install", "tetris");
  read_cli_until (install, "^tetris: applying$");
  applying_line = install->lines->len;
  read_cli_until (install, "^tetris: downloading$");
  read_cli_until (install, "^tetris: downloading [0-9]+% \\(");
  stop_requested = g_get_monotonic_time ();
  g_subprocess_send_signal (install->process, SIGINT);
  read_cli_until (install, "stopping; the download resumes on the next run");
  g_assert_cmpint (finish_cli (install), ==, 7);
  stop_took = g_get_monotonic_time () - stop_requested;

  /* The download had its progress shown and stopped before it could have ended. */
  percents = download_percents (install, applying_line);
  g_assert_cmpuint (percents->len, >, 0);
  g_assert_false (cli_printed (install, "press Ctrl-C again"));
  g_assert_true (find_stopped_at (install, &done, &total));
  g_assert_cmpuint (done, <, total);
  g_assert_cmpint (stop_took, <, (gint64)((total - done) * G_USEC_PER_SEC / rate));

  resumed = CLI (fixture, "install", "tetris");
  g_assert_cmpint (resumed->status, ==, 0);
  net_assert_tree_equal (build, path);
}

/* Ctrl-C during a download leaves the progress where it was, and the next run starts
 * from the bytes the first one stored. */
static void
test_cli_interrupt_keeps_progress (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autoptr (CliProcess) first = NULL;
  g_autoptr (CliProcess) second = NULL;
  g_autoptr (GArray) before = NULL;
  g_autoptr (GArray) after = NULL;
  guint64 done = 0;
  guint64 total = 0;
  guint last = 0;

  if (!fixture->started)
    return;
  /* Small files, so that they travel as pack entries, of which the ones a stop cuts off
   * are dropped. */
  build = net_write_build (&fixture->net, "v1", 32, 64 * 1024, 54);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);

  first = START_CLI (fixture, NULL, "--limit-rate", "256K", "install", "tetris");
  read_cli_until (first, "^tetris: downloading [5-9][0-9]% \\(");
  g_subprocess_send_signal (first->process, SIGINT);
  g_assert_cmpint (finish_cli (first), ==, 7);

  /* The percentages never went back, also not at the stop. */
  before = download_percents (first, 0);
  for (guint i = 0; i < before->len; i++)
    {
      g_assert_cmpuint (g_array_index (before, guint, i), >=, last);
      last = g_array_index (before, guint, i);
    }
  g_assert_cmpuint (last, >=, 50);
  g_assert_true (find_stopped_at (first, &done, &total));
  g_assert_cmpuint (done * 100 / total, >=, last);

  /* The next run's first percentage counts what the first stored; at most the entries
   * in flight (a few of about 32 KiB each) were lost. */
  second = START_CLI (fixture, NULL, "install", "tetris");
  g_assert_cmpint (finish_cli (second), ==, 0);
  after = download_percents (second, 0);
  g_assert_cmpuint (after->len, >, 0);
  g_assert_cmpuint (g_array_index (after, guint, 0), >=, 20);
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (build, path);
}

static void
test_cli_failed_job_replaced (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *objects = NULL;
  g_autofree char *good_dir = NULL;
  g_autofree char *full_dir = NULL;
  g_autofree char *user_file = NULL;
  g_autoptr (CliResult) failed = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) not_empty = NULL;
  g_autoptr (CliResult) run = NULL;
  g_autoptr (CliResult) replaced = NULL;
  g_autoptr (CliResult) queue_after = NULL;
  g_autoptr (CliResult) verbose = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  g_autoptr (JsonNode) queue_after_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "v1", 3, 100 * 1024, 31);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);

  /* A folder with files in it is the user's mistake, not a busy game: status 1. */
  full_dir = g_build_filename (fixture->net.work_dir, "full", NULL);
  user_file = g_build_filename (full_dir, "notes.txt", NULL);
  g_assert_cmpint (g_mkdir_with_parents (full_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (user_file, "keep me", -1, NULL));
  not_empty = CLI (fixture, "install", "tetris", "--dir", full_dir);
  g_assert_cmpint (not_empty->status, ==, 1);
  g_assert_nonnull (strstr (not_empty->errors, "is not empty"));
  g_assert_true (g_file_test (user_file, G_FILE_TEST_IS_REGULAR));

  /* The folder is checked before the download, so nothing is fetched for it. */
  failed = CLI (fixture, "install", "tetris", "--dir", "/proc/mist-no-such-folder");
  g_assert_cmpint (failed->status, ==, 1);
  g_assert_nonnull (strstr (failed->errors, "tetris: failed"));
  g_assert_nonnull (strstr (failed->errors, "Cannot create the install folder "
                                            "/proc/mist-no-such-folder"));
  g_assert_null (strstr (failed->errors, "mist-engine-"));
  objects = g_build_filename (fixture->cache_home, "mist", "objects", NULL);
  g_assert_false (folder_has_files (objects));

  queue = CLI (fixture, "queue", "list", "--json");
  queue_json = parse_json (queue->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue_json)), ==, 1);
  job = json_array_get_object_element (json_node_get_array (queue_json), 0);
  g_assert_cmpstr (json_object_get_string_member (job, "state"), ==, "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (job, "error"),
                            "/proc/mist-no-such-folder"));

  /* `queue run` has nothing to run, and prints how to retry or drop the failed job. */
  run = CLI (fixture, "queue", "run");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->errors, "No job to run"));
  g_assert_nonnull (strstr (run->errors, "(install tetris) failed: "));
  g_assert_nonnull (strstr (run->errors, "/proc/mist-no-such-folder"));
  g_assert_nonnull (strstr (run->errors, "`mist-cli queue resume "));
  g_assert_nonnull (strstr (run->errors, "`mist-cli queue cancel "));

  /* Another folder replaces the failed job instead of retrying the old folder. */
  good_dir = g_build_filename (fixture->net.work_dir, "games", "tetris", NULL);
  replaced = CLI (fixture, "install", "tetris", "--dir", good_dir, "--version", "1.0");
  g_assert_cmpint (replaced->status, ==, 0);
  g_assert_nonnull (strstr (replaced->errors, "replacing job"));
  net_assert_tree_equal (build, good_dir);
  queue_after = CLI (fixture, "queue", "list", "--json");
  queue_after_json = parse_json (queue_after->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue_after_json)), ==, 0);

  /* --verbose passes the engine's debug messages on, in mist-cli's own format. */
  verbose = CLI (fixture, "--verbose", "queue", "list");
  g_assert_cmpint (verbose->status, ==, 0);
  g_assert_nonnull (strstr (verbose->errors, "mist-cli: mist-engine: "));
}

/* Runs `mist-cli COMMAND tetris` with MIST_FAULT_POINT set to fault_point and asserts
 * that the process killed itself there. */
static void
run_cli_killed_at (Fixture *fixture, const char *fault_point, const char *command)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;

  launcher
    = new_launcher (fixture, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "MIST_FAULT_POINT", fault_point, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, fixture->cli, command, "tetris", NULL);
  g_assert_no_error (error);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_term_sig (process), ==, SIGKILL);
}

/* An update killed while it places its files leaves the folder holding two versions:
 * launching is refused until the next process that loads the queue completes the commit. */
static void
test_cli_killed_commit_completed (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build_1 = NULL;
  g_autofree char *build_2 = NULL;
  g_autofree char *path = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliResult) launch = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) relaunch = NULL;
  g_autoptr (CliResult) run = NULL;
  g_autoptr (CliResult) listed = NULL;
  g_autoptr (JsonNode) listed_json = NULL;
  g_autoptr (CliResult) games = NULL;
  g_autoptr (JsonNode) games_json = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;

  if (!fixture->started)
    return;
  /* Another test of this process may have launched a game of the same name. */
  log_path = g_build_filename (g_get_user_state_dir (), "mist", "logs", "tetris.log", NULL);
  g_unlink (log_path);
  build_1 = net_write_build (&fixture->net, "one", 6, 4096, 31);
  build_2 = net_write_build (&fixture->net, "two", 6, 4096, 32);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build_1);
  net_push (&fixture->net, "tetris", "2.0", build_2);
  login (fixture);
  install = CLI (fixture, "install", "tetris", "--version", "1.0");
  g_assert_cmpint (install->status, ==, 0);

  run_cli_killed_at (fixture, "after-rename-3", "update");

  launch = CLI (fixture, "launch", "tetris");
  g_assert_cmpint (launch->status, !=, 0);
  g_assert_nonnull (strstr (launch->errors, "update of tetris to version 2.0 has not finished"));
  g_assert_false (g_file_test (log_path, G_FILE_TEST_EXISTS));

  queue = CLI (fixture, "queue", "list");
  g_assert_cmpint (queue->status, ==, 0);
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (build_2, path);
  games = CLI (fixture, "games", "--json");
  g_assert_cmpint (games->status, ==, 0);
  games_json = parse_json (games->output);
  g_assert_cmpstr (
    json_object_get_string_member (
      json_object_get_object_member (find_game (games_json, "tetris"), "installed_version"),
      "name"),
    ==, "2.0");

  relaunch = CLI (fixture, "launch", "tetris");
  g_assert_cmpint (relaunch->status, ==, 0);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "game started"));

  /* The killed process's job finds its version installed and ends. */
  run = CLI (fixture, "queue", "run");
  g_assert_cmpint (run->status, ==, 0);
  listed = CLI (fixture, "queue", "list", "--json");
  g_assert_cmpint (listed->status, ==, 0);
  listed_json = parse_json (listed->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (listed_json)), ==, 0);
  net_assert_tree_equal (build_2, path);
}

/* An uninstall killed half-way leaves the game recorded with part of its files: launching
 * is refused until the next process that loads the queue completes the uninstall, which
 * keeps the files the game did not install. */
static void
test_cli_killed_uninstall_completed (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autofree char *save = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *log_path = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliResult) launch = NULL;
  g_autoptr (CliResult) queue = NULL;
  g_autoptr (CliResult) games = NULL;
  g_autoptr (JsonNode) games_json = NULL;
  g_autoptr (CliResult) again = NULL;

  if (!fixture->started)
    return;
  log_path = g_build_filename (g_get_user_state_dir (), "mist", "logs", "tetris.log", NULL);
  g_unlink (log_path);
  build = net_write_build (&fixture->net, "one", 6, 4096, 41);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);
  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);
  path = install_path (fixture, "tetris");
  save = g_build_filename (path, "save.dat", NULL);
  g_assert_true (g_file_set_contents (save, "level 3", -1, NULL));

  run_cli_killed_at (fixture, "after-uninstall-delete-3", "uninstall");

  launch = CLI (fixture, "launch", "tetris");
  g_assert_cmpint (launch->status, !=, 0);
  g_assert_nonnull (strstr (launch->errors, "tetris is being uninstalled"));
  g_assert_false (g_file_test (log_path, G_FILE_TEST_EXISTS));

  queue = CLI (fixture, "queue", "list");
  g_assert_cmpint (queue->status, ==, 0);
  games = CLI (fixture, "games", "--json");
  g_assert_cmpint (games->status, ==, 0);
  games_json = parse_json (games->output);
  g_assert_true (
    json_object_get_null_member (find_game (games_json, "tetris"), "installed_version"));
  g_assert_true (g_file_test (save, G_FILE_TEST_IS_REGULAR));
  data_dir = g_build_filename (path, "data", NULL);
  g_assert_false (g_file_test (data_dir, G_FILE_TEST_EXISTS));

  /* Uninstalling again fails because the game is not installed. */
  again = CLI (fixture, "uninstall", "tetris");
  g_assert_cmpint (again->status, !=, 0);
  g_assert_nonnull (strstr (again->errors, "not installed"));
}

/* An update that adds a path where the player keeps a file of their own moves it aside
 * and prints a message about it without --verbose. */
static void
test_cli_update_keeps_player_file (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build_1 = NULL;
  g_autofree char *build_2 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *player_file = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *content = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliResult) update = NULL;

  if (!fixture->started)
    return;
  build_1 = net_write_build (&fixture->net, "one", 2, 4096, 51);
  build_2 = net_write_build (&fixture->net, "two", 3, 4096, 52);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build_1);
  net_push (&fixture->net, "tetris", "2.0", build_2);
  login (fixture);
  install = CLI (fixture, "install", "tetris", "--version", "1.0");
  g_assert_cmpint (install->status, ==, 0);
  path = install_path (fixture, "tetris");
  player_file = g_build_filename (path, "data", "part-02.bin", NULL);
  g_assert_true (g_file_set_contents (player_file, "the player's file", -1, NULL));

  update = CLI (fixture, "update", "tetris");
  g_assert_cmpint (update->status, ==, 0);
  g_assert_nonnull (strstr (update->errors, "Moved data/part-02.bin out of the game's way, to "
                                            "data/part-02.bin.mist-moved-1"));
  net_assert_tree_equal (build_2, path);
  moved = g_build_filename (path, "data", "part-02.bin.mist-moved-1", NULL);
  g_assert_true (g_file_get_contents (moved, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "the player's file");
}

/* A folder with files where the game has a file: verify names it, the repair fails
 * naming it and what to do, and once it is gone the repair restores the game. */
static void
test_cli_repair_blocked_by_folder (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autofree char *path = NULL;
  g_autofree char *blocked = NULL;
  g_autofree char *user_file = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (CliResult) verify = NULL;
  g_autoptr (CliResult) verify_json = NULL;
  g_autoptr (CliResult) repair = NULL;
  g_autoptr (CliResult) repair_after = NULL;
  g_autoptr (JsonNode) report = NULL;
  JsonArray *obstructions;
  JsonObject *obstruction;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "v1", 3, 100 * 1024, 41);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);
  login (fixture);
  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);

  path = install_path (fixture, "tetris");
  blocked = g_build_filename (path, "data", "part-01.bin", NULL);
  user_file = g_build_filename (blocked, "notes.txt", NULL);
  g_assert_cmpint (g_unlink (blocked), ==, 0);
  g_assert_cmpint (g_mkdir (blocked, 0755), ==, 0);
  g_assert_true (g_file_set_contents (user_file, "the user's notes", -1, NULL));

  verify = CLI (fixture, "verify", "tetris");
  g_assert_cmpint (verify->status, ==, 8);
  g_assert_nonnull (strstr (verify->output, "data/part-01.bin is a folder where the game has a "
                                            "file; move or delete it before the repair"));
  verify_json = CLI (fixture, "verify", "tetris", "--json");
  report = parse_json (verify_json->output);
  obstructions = json_object_get_array_member (json_node_get_object (report), "obstructions");
  g_assert_cmpuint (json_array_get_length (obstructions), ==, 1);
  obstruction = json_array_get_object_element (obstructions, 0);
  g_assert_cmpstr (json_object_get_string_member (obstruction, "path"), ==, "data/part-01.bin");
  g_assert_cmpstr (json_object_get_string_member (obstruction, "kind"), ==, "folder-for-file");
  g_assert_false (json_object_get_boolean_member (obstruction, "replaceable"));

  repair = CLI (fixture, "repair", "tetris");
  g_assert_cmpint (repair->status, ==, 1);
  g_assert_nonnull (strstr (repair->errors, path));
  g_assert_nonnull (strstr (repair->errors, "data/part-01.bin is a folder where the game has a "
                                            "file, and it is not empty: move or delete it, then "
                                            "run the repair again"));
  g_assert_true (g_file_test (user_file, G_FILE_TEST_IS_REGULAR));

  g_assert_cmpint (g_unlink (user_file), ==, 0);
  repair_after = CLI (fixture, "repair", "tetris");
  g_assert_cmpint (repair_after->status, ==, 0);
  net_assert_tree_equal (build, path);
}

/* The only job of `queue list --json`, as an object of root (which owns it). */
static JsonObject *
only_job (Fixture *fixture, JsonNode **root)
{
  g_autoptr (CliResult) queue = CLI (fixture, "queue", "list", "--json");
  JsonArray *jobs;

  g_assert_cmpint (queue->status, ==, 0);
  *root = parse_json (queue->output);
  jobs = json_node_get_array (*root);
  g_assert_cmpuint (json_array_get_length (jobs), ==, 1);
  return json_array_get_object_element (jobs, 0);
}

/* Checks that nothing of a finished command is left: no job, no staged files, no
 * objects in the cache. */
static void
assert_nothing_left (Fixture *fixture, const char *slug)
{
  g_autoptr (CliResult) queue = CLI (fixture, "queue", "list", "--json");
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *path = install_path (fixture, slug);
  g_autofree char *staging = g_build_filename (path, ".mist-staging", NULL);
  g_autofree char *objects = g_build_filename (fixture->cache_home, "mist", "objects", NULL);

  g_assert_cmpint (queue->status, ==, 0);
  root = parse_json (queue->output);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 0);
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  g_assert_false (folder_has_files (objects));
}

/* Installs version 1 of tetris, then publishes version 2 with files large enough for
 * start_slow_command() and writes version 3 without publishing it. The build folders go
 * to builds[0..2]. */
static void
install_before_big_update (Fixture *fixture, guint32 seed, char *builds[3])
{
  g_autoptr (CliResult) install = NULL;

  builds[0] = net_write_build (&fixture->net, "v1", 2, 100 * 1024, seed);
  builds[1] = net_write_build (&fixture->net, "big-v2", 2, SLOW_FILE_SIZE, seed + 1);
  builds[2] = net_write_build (&fixture->net, "v3", 2, 100 * 1024, seed + 2);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", builds[0]);
  login (fixture);
  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);
  net_push (&fixture->net, "tetris", "2.0", builds[1]);
}

/* Publishes a large version 1 of tetris, interrupts its install once it downloads and
 * writes a version 2 without publishing it. The build folders go to builds[0..1]. */
static void
interrupt_big_install (Fixture *fixture, guint32 seed, char *builds[2])
{
  g_autoptr (GSubprocess) process = NULL;

  builds[0] = net_write_build (&fixture->net, "big-v1", 2, SLOW_FILE_SIZE, seed);
  builds[1] = net_write_build (&fixture->net, "v2", 2, 100 * 1024, seed + 1);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", builds[0]);
  login (fixture);
  process = start_slow_install (fixture, "tetris");
  g_usleep (300000);
  interrupt_cli (process);
}

/* An update interrupted on its way to version 2 goes to version 3 once it is out. */
static void
test_cli_update_retargets_interrupted (Fixture *fixture, gconstpointer data)
{
  char *builds[3] = { NULL };
  g_autofree char *path = NULL;
  g_autofree char *replacing = NULL;
  g_autoptr (CliResult) update = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  install_before_big_update (fixture, 51, builds);
  process = start_slow_command (fixture, "update", "tetris");
  g_usleep (300000);
  interrupt_cli (process);
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (builds[0], path);
  job = only_job (fixture, &queue_json);
  g_assert_cmpint (json_object_get_int_member (job, "target_version"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (job, "state"), ==, "queued");

  net_push (&fixture->net, "tetris", "3.0", builds[2]);
  update = CLI (fixture, "update", "tetris");
  g_assert_cmpint (update->status, ==, 0);
  replacing = g_strdup_printf ("tetris: replacing job %" G_GINT64_FORMAT
                               " (update to version 2, queued) with job ",
                               json_object_get_int_member (job, "id"));
  g_assert_nonnull (strstr (update->errors, replacing));
  g_assert_nonnull (strstr (update->errors, " (update to version 3)\n"));
  g_assert_nonnull (strstr (update->errors, "tetris: done"));
  net_assert_tree_equal (builds[2], path);
  assert_nothing_left (fixture, "tetris");
  for (guint i = 0; i < G_N_ELEMENTS (builds); i++)
    g_free (builds[i]);
}

/* `install` without --version takes a paused install to the newest version. */
static void
test_cli_install_retargets_paused (Fixture *fixture, gconstpointer data)
{
  char *builds[2] = { NULL };
  g_autofree char *path = NULL;
  g_autofree char *replacing = NULL;
  g_autoptr (CliResult) pause = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  interrupt_big_install (fixture, 61, builds);
  pause = CLI (fixture, "queue", "pause", "tetris");
  g_assert_cmpint (pause->status, ==, 0);
  job = only_job (fixture, &queue_json);
  g_assert_cmpstr (json_object_get_string_member (job, "state"), ==, "paused");

  net_push (&fixture->net, "tetris", "2.0", builds[1]);
  install = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install->status, ==, 0);
  replacing = g_strdup_printf ("tetris: replacing job %" G_GINT64_FORMAT
                               " (install to version 1, paused) with job ",
                               json_object_get_int_member (job, "id"));
  g_assert_nonnull (strstr (install->errors, replacing));
  g_assert_nonnull (strstr (install->errors, " (install to version 2)\n"));
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (builds[1], path);
  assert_nothing_left (fixture, "tetris");
  for (guint i = 0; i < G_N_ELEMENTS (builds); i++)
    g_free (builds[i]);
}

/* `install --version` naming the interrupted job's target resumes that job, although
 * a newer version is out. */
static void
test_cli_install_same_version_resumes (Fixture *fixture, gconstpointer data)
{
  char *builds[2] = { NULL };
  g_autofree char *path = NULL;
  g_autofree char *continuing = NULL;
  g_autoptr (CliResult) install = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  interrupt_big_install (fixture, 71, builds);
  job = only_job (fixture, &queue_json);
  net_push (&fixture->net, "tetris", "2.0", builds[1]);

  install = CLI (fixture, "install", "tetris", "--version", "1");
  g_assert_cmpint (install->status, ==, 0);
  continuing = g_strdup_printf ("tetris: continuing job %" G_GINT64_FORMAT "\n",
                                json_object_get_int_member (job, "id"));
  g_assert_nonnull (strstr (install->errors, continuing));
  g_assert_null (strstr (install->errors, "replacing"));
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (builds[0], path);
  assert_nothing_left (fixture, "tetris");
  for (guint i = 0; i < G_N_ELEMENTS (builds); i++)
    g_free (builds[i]);
}

/* A job that another process runs is neither replaced nor resumed: status 6. */
static void
test_cli_retarget_running_elsewhere (Fixture *fixture, gconstpointer data)
{
  char *builds[3] = { NULL };
  g_autofree char *path = NULL;
  g_autofree char *owner = NULL;
  g_autoptr (CliResult) update = NULL;
  g_autoptr (CliResult) install_newest = NULL;
  g_autoptr (GSubprocess) first = NULL;
  g_autoptr (JsonNode) queue_json = NULL;
  JsonObject *job;

  if (!fixture->started)
    return;
  install_before_big_update (fixture, 81, builds);
  /* Version 3 is published first: its patch sets take longer to build than the slow
   * download to version 2 runs. */
  net_push (&fixture->net, "tetris", "3.0", builds[2]);
  first = start_slow_cli (fixture,
                          (const char *const[]){ "install", "tetris", "--version", "2", NULL });
  owner = g_strdup_printf ("is running in process %s (mist-cli install)",
                           g_subprocess_get_identifier (first));
  update = CLI (fixture, "update", "tetris");
  g_assert_cmpint (update->status, ==, 6);
  g_assert_nonnull (strstr (update->errors, owner));
  install_newest = CLI (fixture, "install", "tetris");
  g_assert_cmpint (install_newest->status, ==, 6);
  g_assert_nonnull (strstr (install_newest->errors, owner));
  interrupt_cli (first);

  /* The job still goes to version 2, and version 1 is still installed. */
  job = only_job (fixture, &queue_json);
  g_assert_cmpint (json_object_get_int_member (job, "target_version"), ==, 2);
  path = install_path (fixture, "tetris");
  net_assert_tree_equal (builds[0], path);
  for (guint i = 0; i < G_N_ELEMENTS (builds); i++)
    g_free (builds[i]);
}

static void
add_test (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

static void
test_cli_keyring_missing (void)
{
  g_test_skip ("dbus-run-session or gnome-keyring-daemon is not installed");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (g_getenv ("MIST_TEST_KEYRING"), "running") != 0)
    {
      g_test_add_func ("/net/cli/keyring-missing", test_cli_keyring_missing);
      return g_test_run ();
    }
  add_test ("/net/cli/lifecycle", test_cli_lifecycle);
  add_test ("/net/cli/errors", test_cli_errors);
  add_test ("/net/cli/no-keyring", test_cli_no_keyring);
  add_test ("/net/cli/bad-token", test_cli_bad_token);
  add_test ("/net/cli/interrupt-resumes", test_cli_interrupt_resumes);
  add_test ("/net/cli/interrupt-waiting-job", test_cli_interrupt_waiting_job);
  add_test ("/net/cli/interrupt-apply-twice", test_cli_interrupt_apply_twice);
  add_test ("/net/cli/interrupt-refetch", test_cli_interrupt_refetch);
  add_test ("/net/cli/interrupt-keeps-progress", test_cli_interrupt_keeps_progress);
  add_test ("/net/cli/second-process-busy", test_cli_second_process_busy);
  add_test ("/net/cli/failed-job-replaced", test_cli_failed_job_replaced);
  add_test ("/net/cli/killed-commit-completed", test_cli_killed_commit_completed);
  add_test ("/net/cli/killed-uninstall-completed", test_cli_killed_uninstall_completed);
  add_test ("/net/cli/update-keeps-player-file", test_cli_update_keeps_player_file);
  add_test ("/net/cli/repair-blocked-by-folder", test_cli_repair_blocked_by_folder);
  add_test ("/net/cli/update-retargets-interrupted", test_cli_update_retargets_interrupted);
  add_test ("/net/cli/install-retargets-paused", test_cli_install_retargets_paused);
  add_test ("/net/cli/install-same-version-resumes", test_cli_install_same_version_resumes);
  add_test ("/net/cli/retarget-running-elsewhere", test_cli_retarget_running_elsewhere);
  return g_test_run ();
}
