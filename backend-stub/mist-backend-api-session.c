/* mist-backend-api-session.c: server information, login, logout and the current user
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-backend-password.h"

#include <string.h>

/* Failed logins allowed per window, by user name and by client address. */
#define LOGIN_WINDOW_SECONDS (15 * 60)
#define LOGIN_MAX_FAILURES_PER_USER 5
#define LOGIN_MAX_FAILURES_PER_ADDRESS 20

void
mist_api_server_info (MistRequest *request)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *content_base = NULL;

  if (request->server->config.content_base_url != NULL)
    content_base = g_strdup (request->server->config.content_base_url);
  else
    {
      SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
      GUri *uri = soup_server_message_get_uri (request->message);
      const char *host = soup_message_headers_get_one (headers, "Host");

      content_base = host != NULL
                       ? g_strdup_printf ("%s://%s/api/v1/content", g_uri_get_scheme (uri), host)
                       : g_strdup_printf ("%s/api/v1/content", request->server->base_url);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "api_version");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "server");
  json_builder_add_string_value (builder, "mist-backend-stub");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, MIST_VERSION);
  json_builder_set_member_name (builder, "content_base_url");
  json_builder_add_string_value (builder, content_base);
  json_builder_set_member_name (builder, "delta_formats");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "zstd");
  if (request->server->config.use_xdelta3)
    json_builder_add_string_value (builder, "vcdiff");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

static void
add_user_member (JsonBuilder *builder, const char *name, gboolean is_admin)
{
  json_builder_set_member_name (builder, "user");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "is_admin");
  json_builder_add_boolean_value (builder, is_admin);
  json_builder_end_object (builder);
}

/* Rate limiting */

static char *
failure_key (const char *kind, const char *value)
{
  g_autofree char *folded = g_ascii_strdown (value, -1);

  return g_strconcat (kind, ":", folded, NULL);
}

/* Failure counts live in the database, so a restart does not give an attacker a fresh
 * window. A failed statement is logged and lets the login through, since the password
 * check still applies. */

/* Returns the seconds to wait before key may try again, or 0. */
static gint64
failure_wait (MistBackendServer *server, const char *key, guint limit)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  gint64 now = mist_backend_now ();
  gint64 window_start;
  gint64 count;

  statement = mist_backend_db_prepare (server->db,
                                       "SELECT window_start, count FROM login_failures"
                                       " WHERE key = ?",
                                       &error);
  if (statement == NULL)
    {
      g_warning ("Cannot read the failed logins of %s: %s", key, error->message);
      return 0;
    }
  sqlite3_bind_text (statement, 1, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) != SQLITE_ROW)
    return 0;
  window_start = sqlite3_column_int64 (statement, 0);
  count = sqlite3_column_int64 (statement, 1);
  if (now - window_start >= LOGIN_WINDOW_SECONDS || count < (gint64) limit)
    return 0;
  return MAX (window_start + LOGIN_WINDOW_SECONDS - now, 1);
}

/* Counts a failure of key in its window, starting a new window when the last one ended,
 * and drops the rows of ended windows so guessed user names do not pile up. */
static void
record_failure (MistBackendServer *server, const char *key)
{
  g_autoptr (sqlite3_stmt) expire = NULL;
  g_autoptr (sqlite3_stmt) upsert = NULL;
  g_autoptr (GError) error = NULL;
  gint64 now = mist_backend_now ();

  expire = mist_backend_db_prepare (server->db,
                                    "DELETE FROM login_failures WHERE window_start <= ?",
                                    &error);
  if (expire != NULL)
    {
      sqlite3_bind_int64 (expire, 1, now - LOGIN_WINDOW_SECONDS);
      mist_backend_db_step_done (server->db, expire, &error);
    }
  if (error == NULL)
    upsert = mist_backend_db_prepare (
      server->db,
      "INSERT INTO login_failures (key, window_start, count) VALUES (?1, ?2, 1)"
      " ON CONFLICT (key) DO UPDATE SET"
      "  count = CASE WHEN ?2 - window_start >= ?3 THEN 1 ELSE count + 1 END,"
      "  window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END",
      &error);
  if (upsert != NULL)
    {
      sqlite3_bind_text (upsert, 1, key, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (upsert, 2, now);
      sqlite3_bind_int64 (upsert, 3, LOGIN_WINDOW_SECONDS);
      mist_backend_db_step_done (server->db, upsert, &error);
    }
  if (error != NULL)
    g_warning ("Cannot count a failed login of %s: %s", key, error->message);
}

static const char *
client_address (MistRequest *request)
{
  const char *host = soup_server_message_get_remote_host (request->message);

  return host != NULL ? host : "unknown";
}

/* Responds 429 and returns TRUE when the user name or the client address is blocked. */
static gboolean
respond_if_rate_limited (MistRequest *request, const char *username)
{
  g_autofree char *user_key = failure_key ("user", username);
  g_autofree char *address_key = failure_key ("address", client_address (request));
  gint64 wait = MAX (failure_wait (request->server, user_key, LOGIN_MAX_FAILURES_PER_USER),
                     failure_wait (request->server, address_key, LOGIN_MAX_FAILURES_PER_ADDRESS));
  g_autofree char *seconds = NULL;

  if (wait == 0)
    return FALSE;
  seconds = g_strdup_printf ("%" G_GINT64_FORMAT, wait);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->message),
                                "Retry-After", seconds);
  g_message ("Login for “%s” from %s blocked for %" G_GINT64_FORMAT " s after failed attempts",
             username, client_address (request), wait);
  mist_request_respond_error (request, 429, "rate-limited",
                              g_dngettext (GETTEXT_PACKAGE,
                                           "Too many failed logins: try again in %" G_GINT64_FORMAT
                                           " second",
                                           "Too many failed logins: try again in %" G_GINT64_FORMAT
                                           " seconds",
                                           (gulong) wait),
                              wait);
  return TRUE;
}

