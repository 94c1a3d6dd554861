/* mist-backend-patcher.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-patcher.h"
#include "mist-backend-db.h"
#include "mist-backend-packer.h"
#include "mist-config.h"
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-pack.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _MistBackendPatcher
{
  MistBackendStore *store;
  sqlite3 *db;               /* used by the worker thread only, after new() returns */
  int direct_patches;
  gboolean use_xdelta3;
  GThread *thread;
  GCancellable *cancellable; /* cancelled by free() */
  GMutex mutex;              /* protects wake and stopping */
  GCond cond;
  gboolean wake;
  gboolean stopping;
};

typedef struct
{
  char *path;
  char *sha256;
  char *object_id;
  gint64 object_size;
} VersionFile;

static void
version_file_free (VersionFile *file)
{
  g_free (file->path);
  g_free (file->sha256);
  g_free (file->object_id);
  g_free (file);
}

/* A file of the source version decompressed to DATA/tmp, removed by free. */
typedef struct
{
  char *path;
  int fd;
} TempFile;

static void
temp_file_clear (TempFile *file)
{
  if (file->fd >= 0)
    close (file->fd);
  if (file->path != NULL)
    g_unlink (file->path);
  g_clear_pointer (&file->path, g_free);
  file->fd = -1;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TempFile, temp_file_clear)

static gboolean
set_io_error (GError **error, const char *what, const char *path)
{
  int saved_errno = errno;

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
temp_file_open (MistBackendPatcher *patcher, TempFile *file, GError **error)
{
  file->fd = mist_backend_store_open_temp (patcher->store, &file->path, error);
  return file->fd >= 0;
}

gboolean
mist_backend_patcher_queue (sqlite3 *db,
                            gint64 game_id,
                            gint64 to_ordinal,
                            int direct_patches,
                            GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  gint64 oldest = MAX (1, to_ordinal - MAX (direct_patches, 1));

  statement = mist_backend_db_prepare (db,
                                       "INSERT OR IGNORE INTO patch_sets (game_id, from_ordinal,"
                                       " to_ordinal, state, updated_at)"
                                       " VALUES (?, ?, ?, 'pending', ?)",
                                       error);
  if (statement == NULL)
    return FALSE;
  for (gint64 from = to_ordinal - 1; from >= oldest; from--)
    {
      sqlite3_reset (statement);
      sqlite3_bind_int64 (statement, 1, game_id);
      sqlite3_bind_int64 (statement, 2, from);
      sqlite3_bind_int64 (statement, 3, to_ordinal);
      sqlite3_bind_int64 (statement, 4, mist_backend_now ());
      if (!mist_backend_db_step_done (db, statement, error))
        return FALSE;
    }
  return TRUE;
}

static GPtrArray *
load_files (MistBackendPatcher *patcher, gint64 game_id, gint64 ordinal, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (
    (GDestroyNotify) version_file_free);

  statement = mist_backend_db_prepare (patcher->db,
                                       "SELECT f.path, f.sha256, f.object_id, f.object_size"
                                       " FROM version_files f JOIN versions v"
                                       " ON v.id = f.version_id"
                                       " WHERE v.game_id = ? AND v.ordinal = ? ORDER BY f.path",
                                       error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, game_id);
  sqlite3_bind_int64 (statement, 2, ordinal);
  while (sqlite3_step (statement) == SQLITE_ROW)
    {
      VersionFile *file = g_new0 (VersionFile, 1);

      file->path = mist_backend_db_column_dup (statement, 0);
      file->sha256 = mist_backend_db_column_dup (statement, 1);
      file->object_id = mist_backend_db_column_dup (statement, 2);
      file->object_size = sqlite3_column_int64 (statement, 3);
      g_ptr_array_add (files, file);
    }
  return g_steal_pointer (&files);
}

/* Delta building */

/* The "format" names of docs/api.md. */
static const char *
format_name (MistDeltaFormat format)
{
  return format == MIST_DELTA_FORMAT_ZSTD ? "zstd" : "vcdiff";
}

typedef struct
{
  char *format;
  char *object_id; /* NULL: no delta smaller than the full object */
  gint64 size;
} Delta;

static void
delta_clear (Delta *delta)
{
  g_clear_pointer (&delta->format, g_free);
  g_clear_pointer (&delta->object_id, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Delta, delta_clear)

static gboolean
lookup_cached_delta (MistBackendPatcher *patcher, const char *source, const char *target,
                     const char *format, Delta *delta)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = mist_backend_db_prepare (patcher->db,
                                       "SELECT object_id, size FROM delta_cache"
                                       " WHERE source_sha256 = ? AND target_sha256 = ?"
                                       " AND format = ?",
                                       NULL);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, source, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 2, target, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 3, format, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) != SQLITE_ROW)
    return FALSE;
  /* A cached object may have been removed by hand; build it again then. */
  if (sqlite3_column_type (statement, 0) != SQLITE_NULL &&
      !mist_backend_store_has_object (patcher->store,
                                      (const char *) sqlite3_column_text (statement, 0)))
    return FALSE;
  delta->format = g_strdup (format);
  delta->object_id = mist_backend_db_column_dup (statement, 0);
  delta->size = sqlite3_column_int64 (statement, 1);
  return TRUE;
}

