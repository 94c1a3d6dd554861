/* mist-library-page.h: the grid of games with search, filters and the offline banner
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-game-item.h"

#include <adwaita.h>

G_BEGIN_DECLS

/* The values match the nicks of the library-filter key in the GSettings schema. */
typedef enum
{
  MIST_LIBRARY_FILTER_ALL,
  MIST_LIBRARY_FILTER_INSTALLED,
  MIST_LIBRARY_FILTER_UPDATES,
} MistLibraryFilter;

#define MIST_TYPE_LIBRARY_PAGE (mist_library_page_get_type ())
G_DECLARE_FINAL_TYPE (MistLibraryPage, mist_library_page, MIST, LIBRARY_PAGE, AdwBin)

GtkWidget *mist_library_page_new (void);

void mist_library_page_set_games (MistLibraryPage *self, GListModel *games);
GListModel *mist_library_page_get_visible_games (MistLibraryPage *self);
void mist_library_page_set_filter (MistLibraryPage *self, MistLibraryFilter filter);
MistLibraryFilter mist_library_page_get_filter (MistLibraryPage *self);
void mist_library_page_set_search_text (MistLibraryPage *self, const char *text);
void mist_library_page_focus_search (MistLibraryPage *self);
void mist_library_page_set_loading (MistLibraryPage *self, gboolean loading);
void mist_library_page_set_offline (MistLibraryPage *self, const char *reason);
gboolean mist_library_page_get_offline (MistLibraryPage *self);
const char *mist_library_page_get_visible_child_name (MistLibraryPage *self);
GtkWidget *mist_library_page_get_grid_view (MistLibraryPage *self);

G_END_DECLS
