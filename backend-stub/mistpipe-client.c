/* mistpipe-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mistpipe-client.h"
#include "mist-config.h"
#include "mist-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void
mistpipe_clear (Mistpipe *pipe)
{
  g_clear_pointer (&pipe->server, g_free);
  g_clear_pointer (&pipe->token, g_free);
  g_clear_pointer (&pipe->data_dir, g_free);
  g_clear_object (&pipe->session);
}

char *
mistpipe_session_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "mist", "mistpipe-token", NULL);
}

gboolean
mistpipe_save_session (const char *server, const char *token, GError **error)
{
  g_autofree char *path = mistpipe_session_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *data = NULL;
  gsize length;
  FILE *stream;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  g_key_file_set_string (file, "session", "server", server);
  g_key_file_set_string (file, "session", "token", token);
  data = g_key_file_to_data (file, &length, NULL);

  /* Created with mode 0600 before anything is written, so the token is never readable
   * by others. */
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod (fd, 0600) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot write %s: %s", path,
                   g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  stream = fdopen (fd, "w");
  if (stream == NULL || fwrite (data, 1, length, stream) != length || fclose (stream) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write %s", path);
      return FALSE;
    }
  return TRUE;
}

void
mistpipe_load_session (Mistpipe *pipe)
{
  g_autofree char *path = mistpipe_session_path ();
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *server = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    return;
  server = g_key_file_get_string (file, "session", "server", NULL);
  if (server == NULL)
    return;
  if (pipe->server == NULL)
    pipe->server = g_strdup (server);
  /* A token belongs to the server it came from. */
  if (pipe->token == NULL && strcmp (pipe->server, server) == 0)
    pipe->token = g_key_file_get_string (file, "session", "token", NULL);
}

gboolean
mistpipe_forget_session (GError **error)
{
  g_autofree char *path = mistpipe_session_path ();

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot remove %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
mistpipe_check_server_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (uri == NULL || host == NULL || host[0] == '\0' || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid server URL “%s”: use http://HOST:PORT or https://HOST:PORT, such "
                   "as http://127.0.0.1:8780",
                   url);
      return FALSE;
    }
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "Unsupported scheme “%s” in the server URL “%s”: use http:// or https://",
                   scheme, url);
      return FALSE;
    }
  return TRUE;
}

gboolean
mistpipe_require_login (Mistpipe *pipe, GError **error)
{
  if (pipe->server == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED,
                   "No server given: pass --server URL (or set MIST_SERVER), then run "
                   "“mistpipe --server URL login”");
      return FALSE;
    }
  if (pipe->token == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED,
                   "Not logged in to %s: run “mistpipe --server %s login” (or set MIST_TOKEN)",
                   pipe->server, pipe->server);
      return FALSE;
    }
  return TRUE;
}

static MistError
error_code_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return MIST_ERROR_AUTH_REQUIRED;
    case SOUP_STATUS_FORBIDDEN:
      return MIST_ERROR_FORBIDDEN;
    case SOUP_STATUS_NOT_FOUND:
      return MIST_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
      return MIST_ERROR_CONFLICT;
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
      return MIST_ERROR_TOO_LARGE;
    case SOUP_STATUS_UNPROCESSABLE_ENTITY:
      return MIST_ERROR_CHECKSUM_MISMATCH;
    case 429:
      return MIST_ERROR_RATE_LIMITED;
    default:
      return status >= 500 ? MIST_ERROR_SERVER_ERROR : MIST_ERROR_INVALID_DATA;
    }
}

gboolean
mistpipe_check_reply (SoupMessage *message, GBytes *bytes, JsonNode **reply, GError **error)
{
  guint status = soup_message_get_status (message);
  gsize length = bytes != NULL ? g_bytes_get_size (bytes) : 0;
  g_autoptr (JsonNode) root = NULL;

  /* The body has no terminating NUL, so it is parsed by its length. */
  if (length > 0)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), (gssize)length, NULL))
        root = json_parser_steal_root (parser);
    }
  if (status >= 400)
    {
      JsonObject *object = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                             ? json_node_get_object (root)
                             : NULL;
      JsonObject *detail = object != NULL ? json_object_get_object_member (object, "error")
                                          : NULL;
      const char *text = detail != NULL ? json_object_get_string_member_with_default (
                                            detail, "message", NULL)
                                        : NULL;

      g_set_error (error, MIST_ERROR, error_code_for_status (status), "%s (HTTP %u)",
                   text != NULL ? text : soup_message_get_reason_phrase (message), status);
      return FALSE;
    }
  if (reply != NULL)
    *reply = g_steal_pointer (&root);
  return TRUE;
}

/* Seconds the plain HTTP probe waits for a reply. Loopback and LAN servers reply in
 * milliseconds, so this leaves room for a slow link. */
#define TLS_CHECK_TIMEOUT 10

