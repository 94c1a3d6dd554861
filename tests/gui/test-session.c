/* test-session.c: logging in to a real backend-stub when no Secret Service runs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs with DBUS_SESSION_BUS_ADDRESS pointing at a socket that does not exist, so
 * libsecret finds no keyring, as on a desktop without one.
 */
#include "gui-test-util.h"

#include "mist-controller.h"
#include "mist-test-server.h"
#include "mist-window.h"

#include <glib/gstdio.h>

typedef struct
{
  MistWindow *window;
  const char *text;
} LabelSearch;

static gboolean
window_shows_label (gpointer data)
{
  LabelSearch *search = data;

  return gui_test_find_label (GTK_WIDGET (search->window), search->text) != NULL;
}

static gboolean
library_shown (gpointer data)
{
  GtkWidget *stack = gui_test_find_nth (GTK_WIDGET (data), GTK_TYPE_STACK, NULL, 0);

  return g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (stack)), "main") == 0;
}

static void
test_no_keyring_shows_toast (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistTestServer) server = mist_test_server_start (NULL, &error);
  g_autoptr (GSettings) settings = g_settings_new (MIST_APP_ID);
  g_autoptr (MistController) controller = NULL;
  LabelSearch search = { 0 };

  if (server == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("backend-stub did not start: %s",
                                                 error->message);

      g_test_skip (reason);
      return;
    }
  controller = mist_controller_new (settings);
  search.window = mist_window_new (NULL, controller, settings);
  gtk_window_present (GTK_WINDOW (search.window));
  mist_window_login (search.window, mist_test_server_get_url (server), MIST_TEST_USER_NAME,
                     MIST_TEST_USER_PASSWORD);

  search.text = "Your session will not be remembered: no keyring service is running";
  g_assert_true (gui_test_wait_until (window_shows_label, &search));

  /* The login itself goes through: the library is shown. */
  g_assert_true (gui_test_wait_until (library_shown, search.window));
  g_assert_cmpstr (mist_controller_get_username (controller), ==, MIST_TEST_USER_NAME);

  gtk_window_destroy (GTK_WINDOW (search.window));
  g_assert_true (mist_test_server_stop (server, &error));
  g_assert_no_error (error);
}

int
main (int argc, char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("mist-session-test-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  g_autofree char *cache = g_build_filename (home, "cache", NULL);
  g_autofree char *state = g_build_filename (home, "state", NULL);
  int status;

  /* The launcher's database and caches go here, not into the user's folders. */
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/gui/session/no-keyring-shows-toast", test_no_keyring_shows_toast);

  status = g_test_run ();
  mist_test_remove_tree (home);
  return status;
}
