/* mist-backend-api-admin.c: users, games, covers, launch configurations and uploads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-backend-password.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-manifest.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_TITLE_LENGTH 200
#define MAX_DESCRIPTION_LENGTH (64 * 1024)
#define MAX_MISSING_QUERY 100000

static gboolean
respond_db_error (MistRequest *request, sqlite3 *db)
{
  g_autoptr (GError) error = NULL;

  mist_backend_db_set_error (db, &error);
  mist_request_respond_gerror (request, error);
  return FALSE;
}

/* Users */

static void
build_user (JsonBuilder *builder, const MistBackendUser *user)
{
  g_autofree char *created = mist_backend_format_time (user->created_at);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, user->name);
  json_builder_set_member_name (builder, "is_admin");
  json_builder_add_boolean_value (builder, user->is_admin);
  json_builder_set_member_name (builder, "disabled");
  json_builder_add_boolean_value (builder, user->disabled);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_string_value (builder, created);
  json_builder_end_object (builder);
}

static void
respond_user (MistRequest *request, guint status, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistBackendUser) user = mist_backend_db_lookup_user (request->server->db, name,
                                                                  &error);
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  if (user == NULL)
    {
      if (error != NULL)
        mist_request_respond_gerror (request, error);
      else
        mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                    "No user “%s”", name);
      return;
    }
  build_user (builder, user);
  mist_request_respond_builder (request, status, builder);
}

void
mist_api_admin_list_users (MistRequest *request)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) users = mist_backend_db_list_users (request->server->db, &error);
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  if (users == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "users");
  json_builder_begin_array (builder);
  for (guint i = 0; i < users->len; i++)
    build_user (builder, users->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

/* A user change that needs a password hash first, computed in a GTask thread. */
typedef struct
{
  SoupServerMessage *message; /* owned */
  char *name;
  char *password;
  char *encoded;
  gint64 user_id; /* 0 for a new user */
  int is_admin;
  int disabled;
  GError *error;
} UserChange;

static void
user_change_free (UserChange *change)
{
  g_clear_object (&change->message);
  g_free (change->name);
  if (change->password != NULL)
    memset (change->password, 0, strlen (change->password));
  g_free (change->password);
  g_free (change->encoded);
  g_clear_error (&change->error);
  g_free (change);
}

static void
hash_password_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  UserChange *change = data;

  change->encoded = mist_backend_password_hash (change->password, &change->error);
  g_task_return_boolean (task, TRUE);
}

static void
apply_user_change (MistRequest *request, UserChange *change)
{
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (change->user_id == 0)
    ok = mist_backend_db_insert_user (request->server->db, change->name, change->encoded,
                                      change->is_admin == 1, &error);
  else
    ok = mist_backend_db_update_user (request->server->db, change->user_id, change->encoded,
                                      change->is_admin, change->disabled, &error);
  if (!ok)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  g_message ("Admin “%s” %s user “%s”%s%s%s", request->user->name,
             change->user_id == 0 ? "created" : "changed", change->name,
             change->encoded != NULL && change->user_id != 0 ? " (new password)" : "",
             change->disabled == 1 ? " (disabled)" : "", change->is_admin == 1 ? " (admin)" : "");
  respond_user (request, change->user_id == 0 ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                change->name);
}

static void
password_hashed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  UserChange *change = g_task_get_task_data (G_TASK (result));
  /* Released here, on the main thread: the task, and with it change, may be freed on
   * the worker thread, and libsoup's objects must not be finalized there. */
  g_autoptr (SoupServerMessage) message = g_steal_pointer (&change->message);
  MistRequest *request = g_object_get_data (G_OBJECT (message), "mist-request");

  soup_server_message_unpause (message);
  if (request == NULL || request->message == NULL)
    return;
  if (change->error != NULL)
    {
      mist_request_respond_gerror (request, change->error);
      return;
    }
  apply_user_change (request, change);
}

