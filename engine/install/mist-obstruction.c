/* mist-obstruction.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-obstruction.h"
#include "mist-error.h"
#include "mist-install-fs.h"
#include "mist-install-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
mist_obstruction_free (MistObstruction *obstruction)
{
  if (obstruction == NULL)
    return;
  g_free (obstruction->path);
  g_free (obstruction);
}

char *
mist_obstruction_describe (const MistObstruction *obstruction)
{
  switch (obstruction->kind)
    {
      case MIST_OBSTRUCTION_FOLDER_FOR_FILE:
        return g_strdup_printf ("%s is a folder where the game has a file", obstruction->path);
      case MIST_OBSTRUCTION_FILE_FOR_FOLDER:
        return g_strdup_printf ("%s is a file where the game has a folder", obstruction->path);
      case MIST_OBSTRUCTION_LINK_FOR_FILE:
        return g_strdup_printf ("%s is a symbolic link where the game has a file",
                                obstruction->path);
      case MIST_OBSTRUCTION_LINK_FOR_FOLDER:
        return g_strdup_printf ("%s is a symbolic link where the game has a folder",
                                obstruction->path);
    }
  g_return_val_if_reached (NULL);
}

static gboolean
folder_is_empty (int parent_fd, const char *name)
{
  int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;
  gboolean empty = TRUE;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  while (empty && (entry = readdir (dir)) != NULL)
    empty = g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, "..");
  closedir (dir);
  return empty;
}

static MistObstruction *
obstruction_new (const char *path, gsize length, MistObstructionKind kind, gboolean replaceable)
{
  MistObstruction *obstruction = g_new0 (MistObstruction, 1);

  obstruction->path = g_strndup (path, length);
  obstruction->kind = kind;
  obstruction->replaceable = replaceable;
  return obstruction;
}

MistObstruction *
install_find_obstruction (int root_fd, const char *path)
{
  g_auto (GStrv) components = g_strsplit (path, "/", -1);
  guint n = g_strv_length (components);
  gsize length = 0;
  MistObstruction *found = NULL;
  int dir_fd = fcntl (root_fd, F_DUPFD_CLOEXEC, 3);

  for (guint i = 0; dir_fd >= 0 && found == NULL && i < n; i++)
    {
      gboolean last = i + 1 == n;
      struct stat info;
      int next;

      length += (i > 0 ? 1 : 0) + strlen (components[i]);
      if (fstatat (dir_fd, components[i], &info, AT_SYMLINK_NOFOLLOW) != 0)
        break; /* missing: the commit creates it */
      if (last && S_ISDIR (info.st_mode))
        found = obstruction_new (path, length, MIST_OBSTRUCTION_FOLDER_FOR_FILE,
                                 folder_is_empty (dir_fd, components[i]));
      else if (last && S_ISLNK (info.st_mode))
        found = obstruction_new (path, length, MIST_OBSTRUCTION_LINK_FOR_FILE, TRUE);
      else if (last)
        break; /* a rename replaces a file, device, socket or FIFO */
      else if (S_ISLNK (info.st_mode))
        found = obstruction_new (path, length, MIST_OBSTRUCTION_LINK_FOR_FOLDER, FALSE);
      else if (!S_ISDIR (info.st_mode))
        found = obstruction_new (path, length, MIST_OBSTRUCTION_FILE_FOR_FOLDER, FALSE);
      if (found != NULL || last)
        break;

      next = openat (dir_fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close (dir_fd);
      dir_fd = next;
    }
  if (dir_fd >= 0)
    close (dir_fd);
  return found;
}

/* Renames what is at name to a free "NAME.mist-moved-N" in the same folder. */
static gboolean
move_aside (int parent_fd, const char *name, const char *path, GError **error)
{
  for (guint i = 1; i < 1000; i++)
    {
      g_autofree char *moved = g_strdup_printf ("%s.mist-moved-%u", name, i);

      if (renameat2 (parent_fd, name, parent_fd, moved, RENAME_NOREPLACE) == 0)
        {
          mist_notice ("Moved %s out of the game's way, to %s.mist-moved-%u: look through it, "
                       "then delete it",
                       path, path, i);
          return TRUE;
        }
      if (errno != EEXIST)
        {
          install_fs_set_error (error, errno, "move out of the game's way", path);
          return FALSE;
        }
    }
  install_fs_set_error (error, EEXIST, "move out of the game's way", path);
  return FALSE;
}

gboolean
install_clear_obstruction (int root_fd, const MistObstruction *obstruction, GError **error)
{
  const char *name;
  int parent_fd = install_fs_open_parent (root_fd, obstruction->path, FALSE, &name, error);
  gboolean ok = TRUE;

  if (parent_fd < 0)
    return FALSE;
  if (obstruction->kind == MIST_OBSTRUCTION_FOLDER_FOR_FILE && obstruction->replaceable)
    {
      if (unlinkat (parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        ok = move_aside (parent_fd, name, obstruction->path, error);
    }
  else if (obstruction->kind == MIST_OBSTRUCTION_LINK_FOR_FILE)
    {
      if (unlinkat (parent_fd, name, 0) != 0 && errno != ENOENT)
        {
          install_fs_set_error (error, errno, "remove the symbolic link", obstruction->path);
          ok = FALSE;
        }
    }
  else
    ok = move_aside (parent_fd, name, obstruction->path, error);
  close (parent_fd);
  return ok;
}

gboolean
install_keep_unowned_file (int root_fd, const char *path, GError **error)
{
  const char *name;
  int parent_fd = install_fs_open_parent (root_fd, path, FALSE, &name, NULL);
  struct stat info;
  gboolean ok = TRUE;

  /* A missing folder holds no file; what else blocks the path is an obstruction. */
  if (parent_fd < 0)
    return TRUE;
  if (fstatat (parent_fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (info.st_mode))
    ok = move_aside (parent_fd, name, path, error);
  close (parent_fd);
  return ok;
}
