/* mist-backend-api-catalog.c: games, versions, manifests, patch sets and covers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"

#include <glib/gstdio.h>
#include <string.h>

void
mist_game_free (MistGame *game)
{
  if (game == NULL)
    return;
  g_free (game->slug);
  g_free (game->title);
  g_free (game->description);
  g_free (game->cover_sha256);
  g_free (game->cover_type);
  g_free (game->launch);
  g_free (game);
}

gboolean
mist_game_slug_is_valid (const char *slug)
{
  gsize length = strlen (slug);

  if (length == 0 || length > 64 || slug[0] == '-')
    return FALSE;
  for (const char *c = slug; *c != '\0'; c++)
    if (!g_ascii_islower (*c) && !g_ascii_isdigit (*c) && *c != '-')
      return FALSE;
  return TRUE;
}

#define GAME_COLUMNS \
  "id, slug, title, description, visibility, cover_sha256, cover_size, cover_type, launch"

static MistGame *
read_game (sqlite3_stmt *statement)
{
  MistGame *game = g_new0 (MistGame, 1);
  g_autofree char *visibility = mist_backend_db_column_dup (statement, 4);

  game->id = sqlite3_column_int64 (statement, 0);
  game->slug = mist_backend_db_column_dup (statement, 1);
  game->title = mist_backend_db_column_dup (statement, 2);
  game->description = mist_backend_db_column_dup (statement, 3);
  game->is_private = g_strcmp0 (visibility, "private") == 0;
  game->cover_sha256 = mist_backend_db_column_dup (statement, 5);
  game->cover_size = sqlite3_column_int64 (statement, 6);
  game->cover_type = mist_backend_db_column_dup (statement, 7);
  game->launch = mist_backend_db_column_dup (statement, 8);
  return game;
}

MistGame *
mist_request_lookup_game (MistRequest *request, const char *slug)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistGame) game = NULL;

  if (mist_game_slug_is_valid (slug))
    {
      statement = mist_backend_db_prepare (request->server->db,
                                           "SELECT " GAME_COLUMNS " FROM games WHERE slug = ?",
                                           &error);
      if (statement == NULL)
        {
          mist_request_respond_gerror (request, error);
          return NULL;
        }
      sqlite3_bind_text (statement, 1, slug, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (statement) == SQLITE_ROW)
        game = read_game (statement);
    }

  /* A private game gets the same response as a missing one, so its slug does not leak. */
  if (game == NULL || (game->is_private && !mist_request_is_admin (request)))
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found", "No game “%s”",
                                  slug);
      return NULL;
    }
  return g_steal_pointer (&game);
}

gboolean
mist_build_version (MistBackendServer *server, JsonBuilder *builder, sqlite3_stmt *row)
{
  g_autofree char *created = mist_backend_format_time (sqlite3_column_int64 (row, 2));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "ordinal");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 0));
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, (const char *) sqlite3_column_text (row, 1));
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_string_value (builder, created);
  json_builder_set_member_name (builder, "changelog");
  json_builder_add_string_value (builder, (const char *) sqlite3_column_text (row, 3));
  json_builder_set_member_name (builder, "file_count");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 4));
  json_builder_set_member_name (builder, "installed_size");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 5));
  json_builder_set_member_name (builder, "download_size");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 6));
  json_builder_end_object (builder);
  return TRUE;
}

static void
build_cover (JsonBuilder *builder, MistGame *game)
{
  g_autofree char *url = NULL;

  json_builder_set_member_name (builder, "cover");
  if (game->cover_sha256 == NULL)
    {
      json_builder_add_null_value (builder);
      return;
    }
  url = g_strdup_printf ("/api/v1/games/%s/cover", game->slug);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, url);
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, game->cover_sha256);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, game->cover_size);
  json_builder_set_member_name (builder, "content_type");
  json_builder_add_string_value (builder, game->cover_type);
  json_builder_end_object (builder);
}