/* Takes change; hashes its password off the main loop when it has one. */
static void
run_user_change (MistRequest *request, UserChange *change)
{
  g_autoptr (GTask) task = NULL;

  if (change->password == NULL)
    {
      apply_user_change (request, change);
      user_change_free (change);
      return;
    }
  change->message = g_object_ref (request->message);
  task = g_task_new (NULL, NULL, password_hashed, NULL);
  g_task_set_task_data (task, change, (GDestroyNotify) user_change_free);
  soup_server_message_pause (request->message);
  g_task_run_in_thread (task, hash_password_thread);
}

void
mist_api_admin_create_user (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistBackendUser) existing = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  const char *name = NULL;
  const char *password = NULL;
  int is_admin = 0;
  UserChange *change;

  if (body == NULL || !mist_request_get_string (request, body, "name", &name) ||
      !mist_request_get_string (request, body, "password", &password) ||
      !mist_request_get_boolean (request, body, "is_admin", &is_admin))
    return;
  if (name == NULL || !mist_backend_user_name_is_valid (name))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "Invalid user name “%s”: use 1 to 64 characters from A-Z, "
                                  "a-z, 0-9, “.”, “_” and “-”",
                                  name != NULL ? name : "");
      return;
    }
  if (password == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "A new user needs a “password”");
      return;
    }
  if (!mist_backend_password_check (password, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  existing = mist_backend_db_lookup_user (request->server->db, name, NULL);
  if (existing != NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_CONFLICT, "conflict",
                                  "A user named “%s” exists already (names ignore case)",
                                  existing->name);
      return;
    }

  change = g_new0 (UserChange, 1);
  change->name = g_strdup (name);
  change->password = g_strdup (password);
  change->is_admin = is_admin;
  change->disabled = -1;
  run_user_change (request, change);
}

void
mist_api_admin_update_user (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistBackendUser) user = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  const char *password = NULL;
  int is_admin = -1;
  int disabled = -1;
  UserChange *change;

  if (body == NULL || !mist_request_get_string (request, body, "password", &password) ||
      !mist_request_get_boolean (request, body, "is_admin", &is_admin) ||
      !mist_request_get_boolean (request, body, "disabled", &disabled))
    return;
  user = mist_backend_db_lookup_user (request->server->db, request->params[0], &error);
  if (user == NULL)
    {
      if (error != NULL)
        mist_request_respond_gerror (request, error);
      else
        mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                    "No user “%s”", request->params[0]);
      return;
    }
  if (user->id == request->user->id && (disabled == 1 || is_admin == 0))
    {
      mist_request_respond_error (request, SOUP_STATUS_CONFLICT, "conflict",
                                  "An admin cannot disable itself or drop its own admin flag; "
                                  "ask another admin");
      return;
    }
  if (password != NULL && !mist_backend_password_check (password, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }

  change = g_new0 (UserChange, 1);
  change->name = g_strdup (user->name);
  change->user_id = user->id;
  change->password = g_strdup (password);
  change->is_admin = is_admin;
  change->disabled = disabled;
  run_user_change (request, change);
}

/* Games */

static gboolean
check_text (MistRequest *request, const char *member, const char *value, gsize max_length,
            gboolean allow_newlines)
{
  gsize length = strlen (value);

  if (length > max_length)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The “%s” is too long: %" G_GSIZE_FORMAT " bytes, at most %"
                                  G_GSIZE_FORMAT,
                                  member, length, max_length);
      return FALSE;
    }
  for (const char *c = value; *c != '\0'; c++)
    if ((guchar) *c < 0x20 && !(allow_newlines && (*c == '\n' || *c == '\t' || *c == '\r')))
      {
        mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                    "The “%s” contains a control character", member);
        return FALSE;
      }
  return TRUE;
}

static gboolean
parse_visibility (MistRequest *request, const char *visibility, int *is_private)
{
  if (visibility == NULL)
    return TRUE;
  if (strcmp (visibility, "public") == 0 || strcmp (visibility, "private") == 0)
    {
      *is_private = strcmp (visibility, "private") == 0;
      return TRUE;
    }
  mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                              "Invalid visibility “%s”: use “public” or “private”", visibility);
  return FALSE;
}

