/* mist-version-item.c: one published version of a game
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-version-item.h"

/* Immutable after construction: the server never changes a pushed version. */
struct _MistVersionItem
{
  GObject parent_instance;

  guint ordinal;
  char *name;
  GDateTime *created_at; /* (nullable) */
  char *changelog;
  guint64 installed_size;
  guint64 download_size;
};

G_DEFINE_FINAL_TYPE (MistVersionItem, mist_version_item, G_TYPE_OBJECT)

static void
mist_version_item_finalize (GObject *object)
{
  MistVersionItem *self = MIST_VERSION_ITEM (object);

  g_free (self->name);
  g_clear_pointer (&self->created_at, g_date_time_unref);
  g_free (self->changelog);

  G_OBJECT_CLASS (mist_version_item_parent_class)->finalize (object);
}

static void
mist_version_item_class_init (MistVersionItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mist_version_item_finalize;
}

static void
mist_version_item_init (MistVersionItem *self)
{
}

MistVersionItem *
mist_version_item_new (guint ordinal,
                       const char *name,
                       GDateTime *created_at,
                       const char *changelog,
                       guint64 installed_size,
                       guint64 download_size)
{
  MistVersionItem *self = g_object_new (MIST_TYPE_VERSION_ITEM, NULL);

  g_return_val_if_fail (name != NULL, NULL);

  self->ordinal = ordinal;
  self->name = g_strdup (name);
  self->created_at = created_at != NULL ? g_date_time_ref (created_at) : NULL;
  self->changelog = g_strdup (changelog != NULL ? changelog : "");
  self->installed_size = installed_size;
  self->download_size = download_size;
  return self;
}

guint
mist_version_item_get_ordinal (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), 0);
  return self->ordinal;
}

const char *
mist_version_item_get_name (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), NULL);
  return self->name;
}

GDateTime *
mist_version_item_get_created_at (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), NULL);
  return self->created_at;
}

const char *
mist_version_item_get_changelog (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), NULL);
  return self->changelog;
}

guint64
mist_version_item_get_installed_size (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), 0);
  return self->installed_size;
}

guint64
mist_version_item_get_download_size (MistVersionItem *self)
{
  g_return_val_if_fail (MIST_IS_VERSION_ITEM (self), 0);
  return self->download_size;
}