static void
store_cached_delta (MistBackendPatcher *patcher, const char *source, const char *target,
                    const Delta *delta)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (patcher->db,
                                       "INSERT OR REPLACE INTO delta_cache (source_sha256,"
                                       " target_sha256, format, object_id, size)"
                                       " VALUES (?, ?, ?, ?, ?)",
                                       &error);
  if (statement != NULL)
    {
      sqlite3_bind_text (statement, 1, source, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (statement, 2, target, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (statement, 3, delta->format, -1, SQLITE_TRANSIENT);
      if (delta->object_id != NULL)
        {
          sqlite3_bind_text (statement, 4, delta->object_id, -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64 (statement, 5, delta->size);
        }
      mist_backend_db_step_done (patcher->db, statement, &error);
    }
  if (error != NULL)
    g_warning ("Cannot cache the delta %s → %s: %s", source, target, error->message);
}

/* Runs xdelta3 to write a VCDIFF delta from source to target into patch. */
static gboolean
run_xdelta3 (TempFile *source, TempFile *target, TempFile *patch, GError **error)
{
  const char *argv[] = { "xdelta3", "-e", "-f", "-9", "-S", "lzma", "-s", source->path,
                         target->path, patch->path, NULL };
  g_autofree char *standard_error = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &standard_error, &status, error))
    {
      g_prefix_error (error, "Cannot run xdelta3 (install it, or set use-xdelta3=false): ");
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "xdelta3 failed (%s): ", g_strstrip (standard_error));
      return FALSE;
    }
  return TRUE;
}

/* Applies patch to source and checks that the result has the target's SHA-256, so a
 * delta that the engine cannot apply is never published. */
static gboolean
verify_delta (MistBackendPatcher *patcher, MistDeltaFormat format, TempFile *source,
              TempFile *patch, const char *target_sha256, GError **error)
{
  g_auto (TempFile) output = { NULL, -1 };
  g_autofree char *hash = NULL;
  gboolean applied;

  if (!temp_file_open (patcher, &output, error))
    return FALSE;
  if (lseek (patch->fd, 0, SEEK_SET) < 0)
    return set_io_error (error, "Cannot rewind", patch->path);
  if (format == MIST_DELTA_FORMAT_ZSTD)
    applied = mist_zstd_patch_apply_fd (source->fd, patch->fd, output.fd, NULL, NULL,
                                        patcher->cancellable, error);
  else
    applied = mist_vcdiff_apply_fd (source->fd, patch->fd, output.fd, NULL, NULL,
                                    patcher->cancellable, error);
  if (!applied)
    return FALSE;
  hash = mist_sha256_hex_fd (output.fd, NULL, NULL, patcher->cancellable, error);
  if (hash == NULL)
    return FALSE;
  if (strcmp (hash, target_sha256) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                   "The %s delta gives content %s instead of %s",
                   format_name (format), hash, target_sha256);
      return FALSE;
    }
  return TRUE;
}

/* Builds one delta in format; delta->object_id stays NULL when it is not smaller than
 * max_size. */
