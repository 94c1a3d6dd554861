/* mist-backend-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-store.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define IO_BUFFER_SIZE (256 * 1024)

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
make_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    return set_errno_error (error, errno, "Cannot create the folder", path);
  return TRUE;
}

static void
empty_dir (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_unlink (child) != 0)
        g_warning ("Cannot remove the leftover temporary file %s: %s", child, g_strerror (errno));
    }
}

/* Deletes the partial uploads in path that were not continued for max_age_days. A
 * publisher that gave up on a push never sends their rest, so they would fill the disk. */
static void
delete_stale_uploads (const char *path, guint max_age_days)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  gint64 cutoff = g_get_real_time () / G_USEC_PER_SEC - (gint64)max_age_days * 24 * 3600;
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      struct stat info;

      if (!g_str_has_suffix (name, ".part") || stat (child, &info) != 0 || !S_ISREG (info.st_mode)
          || info.st_mtime >= cutoff)
        continue;
      if (g_unlink (child) != 0)
        g_warning ("Cannot delete the stale partial upload %s: %s", child, g_strerror (errno));
      else
        g_message ("Deleted the partial upload %s (%" G_GINT64_FORMAT " bytes), not continued "
                   "for %u days",
                   name, (gint64)info.st_size, max_age_days);
    }
}

MistBackendStore *
mist_backend_store_new (const char *data_dir, gboolean clean_tmp, GError **error)
{
  g_autoptr (MistBackendStore) store = g_new0 (MistBackendStore, 1);

  store->data_dir = g_strdup (data_dir);
  store->objects_dir = g_build_filename (data_dir, "content", "objects", NULL);
  store->covers_dir = g_build_filename (data_dir, "covers", NULL);
  store->tmp_dir = g_build_filename (data_dir, "tmp", NULL);
  store->uploads_dir = g_build_filename (data_dir, "uploads", NULL);
  if (!make_dir (store->objects_dir, error) || !make_dir (store->covers_dir, error) ||
      !make_dir (store->tmp_dir, error) || !make_dir (store->uploads_dir, error))
    return NULL;
  if (clean_tmp)
    {
      empty_dir (store->tmp_dir);
      delete_stale_uploads (store->uploads_dir, MIST_BACKEND_PARTIAL_UPLOAD_DAYS);
    }
  return g_steal_pointer (&store);
}

void
mist_backend_store_free (MistBackendStore *store)
{
  if (store == NULL)
    return;
  g_free (store->data_dir);
  g_free (store->objects_dir);
  g_free (store->covers_dir);
  g_free (store->tmp_dir);
  g_free (store->uploads_dir);
  g_free (store);
}

char *
mist_backend_store_object_path (MistBackendStore *store, const char *object_id)
{
  char prefix[3] = { object_id[0], object_id[1], '\0' };

  return g_build_filename (store->objects_dir, prefix, object_id, NULL);
}

