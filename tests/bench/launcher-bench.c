/* launcher-bench.c: the library grid's time to first frame and its frame times while
 * scrolling, for a library of N games
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: launcher-bench N_GAMES COVER_DIR
 *
 * Builds N games in memory, as the controller does from the server's game list, with
 * covers taken in turn from the PNG files in COVER_DIR, and shows them in the launcher's
 * library page (MistLibraryPage) in a 1280x800 window. It prints one line per
 * measurement as "name value unit":
 *
 * - first-frame-ms: from the start of the process (its start time in /proc/self/stat)
 *   to the end of the first frame that draws at least one game tile;
 * - scroll-frame-median-ms, scroll-frame-p95-ms, scroll-frame-max-ms: the time GTK
 *   spends on a frame (from the frame clock's "before-paint" phase to the end of "after-paint")
 *   while the grid scrolls by SCROLL_STEP pixels per frame for SCROLL_FRAMES frames;
 * - scroll-interval-median-ms: the median time between the frame clock's frame times,
 *   the rate the user sees;
 * - covers-decoded: the games whose cover was decoded by the end.
 */
#include "mist-config.h"

#include "mist-game-item.h"
#include "mist-library-page.h"

#include <adwaita.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define SCROLL_FRAMES 300
#define SCROLL_STEP 24.0 /* pixels per frame: 1440 px/s at 60 frames per second */

typedef struct
{
  GtkWidget *window;
  GtkWidget *grid;
  GtkAdjustment *adjustment;
  gint64 process_start_us; /* CLOCK_BOOTTIME */
  gint64 frame_start_us;   /* g_get_monotonic_time() at "before-paint" */
  gboolean first_frame_done;
  gboolean scrolling;
  GArray *frame_ms;     /* double: GTK's work per frame while scrolling */
  GArray *interval_ms;  /* double: between two frame times while scrolling */
  gint64 last_frame_time;
  GMainLoop *loop;
} Bench;

static gint64
boottime_us (void)
{
  struct timespec now;

  clock_gettime (CLOCK_BOOTTIME, &now);
  return (gint64) now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000;
}

/* The process start from field 22 of /proc/self/stat, in clock ticks since boot. */
static gint64
process_start_us (void)
{
  g_autofree char *stat = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    g_error ("Cannot read /proc/self/stat");
  /* The command name in field 2 may contain spaces; the fields after it do not. */
  after_name = strrchr (stat, ')');
  fields = g_strsplit (after_name + 2, " ", -1);
  return g_ascii_strtoll (fields[19], NULL, 10) * G_USEC_PER_SEC / sysconf (_SC_CLK_TCK);
}

static GListModel *
create_games (guint n_games, const char *cover_dir)
{
  GListStore *games = g_list_store_new (MIST_TYPE_GAME_ITEM);
  g_autoptr (GPtrArray) covers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = g_dir_open (cover_dir, 0, NULL);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (covers, g_build_filename (cover_dir, name, NULL));
  if (covers->len == 0)
    g_error ("No .png covers in %s", cover_dir);

  for (guint i = 0; i < n_games; i++)
    {
      g_autofree char *slug = g_strdup_printf ("game-%05u", i);
      g_autofree char *title = g_strdup_printf ("Game number %u", i);
      MistGameItem *game = mist_game_item_new (slug, title);

      mist_game_item_set_latest_version (game, "1.1", 40000000, 100000000);
      /* Every seventh game is installed, every third of those has an update. */
      if (i % 7 == 0)
        mist_game_item_set_installed (game, i % 21 == 0 ? "1.0" : "1.1", 100000000, "/games");
      mist_game_item_set_cover_path (game, covers->pdata[i % covers->len]);
      g_ptr_array_add (items, game);
    }
  g_list_store_splice (games, 0, 0, items->pdata, items->len);
  return G_LIST_MODEL (games);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
percentile (GArray *values, double fraction)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, (guint) (fraction * (values->len - 1) + 0.5));
}

static void
on_before_paint (GdkFrameClock *clock, Bench *bench)
{
  bench->frame_start_us = g_get_monotonic_time ();
}