static void
respond_game (MistRequest *request, guint status, const char *slug)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, slug);
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  if (game == NULL)
    return;
  mist_build_game (request, builder, game, TRUE);
  mist_request_respond_builder (request, status, builder);
}

void
mist_api_admin_create_game (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (sqlite3_stmt) statement = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  sqlite3 *db = request->server->db;
  const char *slug = NULL;
  const char *title = NULL;
  const char *description = "";
  const char *visibility = NULL;
  int is_private = 1;
  int status;

  if (body == NULL || !mist_request_get_string (request, body, "slug", &slug) ||
      !mist_request_get_string (request, body, "title", &title) ||
      !mist_request_get_string (request, body, "description", &description) ||
      !mist_request_get_string (request, body, "visibility", &visibility) ||
      !parse_visibility (request, visibility, &is_private))
    return;
  if (slug == NULL || !mist_game_slug_is_valid (slug))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "Invalid slug “%s”: use 1 to 64 characters from a-z, 0-9 and "
                                  "“-”, not starting with “-”",
                                  slug != NULL ? slug : "");
      return;
    }
  if (title == NULL || title[0] == '\0')
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "A game needs a non-empty “title”");
      return;
    }
  if (!check_text (request, "title", title, MAX_TITLE_LENGTH, FALSE) ||
      !check_text (request, "description", description, MAX_DESCRIPTION_LENGTH, TRUE))
    return;

  statement = mist_backend_db_prepare (db,
                                       "INSERT INTO games (slug, title, description, visibility,"
                                       " created_at) VALUES (?, ?, ?, ?, ?)",
                                       NULL);
  if (statement == NULL)
    {
      respond_db_error (request, db);
      return;
    }
  sqlite3_bind_text (statement, 1, slug, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 2, title, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 3, description, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 4, is_private ? "private" : "public", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (statement, 5, mist_backend_now ());
  status = sqlite3_step (statement);
  if (status == SQLITE_CONSTRAINT)
    {
      mist_request_respond_error (request, SOUP_STATUS_CONFLICT, "conflict",
                                  "A game with the slug “%s” exists already", slug);
      return;
    }
  if (status != SQLITE_DONE)
    {
      respond_db_error (request, db);
      return;
    }
  g_message ("Admin “%s” created the game “%s”", request->user->name, slug);
  respond_game (request, SOUP_STATUS_CREATED, slug);
}

void
mist_api_admin_update_game (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (sqlite3_stmt) statement = NULL;
  sqlite3 *db = request->server->db;
  JsonObject *body;
  const char *title = NULL;
  const char *description = NULL;
  const char *visibility = NULL;
  int is_private = -1;

  if (game == NULL)
    return;
  body = mist_request_parse_object (request, &parser);
  if (body == NULL || !mist_request_get_string (request, body, "title", &title) ||
      !mist_request_get_string (request, body, "description", &description) ||
      !mist_request_get_string (request, body, "visibility", &visibility) ||
      !parse_visibility (request, visibility, &is_private))
    return;
  if (title != NULL && title[0] == '\0')
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The “title” cannot be empty");
      return;
    }
  if ((title != NULL && !check_text (request, "title", title, MAX_TITLE_LENGTH, FALSE)) ||
      (description != NULL &&
       !check_text (request, "description", description, MAX_DESCRIPTION_LENGTH, TRUE)))
    return;

  statement = mist_backend_db_prepare (db,
                                       "UPDATE games SET title = coalesce (?1, title),"
                                       " description = coalesce (?2, description),"
                                       " visibility = coalesce (?3, visibility) WHERE id = ?4",
                                       NULL);
  if (statement == NULL)
    {
      respond_db_error (request, db);
      return;
    }
  if (title != NULL)
    sqlite3_bind_text (statement, 1, title, -1, SQLITE_TRANSIENT);
  if (description != NULL)
    sqlite3_bind_text (statement, 2, description, -1, SQLITE_TRANSIENT);
  if (is_private >= 0)
    sqlite3_bind_text (statement, 3, is_private ? "private" : "public", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (statement, 4, game->id);
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      respond_db_error (request, db);
      return;
    }
  respond_game (request, SOUP_STATUS_OK, game->slug);
}

