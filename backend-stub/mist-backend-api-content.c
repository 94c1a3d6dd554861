/* mist-backend-api-content.c: immutable objects by hash, with Range and conditional requests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server-private.h"
#include "mist-hash.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
 * syntactically invalid Range is removed, so the whole object is sent as HTTP allows. On
 * success *n_ranges is 0 without a Range header, and *ranges holds the ranges otherwise
 * (free them with soup_message_headers_free_ranges). */
static gboolean
check_ranges (MistRequest *request, goffset total, SoupRange **ranges, int *n_ranges)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  gboolean satisfiable = FALSE;
  g_autofree char *content_range = NULL;

  *ranges = NULL;
  *n_ranges = 0;
  if (soup_message_headers_get_one (headers, "Range") == NULL)
    return TRUE;
  if (!soup_message_headers_get_ranges (headers, total, ranges, n_ranges))
    {
      soup_message_headers_remove (headers, "Range");
      *ranges = NULL;
      *n_ranges = 0;
      return TRUE;
    }
  for (int i = 0; i < *n_ranges; i++)
    if ((*ranges)[i].start < total && (*ranges)[i].start <= (*ranges)[i].end)
      satisfiable = TRUE;
  if (satisfiable)
    return TRUE;
  soup_message_headers_free_ranges (headers, *ranges);
  *ranges = NULL;
  *n_ranges = 0;

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

/* Streaming an object: a GTask thread reads the file one chunk at a time, and the main
 * loop appends each chunk to the paused response, so a large download or a slow disk
 * never blocks the other requests. At most MAX_BUFFERED bytes wait in the response
 * body, which bounds the memory a slow client costs. */

#define CHUNK_SIZE (256 * 1024)
#define MAX_BUFFERED (4 * CHUNK_SIZE)

typedef struct
{
  SoupServerMessage *message; /* owned; the response being written */
  int fd;
  goffset offset;    /* next byte to read */
  goffset remaining; /* bytes still to read */
  gsize buffered;    /* bytes appended to the body and not written yet */
  gboolean reading;  /* a read runs in a thread */
  gboolean finished; /* the message finished (sent, or the client went away) */
  gulong finished_handler;
  gulong wrote_handler;
} ObjectStream;

static void object_stream_read_next (ObjectStream *stream);

static void
object_stream_free (ObjectStream *stream)
{
  g_signal_handler_disconnect (stream->message, stream->finished_handler);
  g_signal_handler_disconnect (stream->message, stream->wrote_handler);
  g_object_unref (stream->message);
  close (stream->fd);
  g_free (stream);
}

static void
read_chunk_in_thread (GTask *task, gpointer source, gpointer task_data,
                      GCancellable *cancellable)
{
  ObjectStream *stream = task_data;
  gsize length = (gsize) MIN (stream->remaining, (goffset) CHUNK_SIZE);
  guint8 *data = g_malloc (length);
  gsize done = 0;

  while (done < length)
    {
      ssize_t count = pread (stream->fd, data + done, length - done,
                             (off_t) (stream->offset + (goffset) done));

      if (count < 0 && errno == EINTR)
        continue;
      if (count <= 0)
        {
          int saved_errno = errno;

          g_free (data);
          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                                   "Cannot read the object at offset %" G_GOFFSET_FORMAT ": %s",
                                   stream->offset + (goffset) done,
                                   count == 0 ? "the file is shorter than it was"
                                              : g_strerror (saved_errno));
          return;
        }
      done += (gsize) count;
    }
  g_task_return_pointer (task, g_bytes_new_take (data, length), (GDestroyNotify) g_bytes_unref);
}

static void
on_chunk_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ObjectStream *stream = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) chunk = g_task_propagate_pointer (G_TASK (result), &error);
  SoupMessageBody *body;

  stream->reading = FALSE;
  if (stream->finished)
    {
      object_stream_free (stream);
      return;
    }
  if (chunk == NULL)
    {
      /* The headers promised the full length, so the connection has to end early for the
       * client to notice. */
      g_warning ("%s", error->message);
      g_socket_shutdown (soup_server_message_get_socket (stream->message), TRUE, TRUE, NULL);
      return;
    }

  body = soup_server_message_get_response_body (stream->message);
  stream->offset += (goffset) g_bytes_get_size (chunk);
  stream->remaining -= (goffset) g_bytes_get_size (chunk);
  stream->buffered += g_bytes_get_size (chunk);
  soup_message_body_append_bytes (body, chunk);
  if (stream->remaining == 0)
    soup_message_body_complete (body);
  soup_server_message_unpause (stream->message);
  object_stream_read_next (stream);
}

static void
object_stream_read_next (ObjectStream *stream)
{
  g_autoptr (GTask) task = NULL;

  if (stream->reading || stream->remaining == 0 || stream->buffered >= MAX_BUFFERED)
    return;
  stream->reading = TRUE;
  task = g_task_new (NULL, NULL, on_chunk_read, stream);
  g_task_set_task_data (task, stream, NULL);
  g_task_run_in_thread (task, read_chunk_in_thread);
}

