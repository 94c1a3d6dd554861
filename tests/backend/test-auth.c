/* test-auth.c: logins, rate limiting, token expiry and revocation, stored password hashes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include <sqlite3.h>
#include <string.h>

static char *
login_body (const char *name, const char *password)
{
  return g_strdup_printf ("{\"username\": \"%s\", \"password\": \"%s\"}", name, password);
}

/* Sends a login and returns the message; reply gets the body. */
static SoupMessage *
send_login (BackendFixture *fixture, const char *name, const char *password, GBytes **reply)
{
  g_autofree char *body = login_body (name, password);
  g_autoptr (GError) error = NULL;
  SoupMessage *message;

  message = mist_test_server_send (fixture->server, "POST", "/api/v1/auth/login", NULL, body,
                                   reply, &error);
  g_assert_no_error (error);
  return message;
}

static char *
error_message (GBytes *reply)
{
  g_autoptr (JsonNode) root = json_from_string (g_bytes_get_data (reply, NULL), NULL);
  JsonObject *detail;

  g_assert_nonnull (root);
  detail = json_object_get_object_member (json_node_get_object (root), "error");
  g_assert_nonnull (detail);
  g_assert_cmpstr (json_object_get_string_member (detail, "code"), ==, "auth-required");
  return g_strdup (json_object_get_string_member (detail, "message"));
}

static void
add_user (BackendFixture *fixture, const char *name, const char *password)
{
  const char *args[] = { "user", "add", name, NULL };
  g_autofree char *input = g_strconcat (password, "\n", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, args,
                                                  input, NULL, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
}

static void
setup (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_setup (fixture, data);
}

static void
teardown (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_teardown (fixture);
}

static void
test_auth_login_and_me (BackendFixture *fixture, gconstpointer data)
{
  g_autoptr (JsonNode) me = get_json (fixture, fixture->user_token, "/api/v1/me", SOUP_STATUS_OK);
  g_autoptr (JsonNode) admin = get_json (fixture, fixture->admin_token, "/api/v1/me",
                                         SOUP_STATUS_OK);

  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (me), "name"), ==,
                   MIST_TEST_USER_NAME);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (me), "is_admin"));
  g_assert_true (json_object_get_boolean_member (json_node_get_object (admin), "is_admin"));
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", NULL, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", "not-a-token", NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
}

/* Returns the shortest of three timings of a failed login, in microseconds: the minimum
 * is what the work costs, without the delays a busy machine adds. Three failures stay
 * under the server's limit of five per user name. */
static gint64
time_failed_login (BackendFixture *fixture, const char *username, SoupMessage **message,
                   GBytes **reply)
{
  gint64 shortest = G_MAXINT64;

  for (int i = 0; i < 3; i++)
    {
      gint64 start = g_get_monotonic_time ();

      g_clear_object (message);
      g_clear_pointer (reply, g_bytes_unref);
      *message = send_login (fixture, username, "not-the-password", reply);
      shortest = MIN (shortest, g_get_monotonic_time () - start);
    }
  return shortest;
}

/* A wrong password and an unknown user get the same response after similar work. */
static void
test_auth_wrong_password_unknown_user (BackendFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) wrong_reply = NULL;
  g_autoptr (GBytes) unknown_reply = NULL;
  g_autoptr (SoupMessage) wrong = NULL;
  g_autoptr (SoupMessage) unknown = NULL;
  g_autofree char *wrong_message = NULL;
  g_autofree char *unknown_message = NULL;
  gint64 wrong_us;
  gint64 unknown_us;

  wrong_us = time_failed_login (fixture, MIST_TEST_USER_NAME, &wrong, &wrong_reply);
  unknown_us = time_failed_login (fixture, "nobody-here", &unknown, &unknown_reply);

  g_assert_cmpuint (soup_message_get_status (wrong), ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (soup_message_get_status (unknown), ==, SOUP_STATUS_UNAUTHORIZED);
  wrong_message = error_message (wrong_reply);
  unknown_message = error_message (unknown_reply);
  g_assert_cmpstr (wrong_message, ==, unknown_message);
  /* Both verify an argon2id hash; a shortcut for unknown users would take far less. */
  g_assert_cmpint (unknown_us * 3, >, wrong_us);
}

