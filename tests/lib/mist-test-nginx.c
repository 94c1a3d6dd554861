/* mist-test-nginx.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-test-nginx.h"
#include "mist-test-server.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define START_TIMEOUT_SECONDS 10
/* Ports tried before giving up, each picked free just before nginx starts. */
#define START_ATTEMPTS 5
#define LOG_TIMEOUT_SECONDS 10

/* Requests for these paths only mark a point in the access log. */
#define SYNC_PATH_PREFIX "/mist-test-sync-"

struct _MistTestNginx
{
  GSubprocess *process;
  char *prefix; /* nginx's prefix folder, removed by free */
  char *access_log;
  char *base_url;
  guint16 port;
  guint sync_serial;
};

static const char *
find_nginx (void)
{
  static const char *const candidates[] = { "/usr/sbin/nginx", "/usr/bin/nginx" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return candidates[i];
  return NULL;
}

/* The port is free when this returns, but another process may take it before nginx
 * binds it: mist_test_nginx_start() then tries another port. */
static guint16
find_free_port (GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, address, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSocketConnection *
connect_to_nginx (MistTestNginx *nginx, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  return g_socket_client_connect_to_host (client, "127.0.0.1", nginx->port, NULL, error);
}

/* mist_test_nginx_get_requests() relies on a single worker process. "user" matters only
 * when the test runs as root, where workers would otherwise switch to an account that
 * cannot read the private temporary folder. */
static gboolean
write_config (MistTestNginx *nginx, const char *content_dir, const char *path, GError **error)
{
  g_autofree char *config = NULL;

  config = g_strdup_printf ("user root root;\n"
                            "worker_processes 1;\n"
                            "events { worker_connections 64; }\n"
                            "http {\n"
                            "  log_format mist '$request_method $uri $status $http_range';\n"
                            "  access_log %1$s mist;\n"
                            "  client_body_temp_path %2$s/body;\n"
                            "  proxy_temp_path %2$s/proxy;\n"
                            "  fastcgi_temp_path %2$s/fastcgi;\n"
                            "  uwsgi_temp_path %2$s/uwsgi;\n"
                            "  scgi_temp_path %2$s/scgi;\n"
                            "  server {\n"
                            "    listen 127.0.0.1:%3$u;\n"
                            "    location /mist/ { alias %4$s/; }\n"
                            "  }\n"
                            "}\n",
                            nginx->access_log, nginx->prefix, nginx->port, content_dir);
  return g_file_set_contents (path, config, -1, error);
}

static gboolean
spawn_nginx (MistTestNginx *nginx, const char *binary, const char *config, GError **error)
{
  g_autofree char *error_log = g_build_filename (nginx->prefix, "error.log", NULL);
  g_autofree char *globals = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  globals = g_strdup_printf ("daemon off; master_process on; pid %s/nginx.pid; error_log %s;",
                             nginx->prefix, error_log);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  nginx->process = g_subprocess_launcher_spawn (launcher, error, binary, "-e", error_log, "-p",
                                                nginx->prefix, "-c", config, "-g", globals, NULL);
  return nginx->process != NULL;
}

/* Waits until nginx accepts connections on its port. A connection alone could reach
 * another process that took the port, so nginx's pid file must exist too: nginx writes it
 * only after it has bound its listening sockets. */
static gboolean
wait_until_listening (MistTestNginx *nginx, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_SECONDS * G_USEC_PER_SEC;
  g_autofree char *pid_file = g_build_filename (nginx->prefix, "nginx.pid", NULL);

  for (;;)
    {
      g_autoptr (GSocketConnection) connection = connect_to_nginx (nginx, NULL);

      if (connection != NULL && g_file_test (pid_file, G_FILE_TEST_EXISTS))
        return TRUE;
      /* The identifier is NULL once nginx has exited, after a configuration error. */
      if (g_subprocess_get_identifier (nginx->process) == NULL
          || g_get_monotonic_time () > deadline)
        break;
      g_usleep (20 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "nginx did not accept connections on 127.0.0.1:%u within %d s (see %s/error.log)",
               nginx->port, START_TIMEOUT_SECONDS, nginx->prefix);
  return FALSE;
}

MistTestNginx *
mist_test_nginx_start (const char *content_dir, GError **error)
{
  const char *binary = find_nginx ();
  g_autoptr (MistTestNginx) nginx = NULL;
  g_autofree char *config = NULL;

  if (binary == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "nginx is not installed (nginx-light, see build-aux/install-deps)");
      return NULL;
    }

  nginx = g_new0 (MistTestNginx, 1);
  nginx->prefix = g_dir_make_tmp ("mist-nginx-XXXXXX", error);
  if (nginx->prefix == NULL)
    return NULL;
  nginx->access_log = g_build_filename (nginx->prefix, "access.log", NULL);
  config = g_build_filename (nginx->prefix, "nginx.conf", NULL);

  for (guint attempt = 1;; attempt++)
    {
      g_autoptr (GError) start_error = NULL;

      nginx->port = find_free_port (error);
      if (nginx->port == 0 || !write_config (nginx, content_dir, config, error)
          || !spawn_nginx (nginx, binary, config, error))
        return NULL;
      if (wait_until_listening (nginx, &start_error))
        break;
      /* nginx exits when it cannot bind: another process took the port meanwhile. */
      if (g_subprocess_get_identifier (nginx->process) != NULL || attempt == START_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&start_error));
          return NULL;
        }
      g_debug ("nginx exited at start on port %u, trying another port", nginx->port);
      g_clear_object (&nginx->process);
    }
  nginx->base_url = g_strdup_printf ("http://127.0.0.1:%u/mist", nginx->port);
  return g_steal_pointer (&nginx);
}

