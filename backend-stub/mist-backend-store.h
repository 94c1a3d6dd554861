/* mist-backend-store.h: the server's data folder and its immutable objects
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * DATA/mist.sqlite3       the database
 * DATA/content/objects/   objects, as objects/ab/ab12… (docs/api.md, "Content")
 * DATA/covers/            cover images, named by their SHA-256
 * DATA/tmp/               patches and covers being written; emptied at start
 * DATA/uploads/           file uploads by SHA-256 (SHA.part), kept when a client stops
 *                         mid-upload so it can continue from the bytes received
 *                         NOTE: a kept upload that is never continued stays there, and
 *                         two clients uploading one SHA-256 at once share its file.
 *
 * Objects are written to DATA/tmp, synced, and renamed into place, so a reader never
 * sees a partial object and a crash leaves only files in DATA/tmp.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIST_BACKEND_MAX_OBJECT_SIZE (G_GUINT64_CONSTANT (64) << 30)

typedef struct
{
  char *data_dir;
  char *objects_dir;
  char *covers_dir;
  char *tmp_dir;
  char *uploads_dir;
} MistBackendStore;

/* Days after which the server deletes a partial upload that was not continued. */
#define MIST_BACKEND_PARTIAL_UPLOAD_DAYS 7

/* Creates the folders of data_dir that are missing. With clean_tmp, as the server does at
 * start, it empties DATA/tmp and deletes partial uploads older than
 * MIST_BACKEND_PARTIAL_UPLOAD_DAYS. */
MistBackendStore *mist_backend_store_new (const char *data_dir, gboolean clean_tmp, GError **error);
void mist_backend_store_free (MistBackendStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistBackendStore, mist_backend_store_free)

char *mist_backend_store_object_path (MistBackendStore *store, const char *object_id);
gboolean mist_backend_store_has_object (MistBackendStore *store, const char *object_id);

/* Opens a new temporary file in DATA/tmp; *path receives its name. */
int mist_backend_store_open_temp (MistBackendStore *store, char **path, GError **error);

/* Syncs the temporary file and renames it to the object object_id (or to
 * DATA/covers/object_id with cover set). An existing object is kept and the temporary
 * file removed, since objects with one name have the same bytes. */
gboolean mist_backend_store_commit (MistBackendStore *store,
                                    int fd,
                                    const char *temp_path,
                                    const char *object_id,
                                    gboolean cover,
                                    GError **error);

/* Decompresses the object object_id (one zstd frame) into out_fd from its offset 0. */
gboolean mist_backend_store_decompress (MistBackendStore *store,
                                        const char *object_id,
                                        int out_fd,
                                        GCancellable *cancellable,
                                        GError **error);

/* Streams an uploaded file object to DATA/tmp while checking it: the body must be one
 * zstd frame whose content has the expected SHA-256. */
typedef struct _MistBackendUpload MistBackendUpload;

/* Starts the upload at offset 0, or continues the partial upload kept for expected_sha256,
 * which must have offset bytes (MIST_ERROR_CONFLICT otherwise). Continuing reads the kept
 * bytes again to rebuild the hashes and the decompression state. */
MistBackendUpload *mist_backend_upload_new (MistBackendStore *store,
                                            const char *expected_sha256,
                                            guint64 offset,
                                            GError **error);
/* Returns the bytes kept of an interrupted upload of sha256, or 0. */
guint64 mist_backend_store_partial_size (MistBackendStore *store, const char *sha256);
/* Returns FALSE once the data is known to be invalid; later calls keep returning FALSE. */
gboolean mist_backend_upload_write (MistBackendUpload *upload, const void *data, gsize length);
/* Verifies and stores the object; fills the object id and the sizes. */
gboolean mist_backend_upload_finish (MistBackendUpload *upload,
                                     char **object_id,
                                     guint64 *object_size,
                                     guint64 *content_size,
                                     GError **error);
/* Frees the upload and keeps the bytes received so far for a later continuation, unless
 * they are known to be invalid. */
void mist_backend_upload_keep_partial (MistBackendUpload *upload);
void mist_backend_upload_free (MistBackendUpload *upload);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistBackendUpload, mist_backend_upload_free)

/* Writes all length bytes at fd's offset, retrying short writes. */
gboolean mist_backend_write_all (int fd, const void *data, gsize length, GError **error);

/* Compresses in_fd from offset 0 into out_fd as one zstd frame with its content size. */
gboolean mist_backend_compress_fd (int in_fd,
                                   int out_fd,
                                   int level,
                                   GCancellable *cancellable,
                                   GError **error);

G_END_DECLS
