/* test-nginx.c: the data folder's objects served by a real nginx, as a content base URL
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * nginx runs without root: its prefix, configuration, pid file, logs and temporary
 * folders are all in the test's folder, and it listens on a loopback port.
 */
#include "backend-test-util.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

typedef struct
{
  BackendFixture base;
  char *root;      /* contains the server's data folder and nginx's prefix */
  char *data_dir;
  char *base_url;  /* content base URL on nginx */
  GSubprocess *nginx;
  char *object_id;
  GBytes *object;
} NginxFixture;

static const char *
find_nginx (void)
{
  static const char *const candidates[] = { "/usr/sbin/nginx", "/usr/bin/nginx" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return candidates[i];
  return NULL;
}

static guint16
free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
nginx_answers (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return connection != NULL;
}

static void
start_nginx (NginxFixture *fixture, const char *nginx, guint16 port)
{
  g_autofree char *prefix = g_build_filename (fixture->root, "nginx", NULL);
  g_autofree char *conf = g_build_filename (prefix, "nginx.conf", NULL);
  g_autofree char *error_log = g_build_filename (prefix, "error.log", NULL);
  g_autofree char *globals = NULL;
  g_autofree char *config = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  gint64 deadline;

  g_assert_cmpint (g_mkdir_with_parents (prefix, 0755), ==, 0);
  /* "user" matters only when the test runs as root, where workers would otherwise
   * switch to an account that cannot read the private temporary folder. */
  config = g_strdup_printf ("user root root;\n"
                            "worker_processes 1;\n"
                            "events { worker_connections 64; }\n"
                            "http {\n"
                            "  access_log off;\n"
                            "  client_body_temp_path %1$s/body;\n"
                            "  proxy_temp_path %1$s/proxy;\n"
                            "  fastcgi_temp_path %1$s/fastcgi;\n"
                            "  uwsgi_temp_path %1$s/uwsgi;\n"
                            "  scgi_temp_path %1$s/scgi;\n"
                            "  server {\n"
                            "    listen 127.0.0.1:%2$u;\n"
                            "    location /mist/ { alias %3$s/content/; }\n"
                            "  }\n"
                            "}\n",
                            prefix, port, fixture->data_dir);
  g_file_set_contents (conf, config, -1, &error);
  g_assert_no_error (error);
  globals = g_strdup_printf ("daemon off; master_process on; pid %s/nginx.pid; error_log %s;",
                             prefix, error_log);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fixture->nginx = g_subprocess_launcher_spawn (launcher, &error, nginx, "-e", error_log, "-p",
                                                prefix, "-c", conf, "-g", globals, NULL);
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!nginx_answers (port))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
}

static void
nginx_setup (NginxFixture *fixture, gconstpointer data)
{
  const char *nginx = find_nginx ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) content = pseudo_random_bytes (50000, 11);
  g_autofree char *build = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  MistTestServerOptions options = { 0 };
  guint16 port;

  if (nginx == NULL)
    return;
  fixture->root = g_dir_make_tmp ("mist-nginx-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->data_dir = g_build_filename (fixture->root, "data", NULL);
  port = free_port ();
  fixture->base_url = g_strdup_printf ("http://127.0.0.1:%u/mist", port);
  start_nginx (fixture, nginx, port);

  options.data_dir = fixture->data_dir;
  options.content_base_url = fixture->base_url;
  backend_fixture_setup (&fixture->base, &options);
  build = g_build_filename (fixture->base.work_dir, "v1", NULL);
  write_build_file (build, "game.bin", g_bytes_get_data (content, NULL),
                    g_bytes_get_size (content), TRUE);
  create_game (&fixture->base, "served", TRUE);
  push_build (&fixture->base, "served", "1.0", build);
  manifest = get_json (&fixture->base, fixture->base.user_token,
                       "/api/v1/games/served/versions/1/manifest", SOUP_STATUS_OK);
  fixture->object_id = g_strdup (manifest_object_id (manifest, "game.bin"));
  fixture->object = read_stored_object (&fixture->base, fixture->object_id);
}

static void
nginx_teardown (NginxFixture *fixture, gconstpointer data)
{
  if (fixture->root == NULL)
    return;
  backend_fixture_teardown (&fixture->base);
  if (fixture->nginx != NULL)
    {
      g_subprocess_send_signal (fixture->nginx, SIGQUIT);
      g_subprocess_wait (fixture->nginx, NULL, NULL);
      g_clear_object (&fixture->nginx);
    }
  mist_test_remove_tree (fixture->root);
  g_free (fixture->root);
  g_free (fixture->data_dir);
  g_free (fixture->base_url);
  g_free (fixture->object_id);
  g_bytes_unref (fixture->object);
}

static gboolean
skip_without_nginx (NginxFixture *fixture)
{
  if (fixture->root != NULL)
    return FALSE;
  g_test_skip ("nginx is not installed (nginx-light, see build-aux/install-deps)");
  return TRUE;
}

