/* test-server.c: the launcher's controller and views against a real backend-stub
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs inside with-keyring (a private D-Bus session with gnome-keyring) and on its own
 * Xvfb display. The test process also owns org.freedesktop.Notifications on that
 * private bus and records what GApplication sends there.
 */
#include "gui-test-util.h"

#include "mist-application.h"
#include "mist-controller.h"
#include "mist-error.h"
#include "mist-game-page.h"
#include "mist-launcher.h"
#include "mist-library-page.h"
#include "mist-window.h"
#include "net-test-util.h"

#include <glib/gstdio.h>

static MistApplication *application;
static GPtrArray *notifications; /* summaries received by the notification server */

/* Notification server */

static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
  "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "<method name='GetServerInformation'><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/></method>"
  "</interface></node>";

static void
on_notification_call (GDBusConnection *connection,
                      const char *sender,
                      const char *object_path,
                      const char *interface_name,
                      const char *method_name,
                      GVariant *parameters,
                      GDBusMethodInvocation *invocation,
                      gpointer user_data)
{
  if (g_str_equal (method_name, "Notify"))
    {
      const char *summary = NULL;
      const char *body = NULL;

      g_variant_get_child (parameters, 3, "&s", &summary);
      g_variant_get_child (parameters, 4, "&s", &body);
      g_ptr_array_add (notifications, g_strdup_printf ("%s|%s", summary, body));
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u)", notifications->len));
    }
  else if (g_str_equal (method_name, "GetCapabilities"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new_parsed ("(['body'],)"));
  else if (g_str_equal (method_name, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "mist-test", "mist", "1",
                                                          "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_is_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
start_notification_server (void)
{
  static const GDBusInterfaceVTable vtable = { on_notification_call, NULL, NULL, { 0 } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notifications_xml, &error);
  GDBusConnection *bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  static gboolean acquired;

  g_assert_no_error (error);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications", info->interfaces[0],
                                     &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (bus, "org.freedesktop.Notifications", G_BUS_NAME_OWNER_FLAGS_NONE,
                                on_name_acquired, NULL, &acquired, NULL);
  g_assert_true (gui_test_wait_until (flag_is_set, &acquired));
  g_object_unref (bus);
}

/* Fixture: a server with one published game, and the application's controller */

typedef struct
{
  NetServer net;
  gboolean started;
  char *slug;
  char *games_dir;
  GSettings *settings;
  MistController *controller; /* (owned) */
} Fixture;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static gboolean
result_arrived (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  g_assert_true (gui_test_wait_until (result_arrived, result));
  return *result;
}

static void
login (Fixture *fixture, MistController *controller)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  mist_controller_login_async (controller, mist_test_server_get_url (fixture->net.server),
                               MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD, NULL, on_done,
                               &result);
  g_assert_true (mist_controller_login_finish (controller, wait_for (&result), NULL, &error));
  g_assert_no_error (error);
  g_settings_set_string (fixture->settings, "server-url",
                         mist_test_server_get_url (fixture->net.server));
}

/* Refreshes the library; returns the error when it fell back to the cached catalog. */
static GError *
refresh (MistController *controller)
{
  g_autoptr (GAsyncResult) result = NULL;
  GError *error = NULL;

  mist_controller_refresh_async (controller, NULL, on_done, &result);
  mist_controller_refresh_finish (controller, wait_for (&result), &error);
  return error;
}

static MistGameItem *
find_game (MistController *controller, const char *slug)
{
  GListModel *games = mist_controller_get_games (controller);

  for (guint i = 0; i < g_list_model_get_n_items (games); i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (games, i);

      if (g_str_equal (mist_game_item_get_slug (game), slug))
        return game;
    }
  return NULL;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;

  if (application == NULL)
    {
      g_test_skip ("No private D-Bus session with gnome-keyring (run through with-keyring)");
      return;
    }
  fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  /* Each test publishes its own game because all of them share one launcher database. */
  fixture->slug = g_strdup (data);
  fixture->games_dir = g_build_filename (fixture->net.work_dir, "games", NULL);
  build = net_write_build (&fixture->net, "1.0", 3, 4096, 1);
  net_create_game (&fixture->net, fixture->slug);
  net_push (&fixture->net, fixture->slug, "1.0", build);

  fixture->settings = g_settings_new (MIST_APP_ID);
  fixture->controller = g_object_ref (mist_application_get_controller (application));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->controller);
  g_clear_object (&fixture->settings);
  if (fixture->started)
    net_server_stop (&fixture->net);
  g_free (fixture->games_dir);
  g_free (fixture->slug);
}

static gboolean
game_installed (gpointer data)
{
  return mist_game_item_get_installed_version (data) != NULL;
}

/* Logs in, installs the fixture's game and waits until the library shows it installed. */
static MistGameItem *
install_game (Fixture *fixture)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  MistGameItem *game;

  login (fixture, fixture->controller);
  error = refresh (fixture->controller);
  g_assert_no_error (error);
  game = find_game (fixture->controller, fixture->slug);
  g_assert_nonnull (game);

  mist_controller_run_game_action_async (fixture->controller, game, "install",
                                         fixture->games_dir, NULL, on_done, &result);
  g_assert_true (
    mist_controller_run_game_action_finish (fixture->controller, wait_for (&result), &error));
  g_assert_no_error (error);
  g_assert_true (gui_test_wait_until (game_installed, game));
  return game;
}