gboolean
mist_backend_store_has_object (MistBackendStore *store, const char *object_id)
{
  g_autofree char *path = mist_backend_store_object_path (store, object_id);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

int
mist_backend_store_open_temp (MistBackendStore *store, char **path, GError **error)
{
  g_autofree char *template = g_build_filename (store->tmp_dir, "object-XXXXXX", NULL);
  int fd = g_mkstemp_full (template, O_RDWR | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      set_errno_error (error, errno, "Cannot create a temporary file in", store->tmp_dir);
      return -1;
    }
  *path = g_steal_pointer (&template);
  return fd;
}

gboolean
mist_backend_store_commit (MistBackendStore *store,
                           int fd,
                           const char *temp_path,
                           const char *object_id,
                           gboolean cover,
                           GError **error)
{
  g_autofree char *target = NULL;

  if (cover)
    target = g_build_filename (store->covers_dir, object_id, NULL);
  else
    {
      g_autofree char *parent = NULL;

      target = mist_backend_store_object_path (store, object_id);
      parent = g_path_get_dirname (target);
      if (!make_dir (parent, error))
        return FALSE;
    }

  if (g_file_test (target, G_FILE_TEST_IS_REGULAR))
    {
      g_unlink (temp_path);
      return TRUE;
    }
  if (fchmod (fd, 0644) != 0 || fsync (fd) != 0)
    return set_errno_error (error, errno, "Cannot sync", temp_path);
  if (g_rename (temp_path, target) != 0)
    return set_errno_error (error, errno, "Cannot store the object", target);
  return TRUE;
}

gboolean
mist_backend_write_all (int fd, const void *data, gsize length, GError **error)
{
  const guint8 *bytes = data;

  while (length > 0)
    {
      ssize_t written = write (fd, bytes, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        return set_errno_error (error, errno, "Cannot write", "a temporary file");
      bytes += written;
      length -= (gsize) written;
    }
  return TRUE;
}

gboolean
mist_backend_store_decompress (MistBackendStore *store,
                               const char *object_id,
                               int out_fd,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autofree char *path = mist_backend_store_object_path (store, object_id);
  g_autofree guint8 *in_buffer = g_malloc (ZSTD_DStreamInSize ());
  g_autofree guint8 *out_buffer = g_malloc (ZSTD_DStreamOutSize ());
  ZSTD_DCtx *context = NULL;
  gboolean ok = FALSE;
  size_t last = 1;
  int in_fd;

  in_fd = open (path, O_RDONLY | O_CLOEXEC);
  if (in_fd < 0)
    return set_errno_error (error, errno, "Cannot open the object", path);
  if (lseek (out_fd, 0, SEEK_SET) < 0 || ftruncate (out_fd, 0) != 0)
    {
      set_errno_error (error, errno, "Cannot rewind", "a temporary file");
      goto out;
    }
  context = ZSTD_createDCtx ();

  for (;;)
    {
      ssize_t got = read (in_fd, in_buffer, ZSTD_DStreamInSize ());
      ZSTD_inBuffer input = { in_buffer, 0, 0 };

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          set_errno_error (error, errno, "Cannot read the object", path);
          goto out;
        }
      if (got == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      input.size = (size_t) got;
      while (input.pos < input.size)
        {
          ZSTD_outBuffer output = { out_buffer, ZSTD_DStreamOutSize (), 0 };

          last = ZSTD_decompressStream (context, &output, &input);
          if (ZSTD_isError (last))
            {
              g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "The object %s is corrupt: %s", path, ZSTD_getErrorName (last));
              goto out;
            }
          if (!mist_backend_write_all (out_fd, out_buffer, output.pos, error))
            goto out;
        }
    }
  if (last != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The object %s is truncated", path);
      goto out;
    }
  ok = TRUE;

out:
  ZSTD_freeDCtx (context);
  close (in_fd);
  return ok;
}

gboolean
mist_backend_compress_fd (int in_fd, int out_fd, int level, GCancellable *cancellable,
                          GError **error)
{
  g_autofree guint8 *in_buffer = g_malloc (IO_BUFFER_SIZE);
  g_autofree guint8 *out_buffer = g_malloc (ZSTD_CStreamOutSize ());
  ZSTD_CCtx *context = ZSTD_createCCtx ();
  gboolean ok = FALSE;
  struct stat info;
  guint64 offset = 0;

  if (fstat (in_fd, &info) != 0)
    {
      set_errno_error (error, errno, "Cannot read", "the file to compress");
      goto out;
    }
  ZSTD_CCtx_setParameter (context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter (context, ZSTD_c_checksumFlag, 1);
  /* Worker threads when libzstd has them; a build without them ignores this. */
  ZSTD_CCtx_setParameter (context, ZSTD_c_nbWorkers, (int) MIN (g_get_num_processors (), 8));
  ZSTD_CCtx_setPledgedSrcSize (context, (unsigned long long) info.st_size);

  for (;;)
    {
      ssize_t got = pread (in_fd, in_buffer, IO_BUFFER_SIZE, (off_t) offset);
      gboolean last_chunk;
      ZSTD_inBuffer input = { in_buffer, 0, 0 };
      size_t remaining;

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          set_errno_error (error, errno, "Cannot read", "the file to compress");
          goto out;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      offset += (guint64) got;
      input.size = (size_t) got;
      last_chunk = offset >= (guint64) info.st_size || got == 0;
      do
        {
          ZSTD_outBuffer output = { out_buffer, ZSTD_CStreamOutSize (), 0 };

          remaining = ZSTD_compressStream2 (context, &output, &input,
                                            last_chunk ? ZSTD_e_end : ZSTD_e_continue);
          if (ZSTD_isError (remaining))
            {
              g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "zstd compression failed: %s",
                           ZSTD_getErrorName (remaining));
              goto out;
            }
          if (!mist_backend_write_all (out_fd, out_buffer, output.pos, error))
            goto out;
        }
      while (last_chunk ? remaining != 0 : input.pos < input.size);
      if (last_chunk)
        break;
    }
  ok = TRUE;

out:
  ZSTD_freeCCtx (context);
  return ok;
}

struct _MistBackendUpload
{
  MistBackendStore *store; /* unowned */
  char *expected_sha256;
  char *temp_path;
  int fd;
  MistSha256 *object_hash;
  MistSha256 *content_hash;
  ZSTD_DCtx *context;
  guint8 *out_buffer;
  guint64 object_size;
  guint64 content_size;
  size_t last_status; /* 0 once a whole frame was decoded */
  GError *error;      /* the first problem found while streaming */
};

static gboolean
upload_fail (MistBackendUpload *upload, const char *message)
{
  if (upload->error == NULL)
    g_set_error (&upload->error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                 "The upload for %s is not a valid object: %s", upload->expected_sha256,
                 message);
  return FALSE;
}

/* Hashes and decompresses data, the next bytes of the object. */
static gboolean
upload_consume (MistBackendUpload *upload, const void *data, gsize length)
{
  ZSTD_inBuffer input = { data, length, 0 };

  upload->object_size += length;
  if (upload->object_size > MIST_BACKEND_MAX_OBJECT_SIZE)
    return upload_fail (upload, "it is larger than 64 GiB");
  mist_sha256_update (upload->object_hash, data, length);

  while (input.pos < input.size)
    {
      ZSTD_outBuffer output = { upload->out_buffer, ZSTD_DStreamOutSize (), 0 };

      if (upload->last_status == 0)
        return upload_fail (upload, "data follows the end of its zstd frame");
      upload->last_status = ZSTD_decompressStream (upload->context, &output, &input);
      if (ZSTD_isError (upload->last_status))
        return upload_fail (upload, ZSTD_getErrorName (upload->last_status));
      mist_sha256_update (upload->content_hash, upload->out_buffer, output.pos);
      upload->content_size += output.pos;
      if (upload->content_size > MIST_BACKEND_MAX_OBJECT_SIZE)
        return upload_fail (upload, "its content is larger than 64 GiB");
    }
  return TRUE;
}

gboolean
mist_backend_upload_write (MistBackendUpload *upload, const void *data, gsize length)
{
  if (upload->error != NULL)
    return FALSE;
  if (!mist_backend_write_all (upload->fd, data, length, &upload->error))
    return FALSE;
  return upload_consume (upload, data, length);
}

/* Feeds the offset bytes kept in upload->fd through upload_consume, leaving the file
 * position at its end. */
static gboolean
upload_replay (MistBackendUpload *upload, guint64 offset, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (256 * 1024);
  guint64 done = 0;

  while (done < offset)
    {
      ssize_t got = read (upload->fd, buffer, (size_t) MIN (offset - done, 256 * 1024));

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return set_errno_error (error, got < 0 ? errno : EIO, "Cannot read back",
                                upload->temp_path);
      if (!upload_consume (upload, buffer, (gsize) got))
        {
          g_propagate_error (error, g_steal_pointer (&upload->error));
          return FALSE;
        }
      done += (guint64) got;
    }
  return TRUE;
}

static char *
partial_path (MistBackendStore *store, const char *sha256)
{
  g_autofree char *name = g_strconcat (sha256, ".part", NULL);

  return g_build_filename (store->uploads_dir, name, NULL);
}

guint64
mist_backend_store_partial_size (MistBackendStore *store, const char *sha256)
{
  g_autofree char *path = partial_path (store, sha256);
  struct stat info;

  return stat (path, &info) == 0 ? (guint64) info.st_size : 0;
}

MistBackendUpload *
mist_backend_upload_new (MistBackendStore *store,
                         const char *expected_sha256,
                         guint64 offset,
                         GError **error)
{
  g_autoptr (MistBackendUpload) upload = g_new0 (MistBackendUpload, 1);
  guint64 kept = mist_backend_store_partial_size (store, expected_sha256);

  upload->store = store;
  upload->expected_sha256 = g_strdup (expected_sha256);
  upload->object_hash = mist_sha256_new ();
  upload->content_hash = mist_sha256_new ();
  upload->context = ZSTD_createDCtx ();
  upload->out_buffer = g_malloc (ZSTD_DStreamOutSize ());
  upload->last_status = 1;
  if (offset > 0 && offset != kept)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT,
                   "The server has %" G_GUINT64_FORMAT " bytes of the upload of %s, not %"
                   G_GUINT64_FORMAT ": continue from byte %" G_GUINT64_FORMAT ", or upload "
                   "from byte 0",
                   kept, expected_sha256, offset, kept);
      upload->fd = -1;
      return NULL;
    }

  upload->temp_path = partial_path (store, expected_sha256);
  upload->fd = g_open (upload->temp_path,
                       O_RDWR | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0644);
  if (upload->fd < 0)
    {
      set_errno_error (error, errno, "Cannot open", upload->temp_path);
      g_clear_pointer (&upload->temp_path, g_free);
      return NULL;
    }
  if (offset > 0 && !upload_replay (upload, offset, error))
    {
      g_prefix_error (error, "Cannot continue the upload of %s: ", expected_sha256);
      return NULL;
    }
  return g_steal_pointer (&upload);
}

