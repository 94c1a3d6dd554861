/* test-game-page.c: the game page's primary action, details and secondary actions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-game-page.h"

#include <glib/gstdio.h>

typedef struct
{
  MistGamePage *page;
  GtkWindow *window;
  MistGameItem *game;
  char *requested;
  char *folder;
} Fixture;

static void
on_action_requested (MistGamePage *page, const char *action, MistGameItem *game, Fixture *fixture)
{
  g_free (fixture->requested);
  fixture->requested = g_strdup (action);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->folder = g_dir_make_tmp ("mist-game-page-XXXXXX", NULL);
  g_assert_nonnull (fixture->folder);
  fixture->page = MIST_GAME_PAGE (mist_game_page_new ());
  fixture->game = gui_test_game_new ("doom", "Doom", 3);
  g_signal_connect (fixture->page, "action-requested", G_CALLBACK (on_action_requested), fixture);
  fixture->window = gui_test_show (GTK_WIDGET (fixture->page), 900, 800);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  g_clear_object (&fixture->game);
  g_free (fixture->requested);
  g_rmdir (fixture->folder);
  g_free (fixture->folder);
}

static gboolean
primary_enabled (Fixture *fixture)
{
  return gtk_widget_get_sensitive (mist_game_page_get_primary_button (fixture->page));
}

static void
click_primary (Fixture *fixture)
{
  g_clear_pointer (&fixture->requested, g_free);
  gtk_widget_activate_action (GTK_WIDGET (fixture->page), "game.primary", NULL);
}

static gboolean
detail_has_free_space (gpointer data)
{
  const char *detail = mist_game_page_get_action_detail (MIST_GAME_PAGE (data));

  return detail != NULL && (strstr (detail, "free") != NULL);
}

static void
test_install_shows_sizes (Fixture *fixture, gconstpointer data)
{
  const char *detail;

  mist_game_page_set_install_folder (fixture->page, fixture->folder);
  mist_game_page_set_item (fixture->page, fixture->game);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "install");

  /* 3 versions: 120 MB to download, 300 MB installed, 420 MB needed. */
  g_assert_true (gui_test_wait_until (detail_has_free_space, fixture->page));
  detail = mist_game_page_get_action_detail (fixture->page);
  g_assert_nonnull (strstr (detail, "120.0\u00a0MB"));
  g_assert_nonnull (strstr (detail, "420.0\u00a0MB"));
  g_assert_true (primary_enabled (fixture));

  click_primary (fixture);
  g_assert_cmpstr (fixture->requested, ==, "install");
  g_assert_cmpstr (mist_game_page_get_install_folder (fixture->page), ==, fixture->folder);
}

static gboolean
detail_says_no_space (gpointer data)
{
  const char *detail = mist_game_page_get_action_detail (MIST_GAME_PAGE (data));

  return detail != NULL && strstr (detail, "Not enough space") != NULL;
}

static void
test_install_without_space (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistGameItem) huge = mist_game_item_new ("huge", "Huge");

  /* 2^62 bytes fit on no disk. */
  mist_game_item_set_latest_version (huge, "1.0", G_GUINT64_CONSTANT (1) << 62,
                                     G_GUINT64_CONSTANT (1) << 62);
  mist_game_page_set_install_folder (fixture->page, fixture->folder);
  mist_game_page_set_item (fixture->page, huge);
  g_assert_true (gui_test_wait_until (detail_says_no_space, fixture->page));
  g_assert_nonnull (strstr (mist_game_page_get_action_detail (fixture->page), fixture->folder));
  g_assert_false (primary_enabled (fixture));
}

static void
test_primary_follows_state (Fixture *fixture, gconstpointer data)
{
  mist_game_page_set_item (fixture->page, fixture->game);

  mist_game_item_set_state (fixture->game, MIST_GAME_STATE_DOWNLOADING);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "pause");
  click_primary (fixture);
  g_assert_cmpstr (fixture->requested, ==, "pause");

  mist_game_item_set_state (fixture->game, MIST_GAME_STATE_PAUSED);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "resume");

  mist_game_item_set_installed (fixture->game, "1.2", 300000000, "/games/doom");
  mist_game_item_set_state (fixture->game, MIST_GAME_STATE_INSTALLED);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "play");
  click_primary (fixture);
  g_assert_cmpstr (fixture->requested, ==, "play");

  mist_game_item_set_latest_version (fixture->game, "1.5", 1, 1);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "update");
}