/* Returns TRUE when host:port responds to a plain HTTP request with an HTTP status line. */
static gboolean
speaks_plain_http (const char *host, guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autofree char *request = g_strdup_printf ("HEAD /api/v1/server HTTP/1.0\r\nHost: %s\r\n\r\n",
                                              host);
  char reply[5];
  gsize length = 0;

  g_socket_client_set_timeout (client, TLS_CHECK_TIMEOUT);
  connection = g_socket_client_connect_to_host (client, host, port, NULL, NULL);
  if (connection == NULL ||
      !g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  request, strlen (request), NULL, NULL, NULL) ||
      !g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)), reply,
                                sizeof reply, &length, NULL, NULL))
    return FALSE;
  return length == sizeof reply && memcmp (reply, "HTTP/", sizeof reply) == 0;
}

/* Explains a failed request to an https URL: when the port speaks plain HTTP, error is
 * replaced by a message that names the http:// URL. A plain HTTP server cannot answer the
 * TLS handshake, so the request fails once the server's read timeout closes the
 * connection. The probe sends plain HTTP only, so it needs no TLS of its own. */
static void
explain_tls_failure (const char *server, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (server, G_URI_FLAGS_NONE, NULL);
  g_autofree char *plain = NULL;
  guint16 port;

  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 ||
      error == NULL || *error == NULL)
    return;
  if ((*error)->domain != G_TLS_ERROR &&
      !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) &&
      !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) &&
      !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return;
  port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 443;
  if (!speaks_plain_http (g_uri_get_host (uri), port))
    return;
  plain = g_strconcat ("http://", server + strlen ("https://"), NULL);
  g_clear_error (error);
  g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
               "%s answers in plain HTTP, not HTTPS: use --server %s", server, plain);
}

static SoupMessage *
new_message (Mistpipe *pipe, const char *method, const char *path, GError **error)
{
  g_autofree char *url = g_strconcat (pipe->server, path, NULL);
  SoupMessage *message = soup_message_new (method, url);

  if (message == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid server URL “%s”: use http://HOST:PORT or https://HOST", pipe->server);
      return NULL;
    }
  if (pipe->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", pipe->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                    authorization);
    }
  if (pipe->session == NULL)
    pipe->session = soup_session_new_with_options ("timeout", 600, "user-agent",
                                                   "mistpipe/" MIST_VERSION, NULL);
  return message;
}

gboolean
mistpipe_call_bytes (Mistpipe *pipe,
                     const char *method,
                     const char *path,
                     const char *content_type,
                     GBytes *body,
                     JsonNode **reply,
                     GError **error)
{
  g_autoptr (SoupMessage) message = new_message (pipe, method, path, error);
  g_autoptr (GBytes) bytes = NULL;

  if (message == NULL)
    return FALSE;
  if (body != NULL)
    soup_message_set_request_body_from_bytes (message, content_type, body);
  bytes = soup_session_send_and_read (pipe->session, message, NULL, error);
  if (bytes == NULL)
    {
      explain_tls_failure (pipe->server, error);
      g_prefix_error (error, "Cannot reach %s: ", pipe->server);
      return FALSE;
    }
  return mistpipe_check_reply (message, bytes, reply, error);
}

gboolean
mistpipe_call (Mistpipe *pipe,
               const char *method,
               const char *path,
               JsonNode *body,
               JsonNode **reply,
               GError **error)
{
  g_autoptr (GBytes) bytes = NULL;

  if (body != NULL)
    {
      gsize length;
      char *data = json_to_string (body, FALSE);

      length = strlen (data);
      bytes = g_bytes_new_take (data, length);
    }
  return mistpipe_call_bytes (pipe, method, path, "application/json", bytes, reply, error);
}

static char *
read_line (FILE *stream)
{
  g_autoptr (GString) line = g_string_new (NULL);
  int c;

  while ((c = fgetc (stream)) != EOF && c != '\n')
    g_string_append_c (line, (char) c);
  if (c == EOF && line->len == 0)
    return NULL;
  if (line->len > 0 && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static char *
prompt_hidden (const char *prompt)
{
  struct termios saved;
  struct termios hidden;
  char *line;

  fprintf (stderr, "%s", prompt);
  fflush (stderr);
  tcgetattr (STDIN_FILENO, &saved);
  hidden = saved;
  hidden.c_lflag &= ~(tcflag_t) ECHO;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &hidden);
  line = read_line (stdin);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
  fprintf (stderr, "\n");
  return line;
}

char *
mistpipe_read_password (const char *prompt, gboolean confirm, GError **error)
{
  g_autofree char *password = NULL;
  g_autofree char *again = NULL;

  if (!isatty (STDIN_FILENO))
    {
      password = read_line (stdin);
      if (password == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "No password on standard input: send it as one line");
          return NULL;
        }
      return g_steal_pointer (&password);
    }

  password = prompt_hidden (prompt);
  if (password == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "No password entered");
      return NULL;
    }
  if (!confirm)
    return g_steal_pointer (&password);
  again = prompt_hidden ("Repeat the password: ");
  if (again == NULL || strcmp (again, password) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The two passwords differ: nothing was changed");
      return NULL;
    }
  return g_steal_pointer (&password);
}

char *
mistpipe_format_size (guint64 bytes)
{
  return g_format_size (bytes);
}
