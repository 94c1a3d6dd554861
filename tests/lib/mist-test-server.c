/* mist-test-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-test-server.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define START_TIMEOUT_SECONDS 30

struct _MistTestServer
{
  GSubprocess *process;
  char *url;
  char *data_dir;
  char *config_home; /* $XDG_CONFIG_HOME of mistpipe runs */
  char *work_dir;    /* holds config_home, the configuration file and, by default, the data */
  gboolean keep_data;
  SoupSession *session;
};

static char *
build_path (const char *binary)
{
  const char *root = g_getenv ("MIST_BUILD_ROOT");

  return g_build_filename (root != NULL ? root : ".", "backend-stub", binary, NULL);
}

void
mist_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        mist_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Spawns argv with input (nullable: empty) on standard input. The input comes from a
 * file, not a pipe, because mistpipe may exit before it reads anything (on an invalid
 * option, for example), and writing into a pipe without a reader fails with EPIPE. */
static GSubprocess *
spawn_with_input (GSubprocessLauncher *launcher,
                  const char *const *argv,
                  const char *input,
                  GError **error)
{
  g_autofree char *input_path = NULL;
  GSubprocess *process;
  int fd = g_file_open_tmp ("mistpipe-input-XXXXXX", &input_path, error);

  if (fd < 0)
    return NULL;
  close (fd);
  if (!g_file_set_contents (input_path, input != NULL ? input : "", -1, error))
    {
      g_unlink (input_path);
      return NULL;
    }
  g_subprocess_launcher_set_stdin_file_path (launcher, input_path);
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  g_unlink (input_path);
  return process;
}

static int
run_offline (const char *data_dir, const char *const *args, const char *input, GError **error)
{
  g_autofree char *mistpipe = build_path ("mistpipe");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;

  g_ptr_array_add (argv, mistpipe);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, (gpointer) data_dir);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  process = spawn_with_input (launcher, (const char *const *)argv->pdata, input, error);
  if (process == NULL || !g_subprocess_wait (process, NULL, error))
    return -1;
  return g_subprocess_get_exit_status (process);
}

static gboolean
create_accounts (const char *data_dir, GError **error)
{
  const char *admin[] = { "user", "add", "--admin", MIST_TEST_ADMIN_NAME, NULL };
  const char *user[] = { "user", "add", MIST_TEST_USER_NAME, NULL };

  /* mistpipe initializes an empty folder but not a missing one, which could be a typo. */
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot create %s: %s", data_dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (run_offline (data_dir, admin, MIST_TEST_ADMIN_PASSWORD "\n", error) != 0 ||
      run_offline (data_dir, user, MIST_TEST_USER_PASSWORD "\n", error) != 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "mistpipe --data-dir %s user add failed", data_dir);
      return FALSE;
    }
  return TRUE;
}

static char *
write_config (MistTestServer *server, const MistTestServerOptions *options, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *path = g_build_filename (server->work_dir, "server.conf", NULL);

  g_key_file_set_string (file, "server", "listen", "127.0.0.1:0");
  g_key_file_set_string (file, "server", "data-dir", server->data_dir);
  if (options != NULL && options->direct_patches > 0)
    g_key_file_set_integer (file, "server", "direct-patches", options->direct_patches);
  if (options != NULL && options->use_xdelta3)
    g_key_file_set_boolean (file, "server", "use-xdelta3", TRUE);
  if (options != NULL && options->token_lifetime > 0)
    g_key_file_set_int64 (file, "server", "token-lifetime", options->token_lifetime);
  if (options != NULL && options->content_base_url != NULL)
    g_key_file_set_string (file, "server", "content-base-url", options->content_base_url);
  if (options != NULL && options->read_timeout > 0)
    g_key_file_set_integer (file, "server", "read-timeout", (int) options->read_timeout);
  if (!g_key_file_save_to_file (file, path, error))
    return NULL;
  return g_steal_pointer (&path);
}

/* Reads the "Listening on URL" line the server prints once it accepts connections. */
static gboolean
read_url (MistTestServer *server, GError **error)
{
  GInputStream *stdout_pipe = g_subprocess_get_stdout_pipe (server->process);
  g_autoptr (GDataInputStream) lines = g_data_input_stream_new (stdout_pipe);
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line (lines, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "mist-backend-stub exited before it listened (see its messages above)");
      return FALSE;
    }
  if (!g_str_has_prefix (line, "Listening on "))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "mist-backend-stub printed “%s” instead of “Listening on URL”", line);
      return FALSE;
    }
  server->url = g_strdup (line + strlen ("Listening on "));
  return TRUE;
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

