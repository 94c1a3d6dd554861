/* test-downloads-page.c: the queue rows, their actions, reordering and the graph
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-download-row.h"
#include "mist-downloads-page.h"
#include "mist-throughput-graph.h"

typedef struct
{
  MistDownloadsPage *page;
  GtkWindow *window;
  GListStore *jobs;
  MistGameItem *games[3];
  char *action;
  MistDownloadItem *action_job;
  guint action_position;
  char *queue_action;
} Fixture;

static void
on_job_action (MistDownloadsPage *page,
               const char *action,
               MistDownloadItem *job,
               guint position,
               Fixture *fixture)
{
  g_free (fixture->action);
  fixture->action = g_strdup (action);
  fixture->action_job = job;
  fixture->action_position = position;
}

static void
on_queue_action (MistDownloadsPage *page, const char *action, Fixture *fixture)
{
  g_free (fixture->queue_action);
  fixture->queue_action = g_strdup (action);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  const char *titles[] = { "Doom", "Quake", "Tetris" };

  fixture->page = MIST_DOWNLOADS_PAGE (mist_downloads_page_new ());
  fixture->jobs = g_list_store_new (MIST_TYPE_DOWNLOAD_ITEM);
  for (guint i = 0; i < 3; i++)
    fixture->games[i] = gui_test_game_new (titles[i], titles[i], 2);
  g_signal_connect (fixture->page, "job-action", G_CALLBACK (on_job_action), fixture);
  g_signal_connect (fixture->page, "queue-action", G_CALLBACK (on_queue_action), fixture);
  mist_downloads_page_set_jobs (fixture->page, G_LIST_MODEL (fixture->jobs));
  fixture->window = gui_test_show (GTK_WIDGET (fixture->page), 900, 700);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  g_clear_object (&fixture->jobs);
  for (guint i = 0; i < 3; i++)
    g_clear_object (&fixture->games[i]);
  g_free (fixture->action);
  g_free (fixture->queue_action);
}

static MistDownloadItem *
add_job (Fixture *fixture, guint game, const char *from, const char *to, MistDownloadState state)
{
  g_autoptr (MistDownloadItem) job =
    mist_download_item_new (fixture->games[game], from, to, 38000000);

  mist_download_item_set_state (job, state);
  g_list_store_append (fixture->jobs, job);
  return job; /* owned by the store */
}

static MistDownloadRow *
row_at (Fixture *fixture, guint position)
{
  return MIST_DOWNLOAD_ROW (mist_downloads_page_get_row (fixture->page, position));
}

static void
test_empty_then_queue (Fixture *fixture, gconstpointer data)
{
  g_assert_cmpstr (mist_downloads_page_get_visible_child_name (fixture->page), ==, "empty");
  add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_QUEUED);
  g_assert_cmpstr (mist_downloads_page_get_visible_child_name (fixture->page), ==, "queue");
  g_assert_nonnull (strstr (mist_download_row_get_status_text (row_at (fixture, 0)), "Queued"));
}

