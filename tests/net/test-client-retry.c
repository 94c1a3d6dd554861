/* test-client-retry.c: API requests against a fault-injecting server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The client asks the fault server for /objects/state as if it were an API route, so
 * that each request can be answered with an injected failure.
 */
#include "mist-client.h"
#include "mist-error.h"
#include "mist-fault-server.h"

typedef struct
{
  MistFaultServer *server;
  MistClient *client;
} Fixture;

static const char reply_json[] = "{\"state\": \"ready\"}";

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = g_bytes_new_static (reply_json, strlen (reply_json));
  g_autofree char *object_url = NULL;
  g_autofree char *server_url = NULL;
  g_autoptr (GError) error = NULL;

  fixture->server = mist_fault_server_new ();
  mist_fault_server_set_object (fixture->server, "state", reply);
  object_url = mist_fault_server_get_url (fixture->server, "state");
  server_url = g_strndup (object_url, strlen (object_url) - strlen ("/objects/state"));
  fixture->client = mist_client_new (server_url, NULL, &error);
  g_assert_no_error (error);
  /* Delays of 20 ms, doubling up to 200 ms, keep the test fast. */
  mist_client_set_retry_policy (fixture->client, 4, 20, 200);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->client);
  g_clear_pointer (&fixture->server, mist_fault_server_free);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* GETs /objects/state and returns the "state" member, or NULL with error set. */
static char *
get_state (Fixture *fixture, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) node = NULL;

  mist_client_get_json_async (fixture->client, "/objects/state", NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  node = mist_client_get_json_finish (fixture->client, result, error);
  if (node == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "state"));
}

static guint
count_requests (Fixture *fixture)
{
  g_autoptr (GPtrArray) requests = mist_fault_server_get_requests (fixture->server);

  return requests->len;
}

static void
test_retry_server_errors (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;

  mist_fault_server_fail_next (fixture->server, 3, 503, 0);
  state = get_state (fixture, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state, ==, "ready");
  g_assert_cmpuint (count_requests (fixture), ==, 4);
}

static void
test_retry_dropped_connection (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;

  mist_fault_server_drop_next (fixture->server, 2, 3);
  state = get_state (fixture, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state, ==, "ready");
  g_assert_cmpuint (count_requests (fixture), ==, 3);
}

static void
test_retry_rate_limited_waits (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;
  gint64 start = g_get_monotonic_time ();

  mist_fault_server_fail_next (fixture->server, 1, 429, 1);
  state = get_state (fixture, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (state, ==, "ready");
  g_assert_cmpuint (count_requests (fixture), ==, 2);
  /* Retry-After: 1 is one second, far more than the 20 ms backoff. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
}

static void
test_retry_gives_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;

  mist_fault_server_fail_next (fixture->server, 10, 500, 0);
  state = get_state (fixture, &error);
  g_assert_null (state);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_SERVER_ERROR);
  g_assert_nonnull (strstr (error->message, "Gave up after 4 attempts"));
  g_assert_cmpuint (count_requests (fixture), ==, 4);
}

static void
test_retry_not_on_client_error (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;

  mist_fault_server_fail_next (fixture->server, 1, 403, 0);
  state = get_state (fixture, &error);
  g_assert_null (state);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_FORBIDDEN);
  g_assert_cmpuint (count_requests (fixture), ==, 1);
}

static void
test_retry_long_rate_limit_returned (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;

  /* A wait longer than the client waits for is the caller's to show, not to sit out. */
  mist_fault_server_fail_next (fixture->server, 1, 429, 600);
  state = get_state (fixture, &error);
  g_assert_null (state);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_RATE_LIMITED);
  g_assert_cmpuint (mist_error_get_retry_after (error), ==, 600);
  g_assert_cmpuint (count_requests (fixture), ==, 1);
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
  add_test ("/net/client-retry/server-errors", test_retry_server_errors);
  add_test ("/net/client-retry/dropped-connection", test_retry_dropped_connection);
  add_test ("/net/client-retry/rate-limited-waits", test_retry_rate_limited_waits);
  add_test ("/net/client-retry/gives-up", test_retry_gives_up);
  add_test ("/net/client-retry/not-on-client-error", test_retry_not_on_client_error);
  add_test ("/net/client-retry/long-rate-limit-returned", test_retry_long_rate_limit_returned);
  return g_test_run ();
}