static void
build_launch (JsonBuilder *builder, const char *launch)
{
  g_autoptr (JsonNode) node = launch != NULL ? json_from_string (launch, NULL) : NULL;

  json_builder_set_member_name (builder, "launch");
  if (node != NULL)
    json_builder_add_value (builder, g_steal_pointer (&node));
  else
    json_builder_add_null_value (builder);
}

/* Adds the version members: every version when all is TRUE, else the latest one. */
static void
build_versions (MistBackendServer *server, JsonBuilder *builder, MistGame *game, gboolean all)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  gboolean found = FALSE;

  statement = mist_backend_db_prepare (server->db,
                                       all ? "SELECT " MIST_VERSION_COLUMNS " FROM versions "
                                             "WHERE game_id = ? ORDER BY ordinal"
                                           : "SELECT " MIST_VERSION_COLUMNS " FROM versions "
                                             "WHERE game_id = ? ORDER BY ordinal DESC LIMIT 1",
                                       NULL);
  if (statement != NULL)
    sqlite3_bind_int64 (statement, 1, game->id);

  json_builder_set_member_name (builder, all ? "versions" : "latest_version");
  if (all)
    json_builder_begin_array (builder);
  while (statement != NULL && sqlite3_step (statement) == SQLITE_ROW)
    {
      mist_build_version (server, builder, statement);
      found = TRUE;
    }
  if (all)
    json_builder_end_array (builder);
  else if (!found)
    json_builder_add_null_value (builder);
}

void
mist_build_game (MistRequest *request, JsonBuilder *builder, MistGame *game, gboolean full)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "slug");
  json_builder_add_string_value (builder, game->slug);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, game->title);
  json_builder_set_member_name (builder, "description");
  json_builder_add_string_value (builder, game->description);
  json_builder_set_member_name (builder, "visibility");
  json_builder_add_string_value (builder, game->is_private ? "private" : "public");
  build_cover (builder, game);
  build_versions (request->server, builder, game, FALSE);
  if (full)
    {
      build_launch (builder, game->launch);
      build_versions (request->server, builder, game, TRUE);
    }
  json_builder_end_object (builder);
}

void
mist_api_list_games (MistRequest *request)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT " GAME_COLUMNS " FROM games"
                                       " WHERE visibility = 'public' OR ?"
                                       " ORDER BY title COLLATE NOCASE, slug",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  sqlite3_bind_int (statement, 1, mist_request_is_admin (request));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "games");
  json_builder_begin_array (builder);
  while (sqlite3_step (statement) == SQLITE_ROW)
    {
      g_autoptr (MistGame) game = read_game (statement);

      mist_build_game (request, builder, game, FALSE);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

void
mist_api_get_game (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  if (game == NULL)
    return;
  mist_build_game (request, builder, game, TRUE);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

void
mist_api_get_cover (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (GMappedFile) file = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *etag = NULL;
  SoupMessageHeaders *request_headers;
  SoupMessageHeaders *headers;
  const char *if_none_match;

  if (game == NULL)
    return;
  if (game->cover_sha256 == NULL)
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                  "The game “%s” has no cover", game->slug);
      return;
    }

  etag = g_strdup_printf ("\"%s\"", game->cover_sha256);
  headers = soup_server_message_get_response_headers (request->message);
  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Cache-Control", "private, no-cache");
  request_headers = soup_server_message_get_request_headers (request->message);
  if_none_match = soup_message_headers_get_one (request_headers, "If-None-Match");
  if (if_none_match != NULL && strstr (if_none_match, game->cover_sha256) != NULL)
    {
      soup_server_message_set_status (request->message, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }

  path = g_build_filename (request->server->store->covers_dir, game->cover_sha256, NULL);
  file = g_mapped_file_new (path, FALSE, &error);
  if (file == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  bytes = g_mapped_file_get_bytes (file);
  soup_server_message_set_status (request->message, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, game->cover_type, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (request->message),
                                  bytes);
}

static gboolean
parse_ordinal (MistRequest *request, const char *text, gint64 *ordinal)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                  "No version “%s”: versions are numbered from 1", text);
      return FALSE;
    }
  *ordinal = (gint64) value;
  return TRUE;
}