static void
test_progress_speed_and_eta (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *job = add_job (fixture, 0, "1.0", "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  const char *status;

  mist_download_item_set_progress (job, 12000000, 38000000, 2000000, 13);
  status = mist_download_row_get_status_text (row_at (fixture, 0));
  g_assert_nonnull (strstr (status, "12.0\u00a0MB of 38.0\u00a0MB"));
  g_assert_nonnull (strstr (status, "2.0\u00a0MB/s"));
  g_assert_nonnull (strstr (status, "13 seconds left"));
  g_assert_cmpfloat (mist_game_item_get_progress (fixture->games[0]), >, 0.3);
  g_assert_cmpint (mist_game_item_get_state (fixture->games[0]), ==,
                   MIST_GAME_STATE_DOWNLOADING);
}

/* A job stopped partway, or loaded after a restart, shows what it has downloaded. */
static void
test_queued_row_shows_downloaded (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *job = add_job (fixture, 0, "1.0", "1.1", MIST_DOWNLOAD_STATE_QUEUED);
  const char *status;

  mist_download_item_set_progress (job, 12000000, 38000000, 0, -1);
  status = mist_download_row_get_status_text (row_at (fixture, 0));
  g_assert_nonnull (strstr (status, "Queued"));
  g_assert_nonnull (strstr (status, "12.0\u00a0MB of 38.0\u00a0MB downloaded"));
  g_assert_cmpfloat (mist_game_item_get_progress (fixture->games[0]), >, 0.3);

  mist_download_item_set_progress (job, 0, 38000000, 0, -1);
  status = mist_download_row_get_status_text (row_at (fixture, 0));
  g_assert_nonnull (strstr (status, "38.0\u00a0MB to download"));
}

static void
test_pause_and_resume_row (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *job = add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);

  g_assert_cmpstr (mist_download_row_get_pause_action (row_at (fixture, 0)), ==, "pause");
  g_signal_emit_by_name (row_at (fixture, 0), "action-requested", "pause");
  g_assert_cmpstr (fixture->action, ==, "pause");
  g_assert_true (fixture->action_job == job);

  mist_download_item_set_state (job, MIST_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpstr (mist_download_row_get_pause_action (row_at (fixture, 0)), ==, "resume");
  g_assert_nonnull (strstr (mist_download_row_get_status_text (row_at (fixture, 0)), "Paused"));
  g_assert_cmpint (mist_game_item_get_state (fixture->games[0]), ==, MIST_GAME_STATE_PAUSED);
}

static void
test_move_buttons (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *second;

  add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  second = add_job (fixture, 1, NULL, "1.1", MIST_DOWNLOAD_STATE_QUEUED);
  add_job (fixture, 2, NULL, "1.1", MIST_DOWNLOAD_STATE_QUEUED);

  g_signal_emit_by_name (row_at (fixture, 1), "action-requested", "move-up");
  g_assert_cmpstr (fixture->action, ==, "move");
  g_assert_true (fixture->action_job == second);
  g_assert_cmpuint (fixture->action_position, ==, 0);

  g_signal_emit_by_name (row_at (fixture, 1), "action-requested", "move-down");
  g_assert_cmpuint (fixture->action_position, ==, 2);

  /* The last row cannot move further down. */
  g_clear_pointer (&fixture->action, g_free);
  g_signal_emit_by_name (row_at (fixture, 2), "action-requested", "move-down");
  g_assert_null (fixture->action);
}

static GtkEventController *
row_controller (MistDownloadRow *row, GType type)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (row));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller; /* owned by the row */
    }
  return NULL;
}

/* Starts a drag on the row at from, as GtkDragSource does when the pointer moves, and
 * drops what it carries on the row at to, as GtkDropTarget does on release. */
static gboolean
drag_row (Fixture *fixture, guint from, guint to)
{
  GtkEventController *source = row_controller (row_at (fixture, from), GTK_TYPE_DRAG_SOURCE);
  GtkEventController *target = row_controller (row_at (fixture, to), GTK_TYPE_DROP_TARGET);
  g_autoptr (GdkContentProvider) content = NULL;
  g_auto (GValue) value = G_VALUE_INIT;
  g_autoptr (GError) error = NULL;
  gboolean accepted = FALSE;

  g_assert_nonnull (source);
  g_assert_nonnull (target);
  g_assert_true (gtk_drag_source_get_actions (GTK_DRAG_SOURCE (source)) & GDK_ACTION_MOVE);
  g_signal_emit_by_name (source, "prepare", 10.0, 10.0, &content);
  g_assert_nonnull (content);

  g_value_init (&value, MIST_TYPE_DOWNLOAD_ITEM);
  g_assert_true (gdk_content_provider_get_value (content, &value, &error));
  g_assert_no_error (error);
  g_assert_true (g_value_get_object (&value) == mist_download_row_get_item (row_at (fixture, from)));
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  return accepted;
}

