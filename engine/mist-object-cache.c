/* mist-object-cache.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-object-cache.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_PREFIX "pack-"
#define INDEX_SUFFIX ".index"

/* A pack entry is at most 1 MiB as the server writes packs; a larger size in an index
 * line is not read into memory. */
#define MAX_ENTRY_SIZE (64 * 1024 * 1024)
/* Offsets in an index line above this (1 TiB) are damage, not a pack. */
#define MAX_ENTRY_OFFSET (G_GUINT64_CONSTANT (1) << 40)

typedef struct
{
  char *id;
  guint live; /* entries recorded and not discarded */
} Pack;

typedef struct
{
  Pack *pack; /* owned by the cache's packs table */
  guint64 offset;
  guint64 size;
  /* Whether this cache object wrote or checked the bytes since it last read the index:
   * only a crash, which also ends the process, can leave them unwritten. */
  gboolean verified;
} Location;

struct _MistObjectCache
{
  gatomicrefcount ref_count;
  char *dir;

  GMutex lock;
  GCond stored_cond; /* signalled when stored_count or wake_count grows */
  guint64 stored_count;
  guint64 wake_count;
  gboolean loaded;     /* whether the index files were read */
  GHashTable *entries; /* object id → Location */
  GHashTable *packs;   /* pack id → Pack */
};

static void
pack_free (gpointer data)
{
  Pack *pack = data;

  g_free (pack->id);
  g_free (pack);
}

MistObjectCache *
mist_object_cache_new (const char *dir)
{
  MistObjectCache *cache = g_new0 (MistObjectCache, 1);

  g_atomic_ref_count_init (&cache->ref_count);
  cache->dir = g_strdup (dir);
  g_mutex_init (&cache->lock);
  g_cond_init (&cache->stored_cond);
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cache->packs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, pack_free);
  return cache;
}

MistObjectCache *
mist_object_cache_ref (MistObjectCache *cache)
{
  g_atomic_ref_count_inc (&cache->ref_count);
  return cache;
}

void
mist_object_cache_unref (MistObjectCache *cache)
{
  if (!g_atomic_ref_count_dec (&cache->ref_count))
    return;
  g_hash_table_destroy (cache->entries);
  g_hash_table_destroy (cache->packs);
  g_mutex_clear (&cache->lock);
  g_cond_clear (&cache->stored_cond);
  g_free (cache->dir);
  g_free (cache);
}

const char *
mist_object_cache_get_dir (MistObjectCache *cache)
{
  return cache->dir;
}

static char *
pack_path (MistObjectCache *cache, const char *pack_id, const char *suffix)
{
  g_autofree char *name = g_strconcat (PACK_PREFIX, pack_id, suffix, NULL);

  return g_build_filename (cache->dir, name, NULL);
}

/* The in-memory index; callers hold the lock */

static Pack *
lookup_pack (MistObjectCache *cache, const char *pack_id)
{
  Pack *pack = g_hash_table_lookup (cache->packs, pack_id);

  if (pack == NULL)
    {
      pack = g_new0 (Pack, 1);
      pack->id = g_strdup (pack_id);
      g_hash_table_insert (cache->packs, pack->id, pack);
    }
  return pack;
}

static void
record_stored (MistObjectCache *cache,
               const char *pack_id,
               const char *object_id,
               guint64 offset,
               guint64 size,
               gboolean verified)
{
  Location *location = g_hash_table_lookup (cache->entries, object_id);
  Pack *pack = lookup_pack (cache, pack_id);

  /* Reading an index that already has the line of a store in progress repeats it. */
  if (location != NULL && location->pack == pack && location->offset == offset)
    {
      location->verified |= verified;
      return;
    }
  if (location != NULL)
    location->pack->live--;
  location = g_new0 (Location, 1);
  location->pack = pack;
  location->offset = offset;
  location->size = size;
  location->verified = verified;
  pack->live++;
  g_hash_table_insert (cache->entries, g_strdup (object_id), location);
}