/* Prepares a query on versions with the game id bound to ?1 and the ordinal to ?2. */
static sqlite3_stmt *
select_version (MistRequest *request, MistGame *game, gint64 ordinal, const char *columns)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM versions WHERE game_id = ?1 AND "
                                          "ordinal = ?2",
                                          columns);
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  statement = mist_backend_db_prepare (request->server->db, sql, &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return NULL;
    }
  sqlite3_bind_int64 (statement, 1, game->id);
  sqlite3_bind_int64 (statement, 2, ordinal);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                  "The game “%s” has no version %" G_GINT64_FORMAT, game->slug,
                                  ordinal);
      return NULL;
    }
  return g_steal_pointer (&statement);
}

void
mist_api_get_version (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  gint64 ordinal;

  if (game == NULL || !parse_ordinal (request, request->params[1], &ordinal))
    return;
  statement = select_version (request, game, ordinal, MIST_VERSION_COLUMNS);
  if (statement == NULL)
    return;
  mist_build_version (request->server, builder, statement);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

void
mist_api_get_manifest (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (sqlite3_stmt) statement = NULL;
  const char *manifest;
  const char *launch;
  const char *packs;
  GString *body;
  gsize end;
  gint64 ordinal;

  if (game == NULL || !parse_ordinal (request, request->params[1], &ordinal))
    return;
  statement = select_version (request, game, ordinal, "manifest, launch, packs");
  if (statement == NULL)
    return;

  /* The stored manifest is the server's own JSON object without "launch" and "packs";
   * the launch configuration can change later and the worker writes the packs after the
   * push, so both are spliced in here. */
  manifest = (const char *) sqlite3_column_text (statement, 0);
  launch = (const char *) sqlite3_column_text (statement, 1);
  packs = (const char *) sqlite3_column_text (statement, 2);
  body = g_string_new (manifest);
  end = body->len;
  while (end > 0 && body->str[end - 1] != '}')
    end--;
  if ((launch != NULL || packs != NULL) && end > 0)
    {
      g_string_truncate (body, end - 1);
      if (launch != NULL)
        g_string_append_printf (body, ",\"launch\":%s", launch);
      if (packs != NULL)
        g_string_append_printf (body, ",\"packs\":%s", packs);
      g_string_append_c (body, '}');
    }
  soup_server_message_set_status (request->message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (request->message, "application/json", SOUP_MEMORY_TAKE,
                                    body->str, body->len);
  g_string_free (body, FALSE);
}

#define PATCH_SET_COLUMNS                                                                  \
  "p.id, p.from_ordinal, p.to_ordinal, p.state, p.error, p.delta_count, p.download_size, " \
  "p.updated_at, v.download_size, p.packs"

static void
build_patch_set (JsonBuilder *builder, sqlite3_stmt *row)
{
  const char *state = (const char *) sqlite3_column_text (row, 3);
  g_autofree char *updated = mist_backend_format_time (sqlite3_column_int64 (row, 7));
  gboolean ready = g_strcmp0 (state, "ready") == 0;

  json_builder_set_member_name (builder, "from");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 1));
  json_builder_set_member_name (builder, "to");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 2));
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, state);
  json_builder_set_member_name (builder, "error");
  if (sqlite3_column_type (row, 4) == SQLITE_NULL)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, (const char *) sqlite3_column_text (row, 4));
  json_builder_set_member_name (builder, "delta_count");
  if (ready)
    json_builder_add_int_value (builder, sqlite3_column_int64 (row, 5));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "download_size");
  if (ready)
    json_builder_add_int_value (builder, sqlite3_column_int64 (row, 6));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "full_download_size");
  json_builder_add_int_value (builder, sqlite3_column_int64 (row, 8));
  json_builder_set_member_name (builder, "updated_at");
  json_builder_add_string_value (builder, updated);
}

