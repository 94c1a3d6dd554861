/* mist-download-row.c: one job of the download queue with its progress and buttons
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-download-row.h"

#include "mist-format.h"

#include <glib/gi18n.h>

struct _MistDownloadRow
{
  GtkListBoxRow parent_instance;

  GtkLabel *title;
  GtkLabel *versions;
  GtkProgressBar *progress;
  GtkLabel *status;
  GtkButton *up_button;
  GtkButton *down_button;
  GtkButton *pause_button;
  GtkButton *cancel_button;

  MistDownloadItem *item; /* (owned) */
  const char *pause_action; /* "pause" or "resume", static */
};

G_DEFINE_FINAL_TYPE (MistDownloadRow, mist_download_row, GTK_TYPE_LIST_BOX_ROW)

enum
{
  SIGNAL_ACTION_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char *
describe_running (MistDownloadItem *item)
{
  g_autofree char *done = g_format_size (mist_download_item_get_bytes_done (item));
  g_autofree char *total = g_format_size (mist_download_item_get_bytes_total (item));
  g_autofree char *speed = mist_format_speed (mist_download_item_get_speed (item));
  g_autofree char *eta = mist_format_eta (mist_download_item_get_eta (item));

  /* TRANSLATORS: "12 MB of 38 MB · 2.1 MB/s · 3 minutes left" */
  return g_strdup_printf (_("%s of %s · %s · %s"), done, total, speed, eta);
}

static char *
describe_state (MistDownloadItem *item)
{
  g_autofree char *total = g_format_size (mist_download_item_get_bytes_total (item));
  g_autofree char *done = g_format_size (mist_download_item_get_bytes_done (item));

  switch (mist_download_item_get_state (item))
    {
    case MIST_DOWNLOAD_STATE_DOWNLOADING:
      return describe_running (item);
    case MIST_DOWNLOAD_STATE_INSTALLING:
      return g_strdup (_("Installing…"));
    case MIST_DOWNLOAD_STATE_PAUSED:
      /* TRANSLATORS: "Paused, 12 MB of 38 MB" */
      return g_strdup_printf (_("Paused, %s of %s"), done, total);
    case MIST_DOWNLOAD_STATE_FINISHED:
      return g_strdup (_("Finished"));
    case MIST_DOWNLOAD_STATE_FAILED:
      return g_strdup_printf (_("Failed: %s"), mist_download_item_get_error_message (item)
                                                 ? mist_download_item_get_error_message (item)
                                                 : _("unknown error"));
    case MIST_DOWNLOAD_STATE_QUEUED:
    default:
      /* A job stopped or waiting for its apply has bytes in the object cache already. */
      if (mist_download_item_get_bytes_done (item) > 0)
        /* TRANSLATORS: a queued job that has downloaded part of its size, "12 MB of 38 MB" */
        return g_strdup_printf (_ ("Queued, %s of %s downloaded"), done, total);
      /* TRANSLATORS: a job waiting in the queue, with its download size */
      return g_strdup_printf (_("Queued, %s to download"), total);
    }
}

static void
sync_from_item (MistDownloadRow *self)
{
  MistDownloadItem *item = self->item;
  MistGameItem *game = mist_download_item_get_game (item);
  MistDownloadState state = mist_download_item_get_state (item);
  g_autofree char *versions = mist_format_versions (mist_download_item_get_from_version (item),
                                                    mist_download_item_get_to_version (item));
  g_autofree char *status = describe_state (item);
  g_autofree char *label = NULL;
  gboolean active = mist_download_item_is_active (item);
  gboolean paused = state == MIST_DOWNLOAD_STATE_PAUSED;

  gtk_label_set_text (self->title, mist_game_item_get_title (game));
  gtk_label_set_text (self->versions, versions);
  gtk_progress_bar_set_fraction (self->progress, mist_download_item_get_fraction (item));
  gtk_label_set_text (self->status, status);
  if (state == MIST_DOWNLOAD_STATE_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status), "error");

  self->pause_action = paused ? "resume" : "pause";
  gtk_button_set_icon_name (self->pause_button, paused ? "media-playback-start-symbolic"
                                                       : "media-playback-pause-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->pause_button), paused ? _("Resume") : _("Pause"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->pause_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, paused ? _("Resume") : _("Pause"),
                                  -1);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button),
                            active && state != MIST_DOWNLOAD_STATE_INSTALLING);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button),
                            active && state != MIST_DOWNLOAD_STATE_INSTALLING);

  /* TRANSLATORS: how a screen reader names a download row: game, versions, status */
  label = g_strdup_printf (_("%s %s, %s"), mist_game_item_get_title (game), versions, status);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
emit_action (MistDownloadRow *self, const char *action)
{
  g_signal_emit (self, signals[SIGNAL_ACTION_REQUESTED], 0, action);
}

static void
on_up_clicked (MistDownloadRow *self)
{
  emit_action (self, "move-up");
}

static void
on_down_clicked (MistDownloadRow *self)
{
  emit_action (self, "move-down");
}

static void
on_pause_clicked (MistDownloadRow *self)
{
  emit_action (self, self->pause_action);
}

static void
on_cancel_clicked (MistDownloadRow *self)
{
  emit_action (self, "cancel");
}

static void
mist_download_row_dispose (GObject *object)
{
  MistDownloadRow *self = MIST_DOWNLOAD_ROW (object);

  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_object (&self->item);

  G_OBJECT_CLASS (mist_download_row_parent_class)->dispose (object);
}

static void
mist_download_row_class_init (MistDownloadRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mist_download_row_dispose;

  /**
   * MistDownloadRow::action-requested:
   * @action: "pause", "resume", "cancel", "move-up" or "move-down"
   */
  signals[SIGNAL_ACTION_REQUESTED] =
    g_signal_new ("action-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-download-row.ui");
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, title);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, versions);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, progress);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, status);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, up_button);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, down_button);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, pause_button);
  gtk_widget_class_bind_template_child (widget_class, MistDownloadRow, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, on_up_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_down_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_pause_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
}

static void
mist_download_row_init (MistDownloadRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mist_download_row_new (MistDownloadItem *item)
{
  MistDownloadRow *self;

  g_return_val_if_fail (MIST_IS_DOWNLOAD_ITEM (item), NULL);

  self = g_object_new (MIST_TYPE_DOWNLOAD_ROW, NULL);
  self->item = g_object_ref (item);
  g_signal_connect_swapped (item, "changed", G_CALLBACK (sync_from_item), self);
  sync_from_item (self);
  return GTK_WIDGET (self);
}

MistDownloadItem *
mist_download_row_get_item (MistDownloadRow *self)
{
  return self->item;
}

const char *
mist_download_row_get_status_text (MistDownloadRow *self)
{
  return gtk_label_get_text (self->status);
}

/* "pause" or "resume": what the row's pause button does now. */
const char *
mist_download_row_get_pause_action (MistDownloadRow *self)
{
  return self->pause_action;
}

/* Turns off "move up" on the first row and "move down" on the last. */
void
mist_download_row_set_position (MistDownloadRow *self, guint position, guint n_rows)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->up_button), position > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->down_button), position + 1 < n_rows);
}
