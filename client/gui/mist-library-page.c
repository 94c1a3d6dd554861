/* mist-library-page.c: the grid of games with search, filters and the offline banner
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-library-page.h"

#include "mist-game-tile.h"

#include <glib/gi18n.h>

struct _MistLibraryPage
{
  AdwBin parent_instance;

  GtkRevealer *offline_revealer;
  GtkLabel *offline_label;
  GtkSearchEntry *search_entry;
  GtkToggleButton *filter_all;
  GtkToggleButton *filter_installed;
  GtkToggleButton *filter_updates;
  GtkStack *stack;
  GtkGridView *grid_view;
  AdwStatusPage *empty_page;

  GListModel *games;               /* (nullable) (owned): MistGameItem */
  GtkCustomFilter *filter;
  GtkFilterListModel *filter_model;
  char *search_key;                /* casefolded search text, "" for none */
  MistLibraryFilter filter_mode;
  gboolean loading;
  guint refilter_source;
};

G_DEFINE_FINAL_TYPE (MistLibraryPage, mist_library_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_GAME_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];
static GQuark watched_quark;

static gboolean
title_matches (MistGameItem *game, const char *key)
{
  g_autofree char *title = NULL;

  if (*key == '\0')
    return TRUE;
  title = g_utf8_casefold (mist_game_item_get_title (game), -1);
  return strstr (title, key) != NULL;
}

static gboolean
filter_game (gpointer item, gpointer user_data)
{
  MistLibraryPage *self = user_data;
  MistGameItem *game = item;

  switch (self->filter_mode)
    {
    case MIST_LIBRARY_FILTER_INSTALLED:
      if (!mist_game_item_is_installed (game))
        return FALSE;
      break;
    case MIST_LIBRARY_FILTER_UPDATES:
      if (mist_game_item_get_state (game) != MIST_GAME_STATE_UPDATE_AVAILABLE)
        return FALSE;
      break;
    case MIST_LIBRARY_FILTER_ALL:
    default:
      break;
    }
  return title_matches (game, self->search_key);
}

static void
update_empty_page (MistLibraryPage *self)
{
  guint n_games = self->games != NULL ? g_list_model_get_n_items (self->games) : 0;
  g_autofree char *description = NULL;

  if (n_games == 0)
    {
      adw_status_page_set_title (self->empty_page, _("No Games Yet"));
      adw_status_page_set_description (
        self->empty_page, _("The server has no games for you. Games appear here once they "
                            "are published."));
    }
  else if (*self->search_key != '\0')
    {
      description = g_strdup_printf (_("No game matches “%s”."),
                                     gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
      adw_status_page_set_title (self->empty_page, _("No Results"));
      adw_status_page_set_description (self->empty_page, description);
    }
  else if (self->filter_mode == MIST_LIBRARY_FILTER_INSTALLED)
    {
      adw_status_page_set_title (self->empty_page, _("No Installed Games"));
      adw_status_page_set_description (self->empty_page,
                                       _("Install a game from “All” to play it."));
    }
  else
    {
      adw_status_page_set_title (self->empty_page, _("Everything Is up to Date"));
      adw_status_page_set_description (self->empty_page,
                                       _("No installed game has an update."));
    }
}

static void
update_visible_child (MistLibraryPage *self)
{
  guint n_games = self->games != NULL ? g_list_model_get_n_items (self->games) : 0;
  guint n_visible = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));

  if (n_visible > 0)
    gtk_stack_set_visible_child_name (self->stack, "grid");
  else if (n_games == 0 && self->loading)
    gtk_stack_set_visible_child_name (self->stack, "loading");
  else
    {
      update_empty_page (self);
      gtk_stack_set_visible_child_name (self->stack, "empty");
    }
}

static void
refilter (MistLibraryPage *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_visible_child (self);
}

static gboolean
refilter_idle (gpointer user_data)
{
  MistLibraryPage *self = user_data;

  self->refilter_source = 0;
  refilter (self);
  return G_SOURCE_REMOVE;
}

