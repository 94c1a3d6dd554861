/* mist-backend-server.c: configuration, routing, the request life cycle and responses
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-admin-portal.h"
#include "mist-backend-password.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <string.h>

#define KIB 1024
#define MIB (1024 * 1024)

static const MistRoute routes[] = {
  { "GET", "/api/v1/server", MIST_ACCESS_ANYONE, 0, FALSE, mist_api_server_info },
  { "POST", "/api/v1/auth/login", MIST_ACCESS_ANYONE, 64 * KIB, FALSE, mist_api_login },
  { "POST", "/api/v1/auth/logout", MIST_ACCESS_USER, 64 * KIB, FALSE, mist_api_logout },
  { "GET", "/api/v1/me", MIST_ACCESS_USER, 0, FALSE, mist_api_me },
  { "POST", "/api/v1/me/password", MIST_ACCESS_USER, 64 * KIB, FALSE, mist_api_change_password },
  { "GET", "/api/v1/games", MIST_ACCESS_USER, 0, FALSE, mist_api_list_games },
  { "GET", "/api/v1/games/*", MIST_ACCESS_USER, 0, FALSE, mist_api_get_game },
  { "GET", "/api/v1/games/*/cover", MIST_ACCESS_USER, 0, FALSE, mist_api_get_cover },
  { "GET", "/api/v1/games/*/versions/*", MIST_ACCESS_USER, 0, FALSE, mist_api_get_version },
  { "GET", "/api/v1/games/*/versions/*/manifest", MIST_ACCESS_USER, 0, FALSE,
    mist_api_get_manifest },
  { "GET", "/api/v1/games/*/patches", MIST_ACCESS_USER, 0, FALSE, mist_api_list_patches },
  { "GET", "/api/v1/games/*/patches/*/*", MIST_ACCESS_USER, 0, FALSE, mist_api_get_patch_set },
  { "GET", "/api/v1/content/objects/*/*", MIST_ACCESS_USER, 0, FALSE, mist_api_get_object },
  { "HEAD", "/api/v1/content/objects/*/*", MIST_ACCESS_USER, 0, FALSE, mist_api_get_object },
  { "GET", "/api/v1/admin/users", MIST_ACCESS_ADMIN, 0, FALSE, mist_api_admin_list_users },
  { "POST", "/api/v1/admin/users", MIST_ACCESS_ADMIN, 64 * KIB, FALSE,
    mist_api_admin_create_user },
  { "PATCH", "/api/v1/admin/users/*", MIST_ACCESS_ADMIN, 64 * KIB, FALSE,
    mist_api_admin_update_user },
  { "POST", "/api/v1/admin/games", MIST_ACCESS_ADMIN, 1 * MIB, FALSE,
    mist_api_admin_create_game },
  { "PATCH", "/api/v1/admin/games/*", MIST_ACCESS_ADMIN, 1 * MIB, FALSE,
    mist_api_admin_update_game },
  { "PUT", "/api/v1/admin/games/*/cover", MIST_ACCESS_ADMIN, 8 * MIB, FALSE,
    mist_api_admin_put_cover },
  { "DELETE", "/api/v1/admin/games/*/cover", MIST_ACCESS_ADMIN, 0, FALSE,
    mist_api_admin_delete_cover },
  { "PUT", "/api/v1/admin/games/*/launch", MIST_ACCESS_ADMIN, 1 * MIB, FALSE,
    mist_api_admin_put_launch },
  { "POST", "/api/v1/admin/files/missing", MIST_ACCESS_ADMIN, 16 * MIB, FALSE,
    mist_api_admin_missing_files },
  { "PUT", "/api/v1/admin/files/*", MIST_ACCESS_ADMIN, 0, TRUE, mist_api_admin_put_file },
  { "POST", "/api/v1/admin/games/*/versions", MIST_ACCESS_ADMIN, 256 * MIB, FALSE,
    mist_api_admin_create_version },
  { "POST", "/api/v1/admin/games/*/patches/*/*/retry", MIST_ACCESS_ADMIN, 64 * KIB, FALSE,
    mist_api_admin_retry_patch_set },
};

