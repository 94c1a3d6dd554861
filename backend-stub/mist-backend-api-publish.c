/* mist-backend-api-publish.c: creating versions and retrying patch sets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-error.h"
#include "mist-manifest.h"

#include <string.h>

#define MAX_VERSION_NAME_LENGTH 128
#define MAX_CHANGELOG_LENGTH (256 * 1024)

typedef struct
{
  MistManifest *stored;   /* the files with their objects, without launch */
  char *launch;           /* JSON, or NULL */
  guint64 download_size;  /* sum of the distinct objects' sizes */
} MistNewVersion;

static void
new_version_clear (MistNewVersion *version)
{
  g_clear_pointer (&version->stored, mist_manifest_unref);
  g_clear_pointer (&version->launch, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MistNewVersion, new_version_clear)

static gboolean
check_version_text (MistRequest *request, const char *name, const char *changelog)
{
  if (name == NULL || name[0] == '\0' || strlen (name) > MAX_VERSION_NAME_LENGTH)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "A version needs a “name” of 1 to %d bytes",
                                  MAX_VERSION_NAME_LENGTH);
      return FALSE;
    }
  for (const char *c = name; *c != '\0'; c++)
    if ((guchar) *c < 0x20)
      {
        mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                    "The version name contains a control character");
        return FALSE;
      }
  if (strlen (changelog) > MAX_CHANGELOG_LENGTH)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The changelog is longer than %d bytes", MAX_CHANGELOG_LENGTH);
      return FALSE;
    }
  return TRUE;
}

/* Responds 409 with a list of the file contents the server does not have. */
static void
respond_missing (MistRequest *request, GPtrArray *missing)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, "conflict");
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, "The server does not have the content of every file: "
                                          "upload the hashes in “missing” first");
  json_builder_set_member_name (builder, "missing");
  json_builder_begin_array (builder);
  for (guint i = 0; i < missing->len; i++)
    json_builder_add_string_value (builder, missing->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_CONFLICT, builder);
}

/* Fills version->stored with the uploaded objects of every file. Returns FALSE after
 * responding when a content is missing or its size differs. */
static gboolean
attach_objects (MistRequest *request, MistManifest *manifest, MistNewVersion *version)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  GPtrArray *files = mist_manifest_get_files (manifest);

  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT size, object_id, object_size FROM files"
                                       " WHERE sha256 = ?",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return FALSE;
    }
  version->stored = mist_manifest_new ();
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = files->pdata[i];
      MistManifestFile stored = *file;

      sqlite3_reset (statement);
      sqlite3_bind_text (statement, 1, file->sha256, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (statement) != SQLITE_ROW)
        {
          g_ptr_array_add (missing, g_strdup (file->sha256));
          continue;
        }
      if ((guint64) sqlite3_column_int64 (statement, 0) != file->size)
        {
          mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                      "The file “%s” has size %" G_GUINT64_FORMAT
                                      " in the manifest, but its uploaded content (SHA-256 %s)"
                                      " has %" G_GINT64_FORMAT " bytes",
                                      file->path, file->size, file->sha256,
                                      (gint64) sqlite3_column_int64 (statement, 0));
          return FALSE;
        }
      stored.object_id = (char *) sqlite3_column_text (statement, 1);
      stored.object_size = (guint64) sqlite3_column_int64 (statement, 2);
      if (!g_hash_table_contains (objects, stored.object_id))
        {
          g_hash_table_add (objects, g_strdup (stored.object_id));
          version->download_size += stored.object_size;
        }
      if (!mist_manifest_add_file (version->stored, &stored, &error))
        {
          mist_request_respond_gerror (request, error);
          return FALSE;
        }
    }
  if (missing->len > 0)
    {
      respond_missing (request, missing);
      return FALSE;
    }
  return TRUE;
}

/* Returns the launch JSON of manifest, or of the game's configuration when the manifest
 * has none and the game's executable is part of this build. */