static void
test_auth_rate_limit (BackendFixture *fixture, gconstpointer data)
{
  g_autoptr (SoupMessage) blocked = NULL;
  g_autoptr (SoupMessage) other = NULL;
  const char *retry_after;

  add_user (fixture, "target", "target-password");
  for (int i = 0; i < 5; i++)
    {
      g_autoptr (SoupMessage) failed = send_login (fixture, "target", "guess", NULL);

      g_assert_cmpuint (soup_message_get_status (failed), ==, SOUP_STATUS_UNAUTHORIZED);
    }

  /* Blocked even with the right password, and the response gives the seconds to wait. */
  blocked = send_login (fixture, "target", "target-password", NULL);
  g_assert_cmpuint (soup_message_get_status (blocked), ==, 429);
  retry_after = soup_message_headers_get_one (soup_message_get_response_headers (blocked),
                                              "Retry-After");
  g_assert_nonnull (retry_after);
  g_assert_cmpint (g_ascii_strtoll (retry_after, NULL, 10), >, 0);
  g_assert_cmpint (g_ascii_strtoll (retry_after, NULL, 10), <=, 15 * 60);

  /* Other user names from the same address still log in. */
  other = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (other), ==, SOUP_STATUS_OK);
}

/* Replaces the fixture's server with one on data_dir, which outlives it. */
static void
restart_on (BackendFixture *fixture, const char *data_dir)
{
  MistTestServerOptions options = { .data_dir = data_dir };
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_test_server_stop (fixture->server, &error));
  g_assert_no_error (error);
  g_clear_pointer (&fixture->server, mist_test_server_free);
  fixture->server = mist_test_server_start (&options, &error);
  g_assert_no_error (error);
}

/* Failed logins count across a restart of the server, within their window. */
static void
test_auth_rate_limit_survives_restart (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *data_dir = g_build_filename (fixture->work_dir, "server-data", NULL);
  g_autoptr (SoupMessage) blocked = NULL;

  restart_on (fixture, data_dir);
  for (int i = 0; i < 5; i++)
    {
      g_autoptr (SoupMessage) failed = send_login (fixture, MIST_TEST_USER_NAME, "guess", NULL);

      g_assert_cmpuint (soup_message_get_status (failed), ==, SOUP_STATUS_UNAUTHORIZED);
    }
  restart_on (fixture, data_dir);

  blocked = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (blocked), ==, 429);
  g_assert_nonnull (soup_message_headers_get_one (soup_message_get_response_headers (blocked),
                                                  "Retry-After"));
}

static void
test_auth_rate_limit_per_address (BackendFixture *fixture, gconstpointer data)
{
  g_autoptr (SoupMessage) blocked = NULL;

  /* 20 failures spread over user names that are each below their own limit. */
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("guess%d", i % 5);
      g_autoptr (SoupMessage) failed = send_login (fixture, name, "guess", NULL);

      g_assert_cmpuint (soup_message_get_status (failed), ==, SOUP_STATUS_UNAUTHORIZED);
    }
  blocked = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (blocked), ==, 429);
}

static void
test_auth_logout_revokes (BackendFixture *fixture, gconstpointer data)
{
  g_assert_cmpuint (send_status (fixture, "POST", "/api/v1/auth/logout", fixture->user_token,
                                 NULL),
                    ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", fixture->user_token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", fixture->admin_token, NULL), ==,
                    SOUP_STATUS_OK);
}

static void
test_auth_password_change_revokes (BackendFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/admin/users/%s", MIST_TEST_USER_NAME);
  g_autofree char *token = NULL;
  g_autoptr (SoupMessage) old_password = NULL;

  g_assert_cmpuint (send_status (fixture, "PATCH", path, fixture->admin_token,
                                 "{\"password\": \"brand-new-password\"}"),
                    ==, SOUP_STATUS_OK);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", fixture->user_token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
  old_password = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (old_password), ==, SOUP_STATUS_UNAUTHORIZED);
  token = mist_test_server_login (fixture->server, MIST_TEST_USER_NAME, "brand-new-password",
                                  &error);
  g_assert_no_error (error);

  /* The user's own change needs the current password and revokes its tokens too. */
  g_assert_cmpuint (send_status (fixture, "POST", "/api/v1/me/password", token,
                                 "{\"current_password\": \"wrong-password\","
                                 " \"new_password\": \"another-password\"}"),
                    ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (send_status (fixture, "POST", "/api/v1/me/password", token,
                                 "{\"current_password\": \"brand-new-password\","
                                 " \"new_password\": \"another-password\"}"),
                    ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
}

static void
test_auth_disabled_user (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/admin/users/%s", MIST_TEST_USER_NAME);
  g_autoptr (SoupMessage) login = NULL;

  g_assert_cmpuint (send_status (fixture, "PATCH", path, fixture->admin_token,
                                 "{\"disabled\": true}"),
                    ==, SOUP_STATUS_OK);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/games", fixture->user_token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
  login = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (login), ==, SOUP_STATUS_UNAUTHORIZED);

  g_assert_cmpuint (send_status (fixture, "PATCH", path, fixture->admin_token,
                                 "{\"disabled\": false}"),
                    ==, SOUP_STATUS_OK);
  g_clear_object (&login);
  login = send_login (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL);
  g_assert_cmpuint (soup_message_get_status (login), ==, SOUP_STATUS_OK);

  /* An admin cannot lock itself out. */
  g_assert_cmpuint (send_status (fixture, "PATCH", "/api/v1/admin/users/" MIST_TEST_ADMIN_NAME,
                                 fixture->admin_token, "{\"disabled\": true}"),
                    ==, SOUP_STATUS_CONFLICT);
}

