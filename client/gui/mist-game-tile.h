/* mist-game-tile.h: a game's cover, title and badges in the library grid
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-game-item.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MIST_TYPE_GAME_TILE (mist_game_tile_get_type ())
G_DECLARE_FINAL_TYPE (MistGameTile, mist_game_tile, MIST, GAME_TILE, GtkWidget)

GtkWidget *mist_game_tile_new (void);
void mist_game_tile_set_item (MistGameTile *self, MistGameItem *item);
MistGameItem *mist_game_tile_get_item (MistGameTile *self);
const char *mist_game_tile_get_badge_text (MistGameTile *self);
gboolean mist_game_tile_get_private_badge_visible (MistGameTile *self);

G_END_DECLS