static void
record_discarded (MistObjectCache *cache, const char *object_id)
{
  Location *location = g_hash_table_lookup (cache->entries, object_id);

  if (location == NULL)
    return;
  location->pack->live--;
  g_hash_table_remove (cache->entries, object_id);
}

/* Applies one index line: "+ OBJECT OFFSET SIZE" for a stored entry, "- OBJECT" for a
 * discarded one. */
static gboolean
apply_index_line (MistObjectCache *cache, const char *pack_id, const char *line)
{
  g_auto (GStrv) fields = g_strsplit (line, " ", -1);
  guint n_fields = g_strv_length (fields);
  guint64 offset;
  guint64 size;

  if (n_fields < 2 || !mist_sha256_hex_is_valid (fields[1]))
    return FALSE;
  if (strcmp (fields[0], "-") == 0 && n_fields == 2)
    {
      record_discarded (cache, fields[1]);
      return TRUE;
    }
  if (strcmp (fields[0], "+") != 0 || n_fields != 4
      || !g_ascii_string_to_unsigned (fields[2], 10, 0, MAX_ENTRY_OFFSET, &offset, NULL)
      || !g_ascii_string_to_unsigned (fields[3], 10, 0, MAX_ENTRY_SIZE, &size, NULL))
    return FALSE;
  record_stored (cache, pack_id, fields[1], offset, size, FALSE);
  return TRUE;
}

static void
load_index (MistObjectCache *cache, const char *pack_id, const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      g_debug ("Cannot read the pack index %s: %s", path, error->message);
      return;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* The last line of an index cut short by a crash may be incomplete. */
      if (lines[i][0] != '\0' && !apply_index_line (cache, pack_id, lines[i]))
        g_debug ("Ignoring line %u of the pack index %s", i + 1, path);
    }
}

static void
ensure_loaded (MistObjectCache *cache)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (cache->loaded)
    return;
  cache->loaded = TRUE;
  dir = g_dir_open (cache->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *pack_id = NULL;
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (name, PACK_PREFIX) || !g_str_has_suffix (name, INDEX_SUFFIX))
        continue;
      pack_id = g_strndup (name + strlen (PACK_PREFIX),
                           strlen (name) - strlen (PACK_PREFIX) - strlen (INDEX_SUFFIX));
      if (!mist_sha256_hex_is_valid (pack_id))
        continue;
      path = g_build_filename (cache->dir, name, NULL);
      load_index (cache, pack_id, path);
    }
}

/* Copies the location of object_id into *location; FALSE when it is no pack entry. */
static gboolean
find_entry (MistObjectCache *cache, const char *object_id, char **pack_id, Location *location)
{
  Location *found;

  g_mutex_lock (&cache->lock);
  ensure_loaded (cache);
  found = g_hash_table_lookup (cache->entries, object_id);
  if (found != NULL)
    {
      *location = *found;
      *pack_id = g_strdup (found->pack->id);
    }
  g_mutex_unlock (&cache->lock);
  return found != NULL;
}

/* Files */