static char *
choose_launch (MistManifest *manifest, MistManifest *stored, MistGame *game)
{
  g_autoptr (MistManifest) probe = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) with_launch = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *launch;

  if (mist_manifest_get_launch (manifest) != NULL)
    {
      root = mist_manifest_to_json_node (manifest);
      launch = json_object_get_member (json_node_get_object (root), "launch");
      return json_to_string (launch, FALSE);
    }
  if (game->launch == NULL)
    return NULL;

  with_launch = mist_manifest_to_json_node (stored);
  json_object_set_member (json_node_get_object (with_launch), "launch",
                          json_from_string (game->launch, NULL));
  probe = mist_manifest_new_from_json_node (with_launch, &error);
  if (probe == NULL)
    {
      g_message ("The game's launch configuration does not fit the new version of “%s”, which "
                 "gets none: %s",
                 game->slug, error->message);
      return NULL;
    }
  return g_strdup (game->launch);
}

static gboolean
insert_version_files (sqlite3 *db, gint64 version_id, MistManifest *stored, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  GPtrArray *files = mist_manifest_get_files (stored);

  statement = mist_backend_db_prepare (db,
                                       "INSERT INTO version_files (version_id, path, sha256,"
                                       " size, object_id, object_size) VALUES (?, ?, ?, ?, ?, ?)",
                                       error);
  if (statement == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = files->pdata[i];

      sqlite3_reset (statement);
      sqlite3_bind_int64 (statement, 1, version_id);
      sqlite3_bind_text (statement, 2, file->path, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (statement, 3, file->sha256, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (statement, 4, (gint64) file->size);
      sqlite3_bind_text (statement, 5, file->object_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (statement, 6, (gint64) file->object_size);
      if (!mist_backend_db_step_done (db, statement, error))
        return FALSE;
    }
  return TRUE;
}

/* Inserts the version and its patch sets in one transaction; returns its ordinal, 0 when
 * the name exists, or -1 with error set. */
static gint64
insert_version (MistRequest *request, MistGame *game, const char *name, const char *changelog,
                MistNewVersion *version, GError **error)
{
  sqlite3 *db = request->server->db;
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *manifest_json = mist_manifest_to_json (version->stored, NULL);
  gint64 ordinal;
  gint64 version_id;
  int status;

  if (!mist_backend_db_exec (db, "BEGIN IMMEDIATE", error))
    return -1;
  statement = mist_backend_db_prepare (
    db,
    "INSERT INTO versions (game_id, ordinal, name, changelog, manifest, launch, file_count,"
    " installed_size, download_size, created_at)"
    " SELECT ?1, coalesce (max (ordinal), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"
    " FROM versions WHERE game_id = ?1 RETURNING id, ordinal",
    error);
  if (statement == NULL)
    goto rollback;
  sqlite3_bind_int64 (statement, 1, game->id);
  sqlite3_bind_text (statement, 2, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 3, changelog, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 4, manifest_json, -1, SQLITE_TRANSIENT);
  if (version->launch != NULL)
    sqlite3_bind_text (statement, 5, version->launch, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 6, mist_manifest_get_n_files (version->stored));
  sqlite3_bind_int64 (statement, 7, (gint64) mist_manifest_get_total_size (version->stored));
  sqlite3_bind_int64 (statement, 8, (gint64) version->download_size);
  sqlite3_bind_int64 (statement, 9, mist_backend_now ());
  status = sqlite3_step (statement);
  if (status == SQLITE_CONSTRAINT)
    {
      mist_backend_db_exec (db, "ROLLBACK", NULL);
      return 0;
    }
  if (status != SQLITE_ROW)
    {
      mist_backend_db_set_error (db, error);
      goto rollback;
    }
  version_id = sqlite3_column_int64 (statement, 0);
  ordinal = sqlite3_column_int64 (statement, 1);
  g_clear_pointer (&statement, sqlite3_finalize);

  if (!insert_version_files (db, version_id, version->stored, error) ||
      !mist_backend_patcher_queue (db, game->id, ordinal,
                                   request->server->config.direct_patches, error) ||
      !mist_backend_db_exec (db, "COMMIT", error))
    goto rollback;
  return ordinal;

rollback:
  mist_backend_db_exec (db, "ROLLBACK", NULL);
  return -1;
}

static void
respond_version (MistRequest *request, MistGame *game, gint64 ordinal)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT " MIST_VERSION_COLUMNS " FROM versions"
                                       " WHERE game_id = ? AND ordinal = ?",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  sqlite3_bind_int64 (statement, 1, game->id);
  sqlite3_bind_int64 (statement, 2, ordinal);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      mist_request_respond_not_found (request);
      return;
    }
  mist_build_version (request->server, builder, statement);
  mist_request_respond_builder (request, SOUP_STATUS_CREATED, builder);
}

void
mist_api_admin_create_version (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (MistNewVersion) version = { 0 };
  const char *name = NULL;
  const char *changelog = "";
  JsonObject *body;
  JsonNode *manifest_node;
  gint64 ordinal;
  guint n_files;

  if (game == NULL)
    return;
  /* JSON strings may encode NUL as \u0000, which C strings would silently cut. */
  if (request->body != NULL &&
      memmem (request->body->data, request->body->len, "\\u0000", 6) != NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-path",
                                  "The request contains a NUL character (\\u0000), which no "
                                  "path or name may contain");
      return;
    }
  body = mist_request_parse_object (request, &parser);
  if (body == NULL || !mist_request_get_string (request, body, "name", &name) ||
      !mist_request_get_string (request, body, "changelog", &changelog) ||
      !check_version_text (request, name, changelog))
    return;
  manifest_node = json_object_get_member (body, "manifest");
  if (manifest_node == NULL || !JSON_NODE_HOLDS_OBJECT (manifest_node))
    {
      mist_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid-data",
                                  "The member “manifest” must be a build manifest object");
      return;
    }
  manifest = mist_manifest_new_from_json_node (manifest_node, &error);
  if (manifest == NULL)
    {
      g_message ("Rejected version “%s” of “%s”: %s", name, game->slug, error->message);
      mist_request_respond_gerror (request, error);
      return;
    }
  if (!attach_objects (request, manifest, &version))
    return;
  version.launch = choose_launch (manifest, version.stored, game);

  ordinal = insert_version (request, game, name, changelog, &version, &error);
  if (ordinal < 0)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  if (ordinal == 0)
    {
      mist_request_respond_error (request, SOUP_STATUS_CONFLICT, "conflict",
                                  "The game “%s” has a version named “%s” already", game->slug,
                                  name);
      return;
    }
  n_files = mist_manifest_get_n_files (version.stored);
  g_message (g_dngettext (GETTEXT_PACKAGE,
                          "Admin “%s” pushed version %" G_GINT64_FORMAT " (“%s”, %u file) of “%s”",
                          "Admin “%s” pushed version %" G_GINT64_FORMAT " (“%s”, %u files) of “%s”",
                          n_files),
             request->user->name, ordinal, name, n_files, game->slug);
  mist_backend_patcher_wake (request->server->patcher);
  respond_version (request, game, ordinal);
}

