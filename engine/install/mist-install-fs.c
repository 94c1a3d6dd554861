/* mist-install-fs.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-install-fs.h"
#include "mist-error.h"
#include "mist-path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define COPY_BUFFER_SIZE (1024 * 1024)

void
install_fs_set_error (GError **error, int saved_errno, const char *action, const char *path)
{
  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    g_set_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE, "Cannot %s %s: %s", action, path,
                 g_strerror (saved_errno));
  else if (saved_errno == ELOOP)
    g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                 "Cannot %s %s: a symbolic link is in the way; remove it from the install folder",
                 action, path);
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot %s %s: %s", action,
                 path, g_strerror (saved_errno));
}

/* Sets the error of opening component i of path as a folder. O_NOFOLLOW with O_DIRECTORY
 * reports a symbolic link as ELOOP or ENOTDIR, and a file as ENOTDIR. */
static void
set_folder_error (
  GError **error, int saved_errno, int dir_fd, char **components, guint i, const char *path)
{
  g_autofree char *folder = NULL;
  char *saved_component;
  struct stat info;

  if (saved_errno != ENOTDIR && saved_errno != ELOOP)
    {
      install_fs_set_error (error, saved_errno, "open the folder of", path);
      return;
    }
  if (fstatat (dir_fd, components[i], &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (info.st_mode))
    {
      install_fs_set_error (error, ELOOP, "open the folder of", path);
      return;
    }
  saved_component = components[i + 1];
  components[i + 1] = NULL;
  folder = g_strjoinv ("/", components);
  components[i + 1] = saved_component;
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
               "Cannot open the folder of %s: %s is a file where the game has a folder; move or "
               "delete it",
               path, folder);
}

