/* mist-game-tile.c: a game's cover, title and badges in the library grid
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-game-tile.h"

#include <glib/gi18n.h>

/* A tile is recycled by the grid view: set_item() rebinds it to another game and drops
 * every handler of the previous one. */
struct _MistGameTile
{
  GtkWidget parent_instance;

  GtkWidget *box;
  GtkPicture *cover;
  GtkLabel *private_badge;
  GtkLabel *state_badge;
  GtkProgressBar *progress;
  GtkLabel *title;

  MistGameItem *item; /* (nullable) (owned) */
  GCancellable *cover_cancellable;
  gulong notify_handler;
};

G_DEFINE_FINAL_TYPE (MistGameTile, mist_game_tile, GTK_TYPE_WIDGET)

static const char *
badge_text (MistGameState state)
{
  switch (state)
    {
    case MIST_GAME_STATE_INSTALLED:
      return _("Installed");
    case MIST_GAME_STATE_UPDATE_AVAILABLE:
      return _("Update");
    case MIST_GAME_STATE_QUEUED:
      return _("Queued");
    case MIST_GAME_STATE_DOWNLOADING:
      return _("Downloading");
    case MIST_GAME_STATE_PAUSED:
      return _("Paused");
    case MIST_GAME_STATE_AVAILABLE:
    default:
      return NULL;
    }
}

static void
update_accessible_label (MistGameTile *self)
{
  const char *badge = badge_text (mist_game_item_get_state (self->item));
  const char *title = mist_game_item_get_title (self->item);
  g_autofree char *label = NULL;

  /* TRANSLATORS: how a screen reader names a library tile: a game title and its state */
  label = badge != NULL ? g_strdup_printf (_("%s, %s"), title, badge) : g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
sync_from_item (MistGameTile *self)
{
  MistGameState state = mist_game_item_get_state (self->item);
  const char *badge = badge_text (state);

  gtk_label_set_text (self->title, mist_game_item_get_title (self->item));
  gtk_picture_set_paintable (self->cover, mist_game_item_get_thumbnail (self->item));
  gtk_widget_set_visible (GTK_WIDGET (self->private_badge),
                          mist_game_item_get_is_private (self->item));

  gtk_widget_set_visible (GTK_WIDGET (self->state_badge), badge != NULL);
  gtk_label_set_text (self->state_badge, badge != NULL ? badge : "");
  if (state == MIST_GAME_STATE_UPDATE_AVAILABLE)
    gtk_widget_add_css_class (GTK_WIDGET (self->state_badge), "update");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->state_badge), "update");

  gtk_widget_set_visible (GTK_WIDGET (self->progress), mist_game_item_has_job (self->item));
  gtk_progress_bar_set_fraction (self->progress, mist_game_item_get_progress (self->item));
  update_accessible_label (self);
}

static void
on_item_notify (MistGameTile *self)
{
  sync_from_item (self);
  if (mist_game_item_get_cover (self->item) == NULL)
    mist_game_item_load_cover_async (self->item, self->cover_cancellable, NULL, NULL);
}

static void
mist_game_tile_dispose (GObject *object)
{
  MistGameTile *self = MIST_GAME_TILE (object);

  mist_game_tile_set_item (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), MIST_TYPE_GAME_TILE);

  G_OBJECT_CLASS (mist_game_tile_parent_class)->dispose (object);
}

static void
mist_game_tile_class_init (MistGameTileClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mist_game_tile_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-game-tile.ui");
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, box);
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, cover);
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, private_badge);
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, state_badge);
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, progress);
  gtk_widget_class_bind_template_child (widget_class, MistGameTile, title);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "gametile");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
mist_game_tile_init (MistGameTile *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mist_game_tile_new (void)
{
  return g_object_new (MIST_TYPE_GAME_TILE, NULL);
}

/* Shows item, or nothing when it is NULL; starts loading the cover off the main
 * thread. */
void
mist_game_tile_set_item (MistGameTile *self, MistGameItem *item)
{
  g_return_if_fail (MIST_IS_GAME_TILE (self));

  if (self->item == item)
    return;

  if (self->item != NULL)
    {
      g_clear_signal_handler (&self->notify_handler, self->item);
      g_clear_object (&self->item);
    }
  if (self->cover_cancellable != NULL)
    {
      g_cancellable_cancel (self->cover_cancellable);
      g_clear_object (&self->cover_cancellable);
    }
  if (item == NULL)
    return;

  self->item = g_object_ref (item);
  self->notify_handler =
    g_signal_connect_swapped (item, "notify", G_CALLBACK (on_item_notify), self);
  sync_from_item (self);

  self->cover_cancellable = g_cancellable_new ();
  mist_game_item_load_cover_async (item, self->cover_cancellable, NULL, NULL);
}

MistGameItem *
mist_game_tile_get_item (MistGameTile *self)
{
  return self->item;
}

/* The state badge's text, or NULL when no state badge shows. */
const char *
mist_game_tile_get_badge_text (MistGameTile *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->state_badge)))
    return NULL;
  return gtk_label_get_text (self->state_badge);
}

gboolean
mist_game_tile_get_private_badge_visible (MistGameTile *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->private_badge));
}