static const char *
sniff_image_type (const guint8 *data, gsize length)
{
  if (length >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return "image/png";
  if (length >= 3 && memcmp (data, "\xff\xd8\xff", 3) == 0)
    return "image/jpeg";
  if (length >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return "image/webp";
  return NULL;
}

static gboolean
update_cover (MistRequest *request, MistGame *game, const char *sha256, gint64 size,
              const char *type)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  sqlite3 *db = request->server->db;

  statement = mist_backend_db_prepare (db,
                                       "UPDATE games SET cover_sha256 = ?, cover_size = ?,"
                                       " cover_type = ? WHERE id = ?",
                                       NULL);
  if (statement == NULL)
    return respond_db_error (request, db);
  if (sha256 != NULL)
    {
      sqlite3_bind_text (statement, 1, sha256, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (statement, 2, size);
      sqlite3_bind_text (statement, 3, type, -1, SQLITE_STATIC);
    }
  sqlite3_bind_int64 (statement, 4, game->id);
  if (sqlite3_step (statement) != SQLITE_DONE)
    return respond_db_error (request, db);
  return TRUE;
}

void
mist_api_admin_put_cover (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (GError) error = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *temp_path = NULL;
  const char *type;
  gsize length;
  int fd;

  if (game == NULL)
    return;
  length = request->body != NULL ? request->body->len : 0;
  type = length > 0 ? sniff_image_type (request->body->data, length) : NULL;
  if (type == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "invalid-data",
                                  "The cover is not a PNG, JPEG or WebP image");
      return;
    }

  sha256 = mist_sha256_hex_data (request->body->data, length);
  fd = mist_backend_store_open_temp (request->server->store, &temp_path, &error);
  if (fd < 0)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  if (write (fd, request->body->data, length) != (ssize_t) length ||
      !mist_backend_store_commit (request->server->store, fd, temp_path, sha256, TRUE, &error))
    {
      close (fd);
      g_unlink (temp_path);
      if (error == NULL)
        g_set_error (&error, MIST_ERROR, MIST_ERROR_FAILED, "Cannot write the cover to %s",
                     temp_path);
      mist_request_respond_gerror (request, error);
      return;
    }
  close (fd);
  if (!update_cover (request, game, sha256, (gint64) length, type))
    return;
  respond_game (request, SOUP_STATUS_OK, game->slug);
}

void
mist_api_admin_delete_cover (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);

  if (game == NULL || !update_cover (request, game, NULL, 0, NULL))
    return;
  mist_request_respond_no_content (request, SOUP_STATUS_NO_CONTENT);
}

/* Launch configurations are checked by building a manifest that contains the files of the
 * newest version, so the executable must exist in it. */
static char *
launch_to_json (MistManifest *manifest)
{
  g_autoptr (JsonNode) root = mist_manifest_to_json_node (manifest);
  JsonNode *launch = json_object_get_member (json_node_get_object (root), "launch");

  return launch != NULL ? json_to_string (launch, FALSE) : NULL;
}

static gboolean
newest_version (MistRequest *request, MistGame *game, gint64 *version_id, MistManifest **manifest)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db = request->server->db;

  statement = mist_backend_db_prepare (db,
                                       "SELECT id, manifest FROM versions WHERE game_id = ?"
                                       " ORDER BY ordinal DESC LIMIT 1",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return FALSE;
    }
  sqlite3_bind_int64 (statement, 1, game->id);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The game “%s” has no version yet: push one first, so the "
                                  "executable can be checked",
                                  game->slug);
      return FALSE;
    }
  *version_id = sqlite3_column_int64 (statement, 0);
  *manifest = mist_manifest_new_from_json ((const char *) sqlite3_column_text (statement, 1), -1,
                                           &error);
  if (*manifest == NULL)
    {
      mist_request_respond_gerror (request, error);
      return FALSE;
    }
  return TRUE;
}