/* Background notifications */

static gboolean
notification_arrived (gpointer data)
{
  return notifications->len > 0;
}

static void
test_download_notifies_in_background (Fixture *fixture, gconstpointer data)
{
  g_autofree char *expected = NULL;
  MistWindow *window;

  if (!fixture->started)
    return;
  /* A window that is never presented is never the active one. */
  window = mist_window_new (ADW_APPLICATION (application), fixture->controller,
                            fixture->settings);
  g_assert_false (gtk_window_is_active (GTK_WINDOW (window)));
  g_ptr_array_set_size (notifications, 0);

  install_game (fixture);
  g_assert_true (gui_test_wait_until (notification_arrived, NULL));
  expected = g_strdup_printf ("%s is ready to play|", fixture->slug);
  g_assert_cmpuint (notifications->len, ==, 1);
  g_assert_cmpstr (notifications->pdata[0], ==, expected);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The game page's update route */

typedef struct
{
  MistGamePage *page;
  const char *text;
} DetailSearch;

static gboolean
detail_contains (gpointer data)
{
  DetailSearch *search = data;
  const char *detail = mist_game_page_get_action_detail (search->page);

  return detail != NULL && strstr (detail, search->text) != NULL;
}

static void
test_refresh_replans_shown_update (Fixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  MistGameItem *game;
  MistWindow *window;
  GtkWidget *library;
  DetailSearch search = { 0 };

  if (!fixture->started)
    return;
  game = install_game (fixture);
  window = mist_window_new (NULL, fixture->controller, fixture->settings);
  gtk_window_present (GTK_WINDOW (window));
  mist_window_show_library (window);
  library = gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_LIBRARY_PAGE, NULL, 0);
  g_signal_emit_by_name (library, "game-activated", game);
  search.page = MIST_GAME_PAGE (gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_GAME_PAGE,
                                                   NULL, 0));

  /* A new version with its patch set: the first refresh plans the update. */
  build = net_write_build (&fixture->net, "1.1", 3, 4096, 2);
  net_push (&fixture->net, fixture->slug, "1.1", build);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.refresh", NULL);
  search.text = "1.0 → 1.1";
  g_assert_true (gui_test_wait_until (detail_contains, &search));

  /* A plan made before the server finished its patch set, then the next refresh. */
  mist_game_item_set_update_summary (game, "an outdated plan");
  search.text = "an outdated plan";
  g_assert_true (gui_test_wait_until (detail_contains, &search));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.refresh", NULL);
  search.text = "1.0 → 1.1";
  g_assert_true (gui_test_wait_until (detail_contains, &search));
  g_assert_null (strstr (mist_game_page_get_action_detail (search.page), "outdated"));
  g_assert_cmpstr (mist_game_page_get_primary_action (search.page), ==, "update");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Resuming a paused update from the game page */

static void
on_notice (MistController *controller, const char *text, gpointer data)
{
  g_ptr_array_add (data, g_strdup (text));
}

static gboolean
game_paused (gpointer data)
{
  return mist_game_item_get_state (data) == MIST_GAME_STATE_PAUSED;
}