void
mist_api_admin_retry_patch_set (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db = request->server->db;
  guint64 from;
  guint64 to;

  if (game == NULL)
    return;
  if (!g_ascii_string_to_unsigned (request->params[1], 10, 1, G_MAXINT64, &from, NULL) ||
      !g_ascii_string_to_unsigned (request->params[2], 10, 1, G_MAXINT64, &to, NULL))
    {
      mist_request_respond_not_found (request);
      return;
    }
  statement = mist_backend_db_prepare (db,
                                       "UPDATE patch_sets SET state = 'pending', error = NULL,"
                                       " delta_count = NULL, download_size = NULL, updated_at = ?"
                                       " WHERE game_id = ? AND from_ordinal = ?"
                                       " AND to_ordinal = ? AND state IN ('ready', 'failed')",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  sqlite3_bind_int64 (statement, 1, mist_backend_now ());
  sqlite3_bind_int64 (statement, 2, game->id);
  sqlite3_bind_int64 (statement, 3, (gint64) from);
  sqlite3_bind_int64 (statement, 4, (gint64) to);
  if (!mist_backend_db_step_done (db, statement, &error))
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  if (sqlite3_changes (db) == 0)
    {
      mist_request_respond_error (request, SOUP_STATUS_CONFLICT, "conflict",
                                  "No finished patch set from %" G_GUINT64_FORMAT " to %"
                                  G_GUINT64_FORMAT " of “%s” to retry: it is missing, pending "
                                  "or running",
                                  from, to, game->slug);
      return;
    }
  g_message ("Admin “%s” queued patch set %" G_GUINT64_FORMAT "→%" G_GUINT64_FORMAT " of “%s” "
             "again",
             request->user->name, from, to, game->slug);
  mist_backend_patcher_wake (request->server->patcher);
  mist_request_respond_no_content (request, SOUP_STATUS_ACCEPTED);
}
