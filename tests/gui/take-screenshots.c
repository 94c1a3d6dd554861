/* take-screenshots.c: renders each view of the launcher to PNG for the documentation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: take-screenshots OUTPUT_FOLDER (run by tests/gui/screenshots under Xvfb).
 * Fills the window's models with a sample library, so it needs no server, and writes
 * login.png, library.png, game.png, downloads.png, preferences.png, each also as
 * *-dark.png in the dark style.
 */
#include "gui-test-util.h"

#include "mist-controller.h"
#include "mist-downloads-page.h"
#include "mist-format.h"
#include "mist-game-page.h"
#include "mist-library-page.h"
#include "mist-login-page.h"
#include "mist-preferences-window.h"
#include "mist-throughput-graph.h"
#include "mist-window.h"

#include <math.h>

typedef struct
{
  const char *slug;
  const char *title;
  const char *description;
  double hue;
} SampleGame;

static const SampleGame samples[] = {
  { "ancient-tides", "Ancient Tides", "Sail between islands and trade with the tides.", 0.55 },
  { "block-drop", "Block Drop", "Falling blocks, four lines at a time.", 0.08 },
  { "cave-crawler", "Cave Crawler", "A roguelike in procedurally dug caves.", 0.30 },
  { "deep-orbit", "Deep Orbit", "Keep a station alive around a gas giant.", 0.70 },
  { "ember-road", "Ember Road", "A racing game on roads that burn behind you.", 0.02 },
  { "frost-keep", "Frost Keep", "Defend a castle through a winter that never ends.", 0.60 },
  { "garden-of-gears", "Garden of Gears", "Grow clockwork plants and wind them up.", 0.20 },
  { "hollow-lantern", "Hollow Lantern", "A puzzle game lit by one lantern.", 0.12 },
  { "iron-sky", "Iron Sky Derby", "Airships race over a city of chimneys.", 0.85 },
  { "jade-harbor", "Jade Harbor", "Run the busiest port of the south sea.", 0.40 },
  { "kite-season", "Kite Season", "A calm game about kites and wind.", 0.48 },
  { "lost-signal", "Lost Signal", "Find the last radio station on a dead planet.", 0.95 },
};

/* Draws a cover: a diagonal gradient in the game's hue with its title. */
static char *
write_cover (const char *folder, const SampleGame *sample)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 300, 400);
  cairo_t *cr = cairo_create (surface);
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, 300, 400);
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string ("Sans Bold 26");
  char *path = g_strdup_printf ("%s/%s.png", folder, sample->slug);
  float r1, g1, b1, r2, g2, b2;

  gtk_hsv_to_rgb ((float) sample->hue, 0.65f, 0.85f, &r1, &g1, &b1);
  gtk_hsv_to_rgb ((float) fmod (sample->hue + 0.12, 1.0), 0.80f, 0.35f, &r2, &g2, &b2);
  cairo_pattern_add_color_stop_rgb (gradient, 0, r1, g1, b1);
  cairo_pattern_add_color_stop_rgb (gradient, 1, r2, g2, b2);
  cairo_set_source (cr, gradient);
  cairo_paint (cr);

  cairo_set_source_rgba (cr, 1, 1, 1, 0.15);
  cairo_arc (cr, 220, 110, 70, 0, 2 * G_PI);
  cairo_fill (cr);

  pango_layout_set_font_description (layout, font);
  pango_layout_set_width (layout, 260 * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD);
  pango_layout_set_text (layout, sample->title, -1);
  cairo_move_to (cr, 20, 290);
  cairo_set_source_rgb (cr, 1, 1, 1);
  pango_cairo_show_layout (cr, layout);

  cairo_surface_write_to_png (surface, path);
  pango_font_description_free (font);
  g_object_unref (layout);
  cairo_pattern_destroy (gradient);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return path;
}

static void
fill_library (GListStore *games, GListStore *jobs, const char *cover_folder)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr (MistGameItem) game = gui_test_game_new (samples[i].slug, samples[i].title,
                                                         2 + i % 4);
      g_autofree char *cover = write_cover (cover_folder, &samples[i]);

      mist_game_item_set_description (game, samples[i].description);
      mist_game_item_set_cover_path (game, cover);
      g_list_store_append (games, game);
    }

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (G_LIST_MODEL (games), i);
      g_autofree char *path = g_strdup_printf ("/home/alice/Games/%s", samples[i].slug);
      g_autoptr (MistDownloadItem) job = NULL;

      switch (i)
        {
        case 1:
        case 6:
          mist_game_item_set_installed (game, mist_game_item_get_latest_version (game), 812000000,
                                        path);
          break;
        case 3:
          {
            g_autofree char *route = mist_format_route ("1.2", "1.4", 38000000, 2, 1900000000);

            mist_game_item_set_installed (game, "1.2", 1700000000, path);
            mist_game_item_set_update_summary (game, route);
          }
          break;
        case 4:
        case 9:
          job = mist_download_item_new (game, NULL, mist_game_item_get_latest_version (game),
                                        i == 4 ? 640000000 : 1200000000);
          mist_download_item_set_state (job, MIST_DOWNLOAD_STATE_DOWNLOADING);
          mist_download_item_set_progress (job, i == 4 ? 412000000 : 130000000,
                                           i == 4 ? 640000000 : 1200000000,
                                           i == 4 ? 5200000 : 2900000, i == 4 ? 44 : 370);
          g_list_store_append (jobs, job);
          break;
        case 10:
          mist_game_item_set_is_private (game, TRUE);
          break;
        case 11:
          mist_game_item_set_installed (game, "1.0", 90000000, path);
          job = mist_download_item_new (game, "1.0", mist_game_item_get_latest_version (game),
                                        21000000);
          mist_download_item_set_state (job, MIST_DOWNLOAD_STATE_PAUSED);
          mist_download_item_set_progress (job, 7000000, 21000000, 0, -1);
          g_list_store_append (jobs, job);
          break;
        default:
          break;
        }
    }
}