/* Three seconds, so that a busy machine still checks the fresh token before expiry. */
static const MistTestServerOptions short_tokens = { .token_lifetime = 3 };

static void
test_auth_expired_token (BackendFixture *fixture, gconstpointer data)
{
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", fixture->user_token, NULL), ==,
                    SOUP_STATUS_OK);
  /* Expiry has a resolution of one second: after four, the token is past it. */
  g_usleep (4100 * 1000);
  g_assert_cmpuint (send_status (fixture, "GET", "/api/v1/me", fixture->user_token, NULL), ==,
                    SOUP_STATUS_UNAUTHORIZED);
}

static void
test_auth_argon2id_parameters (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (mist_test_server_get_data_dir (fixture->server),
                                            "mist.sqlite3", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *statement = NULL;
  int rows = 0;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT password_hash FROM users", -1, &statement,
                                       NULL),
                   ==, SQLITE_OK);
  while (sqlite3_step (statement) == SQLITE_ROW)
    {
      const char *hash = (const char *) sqlite3_column_text (statement, 0);
      g_auto (GStrv) fields = g_strsplit (hash, "$", -1);

      /* PHC string: $argon2id$v=19$m=MEMORY,t=PASSES,p=LANES$SALT$HASH */
      g_assert_cmpuint (g_strv_length (fields), ==, 6);
      g_assert_cmpstr (fields[1], ==, "argon2id");
      g_assert_cmpstr (fields[2], ==, "v=19");
      g_assert_cmpstr (fields[3], ==, "m=19456,t=2,p=1");
      g_assert_cmpuint (strlen (fields[4]), >=, 22); /* 16 bytes of salt in base64 */
      rows++;
    }
  g_assert_cmpint (rows, ==, 2);
  sqlite3_finalize (statement);
  sqlite3_close (db);
}

static void
test_auth_tokens_stored_hashed (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (mist_test_server_get_data_dir (fixture->server),
                                            "mist.sqlite3", NULL);
  g_autofree char *database = NULL;
  gsize length;
  g_autofree char *wal_path = g_strconcat (path, "-wal", NULL);
  g_autofree char *wal = NULL;
  gsize wal_length = 0;

  g_assert_cmpuint (strlen (fixture->user_token), ==, 64);
  g_assert_true (g_file_get_contents (path, &database, &length, NULL));
  g_file_get_contents (wal_path, &wal, &wal_length, NULL);
  g_assert_null (memmem (database, length, fixture->user_token, 64));
  if (wal != NULL)
    g_assert_null (memmem (wal, wal_length, fixture->user_token, 64));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, options, function) \
  g_test_add (name, BackendFixture, options, setup, function, teardown)
  ADD ("/backend/auth/login-and-me", NULL, test_auth_login_and_me);
  ADD ("/backend/auth/wrong-password-unknown-user", NULL, test_auth_wrong_password_unknown_user);
  ADD ("/backend/auth/rate-limit", NULL, test_auth_rate_limit);
  ADD ("/backend/auth/rate-limit-per-address", NULL, test_auth_rate_limit_per_address);
  ADD ("/backend/auth/rate-limit-survives-restart", NULL, test_auth_rate_limit_survives_restart);
  ADD ("/backend/auth/logout-revokes", NULL, test_auth_logout_revokes);
  ADD ("/backend/auth/password-change-revokes", NULL, test_auth_password_change_revokes);
  ADD ("/backend/auth/disabled-user", NULL, test_auth_disabled_user);
  ADD ("/backend/auth/expired-token", &short_tokens, test_auth_expired_token);
  ADD ("/backend/auth/argon2id-parameters", NULL, test_auth_argon2id_parameters);
  ADD ("/backend/auth/tokens-stored-hashed", NULL, test_auth_tokens_stored_hashed);
#undef ADD

  return g_test_run ();
}