/* A game's state changed: the installed and updates filters may now hide or show it.
 * Many games change at once after a refresh, so the filter runs once per main loop
 * iteration. */
static void
on_game_state_changed (MistLibraryPage *self)
{
  if (self->filter_mode == MIST_LIBRARY_FILTER_ALL || self->refilter_source != 0)
    return;
  self->refilter_source = g_idle_add (refilter_idle, self);
}

static void
watch_games (MistLibraryPage *self, guint position, guint n_added)
{
  for (guint i = position; i < position + n_added; i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (self->games, i);

      if (g_object_get_qdata (G_OBJECT (game), watched_quark) == self)
        continue;
      g_object_set_qdata (G_OBJECT (game), watched_quark, self);
      g_signal_connect_object (game, "notify::state", G_CALLBACK (on_game_state_changed), self,
                               G_CONNECT_SWAPPED);
    }
}

static void
on_games_changed (MistLibraryPage *self, guint position, guint removed, guint added)
{
  watch_games (self, position, added);
  update_visible_child (self);
}

static void
on_search_changed (MistLibraryPage *self)
{
  g_free (self->search_key);
  self->search_key = g_utf8_casefold (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), -1);
  refilter (self);
}

/* Enter in the search opens the only game left or the first one. */
static void
on_search_activate (MistLibraryPage *self)
{
  g_autoptr (MistGameItem) game = g_list_model_get_item (G_LIST_MODEL (self->filter_model), 0);

  if (game != NULL)
    g_signal_emit (self, signals[SIGNAL_GAME_ACTIVATED], 0, game);
}

static void
on_filter_toggled (MistLibraryPage *self, GtkToggleButton *button)
{
  if (!gtk_toggle_button_get_active (button))
    return;
  if (button == self->filter_installed)
    mist_library_page_set_filter (self, MIST_LIBRARY_FILTER_INSTALLED);
  else if (button == self->filter_updates)
    mist_library_page_set_filter (self, MIST_LIBRARY_FILTER_UPDATES);
  else
    mist_library_page_set_filter (self, MIST_LIBRARY_FILTER_ALL);
}

static void
on_grid_activate (MistLibraryPage *self, guint position)
{
  g_autoptr (MistGameItem) game =
    g_list_model_get_item (G_LIST_MODEL (self->filter_model), position);

  if (game != NULL)
    g_signal_emit (self, signals[SIGNAL_GAME_ACTIVATED], 0, game);
}

static void
setup_tile (GtkSignalListItemFactory *factory, GtkListItem *list_item)
{
  gtk_list_item_set_child (list_item, mist_game_tile_new ());
}

static void
bind_tile (GtkSignalListItemFactory *factory, GtkListItem *list_item)
{
  mist_game_tile_set_item (MIST_GAME_TILE (gtk_list_item_get_child (list_item)),
                           gtk_list_item_get_item (list_item));
}

static void
unbind_tile (GtkSignalListItemFactory *factory, GtkListItem *list_item)
{
  mist_game_tile_set_item (MIST_GAME_TILE (gtk_list_item_get_child (list_item)), NULL);
}

static void
mist_library_page_dispose (GObject *object)
{
  MistLibraryPage *self = MIST_LIBRARY_PAGE (object);

  g_clear_handle_id (&self->refilter_source, g_source_remove);
  if (self->games != NULL)
    g_signal_handlers_disconnect_by_data (self->games, self);
  g_clear_object (&self->games);
  g_clear_object (&self->filter_model);

  G_OBJECT_CLASS (mist_library_page_parent_class)->dispose (object);
}

static void
mist_library_page_finalize (GObject *object)
{
  MistLibraryPage *self = MIST_LIBRARY_PAGE (object);

  g_free (self->search_key);

  G_OBJECT_CLASS (mist_library_page_parent_class)->finalize (object);
}