/* Configuration */

void
mist_backend_config_init (MistBackendConfig *config)
{
  memset (config, 0, sizeof *config);
  config->direct_patches = -1;
  config->use_xdelta3 = -1;
  config->token_lifetime = -1;
  config->read_timeout = -1;
}

void
mist_backend_config_clear (MistBackendConfig *config)
{
  g_clear_pointer (&config->listen, g_free);
  g_clear_pointer (&config->data_dir, g_free);
  g_clear_pointer (&config->tls_certificate, g_free);
  g_clear_pointer (&config->tls_key, g_free);
  g_clear_pointer (&config->content_base_url, g_free);
}

static void
load_string (GKeyFile *file, const char *key, char **value)
{
  if (*value == NULL)
    *value = g_key_file_get_string (file, "server", key, NULL);
}

gboolean
mist_backend_config_load (MistBackendConfig *config, const char *path, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "Cannot read the configuration file %s: ", path);
      return FALSE;
    }
  load_string (file, "listen", &config->listen);
  load_string (file, "data-dir", &config->data_dir);
  load_string (file, "tls-certificate", &config->tls_certificate);
  load_string (file, "tls-key", &config->tls_key);
  load_string (file, "content-base-url", &config->content_base_url);

  if (config->direct_patches < 0 && g_key_file_has_key (file, "server", "direct-patches", NULL))
    {
      config->direct_patches = g_key_file_get_integer (file, "server", "direct-patches",
                                                       &local_error);
      if (local_error != NULL || config->direct_patches < 0 || config->direct_patches > 100)
        goto invalid;
    }
  if (config->use_xdelta3 < 0 && g_key_file_has_key (file, "server", "use-xdelta3", NULL))
    {
      config->use_xdelta3 = g_key_file_get_boolean (file, "server", "use-xdelta3",
                                                    &local_error);
      if (local_error != NULL)
        goto invalid;
    }
  if (config->token_lifetime < 0 && g_key_file_has_key (file, "server", "token-lifetime", NULL))
    {
      config->token_lifetime = g_key_file_get_int64 (file, "server", "token-lifetime",
                                                     &local_error);
      if (local_error != NULL || config->token_lifetime <= 0)
        goto invalid;
    }
  if (config->read_timeout < 0 && g_key_file_has_key (file, "server", "read-timeout", NULL))
    {
      config->read_timeout = g_key_file_get_integer (file, "server", "read-timeout",
                                                     &local_error);
      if (local_error != NULL || config->read_timeout <= 0 || config->read_timeout > 3600)
        goto invalid;
    }
  return TRUE;

invalid:
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
               "Invalid value in %s, group [server]: %s (direct-patches is an integer from 0 "
               "to 100, use-xdelta3 true or false, token-lifetime a positive number of seconds, "
               "read-timeout seconds from 1 to 3600)",
               path, local_error != NULL ? local_error->message : "out of range");
  return FALSE;
}

/* Routing */

/* Matches path against pattern and fills params with the "*" segments. */
static gboolean
match_pattern (const char *pattern, const char *path, char **params)
{
  g_auto (GStrv) pattern_parts = g_strsplit (pattern, "/", -1);
  g_auto (GStrv) path_parts = g_strsplit (path, "/", -1);
  guint n_params = 0;

  if (g_strv_length (pattern_parts) != g_strv_length (path_parts))
    return FALSE;
  for (guint i = 0; pattern_parts[i] != NULL; i++)
    {
      if (strcmp (pattern_parts[i], "*") == 0)
        {
          if (path_parts[i][0] == '\0')
            return FALSE;
          continue;
        }
      if (strcmp (pattern_parts[i], path_parts[i]) != 0)
        return FALSE;
    }

  for (guint i = 0; pattern_parts[i] != NULL; i++)
    if (strcmp (pattern_parts[i], "*") == 0 && n_params < MIST_ROUTE_MAX_PARAMS)
      params[n_params++] = g_strdup (path_parts[i]);
  return TRUE;
}