static gboolean
build_delta (MistBackendPatcher *patcher, MistDeltaFormat format, TempFile *source,
             TempFile *target, const char *target_sha256, gint64 max_size, Delta *delta,
             GError **error)
{
  g_auto (TempFile) patch = { NULL, -1 };
  g_autofree char *object_id = NULL;
  struct stat info;

  delta->format = g_strdup (format_name (format));
  if (!temp_file_open (patcher, &patch, error))
    return FALSE;
  if (format == MIST_DELTA_FORMAT_ZSTD)
    {
      if (!mist_zstd_patch_create_fd (source->fd, target->fd, patch.fd, MIST_ZSTD_LEVEL_DEFAULT,
                                      NULL, NULL, patcher->cancellable, error))
        return FALSE;
    }
  else
    {
      close (patch.fd);
      if (!run_xdelta3 (source, target, &patch, error))
        return FALSE;
      patch.fd = open (patch.path, O_RDWR | O_CLOEXEC);
      if (patch.fd < 0)
        return set_io_error (error, "Cannot open", patch.path);
    }
  if (fstat (patch.fd, &info) != 0)
    return set_io_error (error, "Cannot read", patch.path);
  if (info.st_size >= max_size)
    return TRUE;

  if (!verify_delta (patcher, format, source, &patch, target_sha256, error))
    return FALSE;
  object_id = mist_sha256_hex_fd (patch.fd, NULL, NULL, patcher->cancellable, error);
  if (object_id == NULL ||
      !mist_backend_store_commit (patcher->store, patch.fd, patch.path, object_id, FALSE, error))
    return FALSE;
  g_clear_pointer (&patch.path, g_free);
  delta->object_id = g_steal_pointer (&object_id);
  delta->size = info.st_size;
  return TRUE;
}

/* Finds or builds the smallest delta from source to target among the enabled formats;
 * delta->object_id is NULL when none is smaller than the target's full object. A format
 * whose delta fails (the xdelta3 tool missing or failing, a delta that does not verify) is
 * skipped with a warning, so the other format can still give a delta. */