MistTestServer *
mist_test_server_start (const MistTestServerOptions *options, GError **error)
{
  g_autoptr (MistTestServer) server = g_new0 (MistTestServer, 1);
  g_autofree char *binary = build_path ("mist-backend-stub");
  g_autofree char *mistpipe = build_path ("mistpipe");
  g_autofree char *config = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  gboolean new_data;

  if (!g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (mistpipe, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s or %s is missing: build the tree and set MIST_BUILD_ROOT", binary,
                   mistpipe);
      return NULL;
    }
  server->work_dir = g_dir_make_tmp ("mist-test-server-XXXXXX", error);
  if (server->work_dir == NULL)
    return NULL;
  server->config_home = g_build_filename (server->work_dir, "config", NULL);
  server->keep_data = options != NULL && options->data_dir != NULL;
  server->data_dir = server->keep_data ? g_strdup (options->data_dir)
                                       : g_build_filename (server->work_dir, "data", NULL);
  new_data = !g_file_test (server->data_dir, G_FILE_TEST_IS_DIR);
  if (new_data && !create_accounts (server->data_dir, error))
    return NULL;
  config = write_config (server, options, error);
  if (config == NULL)
    return NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* A test that aborts must not leave its server running (and holding the test's
   * standard error open, which keeps meson waiting). */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  if (options != NULL && options->log_file != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, options->log_file);
  server->process = g_subprocess_launcher_spawn (launcher, error, binary, "--config", config,
                                                 NULL);
  if (server->process == NULL || !read_url (server, error))
    return NULL;
  server->session = soup_session_new_with_options ("timeout", 60, NULL);
  return g_steal_pointer (&server);
}

gboolean
mist_test_server_stop (MistTestServer *server, GError **error)
{
  gboolean ok = TRUE;

  if (server->process != NULL)
    {
      g_subprocess_send_signal (server->process, SIGTERM);
      ok = g_subprocess_wait (server->process, NULL, error);
      if (ok && !(g_subprocess_get_if_exited (server->process) &&
                  g_subprocess_get_exit_status (server->process) == 0))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "mist-backend-stub did not exit cleanly on SIGTERM (wait status %d)",
                       g_subprocess_get_status (server->process));
          ok = FALSE;
        }
      g_clear_object (&server->process);
    }
  return ok;
}

void
mist_test_server_free (MistTestServer *server)
{
  if (server == NULL)
    return;
  if (server->process != NULL)
    {
      g_subprocess_force_exit (server->process);
      g_subprocess_wait (server->process, NULL, NULL);
      g_clear_object (&server->process);
    }
  if (server->work_dir != NULL)
    mist_test_remove_tree (server->work_dir);
  g_clear_object (&server->session);
  g_free (server->url);
  g_free (server->data_dir);
  g_free (server->config_home);
  g_free (server->work_dir);
  g_free (server);
}

const char *
mist_test_server_get_url (MistTestServer *server)
{
  return server->url;
}

const char *
mist_test_server_get_data_dir (MistTestServer *server)
{
  return server->data_dir;
}

SoupMessage *
mist_test_server_send_message (MistTestServer *server,
                               SoupMessage *message,
                               GBytes **reply,
                               GError **error)
{
  g_autoptr (GBytes) bytes = soup_session_send_and_read (server->session, message, NULL, error);

  if (bytes == NULL)
    return NULL;
  if (reply != NULL)
    *reply = g_steal_pointer (&bytes);
  return g_object_ref (message);
}

SoupMessage *
mist_test_server_send (MistTestServer *server,
                       const char *method,
                       const char *path,
                       const char *token,
                       const char *body,
                       GBytes **reply,
                       GError **error)
{
  g_autofree char *url = g_strconcat (server->url, path, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);

  if (message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Invalid URL %s", url);
      return NULL;
    }
  if (token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                    authorization);
    }
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  return mist_test_server_send_message (server, message, reply, error);
}

char *
mist_test_server_login (MistTestServer *server,
                        const char *name,
                        const char *password,
                        GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autofree char *body = NULL;
  JsonObject *object;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  message = mist_test_server_send (server, "POST", "/api/v1/auth/login", NULL, body, &reply,
                                   error);
  if (message == NULL)
    return NULL;
  if (soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "Login as %s failed: HTTP %u",
                   name, soup_message_get_status (message));
      return NULL;
    }
  answer = json_from_string (g_bytes_get_data (reply, NULL), error);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    return NULL;
  object = json_node_get_object (answer);
  return g_strdup (json_object_get_string_member_with_default (object, "token", NULL));
}