static void
find_route (MistRequest *request, const char *method, const char *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      char *params[MIST_ROUTE_MAX_PARAMS] = { NULL };

      if (!match_pattern (routes[i].pattern, path, params))
        continue;
      if (strcmp (routes[i].method, method) != 0)
        {
          request->method_mismatch = TRUE;
          for (guint j = 0; j < MIST_ROUTE_MAX_PARAMS; j++)
            g_free (params[j]);
          continue;
        }
      request->route = &routes[i];
      memcpy (request->params, params, sizeof params);
      return;
    }
}

static char *
allowed_methods (const char *path)
{
  g_autoptr (GString) allowed = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      char *params[MIST_ROUTE_MAX_PARAMS] = { NULL };

      if (!match_pattern (routes[i].pattern, path, params))
        continue;
      for (guint j = 0; j < MIST_ROUTE_MAX_PARAMS; j++)
        g_free (params[j]);
      if (allowed->len > 0)
        g_string_append (allowed, ", ");
      g_string_append (allowed, routes[i].method);
    }
  return g_string_free (g_steal_pointer (&allowed), FALSE);
}

/* Authentication */

static void
authenticate (MistRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token_hash = NULL;

  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return;
  token_hash = mist_backend_token_hash (authorization + 7);

  statement = mist_backend_db_prepare (
    request->server->db,
    "SELECT u.id, u.name, u.password_hash, u.is_admin, u.disabled, u.created_at, t.expires_at"
    " FROM tokens t JOIN users u ON u.id = t.user_id"
    " WHERE t.hash = ? AND t.expires_at > ? AND u.disabled = 0",
    &error);
  if (statement == NULL)
    {
      g_warning ("Cannot check a token: %s", error->message);
      return;
    }
  sqlite3_bind_text (statement, 1, token_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, mist_backend_now ());
  if (sqlite3_step (statement) != SQLITE_ROW)
    return;

  request->user = g_new0 (MistBackendUser, 1);
  request->user->id = sqlite3_column_int64 (statement, 0);
  request->user->name = mist_backend_db_column_dup (statement, 1);
  request->user->is_admin = sqlite3_column_int (statement, 3) != 0;
  request->user->created_at = sqlite3_column_int64 (statement, 5);
  request->token_expires_at = sqlite3_column_int64 (statement, 6);
  request->token_hash = g_steal_pointer (&token_hash);
}

gboolean
mist_request_is_admin (MistRequest *request)
{
  return request->user != NULL && request->user->is_admin;
}

/* The request life cycle: request-started → got-headers → got-chunk… → handler →
 * finished. Bodies are not accumulated by libsoup, so a body above the route's limit
 * costs no memory and an upload streams to disk. */

/* The read timeout closes a connection after read_timeout seconds without progress on its
 * request: a header block that never ends, TLS bytes on the plain HTTP port, or a body
 * that stops. It is a timer rather than g_socket_set_timeout, because libsoup 3.2.3 leaves
 * a kept-alive connection whose socket timed out open and never reads from it again.
 * NOTE: the timer starts with libsoup's "request-started". libsoup 3.2.3 emits it when a
 * connection is accepted, but on a kept-alive connection only once the next request's
 * first bytes arrive, so a kept-alive connection that sends nothing more stays open. */