static gboolean
get_delta (MistBackendPatcher *patcher, const VersionFile *source, const VersionFile *target,
           Delta *best, GError **error)
{
  MistDeltaFormat formats[2];
  guint n_formats = 0;
  g_auto (TempFile) source_file = { NULL, -1 };
  g_auto (TempFile) target_file = { NULL, -1 };
  g_autoptr (GError) format_error = NULL;

  formats[n_formats++] = MIST_DELTA_FORMAT_ZSTD;
  if (patcher->use_xdelta3)
    formats[n_formats++] = MIST_DELTA_FORMAT_VCDIFF;

  for (guint i = 0; i < n_formats; i++)
    {
      const char *name = format_name (formats[i]);
      g_auto (Delta) delta = { 0 };

      if (!lookup_cached_delta (patcher, source->sha256, target->sha256, name, &delta))
        {
          if (source_file.fd < 0 &&
              (!temp_file_open (patcher, &source_file, error) ||
               !temp_file_open (patcher, &target_file, error) ||
               !mist_backend_store_decompress (patcher->store, source->object_id, source_file.fd,
                                               patcher->cancellable, error) ||
               !mist_backend_store_decompress (patcher->store, target->object_id, target_file.fd,
                                               patcher->cancellable, error)))
            return FALSE;
          if (!build_delta (patcher, formats[i], &source_file, &target_file, target->sha256,
                            target->object_size, &delta, &format_error))
            {
              if (g_error_matches (format_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                {
                  g_propagate_error (error, g_steal_pointer (&format_error));
                  return FALSE;
                }
              g_warning ("No %s delta from “%s” to “%s”: %s", name, source->path, target->path,
                         format_error->message);
              g_clear_error (&format_error);
              continue;
            }
          store_cached_delta (patcher, source->sha256, target->sha256, &delta);
        }
      if (delta.object_id != NULL && (best->object_id == NULL || delta.size < best->size))
        {
          delta_clear (best);
          *best = delta;
          memset (&delta, 0, sizeof delta);
        }
    }
  return TRUE;
}

/* Patch sets */

typedef struct
{
  gint64 id;
  gint64 game_id;
  gint64 from;
  gint64 to;
} PatchSet;

static gboolean
insert_delta (MistBackendPatcher *patcher, gint64 set_id, const VersionFile *source,
              const VersionFile *target, const Delta *delta, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = mist_backend_db_prepare (patcher->db,
                                       "INSERT INTO deltas (patch_set_id, path, source_path,"
                                       " source_sha256, target_sha256, format, object_id, size)"
                                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                       error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, set_id);
  sqlite3_bind_text (statement, 2, target->path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 3, source->path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 4, source->sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 5, target->sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 6, delta->format, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 7, delta->object_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 8, delta->size);
  return mist_backend_db_step_done (patcher->db, statement, error);
}

/* Returns the source file a changed target file is patched from: the same path, else a
 * file of the same name that the target version no longer has (a rename). */
static const VersionFile *
find_source (GHashTable *source_by_path, GHashTable *removed_by_name, const VersionFile *target)
{
  const VersionFile *source = g_hash_table_lookup (source_by_path, target->path);
  g_autofree char *name = NULL;

  if (source != NULL)
    return source;
  name = g_path_get_basename (target->path);
  return g_hash_table_lookup (removed_by_name, name);
}

/* Replaces the pack_refs rows of a version (version_id) or a patch set (patch_set_id),
 * the other id being 0; runs inside the caller's transaction. */
static gboolean
store_pack_refs (MistBackendPatcher *patcher, GPtrArray *packs, gint64 game_id,
                 gint64 version_id, gint64 patch_set_id, GError **error)
{
  g_autoptr (sqlite3_stmt) remove = NULL;
  g_autoptr (sqlite3_stmt) insert = NULL;

  remove = mist_backend_db_prepare (patcher->db,
                                    version_id != 0
                                      ? "DELETE FROM pack_refs WHERE version_id = ?"
                                      : "DELETE FROM pack_refs WHERE patch_set_id = ?",
                                    error);
  if (remove == NULL)
    return FALSE;
  sqlite3_bind_int64 (remove, 1, version_id != 0 ? version_id : patch_set_id);
  if (!mist_backend_db_step_done (patcher->db, remove, error))
    return FALSE;

  insert = mist_backend_db_prepare (patcher->db,
                                    "INSERT INTO pack_refs (object_id, game_id, version_id,"
                                    " patch_set_id) VALUES (?, ?, NULLIF (?, 0), NULLIF (?, 0))",
                                    error);
  if (insert == NULL)
    return FALSE;
  for (guint i = 0; i < packs->len; i++)
    {
      const MistPack *pack = g_ptr_array_index (packs, i);

      sqlite3_reset (insert);
      sqlite3_bind_text (insert, 1, pack->id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (insert, 2, game_id);
      sqlite3_bind_int64 (insert, 3, version_id);
      sqlite3_bind_int64 (insert, 4, patch_set_id);
      if (!mist_backend_db_step_done (patcher->db, insert, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
save_version_packs (MistBackendPatcher *patcher, gint64 version_id, gint64 game_id,
                    GPtrArray *packs, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *packs_json = mist_backend_packs_to_json (packs);

  if (!mist_backend_db_exec (patcher->db, "BEGIN IMMEDIATE", error))
    return FALSE;
  statement = mist_backend_db_prepare (patcher->db, "UPDATE versions SET packs = ? WHERE id = ?",
                                       error);
  if (statement == NULL)
    goto rollback;
  sqlite3_bind_text (statement, 1, packs_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, version_id);
  if (!mist_backend_db_step_done (patcher->db, statement, error) ||
      !store_pack_refs (patcher, packs, game_id, version_id, 0, error) ||
      !mist_backend_db_exec (patcher->db, "COMMIT", error))
    goto rollback;
  return TRUE;

rollback:
  mist_backend_db_exec (patcher->db, "ROLLBACK", NULL);
  return FALSE;
}

/* Writes the packs of the full objects of the oldest version that has none yet, also of
 * versions pushed before the server wrote packs. Returns FALSE when no version is left.
 * A version whose packs fail gets an empty list and is fetched object by object. */
static gboolean
pack_next_version (MistBackendPatcher *patcher)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) object_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GError) error = NULL;
  gint64 version_id;
  gint64 game_id;

  statement = mist_backend_db_prepare (patcher->db,
                                       "SELECT id, game_id FROM versions WHERE packs IS NULL"
                                       " ORDER BY id LIMIT 1",
                                       &error);
  if (statement == NULL || sqlite3_step (statement) != SQLITE_ROW)
    return FALSE;
  version_id = sqlite3_column_int64 (statement, 0);
  game_id = sqlite3_column_int64 (statement, 1);
  g_clear_pointer (&statement, sqlite3_finalize);

  statement = mist_backend_db_prepare (patcher->db,
                                       "SELECT object_id FROM version_files WHERE version_id = ?"
                                       " ORDER BY path",
                                       &error);
  if (statement != NULL)
    {
      sqlite3_bind_int64 (statement, 1, version_id);
      while (sqlite3_step (statement) == SQLITE_ROW)
        g_ptr_array_add (object_ids, mist_backend_db_column_dup (statement, 0));
      packs = mist_backend_write_packs (patcher->store, object_ids, patcher->cancellable, &error);
    }
  if (g_cancellable_is_cancelled (patcher->cancellable))
    return TRUE;
  if (packs == NULL)
    {
      g_warning ("Version %" G_GINT64_FORMAT " of game %" G_GINT64_FORMAT " gets no packs: %s",
                 version_id, game_id, error->message);
      g_clear_error (&error);
      packs = g_ptr_array_new ();
    }
  if (!save_version_packs (patcher, version_id, game_id, packs, &error))
    {
      /* Without the row updated the next round would pick this version again at once. */
      g_warning ("Cannot record the packs of version %" G_GINT64_FORMAT ": %s", version_id,
                 error->message);
      return FALSE;
    }
  g_message ("Version %" G_GINT64_FORMAT " of game %" G_GINT64_FORMAT " has %u packs",
             version_id, game_id, packs->len);
  return TRUE;
}

static gboolean
build_patch_set (MistBackendPatcher *patcher, const PatchSet *set, GError **error)
{
  g_autoptr (GPtrArray) sources = NULL;
  g_autoptr (GPtrArray) targets = NULL;
  g_autoptr (GHashTable) source_by_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) target_paths = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) source_hashes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) removed_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                                  NULL);
  g_autoptr (GHashTable) counted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GArray) deltas = g_array_new (FALSE, TRUE, sizeof (Delta));
  g_autoptr (GPtrArray) delta_pairs = g_ptr_array_new ();
  g_autoptr (GPtrArray) packed = g_ptr_array_new ();
  g_autoptr (GPtrArray) packs = NULL;
  g_autofree char *packs_json = NULL;
  g_autofree char *n_deltas = NULL;
  g_autofree char *n_packs = NULL;
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) delta_error = NULL;
  gint64 download_size = 0;

  g_array_set_clear_func (deltas, (GDestroyNotify) delta_clear);
  sources = load_files (patcher, set->game_id, set->from, error);
  targets = sources != NULL ? load_files (patcher, set->game_id, set->to, error) : NULL;
  if (targets == NULL)
    return FALSE;

  for (guint i = 0; i < targets->len; i++)
    g_hash_table_add (target_paths, ((VersionFile *) targets->pdata[i])->path);
  for (guint i = 0; i < sources->len; i++)
    {
      VersionFile *source = sources->pdata[i];

      g_hash_table_insert (source_by_path, source->path, source);
      g_hash_table_add (source_hashes, source->sha256);
      if (!g_hash_table_contains (target_paths, source->path))
        {
          char *name = g_path_get_basename (source->path);

          if (!g_hash_table_contains (removed_by_name, name))
            g_hash_table_insert (removed_by_name, name, source);
          else
            g_free (name);
        }
    }

  for (guint i = 0; i < targets->len; i++)
    {
      const VersionFile *target = targets->pdata[i];
      const VersionFile *source;
      Delta delta = { 0 };

      if (g_hash_table_contains (source_hashes, target->sha256))
        continue;
      source = find_source (source_by_path, removed_by_name, target);
      if (source != NULL && !get_delta (patcher, source, target, &delta, &delta_error))
        {
          /* One damaged file must not cost the whole patch set: clients download its
           * full object, as for a file without a delta. A missing object is different,
           * because it can come back (a store restored from a backup): the set fails with
           * the reason, and a retry after the repair still gets the delta. */
          if (g_error_matches (delta_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
              g_error_matches (delta_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&delta_error));
              return FALSE;
            }
          g_warning ("Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT " of game %"
                     G_GINT64_FORMAT ": no delta for “%s”, clients download its full "
                     "object: %s",
                     set->from, set->to, set->game_id, target->path, delta_error->message);
          g_clear_error (&delta_error);
          delta_clear (&delta);
        }
      if (delta.object_id == NULL)
        {
          delta_clear (&delta);
          if (g_hash_table_add (counted, target->object_id))
            download_size += target->object_size;
          g_ptr_array_add (packed, target->object_id);
          continue;
        }
      g_ptr_array_add (packed, delta.object_id);
      g_array_append_val (deltas, delta);
      g_ptr_array_add (delta_pairs, (gpointer) source);
      g_ptr_array_add (delta_pairs, (gpointer) target);
    }

  /* The route's objects in path order, deltas and full objects mixed, so that an update
   * of most files reads its packs almost from start to end. */
  packs = mist_backend_write_packs (patcher->store, packed, patcher->cancellable, error);
  if (packs == NULL)
    return FALSE;
  packs_json = mist_backend_packs_to_json (packs);

  if (!mist_backend_db_exec (patcher->db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!store_pack_refs (patcher, packs, set->game_id, 0, set->id, error))
    goto rollback;
  statement = mist_backend_db_prepare (patcher->db, "DELETE FROM deltas WHERE patch_set_id = ?",
                                       error);
  if (statement == NULL)
    goto rollback;
  sqlite3_bind_int64 (statement, 1, set->id);
  if (!mist_backend_db_step_done (patcher->db, statement, error))
    goto rollback;
  for (guint i = 0; i < deltas->len; i++)
    {
      const Delta *delta = &g_array_index (deltas, Delta, i);

      if (!insert_delta (patcher, set->id, delta_pairs->pdata[2 * i],
                         delta_pairs->pdata[2 * i + 1], delta, error))
        goto rollback;
      if (g_hash_table_add (counted, delta->object_id))
        download_size += delta->size;
    }
  g_clear_pointer (&statement, sqlite3_finalize);
  statement = mist_backend_db_prepare (patcher->db,
                                       "UPDATE patch_sets SET state = 'ready', error = NULL,"
                                       " delta_count = ?, download_size = ?, updated_at = ?,"
                                       " packs = ? WHERE id = ?",
                                       error);
  if (statement == NULL)
    goto rollback;
  sqlite3_bind_int64 (statement, 1, deltas->len);
  sqlite3_bind_int64 (statement, 2, download_size);
  sqlite3_bind_int64 (statement, 3, mist_backend_now ());
  sqlite3_bind_text (statement, 4, packs_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 5, set->id);
  if (!mist_backend_db_step_done (patcher->db, statement, error) ||
      !mist_backend_db_exec (patcher->db, "COMMIT", error))
    goto rollback;
  n_deltas = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u delta", "%u deltas", deltas->len),
                              deltas->len);
  n_packs = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u pack", "%u packs", packs->len),
                             packs->len);
  g_message ("Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT " of game %" G_GINT64_FORMAT
             " is ready: %s, %" G_GINT64_FORMAT " bytes to download, %s",
             set->from, set->to, set->game_id, n_deltas, download_size, n_packs);
  return TRUE;

