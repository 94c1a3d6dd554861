/* mist-client-admin.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-client-admin.h"
#include "mist-client-private.h"
#include "mist-error.h"

static gpointer
parse_users (JsonNode *root, GError **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *users = object != NULL ? json_object_get_member (object, "users") : NULL;

  if (users == NULL || !JSON_NODE_HOLDS_ARRAY (users))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "missing array member \"users\"");
      return NULL;
    }
  return json_array_ref (json_node_get_array (users));
}

static gpointer
parse_missing (JsonNode *root, GError **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *missing = object != NULL ? json_object_get_member (object, "missing") : NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (missing == NULL || !JSON_NODE_HOLDS_ARRAY (missing))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "missing array member \"missing\"");
      return NULL;
    }
  array = json_node_get_array (missing);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *sha256 = json_node_get_string (json_array_get_element (array, i));

      if (sha256 == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "element %u of \"missing\" is not a string", i);
          return NULL;
        }
      g_strv_builder_add (builder, sha256);
    }
  return g_strv_builder_end (builder);
}

/* Returns the task's pointer result, a game entry with an absolute cover URL. */
static MistGameEntry *
finish_game (MistClient *self, GAsyncResult *result, GError **error)
{
  MistGameEntry *game = g_task_propagate_pointer (G_TASK (result), error);

  if (game != NULL)
    mist_client_resolve_cover_url (self, game);
  return game;
}

/* Returns whether the task of a reply without a needed body succeeded. */
static gboolean
finish_empty (GAsyncResult *result, GError **error)
{
  g_autoptr (GBytes) body = g_task_propagate_pointer (G_TASK (result), error);

  return body != NULL;
}

static void
send_game_request (MistClient *self,
                   const char *method,
                   const char *slug,
                   const char *suffix,
                   JsonNode *body,
                   gpointer source_tag,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_autofree char *path = NULL;

  if (mist_client_fail_on_invalid_slug (self, slug, source_tag, cancellable, callback,
                                        user_data))
    return;
  path = g_strdup_printf ("/api/v1/admin/games/%s%s", slug, suffix);
  mist_client_request_json_async (self, method, path, body, mist_client_parse_game,
                                  (GDestroyNotify) mist_game_entry_free, source_tag, cancellable,
                                  callback, user_data);
}

/* Users */

void
mist_client_admin_list_users_async (MistClient *self,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  mist_client_request_json_async (self, SOUP_METHOD_GET, "/api/v1/admin/users", NULL,
                                  parse_users, (GDestroyNotify) json_array_unref,
                                  mist_client_admin_list_users_async, cancellable, callback,
                                  user_data);
}

JsonArray *
mist_client_admin_list_users_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_admin_create_user_async (MistClient *self,
                                     const char *name,
                                     const char *password,
                                     gboolean is_admin,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (name != NULL && password != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_set_member_name (builder, "is_admin");
  json_builder_add_boolean_value (builder, is_admin);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/admin/users", body,
                                  mist_client_parse_object, (GDestroyNotify) json_object_unref,
                                  mist_client_admin_create_user_async, cancellable, callback,
                                  user_data);
}

JsonObject *
mist_client_admin_create_user_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_admin_update_user_async (MistClient *self,
                                     const char *name,
                                     JsonObject *changes,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (JsonNode) body = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (name != NULL && changes != NULL);

  json_node_set_object (body, changes);
  escaped = g_uri_escape_string (name, NULL, FALSE);
  path = g_strdup_printf ("/api/v1/admin/users/%s", escaped);
  mist_client_request_json_async (self, "PATCH", path, body, mist_client_parse_object,
                                  (GDestroyNotify) json_object_unref,
                                  mist_client_admin_update_user_async, cancellable, callback,
                                  user_data);
}

JsonObject *
mist_client_admin_update_user_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Games */

void
mist_client_admin_create_game_async (MistClient *self,
                                     const char *slug,
                                     const char *title,
                                     const char *description,
                                     gboolean is_private,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (title != NULL);
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_admin_create_game_async,
                                        cancellable, callback, user_data))
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "slug");
  json_builder_add_string_value (builder, slug);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, title);
  json_builder_set_member_name (builder, "description");
  json_builder_add_string_value (builder, description != NULL ? description : "");
  json_builder_set_member_name (builder, "visibility");
  json_builder_add_string_value (builder, is_private ? "private" : "public");
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/admin/games", body,
                                  mist_client_parse_game, (GDestroyNotify) mist_game_entry_free,
                                  mist_client_admin_create_game_async, cancellable, callback,
                                  user_data);
}

MistGameEntry *
mist_client_admin_create_game_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return finish_game (self, result, error);
}

void
mist_client_admin_update_game_async (MistClient *self,
                                     const char *slug,
                                     JsonObject *changes,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (JsonNode) body = json_node_new (JSON_NODE_OBJECT);

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (changes != NULL);

  json_node_set_object (body, changes);
  send_game_request (self, "PATCH", slug, "", body, mist_client_admin_update_game_async,
                     cancellable, callback, user_data);
}