static gboolean
versions_loaded (gpointer data)
{
  return g_list_model_get_n_items (mist_game_item_get_versions (data)) == 3;
}

static gboolean
game_at_1_2 (gpointer data)
{
  return g_strcmp0 (mist_game_item_get_installed_version (data), "1.2") == 0;
}

/* Runs a game page action and asserts that it succeeds. */
static void
run_game_action (Fixture *fixture, MistGameItem *game, const char *action)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  mist_controller_run_game_action_async (fixture->controller, game, action, NULL, NULL, on_done,
                                         &result);
  g_assert_true (
    mist_controller_run_game_action_finish (fixture->controller, wait_for (&result), &error));
  g_assert_no_error (error);
}

/* Resume on the game page takes a paused update to the newest version, as `mist-cli
 * install` does, and shows a notice. The downloads page then lists only the new job. */
static void
test_resume_retargets_paused_update (Fixture *fixture, gconstpointer data)
{
  g_autofree char *v2 = NULL;
  g_autofree char *v3 = NULL;
  g_autoptr (GPtrArray) notices = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  GListModel *jobs;
  MistGameItem *game;
  gulong handler;
  guint active = 0;

  if (!fixture->started)
    return;
  game = install_game (fixture);
  v2 = net_write_build (&fixture->net, "1.1", 3, 4096, 2);
  net_push (&fixture->net, fixture->slug, "1.1", v2);
  error = refresh (fixture->controller);
  g_assert_no_error (error);

  /* The pause comes before the update's first reply from the server is read. */
  run_game_action (fixture, game, "update");
  run_game_action (fixture, game, "pause");
  g_assert_true (gui_test_wait_until (game_paused, game));

  v3 = net_write_build (&fixture->net, "1.2", 3, 4096, 3);
  net_push (&fixture->net, fixture->slug, "1.2", v3);
  error = refresh (fixture->controller);
  g_assert_no_error (error);
  /* Showing the game page loads the version names that the notice uses. */
  mist_controller_load_game (fixture->controller, game);
  g_assert_true (gui_test_wait_until (versions_loaded, game));

  handler = g_signal_connect (fixture->controller, "notice", G_CALLBACK (on_notice), notices);
  run_game_action (fixture, game, "resume");
  g_signal_handler_disconnect (fixture->controller, handler);
  g_assert_cmpuint (notices->len, ==, 1);
  g_assert_nonnull (strstr (notices->pdata[0], "now downloads version 1.2 instead of 1.1"));

  jobs = mist_controller_get_jobs (fixture->controller);
  for (guint i = 0; i < g_list_model_get_n_items (jobs); i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (jobs, i);

      if (mist_download_item_get_game (item) != game || !mist_download_item_is_active (item))
        continue;
      active++;
      g_assert_cmpstr (mist_download_item_get_to_version (item), ==, "1.2");
    }
  g_assert_cmpuint (active, ==, 1);
  g_assert_true (gui_test_wait_until (game_at_1_2, game));
  mist_controller_load_game (fixture->controller, NULL);
}

/* Offline: the cached catalog, play and the actions that need the server */