static gboolean
set_io_error (GError **error, int saved_errno, const char *action, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Failed to %s %s: %s",
               action, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_all_at (int fd, const guint8 *bytes, gsize length, guint64 offset)
{
  while (length > 0)
    {
      gssize written = pwrite (fd, bytes, length, (off_t)offset);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      bytes += written;
      length -= (gsize)written;
      offset += (guint64)written;
    }
  return TRUE;
}

static gboolean
append_line (const char *path, const char *line, GError **error)
{
  int fd = open (path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  g_autofree char *ended = NULL;
  struct stat info;
  char last = '\n';
  gsize length;
  gssize written;

  if (fd < 0)
    return set_io_error (error, errno, "open", path);
  /* A crash may have cut the last line short: end it first, so that it spoils only
   * itself and not the line written after it. */
  if (fstat (fd, &info) == 0 && info.st_size > 0 && pread (fd, &last, 1, info.st_size - 1) == 1
      && last != '\n')
    line = ended = g_strconcat ("\n", line, NULL);
  length = strlen (line);
  /* One write() with O_APPEND, so lines of threads storing at once do not mix. */
  written = write (fd, line, length);
  if (written != (gssize)length)
    {
      int saved_errno = written < 0 ? errno : ENOSPC;

      close (fd);
      return set_io_error (error, saved_errno, "write", path);
    }
  if (close (fd) != 0)
    return set_io_error (error, errno, "write", path);
  return TRUE;
}

gboolean
mist_object_cache_contains (MistObjectCache *cache, const char *object_id)
{
  g_autofree char *path = NULL;
  g_autofree char *pack_id = NULL;
  g_autofree char *pack_file = NULL;
  Location location;

  /* A pack file deleted behind the cache's back leaves its entries in memory. */
  if (find_entry (cache, object_id, &pack_id, &location))
    {
      pack_file = pack_path (cache, pack_id, NULL);
      if (g_file_test (pack_file, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  path = g_build_filename (cache->dir, object_id, NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

/* Reads size bytes of fd from offset. Returns NULL with errno set, or with errno 0 when
 * the file ends before them. */
static guint8 *
read_entry (int fd, guint64 offset, guint64 size)
{
  g_autofree guint8 *bytes = g_malloc (MAX (size, 1));
  guint64 done = 0;

  while (done < size)
    {
      gssize count = pread (fd, bytes + done, size - done, (off_t)(offset + done));

      if (count < 0 && errno == EINTR)
        continue;
      if (count <= 0)
        {
          if (count == 0)
            errno = 0;
          return NULL;
        }
      done += (guint64)count;
    }
  return g_steal_pointer (&bytes);
}

/* Returns a memory file holding the bytes, or -1 with errno set. */
static int
create_memory_file (const guint8 *bytes, gsize size)
{
  int fd = memfd_create ("mist-object", MFD_CLOEXEC);

  if (fd < 0)
    return -1;
  if (!write_all_at (fd, bytes, size, 0))
    {
      int saved_errno = errno;

      close (fd);
      errno = saved_errno;
      return -1;
    }
  return fd;
}

/* Marks a pack entry as checked, unless the index was read again or the entry replaced
 * in the meantime. */
static void
mark_verified (MistObjectCache *cache, const char *object_id, const Location *checked)
{
  Location *location;

  g_mutex_lock (&cache->lock);
  location = g_hash_table_lookup (cache->entries, object_id);
  if (location != NULL && location->pack == checked->pack && location->offset == checked->offset
      && location->size == checked->size)
    location->verified = TRUE;
  g_mutex_unlock (&cache->lock);
}

/* Reads a pack entry and checks its bytes against its id, unless this cache object
 * wrote or checked them already: an index line may outlive the bytes it names in a
 * crash. A damaged entry is discarded. */
static GBytes *
read_checked_entry (MistObjectCache *cache,
                    const char *object_id,
                    const char *pack_id,
                    const Location *location,
                    GError **error)
{
  g_autofree char *pack_file = pack_path (cache, pack_id, NULL);
  g_autofree guint8 *bytes = NULL;
  g_autofree char *hash = NULL;
  int pack_fd;

  pack_fd = open (pack_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (pack_fd < 0 && errno == ENOENT)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "Object %s is not downloaded",
                   object_id);
      return NULL;
    }
  if (pack_fd < 0)
    {
      set_io_error (error, errno, "open the pack", pack_file);
      return NULL;
    }
  bytes = read_entry (pack_fd, location->offset, location->size);
  close (pack_fd);
  if (bytes == NULL && errno != 0)
    {
      set_io_error (error, errno, "read the pack", pack_file);
      return NULL;
    }
  if (bytes != NULL && location->verified)
    return g_bytes_new_take (g_steal_pointer (&bytes), location->size);
  if (bytes != NULL)
    hash = mist_sha256_hex_data (bytes, location->size);
  if (hash == NULL || strcmp (hash, object_id) != 0)
    {
      g_message ("Object %s in %s is incomplete or damaged; discarding it", object_id, pack_file);
      mist_object_cache_discard (cache, object_id, NULL);
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "Object %s is not downloaded (its cached copy was damaged)", object_id);
      return NULL;
    }
  mark_verified (cache, object_id, location);
  return g_bytes_new_take (g_steal_pointer (&bytes), location->size);
}

GBytes *
mist_object_cache_read_entry (MistObjectCache *cache, const char *object_id, GError **error)
{
  g_autofree char *pack_id = NULL;
  Location location;

  if (!find_entry (cache, object_id, &pack_id, &location))
    return NULL;
  return read_checked_entry (cache, object_id, pack_id, &location, error);
}

int
mist_object_cache_open (MistObjectCache *cache, const char *object_id, GError **error)
{
  g_autofree char *path = g_build_filename (cache->dir, object_id, NULL);
  g_autofree char *pack_id = NULL;
  g_autoptr (GBytes) bytes = NULL;
  Location location;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0 || errno != ENOENT)
    {
      if (fd < 0)
        set_io_error (error, errno, "open the object", path);
      return fd;
    }
  if (!find_entry (cache, object_id, &pack_id, &location))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "Object %s is not downloaded",
                   object_id);
      return -1;
    }

  bytes = read_checked_entry (cache, object_id, pack_id, &location, error);
  if (bytes == NULL)
    return -1;
  fd = create_memory_file (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (fd < 0)
    set_io_error (error, errno, "create a memory file for the object", object_id);
  return fd;
}

gboolean
mist_object_cache_store_entry (MistObjectCache *cache,
                               const char *pack_id,
                               const char *object_id,
                               guint64 offset,
                               const guint8 *bytes,
                               gsize length,
                               GError **error)
{
  g_autofree char *pack_file = pack_path (cache, pack_id, NULL);
  g_autofree char *index_file = pack_path (cache, pack_id, INDEX_SUFFIX);
  g_autofree char *line = NULL;
  int fd;

  g_return_val_if_fail (mist_sha256_hex_is_valid (pack_id), FALSE);
  g_return_val_if_fail (mist_sha256_hex_is_valid (object_id), FALSE);

  g_mutex_lock (&cache->lock);
  ensure_loaded (cache);
  g_mutex_unlock (&cache->lock);

  fd = open (pack_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return set_io_error (error, errno, "open", pack_file);
  if (!write_all_at (fd, bytes, length, offset))
    {
      int saved_errno = errno;

      close (fd);
      return set_io_error (error, saved_errno, "write", pack_file);
    }
  if (close (fd) != 0)
    return set_io_error (error, errno, "write", pack_file);

  /* The line goes after the bytes, so the index never names an entry not written. */
  line = g_strdup_printf ("+ %s %" G_GUINT64_FORMAT " %" G_GSIZE_FORMAT "\n", object_id, offset,
                          length);
  if (!append_line (index_file, line, error))
    return FALSE;

  g_mutex_lock (&cache->lock);
  record_stored (cache, pack_id, object_id, offset, length, TRUE);
  cache->stored_count++;
  g_cond_broadcast (&cache->stored_cond);
  g_mutex_unlock (&cache->lock);
  return TRUE;
}

/* Removes the pack's files once no entry of it is left; the caller holds the lock. */
static void
delete_pack_if_empty (MistObjectCache *cache, Pack *pack)
{
  g_autofree char *pack_file = NULL;
  g_autofree char *index_file = NULL;

  if (pack->live > 0)
    return;
  pack_file = pack_path (cache, pack->id, NULL);
  index_file = pack_path (cache, pack->id, INDEX_SUFFIX);
  if (g_unlink (pack_file) != 0 && errno != ENOENT)
    g_debug ("Failed to delete %s: %s", pack_file, g_strerror (errno));
  if (g_unlink (index_file) != 0 && errno != ENOENT)
    g_debug ("Failed to delete %s: %s", index_file, g_strerror (errno));
  g_hash_table_remove (cache->packs, pack->id);
}

gboolean
mist_object_cache_discard (MistObjectCache *cache, const char *object_id, GError **error)
{
  g_autofree char *path = g_build_filename (cache->dir, object_id, NULL);
  Location *location;
  gboolean ok = TRUE;

  if (g_unlink (path) != 0 && errno != ENOENT)
    return set_io_error (error, errno, "delete", path);

  g_mutex_lock (&cache->lock);
  ensure_loaded (cache);
  location = g_hash_table_lookup (cache->entries, object_id);
  if (location != NULL)
    {
      Pack *pack = location->pack;
      g_autofree char *index_file = pack_path (cache, pack->id, INDEX_SUFFIX);
      g_autofree char *pack_file = pack_path (cache, pack->id, NULL);
      g_autofree char *line = g_strdup_printf ("- %s\n", object_id);
      int fd;

      /* Give the entry's blocks back; the pack's other entries keep their offsets. */
      fd = open (pack_file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd >= 0)
        {
          if (fallocate (fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)location->offset,
                         (off_t)location->size)
              != 0)
            g_debug ("Cannot free the space of %s in %s: %s", object_id, pack_file,
                     g_strerror (errno));
          close (fd);
        }
      record_discarded (cache, object_id);
      if (pack->live > 0)
        ok = append_line (index_file, line, error);
      delete_pack_if_empty (cache, pack);
    }
  g_mutex_unlock (&cache->lock);
  return ok;
}

void
mist_object_cache_reload (MistObjectCache *cache)
{
  g_mutex_lock (&cache->lock);
  g_hash_table_remove_all (cache->entries);
  g_hash_table_remove_all (cache->packs);
  cache->loaded = FALSE;
  g_mutex_unlock (&cache->lock);
}

void
mist_object_cache_clear (MistObjectCache *cache)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_mutex_lock (&cache->lock);
  dir = g_dir_open (cache->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (cache->dir, name, NULL);

      if (g_unlink (path) != 0)
        g_debug ("Failed to delete %s from the object cache: %s", path, g_strerror (errno));
    }
  g_hash_table_remove_all (cache->entries);
  g_hash_table_remove_all (cache->packs);
  cache->loaded = TRUE;
  g_mutex_unlock (&cache->lock);
}

gboolean
mist_object_cache_has_entry (MistObjectCache *cache, const char *object_id)
{
  gboolean found;

  g_mutex_lock (&cache->lock);
  ensure_loaded (cache);
  found = g_hash_table_contains (cache->entries, object_id);
  g_mutex_unlock (&cache->lock);
  return found;
}

guint64
mist_object_cache_get_stored_count (MistObjectCache *cache)
{
  guint64 count;

  g_mutex_lock (&cache->lock);
  count = cache->stored_count;
  g_mutex_unlock (&cache->lock);
  return count;
}

void
mist_object_cache_wait_stored (MistObjectCache *cache, guint64 seen, gint64 timeout_us)
{
  gint64 end_time = g_get_monotonic_time () + timeout_us;
  guint64 wakes;

  g_mutex_lock (&cache->lock);
  wakes = cache->wake_count;
  while (cache->stored_count <= seen && cache->wake_count == wakes)
    {
      if (!g_cond_wait_until (&cache->stored_cond, &cache->lock, end_time))
        break;
    }
  g_mutex_unlock (&cache->lock);
}

void
mist_object_cache_wake (MistObjectCache *cache)
{
  g_mutex_lock (&cache->lock);
  cache->wake_count++;
  g_cond_broadcast (&cache->stored_cond);
  g_mutex_unlock (&cache->lock);
}
