/* mist-game-page.h: one game with its versions and the action that fits its state
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-game-item.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_GAME_PAGE (mist_game_page_get_type ())
G_DECLARE_FINAL_TYPE (MistGamePage, mist_game_page, MIST, GAME_PAGE, AdwBin)

GtkWidget *mist_game_page_new (void);

void mist_game_page_set_item (MistGamePage *self, MistGameItem *item);
MistGameItem *mist_game_page_get_item (MistGamePage *self);
void mist_game_page_set_install_folder (MistGamePage *self, const char *folder);
const char *mist_game_page_get_install_folder (MistGamePage *self);
void mist_game_page_set_offline (MistGamePage *self, const char *reason);
const char *mist_game_page_get_primary_action (MistGamePage *self);
GtkWidget *mist_game_page_get_primary_button (MistGamePage *self);
const char *mist_game_page_get_action_detail (MistGamePage *self);
guint mist_game_page_get_n_versions_shown (MistGamePage *self);

G_END_DECLS
