/* mist-install-fs.h: file operations confined to an install folder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every path is validated with mist_path_validate() and resolved component by component
 * with openat(O_NOFOLLOW) from a folder descriptor, so neither "..", an absolute path
 * nor a symbolic link planted in the install folder can lead outside it: a symbolic
 * link on the way fails with MIST_ERROR_INVALID_PATH.
 */
#pragma once

#include <gio/gio.h>
#include <zstd.h>

#include "mist-hash.h"

G_BEGIN_DECLS

/* Opens the folder that contains path, creating missing folders (mode 0755) when create
 * is TRUE. *basename points into path. Returns the descriptor or -1 with error set; with
 * create FALSE a missing folder gives G_IO_ERROR_NOT_FOUND. */
int install_fs_open_parent (int root_fd,
                            const char *path,
                            gboolean create,
                            const char **basename,
                            GError **error);

/* The folder last opened by install_fs_parent_open(), kept open for the next path in the
 * same folder: walking paths in sorted order then opens each folder once. */
typedef struct
{
  char *dir; /* relative to the root, "" for the root itself */
  int fd;
} InstallFsParent;

#define INSTALL_FS_PARENT_INIT                                                                     \
  {                                                                                                \
    NULL, -1                                                                                       \
  }

/* install_fs_open_parent() through parent: the descriptor belongs to parent, not to the
 * caller. */
int install_fs_parent_open (InstallFsParent *parent,
                            int root_fd,
                            const char *path,
                            gboolean create,
                            const char **basename,
                            GError **error);
void install_fs_parent_clear (InstallFsParent *parent);

/* Opens path below root_fd read-only, never following a symbolic link. */
int install_fs_open_read (int root_fd, const char *path, GError **error);

/* Converts errno of an operation on path into a GError: ENOSPC becomes MIST_ERROR_NO_SPACE,
 * ELOOP MIST_ERROR_INVALID_PATH, the others a GIOError. */
void install_fs_set_error (GError **error, int saved_errno, const char *action, const char *path);

gboolean install_fs_fsync_dir (int dir_fd, const char *what, GError **error);

/* Copies in_fd to out_fd from the start, with copy_file_range where the kernel allows. */
gboolean install_fs_copy (int in_fd, int out_fd, GCancellable *cancellable, GError **error);

/* Decompresses a zstd object into out_fd with context, which may be reused for the next
 * object, and feeds the decompressed bytes to hash unless it is NULL. */
gboolean install_fs_unpack_zstd (ZSTD_DCtx *context,
                                 int object_fd,
                                 int out_fd,
                                 MistSha256 *hash,
                                 GCancellable *cancellable,
                                 GError **error);

/* The same for an object held in memory. */
gboolean install_fs_unpack_zstd_bytes (
  ZSTD_DCtx *context, const guint8 *data, gsize size, int out_fd, MistSha256 *hash, GError **error);

/* Removes a folder below parent_fd with everything in it, without following links. */
gboolean install_fs_remove_tree (int parent_fd, const char *name, GError **error);

/* Removes the folders leading to path, deepest first, as long as they are empty. */
void install_fs_remove_empty_parents (int root_fd, const char *path);

G_END_DECLS
