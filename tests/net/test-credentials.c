/* test-credentials.c: session tokens in a real gnome-keyring, and without one
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Run through with-keyring (MIST_TEST_KEYRING=running) for the keyring cases, and with
 * MIST_TEST_KEYRING=none and a session bus address that leads nowhere for the case
 * without a Secret Service.
 */
#include "mist-credentials.h"
#include "mist-error.h"

#define SERVER "https://games.example.org"
#define OTHER_SERVER "https://other.example.org:8443"


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
test_credentials_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistCredential) found = NULL;
  g_autoptr (MistCredential) other = NULL;

  g_assert_true (mist_credentials_store (SERVER, "alice", "token-one", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (mist_credentials_store (OTHER_SERVER, "bob", "token-two", NULL, &error));
  g_assert_no_error (error);

  found = mist_credentials_lookup (SERVER, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->username, ==, "alice");
  g_assert_cmpstr (found->token, ==, "token-one");

  other = mist_credentials_lookup (OTHER_SERVER, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (other);
  g_assert_cmpstr (other->username, ==, "bob");
  g_assert_cmpstr (other->token, ==, "token-two");

  /* Storing again for the same user replaces the token. */
  g_assert_true (mist_credentials_store (SERVER, "alice", "token-three", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&found, mist_credential_free);
  found = mist_credentials_lookup (SERVER, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->token, ==, "token-three");

  g_assert_true (mist_credentials_clear (SERVER, "alice", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&found, mist_credential_free);
  found = mist_credentials_lookup (SERVER, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  /* Clearing what is not there is no error, and the other server keeps its token. */
  g_assert_true (mist_credentials_clear (SERVER, "alice", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&other, mist_credential_free);
  other = mist_credentials_lookup (OTHER_SERVER, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (other);
  g_assert_true (mist_credentials_clear (OTHER_SERVER, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_credentials_async (void)
{
  g_autoptr (GAsyncResult) stored = NULL;
  g_autoptr (GAsyncResult) looked_up = NULL;
  g_autoptr (GAsyncResult) cleared = NULL;
  g_autoptr (MistCredential) found = NULL;
  g_autoptr (GError) error = NULL;

  mist_credentials_store_async (SERVER, "carol", "token-async", NULL, on_done, &stored);
  g_assert_true (mist_credentials_store_finish (wait_for (&stored), &error));
  g_assert_no_error (error);

  mist_credentials_lookup_async (SERVER, NULL, on_done, &looked_up);
  found = mist_credentials_lookup_finish (wait_for (&looked_up), &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->username, ==, "carol");
  g_assert_cmpstr (found->token, ==, "token-async");

  mist_credentials_clear_async (SERVER, NULL, NULL, on_done, &cleared);
  g_assert_true (mist_credentials_clear_finish (wait_for (&cleared), &error));
  g_assert_no_error (error);
}

static void
test_credentials_no_secret_service (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistCredential) found = NULL;

  g_assert_false (mist_credentials_store (SERVER, "alice", "token-one", NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_KEYRING);
  g_assert_nonnull (strstr (error->message, "Secret Service"));
  g_clear_error (&error);

  found = mist_credentials_lookup (SERVER, NULL, &error);
  g_assert_null (found);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_KEYRING);
}

static void
test_credentials_keyring_missing (void)
{
  g_test_skip ("dbus-run-session or gnome-keyring-daemon is not installed");
}

int
main (int argc, char **argv)
{
  const char *mode = g_getenv ("MIST_TEST_KEYRING");

  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (mode, "running") == 0)
    {
      g_test_add_func ("/net/credentials/round-trip", test_credentials_round_trip);
      g_test_add_func ("/net/credentials/async", test_credentials_async);
    }
  else if (g_strcmp0 (mode, "none") == 0)
    {
      g_test_add_func ("/net/credentials/no-secret-service", test_credentials_no_secret_service);
    }
  else
    {
      g_test_add_func ("/net/credentials/keyring-missing", test_credentials_keyring_missing);
    }
  return g_test_run ();
}
