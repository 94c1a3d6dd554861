/* test-client.c: the API client against a real backend-stub, including TLS
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-client.h"
#include "mist-error.h"
#include "net-test-util.h"

#include <glib/gstdio.h>

typedef struct
{
  NetServer net;
  MistClient *client;
  gboolean started;
} Fixture;

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
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  fixture->client = mist_client_new (mist_test_server_get_url (fixture->net.server), NULL,
                                     &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->client);
  if (fixture->started)
    net_server_stop (&fixture->net);
}

static gboolean
login (Fixture *fixture, const char *name, const char *password, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mist_client_login_async (fixture->client, name, password, NULL, on_done, &result);
  return mist_client_login_finish (fixture->client, wait_for (&result), error);
}

static void
test_client_catalog (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) info_result = NULL;
  g_autoptr (GAsyncResult) games_result = NULL;
  g_autoptr (GAsyncResult) game_result = NULL;
  g_autoptr (GAsyncResult) manifest_result = NULL;
  g_autoptr (GAsyncResult) me_result = NULL;
  g_autoptr (MistServerInfo) info = NULL;
  g_autoptr (GPtrArray) games = NULL;
  g_autoptr (MistGameEntry) game = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (JsonObject) me = NULL;
  g_autofree char *build = NULL;
  g_autofree char *object_url = NULL;
  g_autofree char *authorization = NULL;
  const MistManifestFile *file;
  MistGameEntry *listed;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "v1", 3, 5000, 1);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", build);

  mist_client_get_server_info_async (fixture->client, NULL, on_done, &info_result);
  info = mist_client_get_server_info_finish (fixture->client, wait_for (&info_result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (info->api_version, ==, 1);
  g_assert_true (g_str_has_prefix (info->content_base_url,
                                   mist_test_server_get_url (fixture->net.server)));

  g_assert_true (login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mist_client_get_username (fixture->client), ==, MIST_TEST_USER_NAME);
  g_assert_nonnull (mist_client_get_token (fixture->client));

  mist_client_list_games_async (fixture->client, NULL, on_done, &games_result);
  games = mist_client_list_games_finish (fixture->client, wait_for (&games_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (games->len, ==, 1);
  listed = g_ptr_array_index (games, 0);
  g_assert_cmpstr (listed->slug, ==, "tetris");
  g_assert_nonnull (listed->latest);
  g_assert_cmpint (listed->latest->ordinal, ==, 1);
  g_assert_cmpstr (listed->latest->name, ==, "1.0");

  mist_client_get_game_async (fixture->client, "tetris", NULL, on_done, &game_result);
  game = mist_client_get_game_finish (fixture->client, wait_for (&game_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (game->versions->len, ==, 1);
  g_assert_nonnull (game->launch);

  mist_client_get_manifest_async (fixture->client, "tetris", 1, NULL, on_done,
                                  &manifest_result);
  manifest = mist_client_get_manifest_finish (fixture->client, wait_for (&manifest_result),
                                              &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_manifest_get_n_files (manifest), ==, 4);
  file = mist_manifest_lookup (manifest, "bin/game");
  g_assert_nonnull (file);
  g_assert_true (file->executable);
  g_assert_nonnull (file->object_id);
  g_assert_nonnull (mist_manifest_get_launch (manifest));

  /* Objects live under the content base of the same origin, so the token goes along. */
  object_url = mist_client_get_object_url (fixture->client, file->object_id);
  g_assert_true (g_str_has_prefix (object_url, info->content_base_url));
  authorization = mist_client_get_authorization_for (fixture->client, object_url);
  g_assert_nonnull (authorization);
  g_assert_null (mist_client_get_authorization_for (fixture->client,
                                                    "https://cdn.example.org/objects/ab/ab"));

  mist_client_get_me_async (fixture->client, NULL, on_done, &me_result);
  me = mist_client_get_me_finish (fixture->client, wait_for (&me_result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (me, "name"), ==, MIST_TEST_USER_NAME);
}

static void
test_client_wrong_password (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!fixture->started)
    return;
  g_assert_false (login (fixture, MIST_TEST_USER_NAME, "not-the-password", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED);
  g_assert_null (mist_client_get_token (fixture->client));
}

