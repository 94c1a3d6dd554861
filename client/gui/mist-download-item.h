/* mist-download-item.h: one job of the download queue as the downloads page shows it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-game-item.h"

G_BEGIN_DECLS

typedef enum
{
  MIST_DOWNLOAD_STATE_QUEUED,
  MIST_DOWNLOAD_STATE_DOWNLOADING,
  MIST_DOWNLOAD_STATE_INSTALLING,
  MIST_DOWNLOAD_STATE_PAUSED,
  MIST_DOWNLOAD_STATE_FINISHED,
  MIST_DOWNLOAD_STATE_FAILED,
} MistDownloadState;

GType mist_download_state_get_type (void);
#define MIST_TYPE_DOWNLOAD_STATE (mist_download_state_get_type ())

#define MIST_TYPE_DOWNLOAD_ITEM (mist_download_item_get_type ())
G_DECLARE_FINAL_TYPE (MistDownloadItem, mist_download_item, MIST, DOWNLOAD_ITEM, GObject)

MistDownloadItem *mist_download_item_new (MistGameItem *game,
                                          const char *from_version,
                                          const char *to_version,
                                          guint64 bytes_total);

MistGameItem *mist_download_item_get_game (MistDownloadItem *self);
const char *mist_download_item_get_from_version (MistDownloadItem *self);
const char *mist_download_item_get_to_version (MistDownloadItem *self);
MistDownloadState mist_download_item_get_state (MistDownloadItem *self);
guint64 mist_download_item_get_bytes_done (MistDownloadItem *self);
guint64 mist_download_item_get_bytes_total (MistDownloadItem *self);
double mist_download_item_get_speed (MistDownloadItem *self);
gint64 mist_download_item_get_eta (MistDownloadItem *self);
const char *mist_download_item_get_error_message (MistDownloadItem *self);
double mist_download_item_get_fraction (MistDownloadItem *self);
gboolean mist_download_item_is_active (MistDownloadItem *self);

void mist_download_item_set_state (MistDownloadItem *self, MistDownloadState state);
void mist_download_item_set_progress (MistDownloadItem *self,
                                      guint64 bytes_done,
                                      guint64 bytes_total,
                                      double speed,
                                      gint64 eta);
void mist_download_item_set_error_message (MistDownloadItem *self, const char *message);

G_END_DECLS