static gboolean
on_read_timeout (gpointer user_data)
{
  MistRequest *request = user_data;
  GSocket *socket = soup_server_message_get_socket (request->message);

  request->read_timeout_id = 0;
  request->read_timed_out = TRUE;
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
disarm_read_timeout (MistRequest *request)
{
  g_clear_handle_id (&request->read_timeout_id, g_source_remove);
}

static void
arm_read_timeout (MistRequest *request)
{
  disarm_read_timeout (request);
  if (request->server->config.read_timeout > 0)
    request->read_timeout_id = g_timeout_add_seconds (
      (guint) request->server->config.read_timeout, on_read_timeout, request);
}

static void
on_got_body (SoupServerMessage *message, MistRequest *request)
{
  disarm_read_timeout (request);
}

static void
request_free (MistRequest *request)
{
  disarm_read_timeout (request);
  g_clear_object (&request->message);
  for (guint i = 0; i < MIST_ROUTE_MAX_PARAMS; i++)
    g_free (request->params[i]);
  mist_backend_user_free (request->user);
  g_free (request->token_hash);
  if (request->body != NULL)
    g_byte_array_unref (request->body);
  /* An upload still here was interrupted before its handler ran: keep what arrived. */
  if (request->upload != NULL)
    mist_backend_upload_keep_partial (request->upload);
  g_clear_error (&request->upload_error);
  g_free (request);
}

static void
on_got_headers (SoupServerMessage *message, MistRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  GUri *uri = soup_server_message_get_uri (message);
  goffset length = soup_message_headers_get_content_length (headers);

  soup_message_body_set_accumulate (soup_server_message_get_request_body (message), FALSE);
  find_route (request, soup_server_message_get_method (message), g_uri_get_path (uri));
  authenticate (request);
  if (request->route == NULL)
    return;

  if (request->route->streaming)
    {
      if (mist_request_is_admin (request))
        mist_api_admin_begin_file_upload (request);
      return;
    }
  if (length > 0 && (guint64) length > request->route->body_limit)
    request->body_too_large = TRUE;
  else
    request->body = g_byte_array_new ();
}

static void
on_got_chunk (SoupServerMessage *message, GBytes *chunk, MistRequest *request)
{
  gsize size = g_bytes_get_size (chunk);

  arm_read_timeout (request);
  if (request->upload != NULL)
    {
      mist_backend_upload_write (request->upload, g_bytes_get_data (chunk, NULL), size);
      return;
    }
  if (request->body == NULL)
    return;
  if (request->route == NULL || request->body->len + size > request->route->body_limit)
    {
      request->body_too_large = TRUE;
      g_clear_pointer (&request->body, g_byte_array_unref);
      return;
    }
  g_byte_array_append (request->body, g_bytes_get_data (chunk, NULL), (guint) size);
}

static void
on_wrote_headers (SoupServerMessage *message, MistRequest *request)
{
  request->status_sent = soup_server_message_get_status (message);
}

static void
on_wrote_body_data (SoupServerMessage *message, guint size, MistRequest *request)
{
  request->body_bytes_sent += size;
}

static void
on_wrote_body (SoupServerMessage *message, MistRequest *request)
{
  request->body_sent = TRUE;
}

/* Logs the request with the status sent. A client that closes the connection before the
 * whole response was written is logged as such, with the bytes it got, instead of the
 * status libsoup gives the interrupted message. */
static void
on_finished (SoupServerMessage *message, MistRequest *request)
{
  GUri *uri = soup_server_message_get_uri (message);
  gint64 elapsed_us = g_get_monotonic_time () - request->started_us;
  g_autofree char *outcome = NULL;

  disarm_read_timeout (request);
  if (soup_server_message_get_method (message) == NULL)
    {
      /* Nothing of a request arrived: an idle kept-alive connection closed. */
      g_debug ("Closed an idle connection%s", request->read_timed_out ? " after the read timeout"
                                                                      : "");
      g_clear_object (&request->message);
      return;
    }
  if (request->read_timed_out)
    outcome = g_strdup_printf ("no response, closed after %d s without a complete request,",
                               request->server->config.read_timeout);
  else if (request->body_sent)
    outcome = g_strdup_printf ("%u", request->status_sent);
  else if (request->status_sent != 0)
    outcome = g_strdup_printf ("%u, client went away after %" G_GOFFSET_FORMAT
                               " bytes of the body,",
                               request->status_sent, request->body_bytes_sent);
  else
    outcome = g_strdup ("no response, client went away,");
  g_message ("%s %s %s %.1f ms%s%s", soup_server_message_get_method (message),
             uri != NULL ? g_uri_get_path (uri) : "?", outcome, elapsed_us / 1000.0,
             request->user != NULL ? " user=" : "",
             request->user != NULL ? request->user->name : "");
  /* Breaks the reference cycle message → request → message. A handler still working in
   * a thread finds request->message NULL and drops its reply. */
  g_clear_object (&request->message);
}

static void
on_request_started (SoupServer *soup, SoupServerMessage *message, MistBackendServer *server)
{
  MistRequest *request = g_new0 (MistRequest, 1);

  request->server = server;
  request->message = g_object_ref (message);
  request->started_us = g_get_monotonic_time ();
  arm_read_timeout (request);
  g_object_set_data_full (G_OBJECT (message), "mist-request", request,
                          (GDestroyNotify) request_free);
  g_signal_connect (message, "got-headers", G_CALLBACK (on_got_headers), request);
  g_signal_connect (message, "got-chunk", G_CALLBACK (on_got_chunk), request);
  g_signal_connect (message, "got-body", G_CALLBACK (on_got_body), request);
  g_signal_connect (message, "wrote-headers", G_CALLBACK (on_wrote_headers), request);
  g_signal_connect (message, "wrote-body-data", G_CALLBACK (on_wrote_body_data), request);
  g_signal_connect (message, "wrote-body", G_CALLBACK (on_wrote_body), request);
  g_signal_connect (message, "finished", G_CALLBACK (on_finished), request);
}

static void
handle_request (SoupServer *soup,
                SoupServerMessage *message,
                const char *path,
                GHashTable *query,
                gpointer user_data)
{
  MistRequest *request = g_object_get_data (G_OBJECT (message), "mist-request");

  if (request->route == NULL && request->method_mismatch)
    {
      g_autofree char *allowed = allowed_methods (path);

      soup_message_headers_replace (soup_server_message_get_response_headers (message), "Allow",
                                    allowed);
      mist_request_respond_error (request, SOUP_STATUS_METHOD_NOT_ALLOWED, "invalid-data",
                                  "The method %s is not allowed on %s; use %s",
                                  soup_server_message_get_method (message), path, allowed);
      return;
    }
  if (request->route == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                  "No such route: %s", path);
      return;
    }
  if (request->route->access != MIST_ACCESS_ANYONE && request->user == NULL)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                    "WWW-Authenticate", "Bearer realm=\"mist\"");
      mist_request_respond_error (request, SOUP_STATUS_UNAUTHORIZED, "auth-required",
                                  "Log in first: this route needs a valid bearer token");
      return;
    }
  if (request->route->access == MIST_ACCESS_ADMIN && !request->user->is_admin)
    {
      mist_request_respond_error (request, SOUP_STATUS_FORBIDDEN, "forbidden",
                                  "Only admins may use %s", path);
      return;
    }
  if (request->body_too_large)
    {
      mist_request_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large",
                                  "The request body is larger than this route's limit of %"
                                  G_GSIZE_FORMAT " bytes", request->route->body_limit);
      return;
    }
  request->route->handler (request);
}