static gboolean
covers_loaded (gpointer data)
{
  GListModel *games = data;

  for (guint i = 0; i < g_list_model_get_n_items (games); i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (games, i);

      mist_game_item_load_cover_async (game, NULL, NULL, NULL);
      if (mist_game_item_get_cover (game) == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Renders window as it is on screen, with the renderer it uses, into a PNG. */
static void
save_window (GtkWidget *window, const char *folder, const char *name, gboolean dark)
{
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *path = g_strdup_printf ("%s/%s%s.png", folder, name, dark ? "-dark" : "");
  int width;
  int height;

  gui_test_spin (400);
  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("Cannot write %s", path);
  g_print ("%s\n", path);
}

static void
take_all (MistWindow *window, MistController *controller, GSettings *settings,
          const char *folder, gboolean dark)
{
  GtkWidget *preferences;
  GtkWidget *library;
  GtkWidget *downloads;
  GtkWidget *graph;
  g_autoptr (MistGameItem) game = NULL;

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                           : ADW_COLOR_SCHEME_FORCE_LIGHT);

  mist_window_show_login (window);
  save_window (GTK_WIDGET (window), folder, "login", dark);

  gtk_stack_set_visible_child_name (
    GTK_STACK (gui_test_find_nth (GTK_WIDGET (window), GTK_TYPE_STACK, NULL, 0)), "main");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-library", NULL);
  save_window (GTK_WIDGET (window), folder, "library", dark);

  library = gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_LIBRARY_PAGE, NULL, 0);
  game = g_list_model_get_item (mist_controller_get_games (controller), 3);
  g_signal_emit_by_name (library, "game-activated", game);
  save_window (GTK_WIDGET (window), folder, "game", dark);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL);

  downloads = gui_test_find_nth (GTK_WIDGET (window), MIST_TYPE_DOWNLOADS_PAGE, NULL, 0);
  graph = mist_downloads_page_get_graph (MIST_DOWNLOADS_PAGE (downloads));
  mist_throughput_graph_clear (MIST_THROUGHPUT_GRAPH (graph));
  for (guint i = 0; i < 180; i++)
    mist_throughput_graph_add_sample (MIST_THROUGHPUT_GRAPH (graph),
                                      6500000 + 2500000 * sin (i / 9.0) + (i * 7919 % 13) * 90000);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-downloads", NULL);
  save_window (GTK_WIDGET (window), folder, "downloads", dark);

  preferences = mist_preferences_window_new (GTK_WINDOW (window), settings, "alice");
  gtk_window_present (GTK_WINDOW (preferences));
  save_window (preferences, folder, "preferences", dark);
  gtk_window_destroy (GTK_WINDOW (preferences));
}

int
main (int argc, char *argv[])
{
  g_autoptr (GSettings) settings = NULL;
  g_autoptr (MistController) controller = NULL;
  g_autofree char *cover_folder = NULL;
  MistWindow *window;

  if (argc != 2)
    {
      g_printerr ("Usage: %s OUTPUT_FOLDER\n", argv[0]);
      return 2;
    }
  gtk_init ();
  adw_init ();
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  /* AdwApplication loads style.css by itself; this tool has no application. */
  {
    g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();

    gtk_css_provider_load_from_resource (css, "/example/mist/Launcher/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }

  cover_folder = g_dir_make_tmp ("mist-covers-XXXXXX", NULL);
  settings = g_settings_new (MIST_APP_ID);
  g_settings_set_string (settings, "server-url", "https://games.example.org");
  g_settings_set_string (settings, "last-username", "alice");
  g_settings_set_string (settings, "install-folder", "/home/alice/Games");
  g_settings_set_uint (settings, "bandwidth-limit", 4096);
  controller = mist_controller_new (settings);
  fill_library (G_LIST_STORE (mist_controller_get_games (controller)),
                G_LIST_STORE (mist_controller_get_jobs (controller)), cover_folder);

  window = mist_window_new (NULL, controller, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));
  if (!gui_test_wait_until (covers_loaded, mist_controller_get_games (controller)))
    g_error ("The sample covers did not load");

  take_all (window, controller, settings, argv[1], FALSE);
  take_all (window, controller, settings, argv[1], TRUE);
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
