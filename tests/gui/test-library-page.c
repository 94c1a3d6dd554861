/* test-library-page.c: the library grid's states, search, filters and badges
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-game-tile.h"
#include "mist-library-page.h"

typedef struct
{
  MistLibraryPage *page;
  GtkWindow *window;
  GListStore *games;
  MistGameItem *activated;
} Fixture;

static void
on_game_activated (MistLibraryPage *page, MistGameItem *game, Fixture *fixture)
{
  g_set_object (&fixture->activated, game);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->page = MIST_LIBRARY_PAGE (mist_library_page_new ());
  fixture->games = g_list_store_new (MIST_TYPE_GAME_ITEM);
  g_signal_connect (fixture->page, "game-activated", G_CALLBACK (on_game_activated), fixture);
  fixture->window = gui_test_show (GTK_WIDGET (fixture->page), 900, 700);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  g_clear_object (&fixture->games);
  g_clear_object (&fixture->activated);
}

/* Three games: Tetris installed and current, Doom installed with an update, Quake not
 * installed and private. */
static void
add_three_games (Fixture *fixture)
{
  g_autoptr (MistGameItem) tetris = gui_test_game_new ("tetris", "Tetris", 2);
  g_autoptr (MistGameItem) doom = gui_test_game_new ("doom", "Doom", 3);
  g_autoptr (MistGameItem) quake = gui_test_game_new ("quake", "Quake", 1);

  mist_game_item_set_installed (tetris, "1.1", 1000, "/games/tetris");
  mist_game_item_set_installed (doom, "1.0", 1000, "/games/doom");
  mist_game_item_set_is_private (quake, TRUE);
  g_list_store_append (fixture->games, doom);
  g_list_store_append (fixture->games, quake);
  g_list_store_append (fixture->games, tetris);
  mist_library_page_set_games (fixture->page, G_LIST_MODEL (fixture->games));
}

static guint
n_visible (Fixture *fixture)
{
  return g_list_model_get_n_items (mist_library_page_get_visible_games (fixture->page));
}

static MistGameTile *
find_tile (Fixture *fixture, const char *slug)
{
  GtkWidget *grid = mist_library_page_get_grid_view (fixture->page);
  guint n = 0;
  GtkWidget *tile;

  while ((tile = gui_test_find_nth (grid, MIST_TYPE_GAME_TILE, NULL, n++)) != NULL)
    {
      MistGameItem *item = mist_game_tile_get_item (MIST_GAME_TILE (tile));

      if (item != NULL && g_str_equal (mist_game_item_get_slug (item), slug))
        return MIST_GAME_TILE (tile);
    }
  return NULL;
}

static void
test_loading_then_grid (Fixture *fixture, gconstpointer data)
{
  mist_library_page_set_games (fixture->page, G_LIST_MODEL (fixture->games));
  mist_library_page_set_loading (fixture->page, TRUE);
  g_assert_cmpstr (mist_library_page_get_visible_child_name (fixture->page), ==, "loading");
  add_three_games (fixture);
  g_assert_cmpstr (mist_library_page_get_visible_child_name (fixture->page), ==, "grid");
}

static void
test_empty_library (Fixture *fixture, gconstpointer data)
{
  mist_library_page_set_games (fixture->page, G_LIST_MODEL (fixture->games));
  mist_library_page_set_loading (fixture->page, FALSE);
  g_assert_cmpstr (mist_library_page_get_visible_child_name (fixture->page), ==, "empty");
}

static void
test_search_as_you_type (Fixture *fixture, gconstpointer data)
{
  add_three_games (fixture);
  g_assert_cmpuint (n_visible (fixture), ==, 3);

  mist_library_page_set_search_text (fixture->page, "QUA");
  g_assert_cmpuint (n_visible (fixture), ==, 1);
  mist_library_page_set_search_text (fixture->page, "o");
  g_assert_cmpuint (n_visible (fixture), ==, 1); /* Doom only: no "o" in Tetris or Quake */
  mist_library_page_set_search_text (fixture->page, "nothing like it");
  g_assert_cmpuint (n_visible (fixture), ==, 0);
  g_assert_cmpstr (mist_library_page_get_visible_child_name (fixture->page), ==, "empty");
  mist_library_page_set_search_text (fixture->page, "");
  g_assert_cmpuint (n_visible (fixture), ==, 3);
}

static void
test_installed_and_updates_filters (Fixture *fixture, gconstpointer data)
{
  add_three_games (fixture);

  mist_library_page_set_filter (fixture->page, MIST_LIBRARY_FILTER_INSTALLED);
  g_assert_cmpuint (n_visible (fixture), ==, 2);
  mist_library_page_set_filter (fixture->page, MIST_LIBRARY_FILTER_UPDATES);
  g_assert_cmpuint (n_visible (fixture), ==, 1);
  mist_library_page_set_filter (fixture->page, MIST_LIBRARY_FILTER_ALL);
  g_assert_cmpuint (n_visible (fixture), ==, 3);
}

static gboolean
has_n_visible_0 (gpointer data)
{
  return n_visible (data) == 0;
}