void
mist_backend_upload_keep_partial (MistBackendUpload *upload)
{
  if (upload->error == NULL && upload->object_size > 0 && upload->temp_path != NULL)
    {
      g_message ("Kept %" G_GUINT64_FORMAT " bytes of the interrupted upload of %s",
                 upload->object_size, upload->expected_sha256);
      g_clear_pointer (&upload->temp_path, g_free);
    }
  mist_backend_upload_free (upload);
}

gboolean
mist_backend_upload_finish (MistBackendUpload *upload,
                            char **object_id,
                            guint64 *object_size,
                            guint64 *content_size,
                            GError **error)
{
  char object_hex[MIST_SHA256_HEX_LENGTH + 1];
  char content_hex[MIST_SHA256_HEX_LENGTH + 1];

  if (upload->error == NULL && upload->last_status != 0)
    upload_fail (upload, "the zstd frame is incomplete");
  if (upload->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&upload->error));
      return FALSE;
    }

  mist_sha256_finish_hex (upload->content_hash, content_hex);
  if (strcmp (content_hex, upload->expected_sha256) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                   "The upload for %s decompresses to content with SHA-256 %s: "
                   "upload the file that has the SHA-256 in the URL",
                   upload->expected_sha256, content_hex);
      return FALSE;
    }
  mist_sha256_finish_hex (upload->object_hash, object_hex);
  if (!mist_backend_store_commit (upload->store, upload->fd, upload->temp_path, object_hex, FALSE,
                                  error))
    return FALSE;
  g_clear_pointer (&upload->temp_path, g_free);

  *object_id = g_strdup (object_hex);
  *object_size = upload->object_size;
  *content_size = upload->content_size;
  return TRUE;
}

void
mist_backend_upload_free (MistBackendUpload *upload)
{
  if (upload == NULL)
    return;
  if (upload->fd >= 0)
    close (upload->fd);
  if (upload->temp_path != NULL)
    g_unlink (upload->temp_path);
  g_free (upload->temp_path);
  g_free (upload->expected_sha256);
  g_clear_pointer (&upload->object_hash, mist_sha256_free);
  g_clear_pointer (&upload->content_hash, mist_sha256_free);
  ZSTD_freeDCtx (upload->context);
  g_free (upload->out_buffer);
  g_clear_error (&upload->error);
  g_free (upload);
}