void
mist_api_list_patches (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  if (game == NULL)
    return;
  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT " PATCH_SET_COLUMNS " FROM patch_sets p"
                                       " JOIN versions v ON v.game_id = p.game_id"
                                       "  AND v.ordinal = p.to_ordinal"
                                       " WHERE p.game_id = ? ORDER BY p.to_ordinal, p.from_ordinal",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  sqlite3_bind_int64 (statement, 1, game->id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "patches");
  json_builder_begin_array (builder);
  while (sqlite3_step (statement) == SQLITE_ROW)
    {
      json_builder_begin_object (builder);
      build_patch_set (builder, statement);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}

static void
build_deltas (MistBackendServer *server, JsonBuilder *builder, gint64 patch_set_id)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = mist_backend_db_prepare (server->db,
                                       "SELECT path, source_path, source_sha256, target_sha256,"
                                       " format, object_id, size FROM deltas"
                                       " WHERE patch_set_id = ? ORDER BY path",
                                       NULL);
  json_builder_set_member_name (builder, "deltas");
  json_builder_begin_array (builder);
  if (statement != NULL)
    sqlite3_bind_int64 (statement, 1, patch_set_id);
  while (statement != NULL && sqlite3_step (statement) == SQLITE_ROW)
    {
      static const char *const names[] = { "path", "source_path", "source_sha256",
                                           "target_sha256", "format" };

      json_builder_begin_object (builder);
      for (int i = 0; i < (int) G_N_ELEMENTS (names); i++)
        {
          json_builder_set_member_name (builder, names[i]);
          json_builder_add_string_value (builder, (const char *) sqlite3_column_text (statement,
                                                                                      i));
        }
      json_builder_set_member_name (builder, "object");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, (const char *) sqlite3_column_text (statement, 5));
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, sqlite3_column_int64 (statement, 6));
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* Adds the "packs" member of a ready patch set, when the worker wrote them. */
static void
add_packs (JsonBuilder *builder, sqlite3_stmt *row)
{
  const char *packs = (const char *) sqlite3_column_text (row, 9);
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  if (packs == NULL || g_strcmp0 ((const char *) sqlite3_column_text (row, 3), "ready") != 0)
    return;
  node = json_from_string (packs, &error);
  if (node == NULL)
    {
      g_warning ("The stored packs of patch set %" G_GINT64_FORMAT " are invalid: %s",
                 (gint64) sqlite3_column_int64 (row, 0), error->message);
      return;
    }
  json_builder_set_member_name (builder, "packs");
  json_builder_add_value (builder, node);
}

void
mist_api_get_patch_set (MistRequest *request)
{
  g_autoptr (MistGame) game = mist_request_lookup_game (request, request->params[0]);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;
  gint64 from;
  gint64 to;

  if (game == NULL || !parse_ordinal (request, request->params[1], &from) ||
      !parse_ordinal (request, request->params[2], &to))
    return;
  statement = mist_backend_db_prepare (request->server->db,
                                       "SELECT " PATCH_SET_COLUMNS " FROM patch_sets p"
                                       " JOIN versions v ON v.game_id = p.game_id"
                                       "  AND v.ordinal = p.to_ordinal"
                                       " WHERE p.game_id = ? AND p.from_ordinal = ?"
                                       "  AND p.to_ordinal = ?",
                                       &error);
  if (statement == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  sqlite3_bind_int64 (statement, 1, game->id);
  sqlite3_bind_int64 (statement, 2, from);
  sqlite3_bind_int64 (statement, 3, to);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found",
                                  "The game “%s” has no patch set from version %" G_GINT64_FORMAT
                                  " to %" G_GINT64_FORMAT,
                                  game->slug, from, to);
      return;
    }

  json_builder_begin_object (builder);
  build_patch_set (builder, statement);
  build_deltas (request->server, builder, sqlite3_column_int64 (statement, 0));
  add_packs (builder, statement);
  json_builder_end_object (builder);
  mist_request_respond_builder (request, SOUP_STATUS_OK, builder);
}