static void
record_login_failure (MistRequest *request, const char *username)
{
  g_autofree char *user_key = failure_key ("user", username);
  g_autofree char *address_key = failure_key ("address", client_address (request));

  record_failure (request->server, user_key);
  record_failure (request->server, address_key);
}

static void
clear_login_failures (MistRequest *request, const char *username)
{
  g_autofree char *user_key = failure_key ("user", username);
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (request->server->db,
                                       "DELETE FROM login_failures WHERE key = ?", &error);
  if (statement != NULL)
    {
      sqlite3_bind_text (statement, 1, user_key, -1, SQLITE_TRANSIENT);
      mist_backend_db_step_done (request->server->db, statement, &error);
    }
  if (error != NULL)
    g_warning ("Cannot clear the failed logins of %s: %s", user_key, error->message);
}

/* Password checks run in a GTask thread, so one argon2id verification (tens of
 * milliseconds and 19 MiB) does not stall other requests. */

typedef struct
{
  SoupServerMessage *message; /* owned: keeps the request alive while paused */
  char *username;
  char *password;
  char *encoded;  /* the user's hash, or the dummy hash */
  char *new_password;
  char *new_encoded; /* result of hashing new_password */
  gboolean verified;
  GError *error;
} PasswordCheck;

static void
password_check_free (PasswordCheck *check)
{
  g_clear_object (&check->message);
  g_free (check->username);
  if (check->password != NULL)
    memset (check->password, 0, strlen (check->password));
  g_free (check->password);
  if (check->new_password != NULL)
    memset (check->new_password, 0, strlen (check->new_password));
  g_free (check->new_password);
  g_free (check->encoded);
  g_free (check->new_encoded);
  g_clear_error (&check->error);
  g_free (check);
}

static void
password_check_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PasswordCheck *check = data;

  check->verified = mist_backend_password_verify (check->encoded, check->password);
  if (check->verified && check->new_password != NULL)
    check->new_encoded = mist_backend_password_hash (check->new_password, &check->error);
  g_task_return_boolean (task, TRUE);
}

static void
run_password_check (MistRequest *request, PasswordCheck *check, GAsyncReadyCallback callback)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, check);

  check->message = g_object_ref (request->message);
  g_task_set_task_data (task, check, (GDestroyNotify) password_check_free);
  soup_server_message_pause (request->message);
  g_task_run_in_thread (task, password_check_thread);
}

/* Returns the request of a paused message, or NULL when the client went away. */
static MistRequest *
resume_request (SoupServerMessage *message)
{
  MistRequest *request = g_object_get_data (G_OBJECT (message), "mist-request");

  soup_server_message_unpause (message);
  if (request == NULL || request->message == NULL)
    return NULL;
  return request;
}

static gboolean
insert_token (MistRequest *request, gint64 user_id, char **token, gint64 *expires_at,
              GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *new_token = mist_backend_token_new (error);
  g_autofree char *hash = NULL;
  gint64 now = mist_backend_now ();

  if (new_token == NULL)
    return FALSE;
  hash = mist_backend_token_hash (new_token);
  statement = mist_backend_db_prepare (request->server->db,
                                       "INSERT INTO tokens (hash, user_id, created_at, expires_at)"
                                       " VALUES (?, ?, ?, ?)",
                                       error);
  if (statement == NULL)
    return FALSE;
  *expires_at = now + request->server->config.token_lifetime;
  sqlite3_bind_text (statement, 1, hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, user_id);
  sqlite3_bind_int64 (statement, 3, now);
  sqlite3_bind_int64 (statement, 4, *expires_at);
  if (!mist_backend_db_step_done (request->server->db, statement, error))
    return FALSE;
  *token = g_steal_pointer (&new_token);
  return TRUE;
}