void
mist_api_admin_put_launch (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (JsonNode) wrapped = NULL;
  g_autoptr (MistManifest) checked = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *launch = NULL;
  sqlite3 *db = request->server->db;
  JsonObject *body;
  gint64 version_id;

  if (game == NULL)
    return;
  body = mist_request_parse_object (request, &parser);
  if (body == NULL || !newest_version (request, game, &version_id, &manifest))
    return;

  /* Parse the launch object with the manifest parser: the newest version's files plus
   * the new launch member. */
  wrapped = mist_manifest_to_json_node (manifest);
  json_object_set_member (json_node_get_object (wrapped), "launch",
                          json_node_copy (json_parser_get_root (parser)));
  checked = mist_manifest_new_from_json_node (wrapped, &error);
  if (checked == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  launch = launch_to_json (checked);

  statement = mist_backend_db_prepare (db,
                                       "UPDATE games SET launch = ?1 WHERE id = ?2;", NULL);
  if (statement == NULL)
    {
      respond_db_error (request, db);
      return;
    }
  sqlite3_bind_text (statement, 1, launch, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, game->id);
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      respond_db_error (request, db);
      return;
    }
  g_clear_pointer (&statement, sqlite3_finalize);
  statement = mist_backend_db_prepare (db, "UPDATE versions SET launch = ?1 WHERE id = ?2", NULL);
  if (statement == NULL)
    {
      respond_db_error (request, db);
      return;
    }
  sqlite3_bind_text (statement, 1, launch, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, version_id);
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      respond_db_error (request, db);
      return;
    }
  g_message ("Admin “%s” set the launch configuration of “%s”", request->user->name, game->slug);
  respond_game (request, SOUP_STATUS_OK, game->slug);
}

/* Uploads */

void
mist_api_admin_missing_files (MistRequest *request)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) partial = NULL;
  JsonObject *body = mist_request_parse_object (request, &parser);
  JsonNode *node;
  JsonArray *hashes;
  guint length;

  if (body == NULL)
    return;
  node = json_object_get_member (body, "sha256");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The member “sha256” must be an array of SHA-256 hashes");
      return;
    }
  hashes = json_node_get_array (node);
  length = json_array_get_length (hashes);
  if (length > MAX_MISSING_QUERY)
    {
      mist_request_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large",
                                  "Ask about at most %d hashes at once, not %u",
                                  MAX_MISSING_QUERY, length);
      return;
    }
  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT 1 FROM files WHERE sha256 = ?", NULL);
  if (statement == NULL)
    {
      respond_db_error (request, request->server->db);
      return;
    }

  partial = g_ptr_array_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "missing");
  json_builder_begin_array (builder);
  for (guint i = 0; i < length; i++)
    {
      JsonNode *element = json_array_get_element (hashes, i);
      const char *hash = JSON_NODE_HOLDS_VALUE (element) &&
                             json_node_get_value_type (element) == G_TYPE_STRING
                           ? json_node_get_string (element)
                           : NULL;

      if (hash == NULL || !mist_sha256_hex_is_valid (hash))
        {
          mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                      "Entry %u of “sha256” is not a SHA-256 in lowercase hex",
                                      i);
          return;
        }
      sqlite3_reset (statement);
      sqlite3_bind_text (statement, 1, hash, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (statement) != SQLITE_ROW)
        {
          json_builder_add_string_value (builder, hash);
          g_ptr_array_add (partial, (gpointer) hash);
        }
    }
  json_builder_end_array (builder);

  /* Interrupted uploads the client may continue with Upload-Offset. */
  json_builder_set_member_name (builder, "partial");
  json_builder_begin_object (builder);
  for (guint i = 0; i < partial->len; i++)
    {
      guint64 kept = mist_backend_store_partial_size (request->server->store, partial->pdata[i]);

      if (kept == 0)
        continue;
      json_builder_set_member_name (builder, partial->pdata[i]);
      json_builder_add_int_value (builder, (gint64) kept);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

/* Returns TRUE and fills the members when the files table has sha256. */
static gboolean
lookup_file (sqlite3 *db, const char *sha256, guint64 *size, char **object_id,
             guint64 *object_size)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = mist_backend_db_prepare (db,
                                       "SELECT size, object_id, object_size FROM files"
                                       " WHERE sha256 = ?",
                                       NULL);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, sha256, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) != SQLITE_ROW)
    return FALSE;
  *size = (guint64) sqlite3_column_int64 (statement, 0);
  *object_id = mist_backend_db_column_dup (statement, 1);
  *object_size = (guint64) sqlite3_column_int64 (statement, 2);
  return TRUE;
}

