/* test-window.c: the main window's pages and navigation, without a server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-controller.h"
#include "mist-game-page.h"
#include "mist-library-page.h"
#include "mist-window.h"

static const char *
visible_name (GtkWidget *window, GType stack_type, guint nth)
{
  GtkWidget *stack = gui_test_find_nth (window, stack_type, NULL, nth);

  g_assert_nonnull (stack);
  if (stack_type == ADW_TYPE_VIEW_STACK)
    return adw_view_stack_get_visible_child_name (ADW_VIEW_STACK (stack));
  return gtk_stack_get_visible_child_name (GTK_STACK (stack));
}

static void
test_starts_at_login_with_remembered_server (void)
{
  g_autoptr (GSettings) settings = g_settings_new (MIST_APP_ID);
  g_autoptr (MistController) controller = mist_controller_new (settings);
  MistWindow *window;
  GtkWidget *server;

  g_settings_set_string (settings, "server-url", "http://127.0.0.1:8780");
  window = mist_window_new (NULL, controller, settings);
  gtk_window_present (GTK_WINDOW (window));
  gui_test_spin (200);

  g_assert_cmpstr (visible_name (GTK_WIDGET (window), GTK_TYPE_STACK, 0), ==, "login");
  server = gui_test_find_nth (GTK_WIDGET (window), ADW_TYPE_ENTRY_ROW, NULL, 0);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (server)), ==, "http://127.0.0.1:8780");
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_game_page_and_back (void)
{
  g_autoptr (GSettings) settings = g_settings_new (MIST_APP_ID);
  g_autoptr (MistController) controller = mist_controller_new (settings);
  g_autoptr (MistGameItem) game = gui_test_game_new ("doom", "Doom", 3);
  MistWindow *window = mist_window_new (NULL, controller, settings);
  GtkWidget *library;
  GtkWidget *game_page;

  g_list_store_append (G_LIST_STORE (mist_controller_get_games (controller)), game);
  gtk_window_present (GTK_WINDOW (window));
  mist_window_show_library (window);
  gui_test_spin (200);
  g_assert_cmpstr (visible_name (GTK_WIDGET (window), GTK_TYPE_STACK, 0), ==, "main");
  g_assert_cmpstr (visible_name (GTK_WIDGET (window), ADW_TYPE_VIEW_STACK, 0), ==, "library");

  library = gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_LIBRARY_PAGE, NULL, 0);
  g_signal_emit_by_name (library, "game-activated", game);
  game_page = gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_GAME_PAGE, NULL, 0);
  g_assert_true (mist_game_page_get_item (MIST_GAME_PAGE (game_page)) == game);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);
  g_assert_null (mist_game_page_get_item (MIST_GAME_PAGE (game_page)));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-downloads", NULL);
  g_assert_cmpstr (visible_name (GTK_WIDGET (window), ADW_TYPE_VIEW_STACK, 0), ==, "downloads");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/gui/window/starts-at-login-with-remembered-server",
                   test_starts_at_login_with_remembered_server);
  g_test_add_func ("/gui/window/game-page-and-back", test_game_page_and_back);

  return g_test_run ();
}
