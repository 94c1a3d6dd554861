/* mist-downloads-page.h: the download queue, its total speed and the throughput graph
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-download-item.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_DOWNLOADS_PAGE (mist_downloads_page_get_type ())
G_DECLARE_FINAL_TYPE (MistDownloadsPage, mist_downloads_page, MIST, DOWNLOADS_PAGE, AdwBin)

GtkWidget *mist_downloads_page_new (void);

void mist_downloads_page_set_jobs (MistDownloadsPage *self, GListModel *jobs);
void mist_downloads_page_sample (MistDownloadsPage *self);
double mist_downloads_page_get_total_speed (MistDownloadsPage *self);
guint mist_downloads_page_get_n_active (MistDownloadsPage *self);
GtkWidget *mist_downloads_page_get_row (MistDownloadsPage *self, guint position);
GtkWidget *mist_downloads_page_get_graph (MistDownloadsPage *self);
const char *mist_downloads_page_get_visible_child_name (MistDownloadsPage *self);

G_END_DECLS
