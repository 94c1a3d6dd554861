/* mist-download-row.h: one job of the download queue with its progress and buttons
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-download-item.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MIST_TYPE_DOWNLOAD_ROW (mist_download_row_get_type ())
G_DECLARE_FINAL_TYPE (MistDownloadRow, mist_download_row, MIST, DOWNLOAD_ROW, GtkListBoxRow)

GtkWidget *mist_download_row_new (MistDownloadItem *item);
MistDownloadItem *mist_download_row_get_item (MistDownloadRow *self);
const char *mist_download_row_get_status_text (MistDownloadRow *self);
const char *mist_download_row_get_pause_action (MistDownloadRow *self);
void mist_download_row_set_position (MistDownloadRow *self, guint position, guint n_rows);

G_END_DECLS
