/* mist-scan.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-scan.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct
{
  MistManifest *manifest;
  MistScanProgressFunc progress;
  gpointer user_data;
  GCancellable *cancellable;
  guint files_done;
  guint64 bytes_done;
} Scan;

static gboolean
set_errno_error (GError **error, const char *what, const char *path)
{
  int saved_errno = errno;

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s “%s”: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
add_file (Scan *scan, int dir_fd, const char *name, const char *relative, const struct stat *info,
          GError **error)
{
  MistManifestFile file = { 0 };
  g_autofree char *hash = NULL;
  int fd;

  fd = openat (dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return set_errno_error (error, "Cannot open", relative);
  hash = mist_sha256_hex_fd (fd, NULL, NULL, scan->cancellable, error);
  close (fd);
  if (hash == NULL)
    {
      g_prefix_error (error, "Cannot hash “%s”: ", relative);
      return FALSE;
    }

  file.path = (char *) relative;
  file.size = (guint64) info->st_size;
  file.sha256 = hash;
  file.executable = (info->st_mode & S_IXUSR) != 0;
  if (!mist_manifest_add_file (scan->manifest, &file, error))
    return FALSE;

  scan->files_done++;
  scan->bytes_done += file.size;
  if (scan->progress != NULL)
    scan->progress (scan->files_done, scan->bytes_done, relative, scan->user_data);
  return TRUE;
}

static gboolean scan_dir (Scan *scan, int dir_fd, const char *prefix, GError **error);

static gboolean
scan_entry (Scan *scan, int dir_fd, const char *name, const char *prefix, GError **error)
{
  g_autofree char *relative = prefix[0] != '\0' ? g_strconcat (prefix, "/", name, NULL)
                                                : g_strdup (name);
  struct stat info;
  int child_fd;
  gboolean ok;

  if (fstatat (dir_fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0)
    return set_errno_error (error, "Cannot read", relative);
  if (S_ISREG (info.st_mode))
    return add_file (scan, dir_fd, name, relative, &info, error);
  if (!S_ISDIR (info.st_mode))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "“%s” is a %s: a build holds only regular files and folders; replace it by "
                   "a copy of what it points to, or remove it",
                   relative, S_ISLNK (info.st_mode) ? "symbolic link" : "special file");
      return FALSE;
    }

  child_fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (child_fd < 0)
    return set_errno_error (error, "Cannot open the folder", relative);
  ok = scan_dir (scan, child_fd, relative, error);
  return ok;
}

/* Takes dir_fd. */
static gboolean
scan_dir (Scan *scan, int dir_fd, const char *prefix, GError **error)
{
  DIR *dir = fdopendir (dir_fd);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *entry;
  gboolean ok = TRUE;

  if (dir == NULL)
    {
      close (dir_fd);
      return set_errno_error (error, "Cannot list the folder", prefix[0] != '\0' ? prefix : ".");
    }
  errno = 0;
  while ((entry = readdir (dir)) != NULL)
    if (strcmp (entry->d_name, ".") != 0 && strcmp (entry->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (entry->d_name));
  if (errno != 0)
    ok = set_errno_error (error, "Cannot list the folder", prefix[0] != '\0' ? prefix : ".");

  /* Sorted, so progress and the first error are the same on every run. */
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; ok && i < names->len; i++)
    {
      const char *name = *(const char **) &names->pdata[i];

      if (g_cancellable_set_error_if_cancelled (scan->cancellable, error))
        ok = FALSE;
      else
        ok = scan_entry (scan, dirfd (dir), name, prefix, error);
    }
  closedir (dir);
  return ok;
}

MistManifest *
mist_scan_directory (const char *root,
                     MistScanProgressFunc progress,
                     gpointer user_data,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (MistManifest) manifest = mist_manifest_new ();
  Scan scan = { manifest, progress, user_data, cancellable, 0, 0 };
  int root_fd;

  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      set_errno_error (error, "Cannot open the build folder", root);
      return NULL;
    }
  if (!scan_dir (&scan, root_fd, "", error))
    {
      g_prefix_error (error, "Cannot scan %s: ", root);
      return NULL;
    }
  return g_steal_pointer (&manifest);
}