static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  Bench *bench = user_data;
  double value = gtk_adjustment_get_value (bench->adjustment) + SCROLL_STEP;

  if (bench->frame_ms->len >= SCROLL_FRAMES)
    {
      g_main_loop_quit (bench->loop);
      return G_SOURCE_REMOVE;
    }
  if (value > gtk_adjustment_get_upper (bench->adjustment) -
                gtk_adjustment_get_page_size (bench->adjustment))
    value = 0; /* a short library: start again at the top */
  gtk_adjustment_set_value (bench->adjustment, value);
  return G_SOURCE_CONTINUE;
}

static gboolean
grid_has_tiles (Bench *bench)
{
  return gtk_widget_get_first_child (bench->grid) != NULL &&
         gtk_widget_get_mapped (gtk_widget_get_first_child (bench->grid));
}

static void
on_after_paint (GdkFrameClock *clock, Bench *bench)
{
  gint64 now = g_get_monotonic_time ();
  gint64 frame_time = gdk_frame_clock_get_frame_time (clock);

  if (!bench->first_frame_done)
    {
      if (!grid_has_tiles (bench))
        return;
      bench->first_frame_done = TRUE;
      printf ("first-frame-ms %.1f\n", (boottime_us () - bench->process_start_us) / 1000.0);
      bench->adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (bench->grid));
      bench->scrolling = TRUE;
      gtk_widget_add_tick_callback (bench->window, scroll_tick, bench, NULL);
      return;
    }
  if (!bench->scrolling)
    return;

  {
    double work = (now - bench->frame_start_us) / 1000.0;
    double interval = (frame_time - bench->last_frame_time) / 1000.0;

    g_array_append_val (bench->frame_ms, work);
    if (bench->last_frame_time != 0)
      g_array_append_val (bench->interval_ms, interval);
  }
  bench->last_frame_time = frame_time;
}

static void
on_realize (GtkWidget *window, Bench *bench)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect (clock, "before-paint", G_CALLBACK (on_before_paint), bench);
  g_signal_connect_after (clock, "after-paint", G_CALLBACK (on_after_paint), bench);
}

/* Covers are decoded when a tile shows the game, so this counts the games the grid
 * bound while it scrolled. */
static guint
count_decoded_covers (GListModel *games)
{
  guint decoded = 0;

  for (guint i = 0; i < g_list_model_get_n_items (games); i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (games, i);

      if (mist_game_item_get_thumbnail (game) != NULL)
        decoded++;
    }
  return decoded;
}

int
main (int argc, char *argv[])
{
  Bench bench = { 0 };
  g_autoptr (GListModel) games = NULL;
  GtkWidget *page;
  guint64 n_games;

  bench.process_start_us = process_start_us ();
  if (argc != 3 || !g_ascii_string_to_unsigned (argv[1], 10, 1, 1000000, &n_games, NULL))
    {
      fprintf (stderr, "usage: %s N_GAMES COVER_DIR\n", argv[0]);
      return 2;
    }
  gtk_init ();
  adw_init ();

  bench.frame_ms = g_array_new (FALSE, FALSE, sizeof (double));
  bench.interval_ms = g_array_new (FALSE, FALSE, sizeof (double));
  bench.loop = g_main_loop_new (NULL, FALSE);
  games = create_games ((guint) n_games, argv[2]);

  page = mist_library_page_new ();
  mist_library_page_set_games (MIST_LIBRARY_PAGE (page), games);
  bench.grid = mist_library_page_get_grid_view (MIST_LIBRARY_PAGE (page));
  bench.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (bench.window), 1280, 800);
  gtk_window_set_child (GTK_WINDOW (bench.window), page);
  g_signal_connect_after (bench.window, "realize", G_CALLBACK (on_realize), &bench);
  gtk_window_present (GTK_WINDOW (bench.window));
  g_main_loop_run (bench.loop);

  printf ("covers-decoded %u\n", count_decoded_covers (games));
  printf ("scroll-frame-median-ms %.2f\n", percentile (bench.frame_ms, 0.5));
  printf ("scroll-frame-p95-ms %.2f\n", percentile (bench.frame_ms, 0.95));
  printf ("scroll-frame-max-ms %.2f\n", percentile (bench.frame_ms, 1.0));
  printf ("scroll-interval-median-ms %.2f\n", percentile (bench.interval_ms, 0.5));

  gtk_window_destroy (GTK_WINDOW (bench.window));
  g_array_unref (bench.frame_ms);
  g_array_unref (bench.interval_ms);
  g_main_loop_unref (bench.loop);
  return 0;
}