int
mist_test_server_run_mistpipe (MistTestServer *server,
                               const char *token,
                               const char *const *args,
                               const char *input,
                               char **output,
                               char **errors,
                               GError **error)
{
  g_autofree char *mistpipe = build_path ("mistpipe");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, mistpipe);
  g_ptr_array_add (argv, (gpointer) "--server");
  g_ptr_array_add (argv, server->url);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher
    = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", server->config_home, TRUE);
  if (token != NULL)
    g_subprocess_launcher_setenv (launcher, "MIST_TOKEN", token, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "MIST_TOKEN");
  process = spawn_with_input (launcher, (const char *const *)argv->pdata, input, error);
  if (process == NULL
      || !g_subprocess_communicate_utf8 (process, NULL, NULL, output, errors, error))
    return -1;
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
}

int
mist_test_server_run_mistpipe_offline (MistTestServer *server,
                                       const char *const *args,
                                       const char *input,
                                       GError **error)
{
  return run_offline (server->data_dir, args, input, error);
}

/* Returns TRUE when every patch set in the reply is ready or failed. */
static gboolean
patches_settled (GBytes *reply)
{
  g_autoptr (JsonNode) root = json_from_string (g_bytes_get_data (reply, NULL), NULL);
  JsonArray *patches;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  patches = json_object_get_array_member (json_node_get_object (root), "patches");
  for (guint i = 0; patches != NULL && i < json_array_get_length (patches); i++)
    {
      const char *state = json_object_get_string_member (
        json_array_get_object_element (patches, i), "state");

      if (g_strcmp0 (state, "pending") == 0 || g_strcmp0 (state, "running") == 0)
        return FALSE;
    }
  return patches != NULL;
}

gboolean
mist_test_server_wait_for_patches (MistTestServer *server,
                                   const char *token,
                                   const char *slug,
                                   guint timeout_seconds,
                                   GError **error)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/games/%s/patches", slug);
  gint64 deadline = g_get_monotonic_time () + timeout_seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (SoupMessage) message = NULL;
      g_autoptr (GBytes) reply = NULL;

      message = mist_test_server_send (server, "GET", path, token, NULL, &reply, error);
      if (message == NULL)
        return FALSE;
      if (soup_message_get_status (message) == SOUP_STATUS_OK && patches_settled (reply))
        return TRUE;
      g_usleep (50 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "The patch sets of %s were not built within %u s", slug, timeout_seconds);
  return FALSE;
}

gboolean
mist_test_server_wait_for_packs (MistTestServer *server,
                                 const char *token,
                                 const char *slug,
                                 gint64 ordinal,
                                 guint timeout_seconds,
                                 GError **error)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/games/%s/versions/%" G_GINT64_FORMAT
                                           "/manifest",
                                           slug, ordinal);
  gint64 deadline = g_get_monotonic_time () + timeout_seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (SoupMessage) message = NULL;
      g_autoptr (GBytes) reply = NULL;
      g_autoptr (JsonNode) root = NULL;

      message = mist_test_server_send (server, "GET", path, token, NULL, &reply, error);
      if (message == NULL)
        return FALSE;
      if (soup_message_get_status (message) == SOUP_STATUS_OK)
        {
          g_autofree char *text = g_strndup (g_bytes_get_data (reply, NULL),
                                             g_bytes_get_size (reply));

          root = json_from_string (text, NULL);
        }
      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
          json_object_has_member (json_node_get_object (root), "packs"))
        return TRUE;
      g_usleep (50 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "The packs of version %" G_GINT64_FORMAT " of %s were not written within %u s",
               ordinal, slug, timeout_seconds);
  return FALSE;
}

gboolean
mist_test_make_small_files_build (const char *out,
                                  guint n_files,
                                  const char *source,
                                  guint change_percent,
                                  GError **error)
{
  const char *source_root = g_getenv ("MIST_SOURCE_ROOT");
  g_autofree char *script = NULL;
  g_autofree char *files = g_strdup_printf ("%u", n_files);
  g_autofree char *percent = g_strdup_printf ("%u", change_percent);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;

  script = g_build_filename (source_root != NULL ? source_root : ".", "tests", "lib",
                             "make-small-files-build", NULL);
  g_ptr_array_add (argv, (char *) "python3");
  g_ptr_array_add (argv, script);
  g_ptr_array_add (argv, (char *) "--files");
  g_ptr_array_add (argv, files);
  if (source != NULL)
    {
      g_ptr_array_add (argv, (char *) "--from");
      g_ptr_array_add (argv, (char *) source);
      g_ptr_array_add (argv, (char *) "--change-percent");
      g_ptr_array_add (argv, percent);
    }
  g_ptr_array_add (argv, (char *) out);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_NONE, error);
  return process != NULL && g_subprocess_wait_check (process, NULL, error);
}