rollback:
  mist_backend_db_exec (patcher->db, "ROLLBACK", NULL);
  return FALSE;
}

static void
mark_failed (MistBackendPatcher *patcher, const PatchSet *set, const GError *failure)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  g_warning ("Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT " of game %" G_GINT64_FORMAT
             " failed: %s",
             set->from, set->to, set->game_id, failure->message);
  statement = mist_backend_db_prepare (patcher->db,
                                       "UPDATE patch_sets SET state = 'failed', error = ?,"
                                       " updated_at = ? WHERE id = ?",
                                       &error);
  if (statement != NULL)
    {
      sqlite3_bind_text (statement, 1, failure->message, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (statement, 2, mist_backend_now ());
      sqlite3_bind_int64 (statement, 3, set->id);
      mist_backend_db_step_done (patcher->db, statement, &error);
    }
  if (error != NULL)
    g_warning ("Cannot record the failure of patch set %" G_GINT64_FORMAT ": %s", set->id,
               error->message);
}

/* Marks the oldest pending set running and returns TRUE, or FALSE when none is left. */
static gboolean
claim_next (MistBackendPatcher *patcher, PatchSet *set)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  gboolean found;

  statement = mist_backend_db_prepare (patcher->db,
                                       "UPDATE patch_sets SET state = 'running', updated_at = ?"
                                       " WHERE id = (SELECT id FROM patch_sets"
                                       "  WHERE state = 'pending' ORDER BY id LIMIT 1)"
                                       " RETURNING id, game_id, from_ordinal, to_ordinal",
                                       &error);
  if (statement == NULL)
    {
      g_warning ("Cannot look for pending patch sets: %s", error->message);
      return FALSE;
    }
  sqlite3_bind_int64 (statement, 1, mist_backend_now ());
  found = sqlite3_step (statement) == SQLITE_ROW;
  if (found)
    {
      set->id = sqlite3_column_int64 (statement, 0);
      set->game_id = sqlite3_column_int64 (statement, 1);
      set->from = sqlite3_column_int64 (statement, 2);
      set->to = sqlite3_column_int64 (statement, 3);
    }
  /* Finishing the statement commits the claim before the work starts. */
  sqlite3_step (statement);
  return found;
}