int
install_fs_open_parent (int root_fd, const char *path, gboolean create, const char **basename, GError **error)
{
  g_auto (GStrv) components = NULL;
  int dir_fd;
  guint n;

  if (!mist_path_validate (path, error))
    return -1;

  components = g_strsplit (path, "/", -1);
  n = g_strv_length (components);
  dir_fd = fcntl (root_fd, F_DUPFD_CLOEXEC, 3);
  if (dir_fd < 0)
    {
      install_fs_set_error (error, errno, "open the folder of", path);
      return -1;
    }

  for (guint i = 0; i + 1 < n; i++)
    {
      int next = openat (dir_fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      if (next < 0 && errno == ENOENT && create)
        {
          if (mkdirat (dir_fd, components[i], 0755) != 0 && errno != EEXIST)
            {
              int saved_errno = errno;

              close (dir_fd);
              install_fs_set_error (error, saved_errno, "create the folder of", path);
              return -1;
            }
          next = openat (dir_fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      if (next < 0)
        {
          set_folder_error (error, errno, dir_fd, components, i, path);
          close (dir_fd);
          return -1;
        }
      close (dir_fd);
      dir_fd = next;
    }

  *basename = path + strlen (path) - strlen (components[n - 1]);
  return dir_fd;
}

int
install_fs_parent_open (InstallFsParent *parent,
                        int root_fd,
                        const char *path,
                        gboolean create,
                        const char **basename,
                        GError **error)
{
  const char *slash = strrchr (path, '/');
  gsize dir_length = slash != NULL ? (gsize)(slash - path) : 0;
  int fd;

  if (parent->fd >= 0 && strlen (parent->dir) == dir_length
      && strncmp (parent->dir, path, dir_length) == 0 && mist_path_validate (path, NULL))
    {
      *basename = slash != NULL ? slash + 1 : path;
      return parent->fd;
    }
  fd = install_fs_open_parent (root_fd, path, create, basename, error);
  if (fd < 0)
    return -1;
  install_fs_parent_clear (parent);
  parent->dir = g_strndup (path, dir_length);
  parent->fd = fd;
  return fd;
}

void
install_fs_parent_clear (InstallFsParent *parent)
{
  if (parent->fd >= 0)
    close (parent->fd);
  parent->fd = -1;
  g_clear_pointer (&parent->dir, g_free);
}

int
install_fs_open_read (int root_fd, const char *path, GError **error)
{
  const char *name;
  int dir_fd = install_fs_open_parent (root_fd, path, FALSE, &name, error);
  int fd;

  if (dir_fd < 0)
    return -1;
  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    install_fs_set_error (error, errno, "open", path);
  close (dir_fd);
  return fd;
}

gboolean
install_fs_fsync_dir (int dir_fd, const char *what, GError **error)
{
  if (fsync (dir_fd) != 0 && errno != EINVAL)
    {
      install_fs_set_error (error, errno, "flush the folder", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize length, GError **error)
{
  while (length > 0)
    {
      ssize_t written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        {
          install_fs_set_error (error, errno, "write", "a staged file");
          return FALSE;
        }
      data += written;
      length -= (gsize) written;
    }
  return TRUE;
}

gboolean
install_fs_copy (int in_fd, int out_fd, GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buffer = NULL;
  off_t in_offset = 0;
  ssize_t count;

  if (ftruncate (out_fd, 0) != 0 || lseek (out_fd, 0, SEEK_SET) != 0)
    {
      install_fs_set_error (error, errno, "truncate", "a staged file");
      return FALSE;
    }

  /* copy_file_range can share extents on file systems that support it. */
  while ((count = copy_file_range (in_fd, &in_offset, out_fd, NULL, 64 * 1024 * 1024, 0)) > 0)
    if (g_cancellable_set_error_if_cancelled (cancellable, error))
      return FALSE;
  if (count == 0)
    return TRUE;
  if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
    {
      install_fs_set_error (error, errno, "copy", "a file");
      return FALSE;
    }

  buffer = g_malloc (COPY_BUFFER_SIZE);
  while ((count = pread (in_fd, buffer, COPY_BUFFER_SIZE, in_offset)) > 0)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error) || !write_all (out_fd, buffer, count, error))
        return FALSE;
      in_offset += count;
    }
  if (count < 0)
    {
      install_fs_set_error (error, errno, "read", "a file to copy");
      return FALSE;
    }
  return TRUE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ZSTD_DCtx, ZSTD_freeDCtx)

/* Decompresses input through out_buffer into out_fd and hash. *last is zstd's hint of
 * what the frame still lacks, 0 once it is complete. */
static gboolean
unpack_input (ZSTD_DCtx *context,
              ZSTD_inBuffer *input,
              guint8 *out_buffer,
              gsize out_capacity,
              int out_fd,
              MistSha256 *hash,
              size_t *last,
              GError **error)
{
  while (input->pos < input->size)
    {
      ZSTD_outBuffer output = { out_buffer, out_capacity, 0 };

      *last = ZSTD_decompressStream (context, &output, input);
      if (ZSTD_isError (*last))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Invalid zstd object: %s",
                       ZSTD_getErrorName (*last));
          return FALSE;
        }
      if (!write_all (out_fd, out_buffer, output.pos, error))
        return FALSE;
      if (hash != NULL)
        mist_sha256_update (hash, out_buffer, output.pos);
    }
  return TRUE;
}

static gboolean
unpack_start (ZSTD_DCtx *context, int out_fd, GError **error)
{
  /* Large files are compressed with long windows; 2^31 is zstd's maximum. */
  ZSTD_DCtx_reset (context, ZSTD_reset_session_only);
  ZSTD_DCtx_setParameter (context, ZSTD_d_windowLogMax, 31);
  if (ftruncate (out_fd, 0) != 0 || lseek (out_fd, 0, SEEK_SET) != 0)
    {
      install_fs_set_error (error, errno, "rewind", "a staged file");
      return FALSE;
    }
  return TRUE;
}