void
mist_test_nginx_free (MistTestNginx *nginx)
{
  if (nginx->process != NULL)
    {
      g_subprocess_send_signal (nginx->process, SIGQUIT);
      g_subprocess_wait (nginx->process, NULL, NULL);
      g_object_unref (nginx->process);
    }
  if (nginx->prefix != NULL)
    mist_test_remove_tree (nginx->prefix);
  g_free (nginx->prefix);
  g_free (nginx->access_log);
  g_free (nginx->base_url);
  g_free (nginx);
}

const char *
mist_test_nginx_get_base_url (MistTestNginx *nginx)
{
  return nginx->base_url;
}

/* Sends GET path on a connection of its own and reads the response to its end. */
static gboolean
send_request (MistTestNginx *nginx, const char *path, GError **error)
{
  g_autoptr (GSocketConnection) connection = connect_to_nginx (nginx, error);
  g_autofree char *request = NULL;
  GOutputStream *output;
  GInputStream *input;
  char buffer[4096];
  gssize n;

  if (connection == NULL)
    return FALSE;
  request
    = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  if (!g_output_stream_write_all (output, request, strlen (request), NULL, NULL, error))
    return FALSE;
  input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, error)) > 0)
    ;
  return n == 0;
}

/* Reads the access log into *lines, or sets *lines to NULL when no line starts with
 * marker yet. */
static gboolean
read_log (MistTestNginx *nginx, const char *marker, GStrv *lines, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) all_lines = NULL;

  *lines = NULL;
  if (!g_file_get_contents (nginx->access_log, &contents, NULL, error))
    return FALSE;
  all_lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; all_lines[i] != NULL; i++)
    if (g_str_has_prefix (all_lines[i], marker))
      {
        *lines = g_steal_pointer (&all_lines);
        break;
      }
  return TRUE;
}

/* nginx logs a request when it finishes the response, in the same event handler as the
 * last write (ngx_http_writer() calls ngx_http_finalize_request() in nginx's
 * src/http/ngx_http_request.c). With a single worker process, that worker logs every
 * response a client has read before it reads the sync request. So once the sync request
 * is in the log, the earlier ones are there too. nginx logs the sync request itself only
 * after sending its response, so the log is read until it appears. */
GPtrArray *
mist_test_nginx_get_requests (MistTestNginx *nginx, GError **error)
{
  g_autofree char *sync_path = g_strdup_printf (SYNC_PATH_PREFIX "%u", ++nginx->sync_serial);
  g_autofree char *marker = g_strdup_printf ("GET %s ", sync_path);
  gint64 deadline = g_get_monotonic_time () + LOG_TIMEOUT_SECONDS * G_USEC_PER_SEC;
  g_auto (GStrv) lines = NULL;
  GPtrArray *requests;

  if (!send_request (nginx, sync_path, error))
    return NULL;
  for (;;)
    {
      if (!read_log (nginx, marker, &lines, error))
        return NULL;
      if (lines != NULL)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "nginx did not log the request for %s within %d s (see %s)", sync_path,
                       LOG_TIMEOUT_SECONDS, nginx->access_log);
          return NULL;
        }
      g_usleep (10 * 1000);
    }

  requests = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", 3);

      if (lines[i][0] == '\0' || g_strv_length (fields) < 2
          || g_str_has_prefix (fields[1], SYNC_PATH_PREFIX))
        continue;
      g_ptr_array_add (requests, g_strdup (lines[i]));
    }
  return requests;
}