static char *
read_game_log (const char *slug)
{
  g_autofree char *path = mist_launcher_get_log_path (slug);
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

static void
on_launch_settings_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
save_launch_settings (MistController *controller, MistGameItem *game)
{
  g_autoptr (MistLaunchSettings) settings = mist_launch_settings_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_strfreev (settings->arguments);
  settings->arguments = g_strsplit ("--windowed|two words", "|", -1);
  g_strfreev (settings->environment);
  settings->environment = g_strsplit ("MIST_TEST_GREETING=hello there", "|", -1);
  g_free (settings->wrapper);
  settings->wrapper = g_strdup ("sh -c 'echo \"wrapped: $MIST_TEST_GREETING\"; exec \"$@\"' "
                                "wrapper %command%");
  mist_controller_save_launch_settings_async (controller, game, settings, NULL,
                                              on_launch_settings_saved, &result);
  g_assert_true (
    mist_controller_save_launch_settings_finish (controller, wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
test_offline_uses_cached_catalog (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistController) restarted = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *other = g_strconcat (fixture->slug, "-other", NULL);
  g_autofree char *build = NULL;
  g_autofree char *log = NULL;
  MistGameItem *game;
  MistGameItem *available;
  MistGamePage *page;
  GtkWindow *window;

  if (!fixture->started)
    return;
  build = net_write_build (&fixture->net, "other", 1, 1024, 3);
  net_create_game (&fixture->net, other);
  net_push (&fixture->net, other, "1.0", build);
  install_game (fixture);
  g_assert_true (mist_test_server_stop (fixture->net.server, &error));
  g_assert_no_error (error);

  /* A new start: the session comes from the keyring, the games from the cache. */
  restarted = mist_controller_new (fixture->settings);
  mist_controller_restore_session_async (restarted, NULL, on_done, &result);
  g_assert_true (mist_controller_restore_session_finish (restarted, wait_for (&result), &error));
  g_assert_no_error (error);
  g_clear_error (&error);
  error = refresh (restarted);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_NETWORK);
  g_assert_nonnull (mist_controller_get_offline_reason (restarted));
  g_assert_nonnull (strstr (mist_controller_get_offline_reason (restarted), "Cannot reach"));
  g_clear_error (&error);
  game = find_game (restarted, fixture->slug);
  available = find_game (restarted, other);
  g_assert_nonnull (game);
  g_assert_nonnull (available);
  g_assert_cmpstr (mist_game_item_get_installed_version (game), ==, "1.0");
  g_assert_null (mist_game_item_get_installed_version (available));

  /* The page of a game that is not installed says why Install is off. */
  page = MIST_GAME_PAGE (mist_game_page_new ());
  window = gui_test_show (GTK_WIDGET (page), 900, 700);
  mist_game_page_set_offline (page, mist_controller_get_offline_reason (restarted));
  mist_game_page_set_item (page, available);
  g_assert_cmpstr (mist_game_page_get_primary_action (page), ==, "install");
  g_assert_false (gtk_widget_get_sensitive (mist_game_page_get_primary_button (page)));
  g_assert_cmpstr (mist_game_page_get_action_detail (page), ==,
                   mist_controller_get_offline_reason (restarted));

  /* The installed game still plays, with its saved launch options. */
  mist_game_page_set_item (page, game);
  g_assert_cmpstr (mist_game_page_get_primary_action (page), ==, "play");
  g_assert_true (gtk_widget_get_sensitive (mist_game_page_get_primary_button (page)));
  gtk_window_destroy (window);

  save_launch_settings (restarted, game);
  g_clear_object (&result);
  mist_controller_run_game_action_async (restarted, game, "play", NULL, NULL, on_done, &result);
  g_assert_true (mist_controller_run_game_action_finish (restarted, wait_for (&result), &error));
  g_assert_no_error (error);
  log = read_game_log (fixture->slug);
  g_assert_nonnull (log);
  g_assert_nonnull (strstr (log, "wrapped: hello there"));
  g_assert_nonnull (strstr (log, "game started: --demo --windowed two words"));
}

int
main (int argc, char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("mist-server-test-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  g_autofree char *cache = g_build_filename (home, "cache", NULL);
  g_autofree char *state = g_build_filename (home, "state", NULL);
  g_autoptr (GError) error = NULL;
  int status;

  /* The launcher's database, caches and game logs go here. */
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  notifications = g_ptr_array_new_with_free_func (g_free);
  if (g_getenv ("MIST_TEST_KEYRING") != NULL && g_str_equal (g_getenv ("MIST_TEST_KEYRING"),
                                                             "running"))
    {
      start_notification_server ();
      application = mist_application_new ();
      g_application_register (G_APPLICATION (application), NULL, &error);
      g_assert_no_error (error);
    }

#define ADD(path, slug, func) \
  g_test_add ("/gui/server/" path, Fixture, slug, fixture_set_up, func, fixture_tear_down)
  ADD ("download-notifies-in-background", "notified", test_download_notifies_in_background);
  ADD ("refresh-replans-shown-update", "replanned", test_refresh_replans_shown_update);
  ADD ("offline-uses-cached-catalog", "offline", test_offline_uses_cached_catalog);
  ADD ("resume-retargets-paused-update", "retargeted", test_resume_retargets_paused_update);
#undef ADD

  status = g_test_run ();
  g_clear_object (&application);
  g_ptr_array_unref (notifications);
  mist_test_remove_tree (home);
  return status;
}
