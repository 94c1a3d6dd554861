/* mist-game-item.h: a game of the library as the views show it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gdk/gdk.h>

G_BEGIN_DECLS

/**
 * MistGameState:
 * @MIST_GAME_STATE_AVAILABLE: on the server, not installed
 * @MIST_GAME_STATE_QUEUED: an install or update waits in the download queue
 * @MIST_GAME_STATE_DOWNLOADING: an install or update is running
 * @MIST_GAME_STATE_PAUSED: an install or update was paused by the user
 * @MIST_GAME_STATE_INSTALLED: installed at the latest version the server offers
 * @MIST_GAME_STATE_UPDATE_AVAILABLE: installed, and the server has a newer version
 *
 * What the game page's primary action and the library badges follow.
 */
typedef enum
{
  MIST_GAME_STATE_AVAILABLE,
  MIST_GAME_STATE_QUEUED,
  MIST_GAME_STATE_DOWNLOADING,
  MIST_GAME_STATE_PAUSED,
  MIST_GAME_STATE_INSTALLED,
  MIST_GAME_STATE_UPDATE_AVAILABLE,
} MistGameState;

GType mist_game_state_get_type (void);
#define MIST_TYPE_GAME_STATE (mist_game_state_get_type ())

#define MIST_TYPE_GAME_ITEM (mist_game_item_get_type ())
G_DECLARE_FINAL_TYPE (MistGameItem, mist_game_item, MIST, GAME_ITEM, GObject)

MistGameItem *mist_game_item_new (const char *slug, const char *title);

const char *mist_game_item_get_slug (MistGameItem *self);
const char *mist_game_item_get_title (MistGameItem *self);
const char *mist_game_item_get_description (MistGameItem *self);
gboolean mist_game_item_get_is_private (MistGameItem *self);
const char *mist_game_item_get_latest_version (MistGameItem *self);
guint64 mist_game_item_get_download_size (MistGameItem *self);
guint64 mist_game_item_get_latest_installed_size (MistGameItem *self);
MistGameState mist_game_item_get_state (MistGameItem *self);
const char *mist_game_item_get_installed_version (MistGameItem *self);
guint64 mist_game_item_get_installed_size (MistGameItem *self);
const char *mist_game_item_get_install_path (MistGameItem *self);
const char *mist_game_item_get_update_summary (MistGameItem *self);
double mist_game_item_get_progress (MistGameItem *self);
GdkPaintable *mist_game_item_get_cover (MistGameItem *self);
/* The size of a cover in the library grid, in pixels at a scale factor of 1. */
#define MIST_GAME_ITEM_THUMBNAIL_WIDTH 160
#define MIST_GAME_ITEM_THUMBNAIL_HEIGHT 214
GdkPaintable *mist_game_item_get_thumbnail (MistGameItem *self);
const char *mist_game_item_get_cover_path (MistGameItem *self);
GListModel *mist_game_item_get_versions (MistGameItem *self);
gboolean mist_game_item_is_installed (MistGameItem *self);
gboolean mist_game_item_has_job (MistGameItem *self);

void mist_game_item_set_title (MistGameItem *self, const char *title);
void mist_game_item_set_description (MistGameItem *self, const char *description);
void mist_game_item_set_is_private (MistGameItem *self, gboolean is_private);
void mist_game_item_set_latest_version (MistGameItem *self,
                                        const char *name,
                                        guint64 download_size,
                                        guint64 installed_size);
void mist_game_item_set_state (MistGameItem *self, MistGameState state);
void mist_game_item_set_installed (MistGameItem *self,
                                   const char *version,
                                   guint64 size,
                                   const char *path);
void mist_game_item_set_update_summary (MistGameItem *self, const char *summary);
void mist_game_item_set_progress (MistGameItem *self, double progress);
void mist_game_item_set_cover_path (MistGameItem *self, const char *path);
void mist_game_item_set_versions (MistGameItem *self, GPtrArray *versions);

void mist_game_item_load_cover_async (MistGameItem *self,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean mist_game_item_load_cover_finish (MistGameItem *self,
                                           GAsyncResult *result,
                                           GError **error);

G_END_DECLS
