/* mist-object-cache.h: the folder of downloaded objects, shared by download and install
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An object fetched on its own is the file <cache>/<object id>, which the downloader
 * writes itself. Objects that arrive as entries of a pack (engine/model/mist-pack.h) are
 * written at their offsets into one sparse file per pack, <cache>/pack-<pack id>, and
 * listed in <cache>/pack-<pack id>.index, one line per entry. A build of thousands of
 * small files so costs a few files in the cache instead of one per object.
 *
 * Nothing here calls fsync: after a crash an index line may name bytes that never
 * reached the disk, so a pack entry read from the index is checked against its id when
 * first opened, and discarded if it fails. Entries the same cache object stored are
 * not checked again: a crash that lost their bytes also ended the process.
 *
 * Thread-safe.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MistObjectCache MistObjectCache;

MistObjectCache *mist_object_cache_new (const char *dir);
MistObjectCache *mist_object_cache_ref (MistObjectCache *cache);
void mist_object_cache_unref (MistObjectCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistObjectCache, mist_object_cache_unref)

const char *mist_object_cache_get_dir (MistObjectCache *cache);

/* Returns whether the object is stored, on its own or as a pack entry. */
gboolean mist_object_cache_contains (MistObjectCache *cache, const char *object_id);

/* Opens the object for reading from offset 0 to its end: the file of a single object,
 * or a memory file holding a pack entry's bytes. Fails with MIST_ERROR_NOT_FOUND when
 * the object is not stored, or is a pack entry whose bytes do not match its id (it is
 * then discarded, to be fetched again). */
int mist_object_cache_open (MistObjectCache *cache, const char *object_id, GError **error);

/* Reads a pack entry's bytes, checked as mist_object_cache_open() checks them. Returns
 * NULL without setting error when the object is no pack entry: it may be stored on its
 * own, for mist_object_cache_open(). An entry this cache object wrote or checked before
 * is not hashed again. */
GBytes *
mist_object_cache_read_entry (MistObjectCache *cache, const char *object_id, GError **error);

/* Returns whether the object is a pack entry, from the index in memory alone. */
gboolean mist_object_cache_has_entry (MistObjectCache *cache, const char *object_id);

/* Returns how many pack entries this cache object has stored, for
 * mist_object_cache_wait_stored(). */
guint64 mist_object_cache_get_stored_count (MistObjectCache *cache);

/* Blocks until this cache object has stored more than seen entries, someone calls
 * mist_object_cache_wake(), or timeout_us passed. */
void mist_object_cache_wait_stored (MistObjectCache *cache, guint64 seen, gint64 timeout_us);
void mist_object_cache_wake (MistObjectCache *cache);

/* Writes a verified pack entry into the pack's file and records it. */
gboolean mist_object_cache_store_entry (MistObjectCache *cache,
                                        const char *pack_id,
                                        const char *object_id,
                                        guint64 offset,
                                        const guint8 *bytes,
                                        gsize length,
                                        GError **error);

/* Deletes the object: its file, or its pack entry (the pack's file and index go with
 * their last entry). An object that is not stored is no error. */
gboolean mist_object_cache_discard (MistObjectCache *cache, const char *object_id, GError **error);

/* Drops the pack entries read so far from memory, so that the next lookup reads the
 * index files again, with what another cache object or process stored or discarded. */
void mist_object_cache_reload (MistObjectCache *cache);

/* Deletes every file in the cache folder and drops every pack entry from memory. */
void mist_object_cache_clear (MistObjectCache *cache);

G_END_DECLS