static void
on_stream_wrote_body_data (SoupServerMessage *message, guint size, ObjectStream *stream)
{
  stream->buffered -= MIN (stream->buffered, size);
  object_stream_read_next (stream);
}

/* Frees the stream, or marks it for the running read to free. */
static void
on_stream_finished (SoupServerMessage *message, ObjectStream *stream)
{
  stream->finished = TRUE;
  if (!stream->reading)
    object_stream_free (stream);
}

/* Sends length bytes of fd from offset as the response body; takes fd. */
static void
stream_object (MistRequest *request, int fd, goffset offset, goffset length)
{
  ObjectStream *stream = g_new0 (ObjectStream, 1);

  soup_message_headers_set_content_length (
    soup_server_message_get_response_headers (request->message), length);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (request->message),
                                    FALSE);
  stream->message = g_object_ref (request->message);
  stream->fd = fd;
  stream->offset = offset;
  stream->remaining = length;
  stream->finished_handler = g_signal_connect (request->message, "finished",
                                               G_CALLBACK (on_stream_finished), stream);
  stream->wrote_handler = g_signal_connect (request->message, "wrote-body-data",
                                            G_CALLBACK (on_stream_wrote_body_data), stream);
  if (length == 0)
    {
      soup_message_body_complete (soup_server_message_get_response_body (request->message));
      return;
    }
  soup_server_message_pause (request->message);
  object_stream_read_next (stream);
}

/* Sends several ranges as multipart/byteranges: libsoup builds it from the whole object
 * in memory, so this one case maps the file on the main loop. Clients of the API ask for
 * one range at a time. */
static void
respond_multiple_ranges (MistRequest *request, const char *path)
{
  g_autoptr (GMappedFile) file = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;

  file = g_mapped_file_new (path, FALSE, &error);
  if (file == NULL)
    {
      mist_request_respond_gerror (request, error);
      return;
    }
  bytes = g_mapped_file_get_bytes (file);
  soup_server_message_set_status (request->message, SOUP_STATUS_OK, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (request->message),
                                  bytes);
}

void
mist_api_get_object (MistRequest *request)
{
  const char *prefix = request->params[0];
  const char *object_id = request->params[1];
  SoupMessageHeaders *request_headers;
  SoupMessageHeaders *headers;
  g_autofree char *path = NULL;
  g_autofree char *etag = NULL;
  const char *if_range;
  SoupRange *ranges = NULL;
  int n_ranges = 0;
  struct stat info;
  goffset start;
  goffset length;
  int fd;

  if (!mist_sha256_hex_is_valid (object_id) || strlen (prefix) != 2 ||
      strncmp (prefix, object_id, 2) != 0 || !object_is_visible (request, object_id))
    {
      mist_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not-found", "No object “%s”",
                                  object_id);
      return;
    }
  path = mist_backend_store_object_path (request->server->store, object_id);
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &info) != 0)
    {
      if (errno != ENOENT)
        g_warning ("Cannot open object %s: %s", path, g_strerror (errno));
      if (fd >= 0)
        close (fd);
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
      close (fd);
      soup_server_message_set_status (request->message, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }
  /* A stale If-Range means the client's partial copy is of other bytes: send all. */
  if_range = soup_message_headers_get_one (request_headers, "If-Range");
  if (if_range != NULL && strcmp (if_range, etag) != 0)
    soup_message_headers_remove (request_headers, "Range");
  if (!check_ranges (request, (goffset) info.st_size, &ranges, &n_ranges))
    {
      close (fd);
      return;
    }
  soup_message_headers_set_content_type (headers, "application/octet-stream", NULL);

  if (n_ranges > 1 && strcmp (soup_server_message_get_method (request->message), "GET") == 0)
    {
      soup_message_headers_free_ranges (request_headers, ranges);
      close (fd);
      respond_multiple_ranges (request, path);
      return;
    }

  /* One range gets 206 for GET and HEAD alike; HEAD with several ranges gets the 200
   * headers of the whole object, which HTTP allows. */
  start = 0;
  length = (goffset) info.st_size;
  if (n_ranges == 1)
    {
      start = ranges[0].start;
      length = ranges[0].end - ranges[0].start + 1;
      soup_message_headers_set_content_range (headers, ranges[0].start, ranges[0].end,
                                              (goffset) info.st_size);
      soup_server_message_set_status (request->message, SOUP_STATUS_PARTIAL_CONTENT, NULL);
    }
  else
    soup_server_message_set_status (request->message, SOUP_STATUS_OK, NULL);
  if (ranges != NULL)
    soup_message_headers_free_ranges (request_headers, ranges);

  if (strcmp (soup_server_message_get_method (request->message), "HEAD") == 0)
    {
      close (fd);
      soup_message_headers_set_content_length (headers, length);
      return;
    }
  stream_object (request, fd, start, length);
}
