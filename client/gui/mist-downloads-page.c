/* mist-downloads-page.c: the download queue, its total speed and the throughput graph
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-downloads-page.h"

#include "mist-download-row.h"
#include "mist-format.h"
#include "mist-throughput-graph.h"

#include <glib/gi18n.h>

struct _MistDownloadsPage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkLabel *total_speed;
  GtkLabel *total_detail;
  MistThroughputGraph *graph;
  GtkListBox *list_box;

  GListModel *jobs; /* (nullable) (owned): MistDownloadItem in queue order */
  guint tick_source;
};

G_DEFINE_FINAL_TYPE (MistDownloadsPage, mist_downloads_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_JOB_ACTION,
  SIGNAL_QUEUE_ACTION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static guint
row_position (GtkWidget *row)
{
  return (guint) gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row));
}

static void
emit_move (MistDownloadsPage *self, MistDownloadItem *item, guint position)
{
  g_signal_emit (self, signals[SIGNAL_JOB_ACTION], 0, "move", item, position);
}

static void
on_row_action (MistDownloadsPage *self, const char *action, MistDownloadRow *row)
{
  MistDownloadItem *item = mist_download_row_get_item (row);
  guint position = row_position (GTK_WIDGET (row));
  guint n = g_list_model_get_n_items (self->jobs);

  if (g_str_equal (action, "move-up"))
    {
      if (position > 0)
        emit_move (self, item, position - 1);
    }
  else if (g_str_equal (action, "move-down"))
    {
      if (position + 1 < n)
        emit_move (self, item, position + 1);
    }
  else
    g_signal_emit (self, signals[SIGNAL_JOB_ACTION], 0, action, item, position);
}

static GdkContentProvider *
on_drag_prepare (GtkDragSource *source, double x, double y, MistDownloadRow *row)
{
  g_autoptr (GdkPaintable) icon = gtk_widget_paintable_new (GTK_WIDGET (row));

  gtk_drag_source_set_icon (source, icon, (int) x, (int) y);
  return gdk_content_provider_new_typed (MIST_TYPE_DOWNLOAD_ITEM, mist_download_row_get_item (row));
}

/* A row dropped on another row takes that row's place in the queue. */
static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, MistDownloadRow *row)
{
  MistDownloadsPage *self =
    MIST_DOWNLOADS_PAGE (gtk_widget_get_ancestor (GTK_WIDGET (row), MIST_TYPE_DOWNLOADS_PAGE));
  MistDownloadItem *dragged = g_value_get_object (value);

  if (self == NULL || dragged == NULL || dragged == mist_download_row_get_item (row))
    return FALSE;
  emit_move (self, dragged, row_position (GTK_WIDGET (row)));
  return TRUE;
}

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  MistDownloadsPage *self = user_data;
  GtkWidget *row = mist_download_row_new (item);
  GtkDragSource *source = gtk_drag_source_new ();
  GtkDropTarget *target = gtk_drop_target_new (MIST_TYPE_DOWNLOAD_ITEM, GDK_ACTION_MOVE);

  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect (source, "prepare", G_CALLBACK (on_drag_prepare), row);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (source));
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), row);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (target));

  g_signal_connect_object (row, "action-requested", G_CALLBACK (on_row_action), self,
                           G_CONNECT_SWAPPED);
  return row;
}

static void
update_summary (MistDownloadsPage *self)
{
  guint n = self->jobs != NULL ? g_list_model_get_n_items (self->jobs) : 0;
  guint64 done = 0;
  guint64 total = 0;
  double speed = 0;
  guint n_active = 0;
  g_autofree char *speed_text = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *done_text = NULL;
  g_autofree char *total_text = NULL;
  g_autofree char *eta_text = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (self->jobs, i);

      if (!mist_download_item_is_active (item))
        continue;
      n_active++;
      done += mist_download_item_get_bytes_done (item);
      total += mist_download_item_get_bytes_total (item);
      speed += mist_download_item_get_speed (item);
    }

  speed_text = mist_format_speed (speed);
  done_text = g_format_size (done);
  total_text = g_format_size (total);
  eta_text = mist_format_eta (speed > 0 ? (gint64) ((total - MIN (done, total)) / speed) : -1);
  /* TRANSLATORS: the queue as a whole: "2 downloads, 12 MB of 1.2 GB · 3 minutes left" */
  detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u download, %s of %s · %s",
                                         "%u downloads, %s of %s · %s", n_active),
                            n_active, done_text, total_text, eta_text);
  gtk_label_set_text (self->total_speed, speed_text);
  gtk_label_set_text (self->total_detail, detail);

  for (guint i = 0; i < n; i++)
    mist_download_row_set_position (
      MIST_DOWNLOAD_ROW (gtk_list_box_get_row_at_index (self->list_box, (int) i)), i, n);
  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "queue" : "empty");
}