/* GETs or HEADs the object from nginx with one extra header (or none). */
static SoupMessage *
fetch (NginxFixture *fixture, const char *method, const char *header, const char *value,
       GBytes **reply)
{
  g_autofree char *url = g_strdup_printf ("%s/objects/%.2s/%s", fixture->base_url,
                                          fixture->object_id, fixture->object_id);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  SoupMessage *sent;

  if (header != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), header, value);
  sent = mist_test_server_send_message (fixture->base.server, message, reply, &error);
  g_assert_no_error (error);
  return sent;
}

static void
test_nginx_advertised_base (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (JsonNode) info = NULL;

  if (skip_without_nginx (fixture))
    return;
  info = get_json (&fixture->base, NULL, "/api/v1/server", SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info),
                                                  "content_base_url"),
                   ==, fixture->base_url);
}

static void
test_nginx_whole_object (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = NULL;

  if (skip_without_nginx (fixture))
    return;
  message = fetch (fixture, "GET", NULL, NULL, &reply);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  g_assert_true (g_bytes_equal (reply, fixture->object));
}

static void
test_nginx_ranges (NginxFixture *fixture, gconstpointer data)
{
  gsize size;
  g_autoptr (GBytes) middle = NULL;
  g_autoptr (GBytes) suffix = NULL;
  g_autoptr (GBytes) beyond_reply = NULL;
  g_autoptr (GBytes) head_reply = NULL;
  g_autoptr (GBytes) multi_reply = NULL;
  g_autoptr (SoupMessage) first = NULL;
  g_autoptr (SoupMessage) last = NULL;
  g_autoptr (SoupMessage) beyond = NULL;
  g_autoptr (SoupMessage) head = NULL;
  g_autoptr (SoupMessage) multi = NULL;
  g_autofree char *beyond_range = NULL;
  const guint8 *data_bytes;

  if (skip_without_nginx (fixture))
    return;
  size = g_bytes_get_size (fixture->object);
  data_bytes = g_bytes_get_data (fixture->object, NULL);

  first = fetch (fixture, "GET", "Range", "bytes=10-19", &middle);
  g_assert_cmpuint (soup_message_get_status (first), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpmem (g_bytes_get_data (middle, NULL), g_bytes_get_size (middle), data_bytes + 10,
                   10);

  last = fetch (fixture, "GET", "Range", "bytes=-300", &suffix);
  g_assert_cmpuint (soup_message_get_status (last), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpmem (g_bytes_get_data (suffix, NULL), g_bytes_get_size (suffix),
                   data_bytes + size - 300, 300);

  beyond_range = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-", size);
  beyond = fetch (fixture, "GET", "Range", beyond_range, &beyond_reply);
  g_assert_cmpuint (soup_message_get_status (beyond), ==,
                    SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);

  head = fetch (fixture, "HEAD", NULL, NULL, &head_reply);
  g_assert_cmpuint (soup_message_get_status (head), ==, SOUP_STATUS_OK);
  g_assert_cmpint (soup_message_headers_get_content_length (
                     soup_message_get_response_headers (head)),
                   ==, (goffset) size);
  g_assert_cmpuint (g_bytes_get_size (head_reply), ==, 0);

  multi = fetch (fixture, "GET", "Range", "bytes=0-9,500-509", &multi_reply);
  g_assert_cmpuint (soup_message_get_status (multi), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (multi),
                                                          NULL),
                   ==, "multipart/byteranges");
  g_assert_nonnull (memmem (g_bytes_get_data (multi_reply, NULL), g_bytes_get_size (multi_reply),
                            data_bytes + 500, 10));
}

static void
test_nginx_if_range (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GBytes) stale_reply = NULL;
  g_autoptr (SoupMessage) plain = NULL;
  g_autoptr (SoupMessage) matching = NULL;
  g_autoptr (SoupMessage) stale = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;
  const char *etag;

  if (skip_without_nginx (fixture))
    return;
  plain = fetch (fixture, "HEAD", NULL, NULL, &whole);
  etag = soup_message_headers_get_one (soup_message_get_response_headers (plain), "ETag");
  g_assert_nonnull (etag);

  url = g_strdup_printf ("%s/objects/%.2s/%s", fixture->base_url, fixture->object_id,
                         fixture->object_id);
  matching = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (matching), "Range",
                                "bytes=100-199");
  soup_message_headers_replace (soup_message_get_request_headers (matching), "If-Range", etag);
  g_object_unref (mist_test_server_send_message (fixture->base.server, matching, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (matching), ==, SOUP_STATUS_PARTIAL_CONTENT);

  stale = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (stale), "Range",
                                "bytes=100-199");
  soup_message_headers_replace (soup_message_get_request_headers (stale), "If-Range",
                                "\"stale-etag\"");
  g_object_unref (mist_test_server_send_message (fixture->base.server, stale, &stale_reply,
                                                 &error));
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (stale), ==, SOUP_STATUS_OK);
  g_assert_true (g_bytes_equal (stale_reply, fixture->object));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, NginxFixture, NULL, nginx_setup, function, nginx_teardown)
  ADD ("/backend/nginx/advertised-base", test_nginx_advertised_base);
  ADD ("/backend/nginx/whole-object", test_nginx_whole_object);
  ADD ("/backend/nginx/ranges", test_nginx_ranges);
  ADD ("/backend/nginx/if-range", test_nginx_if_range);
#undef ADD

  return g_test_run ();
}