static gboolean
unpack_end (size_t last, GError **error)
{
  /* A complete frame leaves the decoder with nothing more to flush. */
  if (last != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid zstd object: truncated frame");
      return FALSE;
    }
  return TRUE;
}

gboolean
install_fs_unpack_zstd (ZSTD_DCtx *context,
                        int object_fd,
                        int out_fd,
                        MistSha256 *hash,
                        GCancellable *cancellable,
                        GError **error)
{
  gsize in_capacity = ZSTD_DStreamInSize ();
  gsize out_capacity = ZSTD_DStreamOutSize ();
  g_autofree guint8 *in_buffer = g_malloc (in_capacity);
  g_autofree guint8 *out_buffer = g_malloc (out_capacity);
  size_t last = 0;
  ssize_t count;

  if (!unpack_start (context, out_fd, error))
    return FALSE;
  if (lseek (object_fd, 0, SEEK_SET) != 0)
    {
      install_fs_set_error (error, errno, "rewind", "an object");
      return FALSE;
    }
  while ((count = read (object_fd, in_buffer, in_capacity)) > 0)
    {
      ZSTD_inBuffer input = { in_buffer, (size_t) count, 0 };

      if (!unpack_input (context, &input, out_buffer, out_capacity, out_fd, hash, &last, error))
        return FALSE;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
  if (count < 0)
    {
      install_fs_set_error (error, errno, "read", "an object");
      return FALSE;
    }
  return unpack_end (last, error);
}

gboolean
install_fs_unpack_zstd_bytes (
  ZSTD_DCtx *context, const guint8 *data, gsize size, int out_fd, MistSha256 *hash, GError **error)
{
  ZSTD_inBuffer input = { data, size, 0 };
  gsize out_capacity = ZSTD_DStreamOutSize ();
  g_autofree guint8 *out_buffer = g_malloc (out_capacity);
  size_t last = 0;

  return unpack_start (context, out_fd, error)
         && unpack_input (context, &input, out_buffer, out_capacity, out_fd, hash, &last, error)
         && unpack_end (last, error);
}

gboolean
install_fs_remove_tree (int parent_fd, const char *name, GError **error)
{
  int dir_fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir;
  struct dirent *entry;

  if (dir_fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      if (errno == ENOTDIR || errno == ELOOP)
        return unlinkat (parent_fd, name, 0) == 0 || errno == ENOENT;
      install_fs_set_error (error, errno, "open", name);
      return FALSE;
    }
  dir = fdopendir (dir_fd);
  if (dir == NULL)
    {
      close (dir_fd);
      install_fs_set_error (error, errno, "list", name);
      return FALSE;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
        continue;
      if (entry->d_type == DT_DIR)
        {
          if (!install_fs_remove_tree (dirfd (dir), entry->d_name, error))
            {
              closedir (dir);
              return FALSE;
            }
        }
      else if (unlinkat (dirfd (dir), entry->d_name, 0) != 0 && errno != ENOENT)
        {
          if (errno == EISDIR && install_fs_remove_tree (dirfd (dir), entry->d_name, error))
            continue;
          install_fs_set_error (error, errno, "remove", entry->d_name);
          closedir (dir);
          return FALSE;
        }
    }
  closedir (dir);
  if (unlinkat (parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    {
      install_fs_set_error (error, errno, "remove", name);
      return FALSE;
    }
  return TRUE;
}

void
install_fs_remove_empty_parents (int root_fd, const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);

  while (!g_str_equal (folder, ".") && !g_str_equal (folder, "/"))
    {
      const char *name;
      int parent_fd = install_fs_open_parent (root_fd, folder, FALSE, &name, NULL);
      char *up;
      int result;

      if (parent_fd < 0)
        return;
      result = unlinkat (parent_fd, name, AT_REMOVEDIR);
      close (parent_fd);
      if (result != 0 && errno != ENOENT)
        return; /* not empty: the user's files stay */
      up = g_path_get_dirname (folder);
      g_free (folder);
      folder = up;
    }
}
