/* mist-client-admin.h: the administration routes of the Mist server API
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The routes under /api/v1/admin/ (docs/api.md, "Administration"), for a client logged in
 * with an admin account; other accounts get MIST_ERROR_FORBIDDEN. They follow the pattern
 * of mist-client.h: each call sends one request and finishes on the caller's main
 * context, and only the GET is sent again after a transient failure.
 */
#pragma once

#include "mist-client.h"

G_BEGIN_DECLS

/* Users: entries are JSON objects with "name", "is_admin", "disabled" and "created_at". */

/* The users sorted by name, as a JsonArray of user entries. */
void mist_client_admin_list_users_async (MistClient *self,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
JsonArray *mist_client_admin_list_users_finish (MistClient *self,
                                                GAsyncResult *result,
                                                GError **error);

/* Creates a user and returns its entry; MIST_ERROR_CONFLICT when the name exists. */
void mist_client_admin_create_user_async (MistClient *self,
                                          const char *name,
                                          const char *password,
                                          gboolean is_admin,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
JsonObject *mist_client_admin_create_user_finish (MistClient *self,
                                                  GAsyncResult *result,
                                                  GError **error);

/* Changes a user: changes has any of "password" (string), "is_admin" and "disabled"
 * (booleans). Returns the new entry. */
void mist_client_admin_update_user_async (MistClient *self,
                                          const char *name,
                                          JsonObject *changes,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
JsonObject *mist_client_admin_update_user_finish (MistClient *self,
                                                  GAsyncResult *result,
                                                  GError **error);

/* Games: each call returns the game's new entry. */

void mist_client_admin_create_game_async (MistClient *self,
                                          const char *slug,
                                          const char *title,
                                          const char *description,
                                          gboolean is_private,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
MistGameEntry *mist_client_admin_create_game_finish (MistClient *self,
                                                     GAsyncResult *result,
                                                     GError **error);

/* changes has any of "title", "description" and "visibility" ("public" or "private"). */
void mist_client_admin_update_game_async (MistClient *self,
                                          const char *slug,
                                          JsonObject *changes,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
MistGameEntry *mist_client_admin_update_game_finish (MistClient *self,
                                                     GAsyncResult *result,
                                                     GError **error);

/* image: PNG, JPEG or WebP bytes, at most 8 MiB. */
void mist_client_admin_set_cover_async (MistClient *self,
                                        const char *slug,
                                        GBytes *image,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
MistGameEntry *mist_client_admin_set_cover_finish (MistClient *self,
                                                   GAsyncResult *result,
                                                   GError **error);

void mist_client_admin_delete_cover_async (MistClient *self,
                                           const char *slug,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);
gboolean mist_client_admin_delete_cover_finish (MistClient *self,
                                                GAsyncResult *result,
                                                GError **error);

/* launch: a launch object of the build manifest, whose executable is a file of the
 * game's newest version. */
void mist_client_admin_set_launch_async (MistClient *self,
                                         const char *slug,
                                         JsonNode *launch,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
MistGameEntry *mist_client_admin_set_launch_finish (MistClient *self,
                                                    GAsyncResult *result,
                                                    GError **error);

/* Uploading a version: find the missing file contents, upload each, then create the
 * version. Each step can be repeated. */

/* sha256: NULL-terminated hex hashes, at most 100 000. Returns the ones the server lacks. */
void mist_client_admin_find_missing_files_async (MistClient *self,
                                                 const char *const *sha256,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
GStrv mist_client_admin_find_missing_files_finish (MistClient *self,
                                                   GAsyncResult *result,
                                                   GError **error);

/* zstd_frame: the file's bytes compressed as one zstd frame; the server checks that they
 * decompress to sha256. Returns the reply: "sha256", "size" and "object".
 * NOTE: the whole frame is held in memory; a file of several GB needs a streaming body. */
void mist_client_admin_upload_file_async (MistClient *self,
                                          const char *sha256,
                                          GBytes *zstd_frame,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
JsonObject *mist_client_admin_upload_file_finish (MistClient *self,
                                                  GAsyncResult *result,
                                                  GError **error);

/* manifest: the build manifest without "object" members; changelog may be NULL. */
void mist_client_admin_create_version_async (MistClient *self,
                                             const char *slug,
                                             const char *name,
                                             const char *changelog,
                                             JsonNode *manifest,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
MistVersionEntry *mist_client_admin_create_version_finish (MistClient *self,
                                                           GAsyncResult *result,
                                                           GError **error);

/* Puts a failed or ready patch set back to pending; MIST_ERROR_CONFLICT while it is
 * pending or running. */
void mist_client_admin_retry_patch_set_async (MistClient *self,
                                              const char *slug,
                                              gint64 from_ordinal,
                                              gint64 to_ordinal,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer user_data);
gboolean mist_client_admin_retry_patch_set_finish (MistClient *self,
                                                   GAsyncResult *result,
                                                   GError **error);

G_END_DECLS