MistGameEntry *
mist_client_admin_update_game_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return finish_game (self, result, error);
}

void
mist_client_admin_set_cover_async (MistClient *self,
                                   const char *slug,
                                   GBytes *image,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (image != NULL);
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_admin_set_cover_async,
                                        cancellable, callback, user_data))
    return;

  /* The server recognizes the image format by its signature. */
  path = g_strdup_printf ("/api/v1/admin/games/%s/cover", slug);
  mist_client_request_async (self, SOUP_METHOD_PUT, path, "application/octet-stream", image,
                             mist_client_parse_game, (GDestroyNotify) mist_game_entry_free,
                             mist_client_admin_set_cover_async, cancellable, callback,
                             user_data);
}

MistGameEntry *
mist_client_admin_set_cover_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return finish_game (self, result, error);
}

void
mist_client_admin_delete_cover_async (MistClient *self,
                                      const char *slug,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_admin_delete_cover_async,
                                        cancellable, callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/admin/games/%s/cover", slug);
  mist_client_request_json_async (self, SOUP_METHOD_DELETE, path, NULL, NULL, NULL,
                                  mist_client_admin_delete_cover_async, cancellable, callback,
                                  user_data);
}

gboolean
mist_client_admin_delete_cover_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_empty (result, error);
}

void
mist_client_admin_set_launch_async (MistClient *self,
                                    const char *slug,
                                    JsonNode *launch,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (launch != NULL);
  send_game_request (self, SOUP_METHOD_PUT, slug, "/launch", launch,
                     mist_client_admin_set_launch_async, cancellable, callback, user_data);
}

MistGameEntry *
mist_client_admin_set_launch_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return finish_game (self, result, error);
}

/* Uploading a version */

void
mist_client_admin_find_missing_files_async (MistClient *self,
                                            const char *const *sha256,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (sha256 != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sha256");
  json_builder_begin_array (builder);
  for (guint i = 0; sha256[i] != NULL; i++)
    json_builder_add_string_value (builder, sha256[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/admin/files/missing", body,
                                  parse_missing, (GDestroyNotify) g_strfreev,
                                  mist_client_admin_find_missing_files_async, cancellable,
                                  callback, user_data);
}

GStrv
mist_client_admin_find_missing_files_finish (MistClient *self,
                                             GAsyncResult *result,
                                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_admin_upload_file_async (MistClient *self,
                                     const char *sha256,
                                     GBytes *zstd_frame,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (sha256 != NULL && zstd_frame != NULL);

  if (strlen (sha256) != 64 || strspn (sha256, "0123456789abcdef") != 64)
    {
      g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

      g_task_set_source_tag (task, mist_client_admin_upload_file_async);
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                               "Invalid SHA-256 \"%s\": expected 64 lowercase hex digits",
                               sha256);
      return;
    }
  path = g_strdup_printf ("/api/v1/admin/files/%s", sha256);
  mist_client_request_async (self, SOUP_METHOD_PUT, path, "application/zstd", zstd_frame,
                             mist_client_parse_object, (GDestroyNotify) json_object_unref,
                             mist_client_admin_upload_file_async, cancellable, callback,
                             user_data);
}

JsonObject *
mist_client_admin_upload_file_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_admin_create_version_async (MistClient *self,
                                        const char *slug,
                                        const char *name,
                                        const char *changelog,
                                        JsonNode *manifest,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (name != NULL && manifest != NULL);
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_admin_create_version_async,
                                        cancellable, callback, user_data))
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "changelog");
  json_builder_add_string_value (builder, changelog != NULL ? changelog : "");
  json_builder_set_member_name (builder, "manifest");
  json_builder_add_value (builder, json_node_copy (manifest));
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  path = g_strdup_printf ("/api/v1/admin/games/%s/versions", slug);
  mist_client_request_json_async (self, SOUP_METHOD_POST, path, body, mist_client_parse_version,
                                  (GDestroyNotify) mist_version_entry_free,
                                  mist_client_admin_create_version_async, cancellable, callback,
                                  user_data);
}

MistVersionEntry *
mist_client_admin_create_version_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_admin_retry_patch_set_async (MistClient *self,
                                         const char *slug,
                                         gint64 from_ordinal,
                                         gint64 to_ordinal,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_admin_retry_patch_set_async,
                                        cancellable, callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/admin/games/%s/patches/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                          "/retry",
                          slug, from_ordinal, to_ordinal);
  mist_client_request_json_async (self, SOUP_METHOD_POST, path, NULL, NULL, NULL,
                                  mist_client_admin_retry_patch_set_async, cancellable, callback,
                                  user_data);
}

gboolean
mist_client_admin_retry_patch_set_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_empty (result, error);
}
