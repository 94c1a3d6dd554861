/* mist-backend-api-content.c: immutable objects by hash, with Range and conditional requests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-hash.h"

#include <string.h>

/* Returns TRUE when a game the caller may see refers to the object, by a version's file,
 * a delta or a pack. Admins may read every stored object, also one not used yet. */
static gboolean
object_is_visible (MistRequest *request, const char *object_id)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GError) error = NULL;

  if (mist_request_is_admin (request))
    return TRUE;
  statement = mist_backend_db_prepare (
    request->server->db,
    "SELECT 1 FROM version_files f JOIN versions v ON v.id = f.version_id"
    " JOIN games g ON g.id = v.game_id"
    " WHERE f.object_id = ?1 AND g.visibility = 'public'"
    " UNION ALL "
    "SELECT 1 FROM deltas d JOIN patch_sets p ON p.id = d.patch_set_id"
    " JOIN games g ON g.id = p.game_id"
    " WHERE d.object_id = ?1 AND g.visibility = 'public'"
    " UNION ALL "
    "SELECT 1 FROM pack_refs r JOIN games g ON g.id = r.game_id"
    " WHERE r.object_id = ?1 AND g.visibility = 'public'"
    " LIMIT 1",
    &error);
  if (statement == NULL)
    {
      g_warning ("Cannot check access to object %s: %s", object_id, error->message);
      return FALSE;
    }
  sqlite3_bind_text (statement, 1, object_id, -1, SQLITE_TRANSIENT);
  return sqlite3_step (statement) == SQLITE_ROW;
}

static gboolean
etag_matches (const char *header, const char *etag)
{
  g_auto (GStrv) tags = NULL;

  if (header == NULL)
    return FALSE;
  tags = g_strsplit (header, ",", -1);
  for (guint i = 0; tags[i] != NULL; i++)
    {
      const char *tag = g_strstrip (tags[i]);

      if (strcmp (tag, "*") == 0 || strcmp (tag, etag) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Returns FALSE after responding 416 when the Range header has no satisfiable range. A
 * syntactically invalid Range is removed, so the whole object is sent as HTTP allows. */
static gboolean
check_ranges (MistRequest *request, goffset total)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  SoupRange *ranges = NULL;
  int n_ranges = 0;
  gboolean satisfiable = FALSE;
  g_autofree char *content_range = NULL;

  if (soup_message_headers_get_one (headers, "Range") == NULL)
    return TRUE;
  if (!soup_message_headers_get_ranges (headers, total, &ranges, &n_ranges))
    {
      soup_message_headers_remove (headers, "Range");
      return TRUE;
    }
  for (int i = 0; i < n_ranges; i++)
    if (ranges[i].start < total && ranges[i].start <= ranges[i].end)
      satisfiable = TRUE;
  soup_message_headers_free_ranges (headers, ranges);
  if (satisfiable)
    return TRUE;

  content_range = g_strdup_printf ("bytes */%" G_GOFFSET_FORMAT, total);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->message),
                                "Content-Range", content_range);
  mist_request_respond_error (request, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
                              "invalid-data",
                              "The range does not overlap the object's %" G_GOFFSET_FORMAT
                              " bytes",
                              total);
  return FALSE;
}

void
mist_api_get_object (MistRequest *request)
{
  const char *prefix = request->params[0];
  const char *object_id = request->params[1];
  SoupMessageHeaders *request_headers;
  SoupMessageHeaders *headers;
  g_autoptr (GMappedFile) file = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *etag = NULL;
  const char *if_range;

  if (!mist_sha256_hex_is_valid (object_id) || strlen (prefix) != 2 ||
      strncmp (prefix, object_id, 2) != 0 || !object_is_visible (request, object_id))
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found", "No object “%s”",
                                  object_id);
      return;
    }
  path = mist_backend_store_object_path (request->server->store, object_id);
  file = g_mapped_file_new (path, FALSE, &error);
  if (file == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Cannot open object %s: %s", path, error->message);
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found", "No object “%s”",
                                  object_id);
      return;
    }

  etag = g_strdup_printf ("\"%s\"", object_id);
  headers = soup_server_message_get_response_headers (request->message);
  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Cache-Control", "private, max-age=31536000, immutable");
  soup_message_headers_replace (headers, "Accept-Ranges", "bytes");

  request_headers = soup_server_message_get_request_headers (request->message);
  if (etag_matches (soup_message_headers_get_one (request_headers, "If-None-Match"), etag))
    {
      soup_server_message_set_status (request->message, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }
  /* A stale If-Range means the client's partial copy is of other bytes: send all. */
  if_range = soup_message_headers_get_one (request_headers, "If-Range");
  if (if_range != NULL && strcmp (if_range, etag) != 0)
    soup_message_headers_remove (request_headers, "Range");
  if (!check_ranges (request, (goffset) g_mapped_file_get_length (file)))
    return;

  /* libsoup turns a complete 200 response into 206 (or multipart/byteranges) for the
   * request's Range header, and sends no body for HEAD. */
  bytes = g_mapped_file_get_bytes (file);
  soup_server_message_set_status (request->message, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "application/octet-stream", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (request->message),
                                  bytes);
}