static void
test_client_rate_limited (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!fixture->started)
    return;
  /* The server allows 5 failed logins per user name within 15 minutes. */
  for (int i = 0; i < 5; i++)
    {
      g_assert_false (login (fixture, MIST_TEST_USER_NAME, "wrong-password", &error));
      g_assert_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED);
      g_clear_error (&error);
    }
  g_assert_false (login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_RATE_LIMITED);
  g_assert_cmpuint (mist_error_get_retry_after (error), >, 0);
  g_assert_true (mist_error_is_transient (error));
}

static void
on_token_rejected (MistClient *client, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_client_token_rejected (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) logout_result = NULL;
  g_autoptr (GAsyncResult) after_result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) me = NULL;
  guint rejected = 0;

  if (!fixture->started)
    return;
  g_signal_connect (fixture->client, "token-rejected", G_CALLBACK (on_token_rejected),
                    &rejected);

  mist_client_set_session (fixture->client, "player", "0000-not-a-token");
  mist_client_get_me_async (fixture->client, NULL, on_done, &result);
  me = mist_client_get_me_finish (fixture->client, wait_for (&result), &error);
  g_assert_null (me);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED);
  g_assert_cmpuint (rejected, ==, 1);
  g_assert_null (mist_client_get_token (fixture->client));
  g_clear_error (&error);

  /* After a logout the server no longer accepts the old token. */
  g_assert_true (login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, &error));
  g_assert_no_error (error);
  mist_client_logout_async (fixture->client, NULL, on_done, &logout_result);
  g_assert_true (mist_client_logout_finish (fixture->client, wait_for (&logout_result), &error));
  g_assert_no_error (error);
  g_assert_null (mist_client_get_token (fixture->client));
  mist_client_get_me_async (fixture->client, NULL, on_done, &after_result);
  g_assert_null (mist_client_get_me_finish (fixture->client, wait_for (&after_result), &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED);
}

static void
test_client_unknown_game (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) invalid_result = NULL;
  g_autoptr (GError) error = NULL;

  if (!fixture->started)
    return;
  g_assert_true (login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, &error));
  g_assert_no_error (error);

  mist_client_get_game_async (fixture->client, "no-such-game", NULL, on_done, &result);
  g_assert_null (mist_client_get_game_finish (fixture->client, wait_for (&result), &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_clear_error (&error);

  mist_client_get_game_async (fixture->client, "Not A Slug", NULL, on_done, &invalid_result);
  g_assert_null (mist_client_get_game_finish (fixture->client, wait_for (&invalid_result),
                                              &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "Not A Slug"));
}

static void
test_client_unreachable (void)
{
  g_autoptr (MistClient) client = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *url = NULL;

  /* A port that was just free and is closed again: nothing listens there. */
  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_listener_close (listener);

  client = mist_client_new (url, NULL, &error);
  g_assert_no_error (error);
  mist_client_get_server_info_async (client, NULL, on_done, &result);
  g_assert_null (mist_client_get_server_info_finish (client, wait_for (&result), &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_NETWORK);
  g_assert_true (mist_error_is_transient (error));
  g_assert_nonnull (strstr (error->message, url));
}

static void
test_client_invalid_url (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistClient) client = mist_client_new ("ftp://games.example.org", NULL, &error);

  g_assert_null (client);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "ftp://games.example.org"));
}

/* TLS with a certificate authority made for the test */

static gboolean
run_openssl (const char *folder, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, folder);
  process = g_subprocess_launcher_spawnv (launcher, args, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (process) && g_subprocess_get_exit_status (process) == 0;
}

/* Makes ca.pem and a server certificate server.pem / server.key for 127.0.0.1. */
static void
make_certificates (const char *folder)
{
  g_autofree char *extensions = g_build_filename (folder, "server.ext", NULL);
  const char *ca[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                       "-subj", "/CN=Mist Test CA", "-keyout", "ca.key", "-out", "ca.pem",
                       NULL };
  const char *request[] = { "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                            "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr",
                            NULL };
  const char *sign[] = { "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                         "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile",
                         "server.ext", "-out", "server.pem", NULL };

  g_assert_true (g_file_set_contents (extensions,
                                      "subjectAltName = IP:127.0.0.1\n"
                                      "extendedKeyUsage = serverAuth\n",
                                      -1, NULL));
  g_assert_true (run_openssl (folder, ca));
  g_assert_true (run_openssl (folder, request));
  g_assert_true (run_openssl (folder, sign));
}