static void
test_update_shows_route (Fixture *fixture, gconstpointer data)
{
  const char *route = "1.0 → 1.2: 38 MB via 2 patches, instead of 120 MB";

  mist_game_item_set_installed (fixture->game, "1.0", 100000000, "/games/doom");
  mist_game_page_set_item (fixture->page, fixture->game);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "update");
  g_assert_null (mist_game_page_get_action_detail (fixture->page));

  mist_game_item_set_update_summary (fixture->game, route);
  g_assert_cmpstr (mist_game_page_get_action_detail (fixture->page), ==, route);
}

static void
test_offline_keeps_play (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistGameItem) other = gui_test_game_new ("tetris", "Tetris", 1);
  const char *reason = "The server cannot be reached, so installing is off.";

  mist_game_page_set_offline (fixture->page, reason);
  mist_game_page_set_item (fixture->page, fixture->game);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "install");
  g_assert_false (primary_enabled (fixture));
  g_assert_cmpstr (mist_game_page_get_action_detail (fixture->page), ==, reason);

  mist_game_item_set_installed (other, "1.0", 10, "/games/tetris");
  mist_game_page_set_item (fixture->page, other);
  g_assert_cmpstr (mist_game_page_get_primary_action (fixture->page), ==, "play");
  g_assert_true (primary_enabled (fixture));

  mist_game_page_set_offline (fixture->page, NULL);
  mist_game_page_set_item (fixture->page, fixture->game);
  g_assert_true (primary_enabled (fixture));
}

static void
test_versions_newest_first (Fixture *fixture, gconstpointer data)
{
  GtkWidget *first;

  mist_game_page_set_item (fixture->page, fixture->game);
  g_assert_cmpuint (mist_game_page_get_n_versions_shown (fixture->page), ==, 3);
  first = gui_test_find_nth (GTK_WIDGET (fixture->page), ADW_TYPE_EXPANDER_ROW, NULL, 0);
  g_assert_nonnull (first);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (first)), ==, "1.2");
}

static void
test_secondary_actions_need_install (Fixture *fixture, gconstpointer data)
{
  GtkWidget *page = GTK_WIDGET (fixture->page);

  mist_game_page_set_item (fixture->page, fixture->game);
  gtk_widget_activate_action (page, "game.uninstall", NULL);
  g_assert_null (fixture->requested); /* disabled: nothing installed */

  mist_game_item_set_installed (fixture->game, "1.2", 10, "/games/doom");
  gtk_widget_activate_action (page, "game.verify", NULL);
  g_assert_cmpstr (fixture->requested, ==, "verify");
  gtk_widget_activate_action (page, "game.uninstall", NULL);
  g_assert_cmpstr (fixture->requested, ==, "uninstall");

  /* While a job runs, only cancel works. */
  g_clear_pointer (&fixture->requested, g_free);
  mist_game_item_set_state (fixture->game, MIST_GAME_STATE_DOWNLOADING);
  gtk_widget_activate_action (page, "game.repair", NULL);
  g_assert_null (fixture->requested);
  gtk_widget_activate_action (page, "game.cancel", NULL);
  g_assert_cmpstr (fixture->requested, ==, "cancel");
}

static void
test_launch_options_need_install (Fixture *fixture, gconstpointer data)
{
  GtkWidget *page = GTK_WIDGET (fixture->page);

  mist_game_page_set_item (fixture->page, fixture->game);
  gtk_widget_activate_action (page, "game.launch-options", NULL);
  g_assert_null (fixture->requested);

  mist_game_item_set_installed (fixture->game, "1.2", 10, "/games/doom");
  gtk_widget_activate_action (page, "game.launch-options", NULL);
  g_assert_cmpstr (fixture->requested, ==, "launch-options");
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/gui/game-page/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("install-shows-sizes", test_install_shows_sizes);
  ADD ("install-without-space", test_install_without_space);
  ADD ("primary-follows-state", test_primary_follows_state);
  ADD ("update-shows-route", test_update_shows_route);
  ADD ("offline-keeps-play", test_offline_keeps_play);
  ADD ("versions-newest-first", test_versions_newest_first);
  ADD ("secondary-actions-need-install", test_secondary_actions_need_install);
  ADD ("launch-options-need-install", test_launch_options_need_install);
#undef ADD

  return g_test_run ();
}