/* Responses */

void
mist_request_respond_json (MistRequest *request, guint status, JsonNode *root)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  gsize length;
  char *data;

  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &length);
  soup_server_message_set_status (request->message, status, NULL);
  soup_server_message_set_response (request->message, "application/json", SOUP_MEMORY_TAKE, data,
                                    length);
}

void
mist_request_respond_builder (MistRequest *request, guint status, JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  mist_request_respond_json (request, status, root);
}

void
mist_request_respond_error (MistRequest *request,
                            guint status,
                            const char *code,
                            const char *format,
                            ...)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, status, builder);
}

void
mist_request_respond_gerror (MistRequest *request, const GError *error)
{
  guint status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
  const char *code = "server-error";

  if (error->domain == MIST_ERROR)
    {
      switch ((MistError) error->code)
        {
        case MIST_ERROR_INVALID_DATA:
        case MIST_ERROR_UNSUPPORTED:
          status = SOUP_STATUS_BAD_REQUEST;
          code = "invalid-data";
          break;
        case MIST_ERROR_INVALID_PATH:
          status = SOUP_STATUS_BAD_REQUEST;
          code = "invalid-path";
          break;
        case MIST_ERROR_CHECKSUM_MISMATCH:
          status = SOUP_STATUS_UNPROCESSABLE_ENTITY;
          code = "checksum-mismatch";
          break;
        case MIST_ERROR_TOO_LARGE:
          status = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
          code = "too-large";
          break;
        case MIST_ERROR_NOT_FOUND:
          status = SOUP_STATUS_NOT_FOUND;
          code = "not-found";
          break;
        case MIST_ERROR_CONFLICT:
          status = SOUP_STATUS_CONFLICT;
          code = "conflict";
          break;
        default:
          break;
        }
    }
  if (status == SOUP_STATUS_INTERNAL_SERVER_ERROR)
    g_warning ("%s %s failed: %s", soup_server_message_get_method (request->message),
               g_uri_get_path (soup_server_message_get_uri (request->message)), error->message);
  mist_request_respond_error (request, status, code, "%s", error->message);
}