static GSubprocess *
start_tls_server (const char *folder, char **url)
{
  g_autofree char *binary = g_build_filename (g_getenv ("MIST_BUILD_ROOT"), "backend-stub",
                                              "mist-backend-stub", NULL);
  g_autofree char *data = g_build_filename (folder, "data", NULL);
  g_autofree char *certificate = g_build_filename (folder, "server.pem", NULL);
  g_autofree char *key = g_build_filename (folder, "server.key", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GError) error = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, binary, "--data-dir", data,
                              "--listen", "127.0.0.1:0", "--tls-certificate", certificate,
                              "--tls-key", key, NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "Listening on https://"));
  *url = g_strdup (line + strlen ("Listening on "));
  return g_steal_pointer (&process);
}

static MistServerInfo *
fetch_info (const char *url, const char *ca_file, GError **error)
{
  g_autoptr (MistClient) client = mist_client_new (url, ca_file, error);
  g_autoptr (GAsyncResult) result = NULL;

  if (client == NULL)
    return NULL;
  mist_client_get_server_info_async (client, NULL, on_done, &result);
  return mist_client_get_server_info_finish (client, wait_for (&result), error);
}

static void
test_client_tls_extra_ca (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("mist-tls-XXXXXX", &error);
  g_autofree char *ca_file = g_build_filename (folder, "ca.pem", NULL);
  g_autofree char *url = NULL;
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (MistServerInfo) refused = NULL;
  g_autoptr (MistServerInfo) accepted = NULL;
  g_autofree char *wrong_host_url = NULL;
  g_autoptr (MistServerInfo) wrong_host = NULL;

  g_assert_no_error (error);
  if (g_find_program_in_path ("openssl") == NULL)
    {
      g_test_skip ("openssl is not installed");
      net_remove_tree (folder);
      return;
    }
  make_certificates (folder);
  server = start_tls_server (folder, &url);

  /* The system store does not contain the test CA: the error names the reason and no
   * request is sent. */
  refused = fetch_info (url, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "unknown certificate authority"));
  g_clear_error (&error);

  accepted = fetch_info (url, ca_file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (accepted);
  g_assert_cmpint (accepted->api_version, ==, 1);

  /* The extra CA does not excuse a certificate issued for another name: "localhost" is
   * the same server, but the certificate names only 127.0.0.1. */
  wrong_host_url = g_strdup_printf ("https://localhost:%s", strrchr (url, ':') + 1);
  wrong_host = fetch_info (wrong_host_url, ca_file, &error);
  g_assert_null (wrong_host);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CERTIFICATE);
  g_clear_error (&error);

  /* A CA file that does not exist is an error, not a silent fallback. */
  g_assert_null (fetch_info (url, "/nonexistent/ca.pem", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "/nonexistent/ca.pem"));

  g_subprocess_send_signal (server, SIGTERM);
  g_subprocess_wait (server, NULL, NULL);
  net_remove_tree (folder);
}

static void
add_test (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* TLS runs as its own meson test ("client-tls"): see tests/net/meson.build. */
  if (g_strcmp0 (g_getenv ("MIST_TEST_TLS"), "1") == 0)
    {
      g_test_add_func ("/net/client/tls-extra-ca", test_client_tls_extra_ca);
      return g_test_run ();
    }
  g_test_add_func ("/net/client/invalid-url", test_client_invalid_url);
  g_test_add_func ("/net/client/unreachable", test_client_unreachable);
  add_test ("/net/client/catalog", test_client_catalog);
  add_test ("/net/client/wrong-password", test_client_wrong_password);
  add_test ("/net/client/rate-limited", test_client_rate_limited);
  add_test ("/net/client/token-rejected", test_client_token_rejected);
  add_test ("/net/client/unknown-game", test_client_unknown_game);
  return g_test_run ();
}