static void
test_drag_and_drop_reorders (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *first;
  MistDownloadItem *third;

  first = add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  add_job (fixture, 1, NULL, "1.1", MIST_DOWNLOAD_STATE_QUEUED);
  third = add_job (fixture, 2, NULL, "1.1", MIST_DOWNLOAD_STATE_QUEUED);

  /* The last job dropped on the first takes its place. */
  g_assert_true (drag_row (fixture, 2, 0));
  g_assert_cmpstr (fixture->action, ==, "move");
  g_assert_true (fixture->action_job == third);
  g_assert_cmpuint (fixture->action_position, ==, 0);

  /* And the first dropped on the last goes to the end. */
  g_assert_true (drag_row (fixture, 0, 2));
  g_assert_true (fixture->action_job == first);
  g_assert_cmpuint (fixture->action_position, ==, 2);

  /* A row dropped on itself is no move. */
  g_clear_pointer (&fixture->action, g_free);
  g_assert_false (drag_row (fixture, 1, 1));
  g_assert_null (fixture->action);
}

static void
test_cancel_and_failed (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *job = add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);

  g_signal_emit_by_name (row_at (fixture, 0), "action-requested", "cancel");
  g_assert_cmpstr (fixture->action, ==, "cancel");

  mist_download_item_set_error_message (job, "Not enough space in /games");
  mist_download_item_set_state (job, MIST_DOWNLOAD_STATE_FAILED);
  g_assert_nonnull (strstr (mist_download_row_get_status_text (row_at (fixture, 0)),
                            "Not enough space"));
  g_assert_cmpuint (mist_downloads_page_get_n_active (fixture->page), ==, 0);
  g_assert_cmpint (mist_game_item_get_state (fixture->games[0]), ==, MIST_GAME_STATE_AVAILABLE);
}

static void
test_pause_all (Fixture *fixture, gconstpointer data)
{
  add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  gtk_widget_activate_action (GTK_WIDGET (fixture->page), "downloads.pause-all", NULL);
  g_assert_cmpstr (fixture->queue_action, ==, "pause-all");
  gtk_widget_activate_action (GTK_WIDGET (fixture->page), "downloads.resume-all", NULL);
  g_assert_cmpstr (fixture->queue_action, ==, "resume-all");
}

static void
test_graph_samples_total_speed (Fixture *fixture, gconstpointer data)
{
  MistDownloadItem *a = add_job (fixture, 0, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  MistDownloadItem *b = add_job (fixture, 1, NULL, "1.1", MIST_DOWNLOAD_STATE_DOWNLOADING);
  MistThroughputGraph *graph =
    MIST_THROUGHPUT_GRAPH (mist_downloads_page_get_graph (fixture->page));

  mist_throughput_graph_clear (graph);
  mist_download_item_set_progress (a, 0, 38000000, 1000000, -1);
  mist_download_item_set_progress (b, 0, 38000000, 3000000, -1);
  g_assert_cmpfloat (mist_downloads_page_get_total_speed (fixture->page), ==, 4000000);
  mist_downloads_page_sample (fixture->page);
  g_assert_cmpuint (mist_throughput_graph_get_n_samples (graph), ==, 1);
  g_assert_cmpfloat (mist_throughput_graph_get_peak (graph), ==, 4000000);

  /* The graph keeps three minutes of one-second samples. */
  for (guint i = 0; i < 500; i++)
    mist_throughput_graph_add_sample (graph, i);
  g_assert_cmpuint (mist_throughput_graph_get_n_samples (graph), ==, 180);
  g_assert_cmpfloat (mist_throughput_graph_get_peak (graph), ==, 499);
  gui_test_spin (50); /* draws it */
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/gui/downloads-page/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("empty-then-queue", test_empty_then_queue);
  ADD ("progress-speed-and-eta", test_progress_speed_and_eta);
  ADD ("queued-row-shows-downloaded", test_queued_row_shows_downloaded);
  ADD ("pause-and-resume-row", test_pause_and_resume_row);
  ADD ("move-buttons", test_move_buttons);
  ADD ("drag-and-drop-reorders", test_drag_and_drop_reorders);
  ADD ("cancel-and-failed", test_cancel_and_failed);
  ADD ("pause-all", test_pause_all);
  ADD ("graph-samples-total-speed", test_graph_samples_total_speed);
#undef ADD

  return g_test_run ();
}