void
mist_request_respond_no_content (MistRequest *request, guint status)
{
  soup_server_message_set_status (request->message, status, NULL);
}

void
mist_request_respond_not_found (MistRequest *request)
{
  mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found", "Not found: %s",
                              g_uri_get_path (soup_server_message_get_uri (request->message)));
}

JsonObject *
mist_request_parse_object (MistRequest *request, JsonParser **parser_out)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  if (request->body == NULL || request->body->len == 0)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The request needs a JSON object as its body");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) request->body->data,
                                   (gssize) request->body->len, &error))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The body is not valid JSON: %s", error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The body must be a JSON object");
      return NULL;
    }
  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

static gboolean
wrong_type (MistRequest *request, const char *member, const char *expected)
{
  mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                              "The member “%s” must be %s", member, expected);
  return FALSE;
}

gboolean
mist_request_get_string (MistRequest *request,
                         JsonObject *object,
                         const char *member,
                         const char **value)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (request, member, "a string");
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
mist_request_get_boolean (MistRequest *request, JsonObject *object, const char *member,
                          int *value)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (request, member, "true or false");
  *value = json_node_get_boolean (node) ? 1 : 0;
  return TRUE;
}

/* Server */

static void
log_first_start (MistBackendServer *server)
{
  g_autoptr (GError) error = NULL;
  gint64 count = mist_backend_db_count_users (server->db, &error);

  if (count != 0)
    return;
  g_message ("No accounts exist yet. Create the first admin with:\n"
             "  mistpipe --data-dir %s user add --admin NAME\n"
             "(it reads the password from the terminal, or from standard input)",
             server->config.data_dir);
}

static gboolean parse_listen (const char *listen, char **host, guint16 *port, GError **error);