static gboolean
has_n_visible_1 (gpointer data)
{
  return n_visible (data) == 1;
}

static void
test_filter_follows_state (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistGameItem) doom = NULL;

  add_three_games (fixture);
  mist_library_page_set_filter (fixture->page, MIST_LIBRARY_FILTER_UPDATES);
  g_assert_cmpuint (n_visible (fixture), ==, 1);

  /* Doom gets updated: it leaves the updates filter on its own. */
  doom = g_list_model_get_item (G_LIST_MODEL (fixture->games), 0);
  mist_game_item_set_installed (doom, "1.2", 1000, "/games/doom");
  g_assert_true (gui_test_wait_until (has_n_visible_0, fixture));

  /* A new version of Tetris brings it in. */
  {
    g_autoptr (MistGameItem) tetris = g_list_model_get_item (G_LIST_MODEL (fixture->games), 2);

    mist_game_item_set_latest_version (tetris, "1.5", 10, 10);
  }
  g_assert_true (gui_test_wait_until (has_n_visible_1, fixture));
}

static gboolean
tiles_bound (gpointer data)
{
  return find_tile (data, "tetris") != NULL;
}

static void
test_badges (Fixture *fixture, gconstpointer data)
{
  MistGameTile *tile;
  g_autoptr (MistGameItem) quake = NULL;

  add_three_games (fixture);
  g_assert_true (gui_test_wait_until (tiles_bound, fixture));

  g_assert_cmpstr (mist_game_tile_get_badge_text (find_tile (fixture, "tetris")), ==, "Installed");
  g_assert_false (mist_game_tile_get_private_badge_visible (find_tile (fixture, "tetris")));
  g_assert_cmpstr (mist_game_tile_get_badge_text (find_tile (fixture, "doom")), ==, "Update");
  tile = find_tile (fixture, "quake");
  g_assert_null (mist_game_tile_get_badge_text (tile));
  g_assert_true (mist_game_tile_get_private_badge_visible (tile));

  quake = g_list_model_get_item (G_LIST_MODEL (fixture->games), 1);
  mist_game_item_set_state (quake, MIST_GAME_STATE_DOWNLOADING);
  g_assert_cmpstr (mist_game_tile_get_badge_text (tile), ==, "Downloading");
  mist_game_item_set_state (quake, MIST_GAME_STATE_PAUSED);
  g_assert_cmpstr (mist_game_tile_get_badge_text (tile), ==, "Paused");
}

static void
test_activate_opens_game (Fixture *fixture, gconstpointer data)
{
  add_three_games (fixture);
  g_signal_emit_by_name (mist_library_page_get_grid_view (fixture->page), "activate", 1);
  g_assert_nonnull (fixture->activated);
  g_assert_cmpstr (mist_game_item_get_slug (fixture->activated), ==, "quake");
}

static void
test_offline_banner (Fixture *fixture, gconstpointer data)
{
  add_three_games (fixture);
  g_assert_false (mist_library_page_get_offline (fixture->page));
  mist_library_page_set_offline (fixture->page, "The server cannot be reached.");
  g_assert_true (mist_library_page_get_offline (fixture->page));
  g_assert_cmpuint (n_visible (fixture), ==, 3);
  mist_library_page_set_offline (fixture->page, NULL);
  g_assert_false (mist_library_page_get_offline (fixture->page));
}

/* A grid view creates tiles only for what is on screen, so 5,000 games cost about as
 * much as 20. */
static void
test_thousands_of_games_bind_few_tiles (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) games = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_tiles = 0;

  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *slug = g_strdup_printf ("game-%04u", i);

      g_ptr_array_add (games, mist_game_item_new (slug, slug));
    }
  g_list_store_splice (fixture->games, 0, 0, games->pdata, games->len);
  mist_library_page_set_games (fixture->page, G_LIST_MODEL (fixture->games));
  gui_test_spin (300);

  while (gui_test_find_nth (mist_library_page_get_grid_view (fixture->page), MIST_TYPE_GAME_TILE,
                            NULL, n_tiles) != NULL)
    n_tiles++;
  g_assert_cmpuint (n_visible (fixture), ==, 5000);
  g_assert_cmpuint (n_tiles, >, 0);
  g_assert_cmpuint (n_tiles, <, 500);

  mist_library_page_set_search_text (fixture->page, "game-4999");
  g_assert_cmpuint (n_visible (fixture), ==, 1);
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/gui/library-page/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("loading-then-grid", test_loading_then_grid);
  ADD ("empty-library", test_empty_library);
  ADD ("search-as-you-type", test_search_as_you_type);
  ADD ("installed-and-updates-filters", test_installed_and_updates_filters);
  ADD ("filter-follows-state", test_filter_follows_state);
  ADD ("badges", test_badges);
  ADD ("activate-opens-game", test_activate_opens_game);
  ADD ("offline-banner", test_offline_banner);
  ADD ("thousands-of-games-bind-few-tiles", test_thousands_of_games_bind_few_tiles);
#undef ADD

  return g_test_run ();
}