static void
on_jobs_changed (MistDownloadsPage *self)
{
  update_summary (self);
}

static gboolean
on_tick (gpointer user_data)
{
  mist_downloads_page_sample (MIST_DOWNLOADS_PAGE (user_data));
  return G_SOURCE_CONTINUE;
}

static void
queue_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_signal_emit (widget, signals[SIGNAL_QUEUE_ACTION], 0, action_name + strlen ("downloads."));
}

static void
mist_downloads_page_dispose (GObject *object)
{
  MistDownloadsPage *self = MIST_DOWNLOADS_PAGE (object);

  g_clear_handle_id (&self->tick_source, g_source_remove);
  if (self->jobs != NULL)
    g_signal_handlers_disconnect_by_data (self->jobs, self);
  g_clear_object (&self->jobs);

  G_OBJECT_CLASS (mist_downloads_page_parent_class)->dispose (object);
}

static void
mist_downloads_page_class_init (MistDownloadsPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mist_downloads_page_dispose;

  /**
   * MistDownloadsPage::job-action:
   * @action: "pause", "resume", "cancel" or "move"
   * @job: the MistDownloadItem
   * @position: for "move", the place in the queue the job moves to; otherwise its place
   */
  signals[SIGNAL_JOB_ACTION] =
    g_signal_new ("job-action", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, MIST_TYPE_DOWNLOAD_ITEM, G_TYPE_UINT);
  /**
   * MistDownloadsPage::queue-action:
   * @action: "pause-all" or "resume-all"
   */
  signals[SIGNAL_QUEUE_ACTION] =
    g_signal_new ("queue-action", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "downloads.pause-all", NULL, queue_action);
  gtk_widget_class_install_action (widget_class, "downloads.resume-all", NULL, queue_action);

  g_type_ensure (MIST_TYPE_THROUGHPUT_GRAPH);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-downloads-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MistDownloadsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadsPage, total_speed);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadsPage, total_detail);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadsPage, graph);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadsPage, list_box);
}

static void
mist_downloads_page_init (MistDownloadsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* One sample a second, the resolution of the throughput graph. */
  self->tick_source = g_timeout_add_seconds (1, on_tick, self);
  update_summary (self);
}

GtkWidget *
mist_downloads_page_new (void)
{
  return g_object_new (MIST_TYPE_DOWNLOADS_PAGE, NULL);
}

static void
on_job_changed (MistDownloadsPage *self)
{
  update_summary (self);
}

static void
watch_jobs (MistDownloadsPage *self, guint position, guint removed, guint added)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (self->jobs, i);

      g_signal_connect_object (item, "changed", G_CALLBACK (on_job_changed), self,
                               G_CONNECT_SWAPPED);
    }
  on_jobs_changed (self);
}

/* Shows jobs, the queue as a list of MistDownloadItem in order. */
void
mist_downloads_page_set_jobs (MistDownloadsPage *self, GListModel *jobs)
{
  g_return_if_fail (MIST_IS_DOWNLOADS_PAGE (self));

  if (self->jobs != NULL)
    g_signal_handlers_disconnect_by_data (self->jobs, self);
  g_set_object (&self->jobs, jobs);
  gtk_list_box_bind_model (self->list_box, jobs, create_row, self, NULL);
  if (jobs != NULL)
    {
      g_signal_connect_swapped (jobs, "items-changed", G_CALLBACK (watch_jobs), self);
      watch_jobs (self, 0, 0, g_list_model_get_n_items (jobs));
    }
  update_summary (self);
}

/* Adds the current total speed to the graph; the page calls it once a second. */
void
mist_downloads_page_sample (MistDownloadsPage *self)
{
  mist_throughput_graph_add_sample (self->graph, mist_downloads_page_get_total_speed (self));
  update_summary (self);
}

/* The sum of the speeds of the running jobs, in bytes per second. */
double
mist_downloads_page_get_total_speed (MistDownloadsPage *self)
{
  guint n = self->jobs != NULL ? g_list_model_get_n_items (self->jobs) : 0;
  double speed = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (self->jobs, i);

      speed += mist_download_item_get_speed (item);
    }
  return speed;
}

guint
mist_downloads_page_get_n_active (MistDownloadsPage *self)
{
  guint n = self->jobs != NULL ? g_list_model_get_n_items (self->jobs) : 0;
  guint n_active = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (self->jobs, i);

      n_active += mist_download_item_is_active (item);
    }
  return n_active;
}

GtkWidget *
mist_downloads_page_get_row (MistDownloadsPage *self, guint position)
{
  return GTK_WIDGET (gtk_list_box_get_row_at_index (self->list_box, (int) position));
}

GtkWidget *
mist_downloads_page_get_graph (MistDownloadsPage *self)
{
  return GTK_WIDGET (self->graph);
}

/* "empty" or "queue". */
const char *
mist_downloads_page_get_visible_child_name (MistDownloadsPage *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}