void
mist_api_admin_begin_file_upload (MistRequest *request)
{
  const char *sha256 = request->params[0];
  g_autofree char *object_id = NULL;
  guint64 size;
  guint64 object_size;

  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  const char *offset_header = soup_message_headers_get_one (headers, "Upload-Offset");
  guint64 offset = 0;

  if (!mist_sha256_hex_is_valid (sha256) ||
      lookup_file (request->server->db, sha256, &size, &object_id, &object_size))
    return;
  if (offset_header != NULL &&
      !g_ascii_string_to_unsigned (offset_header, 10, 0, MIST_BACKEND_MAX_OBJECT_SIZE, &offset,
                                   NULL))
    {
      g_set_error (&request->upload_error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid Upload-Offset “%s”: expected a number of bytes", offset_header);
      return;
    }
  request->upload = mist_backend_upload_new (request->server->store, sha256, offset,
                                             &request->upload_error);
  if (request->upload != NULL && offset > 0)
    g_message ("Resumed the upload of %s at byte %" G_GUINT64_FORMAT, sha256, offset);
}

static void
respond_file (MistRequest *request, guint status, const char *sha256, guint64 size,
              const char *object_id, guint64 object_size)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, sha256);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) size);
  json_builder_set_member_name (builder, "object");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, object_id);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) object_size);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, status, builder);
}

static void put_file (MistRequest *request);

void
mist_api_admin_put_file (MistRequest *request)
{
  put_file (request);
  /* Removes a rejected upload's temporary file now, not when libsoup drops the message. */
  g_clear_pointer (&request->upload, mist_backend_upload_free);
}

static void
put_file (MistRequest *request)
{
  const char *sha256 = request->params[0];
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *object_id = NULL;
  guint64 size;
  guint64 object_size;

  if (!mist_sha256_hex_is_valid (sha256))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "Invalid SHA-256 “%s” in the URL: expected 64 lowercase hex "
                                  "digits",
                                  sha256);
      return;
    }
  if (request->upload_error != NULL)
    {
      mist_request_respond_gerror (request, request->upload_error);
      return;
    }
  if (request->upload == NULL &&
      lookup_file (request->server->db, sha256, &size, &object_id, &object_size))
    {
      respond_file (request, SOUP_STATUS_OK, sha256, size, object_id, object_size);
      return;
    }
  if (request->upload == NULL ||
      !mist_backend_upload_finish (request->upload, &object_id, &object_size, &size, &error))
    {
      if (error == NULL)
        g_set_error (&error, MIST_ERROR, MIST_ERROR_FAILED, "The upload of %s was not received",
                     sha256);
      g_message ("Rejected the upload of %s: %s", sha256, error->message);
      mist_request_respond_gerror (request, error);
      return;
    }

  statement = mist_backend_db_prepare (request->server->db,
                                       "INSERT OR IGNORE INTO files (sha256, size, object_id,"
                                       " object_size, created_at) VALUES (?, ?, ?, ?, ?)",
                                       NULL);
  if (statement == NULL)
    {
      respond_db_error (request, request->server->db);
      return;
    }
  sqlite3_bind_text (statement, 1, sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, (gint64) size);
  sqlite3_bind_text (statement, 3, object_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 4, (gint64) object_size);
  sqlite3_bind_int64 (statement, 5, mist_backend_now ());
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      respond_db_error (request, request->server->db);
      return;
    }
  respond_file (request, SOUP_STATUS_CREATED, sha256, size, object_id, object_size);
}