static void
respond_login_failed (MistRequest *request, const char *username)
{
  record_login_failure (request, username);
  g_message ("Failed login for “%s” from %s", username, client_address (request));
  mist_request_respond_error (request, SOUP_STATUS_UNAUTHORIZED, "auth-required",
                              "Wrong user name or password");
}

static void
login_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PasswordCheck *check = g_task_get_task_data (G_TASK (result));
  /* Released here, on the main thread: the task, and with it check, may be freed on
   * the worker thread, and libsoup's objects must not be finalized there. */
  g_autoptr (SoupServerMessage) message = g_steal_pointer (&check->message);
  MistRequest *request = resume_request (message);
  g_autoptr (MistBackendUser) user = NULL;
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *expires = NULL;
  gint64 expires_at;

  if (request == NULL)
    return;
  /* Looked up again: the user may have been disabled while the hash was checked. */
  user = mist_backend_db_lookup_user (request->server->db, check->username, &error);
  if (error != NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  if (!check->verified || user == NULL || user->disabled)
    {
      respond_login_failed (request, check->username);
      return;
    }
  if (!insert_token (request, user->id, &token, &expires_at, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  clear_login_failures (request, check->username);
  expires = mist_backend_format_time (expires_at);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_string_value (builder, expires);
  add_user_member (builder, user->name, user->is_admin);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

void
mist_api_login (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (MistBackendUser) user = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  const char *username = NULL;
  const char *password = NULL;
  PasswordCheck *check;

  if (body == NULL || !mist_request_get_string (request, body, "username", &username) ||
      !mist_request_get_string (request, body, "password", &password))
    return;
  if (username == NULL || password == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "Log in with both “username” and “password”");
      return;
    }
  if (respond_if_rate_limited (request, username))
    return;

  user = mist_backend_db_lookup_user (request->server->db, username, &error);
  if (error != NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  check = g_new0 (PasswordCheck, 1);
  check->username = g_strdup (username);
  check->password = g_strdup (password);
  check->encoded = g_strdup (user != NULL ? user->password_hash : request->server->dummy_hash);
  run_password_check (request, check, login_checked);
}

void
mist_api_logout (MistRequest *request)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (request->server->db, "DELETE FROM tokens WHERE hash = ?",
                                       &error);
  if (statement != NULL)
    {
      sqlite3_bind_text (statement, 1, request->token_hash, -1, SQLITE_TRANSIENT);
      mist_backend_db_step_done (request->server->db, statement, &error);
    }
  if (error != NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  mist_request_respond_no_content (request, SOUP_STATUS_NO_CONTENT);
}

void
mist_api_me (MistRequest *request)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *expires = mist_backend_format_time (request->token_expires_at);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, request->user->name);
  json_builder_set_member_name (builder, "is_admin");
  json_builder_add_boolean_value (builder, request->user->is_admin);
  json_builder_set_member_name (builder, "token_expires_at");
  json_builder_add_string_value (builder, expires);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

static void
password_changed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PasswordCheck *check = g_task_get_task_data (G_TASK (result));
  /* Released here, on the main thread: the task, and with it check, may be freed on
   * the worker thread, and libsoup's objects must not be finalized there. */
  g_autoptr (SoupServerMessage) message = g_steal_pointer (&check->message);
  MistRequest *request = resume_request (message);
  g_autoptr (GError) error = NULL;

  if (request == NULL)
    return;
  if (!check->verified)
    {
      record_login_failure (request, check->username);
      mist_request_respond_error (request, SOUP_STATUS_UNAUTHORIZED, "auth-required",
                                  "The current password is wrong");
      return;
    }
  if (check->error != NULL)
    {
      mist_request_respond_gerror (request, check->error);
      return;
    }
  if (!mist_backend_db_update_user (request->server->db, request->user->id, check->new_encoded,
                                    -1, -1, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  g_message ("User “%s” changed their password; their tokens are revoked", check->username);
  mist_request_respond_no_content (request, SOUP_STATUS_NO_CONTENT);
}

void
mist_api_change_password (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (MistBackendUser) user = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  const char *current = NULL;
  const char *new_password = NULL;
  PasswordCheck *check;

  if (body == NULL || !mist_request_get_string (request, body, "current_password", &current) ||
      !mist_request_get_string (request, body, "new_password", &new_password))
    return;
  if (current == NULL || new_password == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "Send both “current_password” and “new_password”");
      return;
    }
  if (!mist_backend_password_check (new_password, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  if (respond_if_rate_limited (request, request->user->name))
    return;
  user = mist_backend_db_lookup_user (request->server->db, request->user->name, &error);
  if (user == NULL)
    {
      if (error != NULL)
        mist_request_respond_gerror (request, error);
      else
        mist_request_respond_not_found (request);
      return;
    }

  check = g_new0 (PasswordCheck, 1);
  check->username = g_strdup (user->name);
  check->password = g_strdup (current);
  check->new_password = g_strdup (new_password);
  check->encoded = g_strdup (user->password_hash);
  run_password_check (request, check, password_changed);
}
