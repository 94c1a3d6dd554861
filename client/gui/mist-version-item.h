/* mist-version-item.h: one published version of a game, as the game page lists it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MIST_TYPE_VERSION_ITEM (mist_version_item_get_type ())
G_DECLARE_FINAL_TYPE (MistVersionItem, mist_version_item, MIST, VERSION_ITEM, GObject)

MistVersionItem *mist_version_item_new (guint ordinal,
                                        const char *name,
                                        GDateTime *created_at,
                                        const char *changelog,
                                        guint64 installed_size,
                                        guint64 download_size);

guint mist_version_item_get_ordinal (MistVersionItem *self);
const char *mist_version_item_get_name (MistVersionItem *self);
GDateTime *mist_version_item_get_created_at (MistVersionItem *self);
const char *mist_version_item_get_changelog (MistVersionItem *self);
guint64 mist_version_item_get_installed_size (MistVersionItem *self);
guint64 mist_version_item_get_download_size (MistVersionItem *self);

G_END_DECLS