static void
mist_library_page_class_init (MistLibraryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mist_library_page_dispose;
  object_class->finalize = mist_library_page_finalize;

  watched_quark = g_quark_from_static_string ("mist-library-page-watched");

  signals[SIGNAL_GAME_ACTIVATED] =
    g_signal_new ("game-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, MIST_TYPE_GAME_ITEM);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-library-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, offline_revealer);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, offline_label);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, filter_all);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, filter_installed);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, filter_updates);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, stack);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, grid_view);
  gtk_widget_class_bind_template_child (widget_class, MistLibraryPage, empty_page);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_grid_activate);
}

static void
mist_library_page_init (MistLibraryPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  self->search_key = g_strdup ("");
  self->filter = gtk_custom_filter_new (filter_game, self, NULL);
  self->filter_model = gtk_filter_list_model_new (NULL, GTK_FILTER (self->filter));
  g_signal_connect_swapped (self->filter_model, "items-changed",
                            G_CALLBACK (update_visible_child), self);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_tile), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_tile), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_tile), NULL);
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);

  {
    GtkNoSelection *selection =
      gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->filter_model)));
    gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (selection));
    g_object_unref (selection);
  }
  update_visible_child (self);
}

GtkWidget *
mist_library_page_new (void)
{
  return g_object_new (MIST_TYPE_LIBRARY_PAGE, NULL);
}

/* Shows games, a list of MistGameItem that the page watches for changes. */
void
mist_library_page_set_games (MistLibraryPage *self, GListModel *games)
{
  g_return_if_fail (MIST_IS_LIBRARY_PAGE (self));

  if (self->games != NULL)
    g_signal_handlers_disconnect_by_data (self->games, self);
  g_set_object (&self->games, games);
  if (games != NULL)
    {
      g_signal_connect_swapped (games, "items-changed", G_CALLBACK (on_games_changed), self);
      watch_games (self, 0, g_list_model_get_n_items (games));
    }
  gtk_filter_list_model_set_model (self->filter_model, games);
  update_visible_child (self);
}

/* The games the search and the filter let through, in the grid's order. */
GListModel *
mist_library_page_get_visible_games (MistLibraryPage *self)
{
  return G_LIST_MODEL (self->filter_model);
}

void
mist_library_page_set_filter (MistLibraryPage *self, MistLibraryFilter filter)
{
  GtkToggleButton *button;

  g_return_if_fail (MIST_IS_LIBRARY_PAGE (self));

  if (filter == MIST_LIBRARY_FILTER_INSTALLED)
    button = self->filter_installed;
  else if (filter == MIST_LIBRARY_FILTER_UPDATES)
    button = self->filter_updates;
  else
    button = self->filter_all;

  self->filter_mode = filter;
  if (!gtk_toggle_button_get_active (button))
    gtk_toggle_button_set_active (button, TRUE); /* comes back through on_filter_toggled */
  refilter (self);
}

MistLibraryFilter
mist_library_page_get_filter (MistLibraryPage *self)
{
  return self->filter_mode;
}

/* Sets the search text; the grid filters at once rather than after the entry's delay. */
void
mist_library_page_set_search_text (MistLibraryPage *self, const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
  on_search_changed (self);
}

void
mist_library_page_focus_search (MistLibraryPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* Shows a spinner instead of an empty library while the first catalog loads. */
void
mist_library_page_set_loading (MistLibraryPage *self, gboolean loading)
{
  self->loading = loading;
  update_visible_child (self);
}

/* Shows the banner that the library is the cached catalog and why, or hides it when
 * reason is NULL. */
void
mist_library_page_set_offline (MistLibraryPage *self, const char *reason)
{
  g_return_if_fail (MIST_IS_LIBRARY_PAGE (self));

  gtk_label_set_text (self->offline_label, reason != NULL ? reason : "");
  gtk_revealer_set_reveal_child (self->offline_revealer, reason != NULL);
}

gboolean
mist_library_page_get_offline (MistLibraryPage *self)
{
  return gtk_revealer_get_reveal_child (self->offline_revealer);
}

/* "grid", "loading" or "empty". */
const char *
mist_library_page_get_visible_child_name (MistLibraryPage *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}

GtkWidget *
mist_library_page_get_grid_view (MistLibraryPage *self)
{
  return GTK_WIDGET (self->grid_view);
}