MistBackendServer *
mist_backend_server_new (const MistBackendConfig *config, GError **error)
{
  g_autoptr (MistBackendServer) server = g_new0 (MistBackendServer, 1);
  g_autofree char *host = NULL;
  guint16 port;

  /* Checked before anything is created in the data folder. */
  if (!parse_listen (config->listen, &host, &port, error))
    return NULL;

  server->config = *config;
  server->config.listen = g_strdup (config->listen);
  server->config.data_dir = g_strdup (config->data_dir);
  server->config.tls_certificate = g_strdup (config->tls_certificate);
  server->config.tls_key = g_strdup (config->tls_key);
  server->config.content_base_url = g_strdup (config->content_base_url);

  server->store = mist_backend_store_new (config->data_dir, TRUE, error);
  if (server->store == NULL)
    return NULL;
  server->db = mist_backend_db_open (config->data_dir, TRUE, error);
  if (server->db == NULL)
    return NULL;
  /* Verified when a login names no user, so that costs as much as a wrong password. */
  server->dummy_hash = mist_backend_password_hash ("mist-no-such-user", error);
  if (server->dummy_hash == NULL)
    return NULL;
  server->patcher = mist_backend_patcher_new (config->data_dir, config->direct_patches,
                                              config->use_xdelta3, error);
  if (server->patcher == NULL)
    return NULL;

  server->soup = soup_server_new ("server-header", "mist-backend-stub/" MIST_VERSION " ", NULL);
  if (config->tls_certificate != NULL)
    {
      g_autoptr (GTlsCertificate) certificate = NULL;

      certificate = g_tls_certificate_new_from_files (
        config->tls_certificate,
        config->tls_key != NULL ? config->tls_key : config->tls_certificate, error);
      if (certificate == NULL)
        {
          g_prefix_error (error, "Cannot load the TLS certificate %s: ", config->tls_certificate);
          return NULL;
        }
      soup_server_set_tls_certificate (server->soup, certificate);
    }
  g_signal_connect (server->soup, "request-started", G_CALLBACK (on_request_started), server);
  soup_server_add_handler (server->soup, NULL, handle_request, server, NULL);
  mist_admin_portal_add_handlers (server->soup, NULL);
  log_first_start (server);
  return g_steal_pointer (&server);
}

static gboolean
parse_listen (const char *listen, char **host, guint16 *port, GError **error)
{
  const char *colon = strrchr (listen, ':');
  guint64 number;
  g_autofree char *address = NULL;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &number, NULL))
    goto invalid;
  address = g_strndup (listen, (gsize) (colon - listen));
  if (address[0] == '[' && address[strlen (address) - 1] == ']')
    {
      char *inner = g_strndup (address + 1, strlen (address) - 2);

      g_free (address);
      address = inner;
    }
  if (!g_hostname_is_ip_address (address))
    goto invalid;
  *host = g_steal_pointer (&address);
  *port = (guint16) number;
  return TRUE;

invalid:
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
               "Invalid listen address “%s”: expected IP:PORT, such as 127.0.0.1:8780 or "
               "[::1]:8780",
               listen);
  return FALSE;
}

char *
mist_backend_server_listen (MistBackendServer *server, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  GSList *uris;
  guint16 port;
  SoupServerListenOptions options = 0;
  g_autofree char *url = NULL;

  if (!parse_listen (server->config.listen, &host, &port, error))
    return NULL;
  address = g_inet_socket_address_new_from_string (host, port);
  if (server->config.tls_certificate != NULL)
    options |= SOUP_SERVER_LISTEN_HTTPS;
  if (!soup_server_listen (server->soup, address, options, error))
    {
      g_prefix_error (error, "Cannot listen on %s: ", server->config.listen);
      return NULL;
    }

  uris = soup_server_get_uris (server->soup);
  if (uris != NULL)
    {
      GUri *uri = uris->data;

      url = g_strdup_printf ("%s://%s%s%s:%d", g_uri_get_scheme (uri),
                             strchr (host, ':') != NULL ? "[" : "", host,
                             strchr (host, ':') != NULL ? "]" : "", g_uri_get_port (uri));
    }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  server->base_url = g_strdup (url);
  return g_steal_pointer (&url);
}

void
mist_backend_server_free (MistBackendServer *server)
{
  if (server == NULL)
    return;
  if (server->soup != NULL)
    soup_server_disconnect (server->soup);
  g_clear_object (&server->soup);
  g_clear_pointer (&server->patcher, mist_backend_patcher_free);
  g_clear_pointer (&server->db, mist_backend_db_close);
  g_clear_pointer (&server->store, mist_backend_store_free);
  g_free (server->dummy_hash);
  g_free (server->base_url);
  mist_backend_config_clear (&server->config);
  g_free (server);
}