static gpointer
worker_main (gpointer data)
{
  MistBackendPatcher *patcher = data;

  for (;;)
    {
      PatchSet set;
      g_autoptr (GError) error = NULL;

      g_mutex_lock (&patcher->mutex);
      patcher->wake = FALSE;
      g_mutex_unlock (&patcher->mutex);
      if (g_cancellable_is_cancelled (patcher->cancellable))
        break;

      if (pack_next_version (patcher))
        continue;
      if (claim_next (patcher, &set))
        {
          if (!build_patch_set (patcher, &set, &error))
            {
              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                break;
              mark_failed (patcher, &set, error);
            }
          continue;
        }

      g_mutex_lock (&patcher->mutex);
      while (!patcher->wake && !patcher->stopping)
        g_cond_wait (&patcher->cond, &patcher->mutex);
      g_mutex_unlock (&patcher->mutex);
    }
  return NULL;
}

MistBackendPatcher *
mist_backend_patcher_new (const char *data_dir, int direct_patches, gboolean use_xdelta3,
                          GError **error)
{
  MistBackendPatcher *patcher = g_new0 (MistBackendPatcher, 1);

  g_mutex_init (&patcher->mutex);
  g_cond_init (&patcher->cond);
  patcher->direct_patches = direct_patches;
  patcher->use_xdelta3 = use_xdelta3;
  patcher->cancellable = g_cancellable_new ();
  patcher->store = mist_backend_store_new (data_dir, FALSE, error);
  if (patcher->store != NULL)
    patcher->db = mist_backend_db_open (data_dir, TRUE, error);
  if (patcher->db == NULL ||
      !mist_backend_db_exec (patcher->db,
                             "UPDATE patch_sets SET state = 'pending' WHERE state = 'running'",
                             error))
    {
      mist_backend_patcher_free (patcher);
      return NULL;
    }
  patcher->thread = g_thread_new ("mist-patcher", worker_main, patcher);
  return patcher;
}

void
mist_backend_patcher_wake (MistBackendPatcher *patcher)
{
  g_mutex_lock (&patcher->mutex);
  patcher->wake = TRUE;
  g_cond_signal (&patcher->cond);
  g_mutex_unlock (&patcher->mutex);
}

void
mist_backend_patcher_free (MistBackendPatcher *patcher)
{
  if (patcher == NULL)
    return;
  if (patcher->thread != NULL)
    {
      g_cancellable_cancel (patcher->cancellable);
      g_mutex_lock (&patcher->mutex);
      patcher->stopping = TRUE;
      g_cond_signal (&patcher->cond);
      g_mutex_unlock (&patcher->mutex);
      g_thread_join (patcher->thread);
    }
  g_clear_pointer (&patcher->db, mist_backend_db_close);
  g_clear_pointer (&patcher->store, mist_backend_store_free);
  g_clear_object (&patcher->cancellable);
  g_mutex_clear (&patcher->mutex);
  g_cond_clear (&patcher->cond);
  g_free (patcher);
}
