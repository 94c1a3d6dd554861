/* mistpipe-push.c: upload a build folder as a new version
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A push scans the folder, queries the server for the file contents it lacks, uploads those
 * as zstd frames and then creates the version. Each step can be repeated, so a push that
 * was interrupted uploads only what is still missing when it runs again.
 */
#include "mist-backend-store.h"
#include "mist-config.h"
#include "mist-error.h"
#include "mist-scan.h"
#include "mistpipe-commands.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MISSING_BATCH 50000

typedef struct
{
  gboolean terminal;  /* draw a progress bar on standard error */
  const char *phase;
  guint files_done;
  guint files_total;
  guint64 bytes_done; /* bytes of the source files */
  guint64 bytes_total;
  guint64 current_size;  /* source bytes of the file being uploaded */
  guint64 current_sent;  /* compressed bytes sent of it */
  guint64 current_length; /* compressed bytes in it */
  gint64 last_draw_us;
} Progress;

static void
draw_progress (Progress *progress, gboolean force)
{
  g_autofree char *done = NULL;
  g_autofree char *total = NULL;
  guint64 bytes = progress->bytes_done;
  char bar[31];
  guint filled;
  gint64 now = g_get_monotonic_time ();

  if (!progress->terminal || (!force && now - progress->last_draw_us < 100000))
    return;
  progress->last_draw_us = now;
  if (progress->current_length > 0)
    bytes += progress->current_size * progress->current_sent / progress->current_length;
  filled = progress->bytes_total > 0 ? (guint) (30 * bytes / progress->bytes_total) : 30;
  memset (bar, '#', filled);
  memset (bar + filled, ' ', 30 - filled);
  bar[30] = '\0';
  done = g_format_size (bytes);
  total = g_format_size (progress->bytes_total);
  fprintf (stderr,
           g_dngettext (GETTEXT_PACKAGE, "\r%-10s [%s] %u/%u file, %s of %s   ",
                        "\r%-10s [%s] %u/%u files, %s of %s   ", progress->files_total),
           progress->phase, bar,
           progress->files_done, progress->files_total, done, total);
  fflush (stderr);
}

static void
end_progress (Progress *progress)
{
  if (progress->terminal)
    {
      draw_progress (progress, TRUE);
      fprintf (stderr, "\n");
    }
}

static void
on_scanned (guint files_done, guint64 bytes_done, const char *path, gpointer user_data)
{
  Progress *progress = user_data;

  progress->files_done = files_done;
  progress->files_total = files_done;
  progress->bytes_done = bytes_done;
  progress->bytes_total = bytes_done;
  draw_progress (progress, FALSE);
}

static void
on_wrote_body_data (SoupMessage *message, guint chunk_size, Progress *progress)
{
  progress->current_sent += chunk_size;
  draw_progress (progress, FALSE);
}

/* Returns the hashes of contents the server lacks, each with the first path that has it,
 * and fills partial with the bytes the server kept of interrupted uploads (hash → guint64
 * in a pointer-sized slot). */
static GHashTable *
query_missing (Mistpipe *pipe, MistManifest *manifest, GHashTable *partial, GError **error)
{
  g_autoptr (GHashTable) missing = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) first_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) hashes = g_ptr_array_new ();
  GPtrArray *files = mist_manifest_get_files (manifest);

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = files->pdata[i];

      if (g_hash_table_insert (first_path, file->sha256, file->path))
        g_ptr_array_add (hashes, file->sha256);
    }

  for (guint start = 0; start < hashes->len; start += MISSING_BATCH)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) body = NULL;
      g_autoptr (JsonNode) reply = NULL;
      JsonArray *answer;
      JsonObject *kept;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "sha256");
      json_builder_begin_array (builder);
      for (guint i = start; i < hashes->len && i < start + MISSING_BATCH; i++)
        json_builder_add_string_value (builder, hashes->pdata[i]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      body = json_builder_get_root (builder);
      if (!mistpipe_call (pipe, "POST", "/api/v1/admin/files/missing", body, &reply, error))
        return NULL;
      answer = json_object_get_array_member (json_node_get_object (reply), "missing");
      /* Servers without resumable uploads send no "partial". */
      kept = json_object_has_member (json_node_get_object (reply), "partial")
               ? json_object_get_object_member (json_node_get_object (reply), "partial")
               : NULL;
      for (guint i = 0; i < json_array_get_length (answer); i++)
        {
          const char *hash = json_array_get_string_element (answer, i);
          gpointer key;
          gpointer path;

          if (!g_hash_table_lookup_extended (first_path, hash, &key, &path))
            continue;
          g_hash_table_insert (missing, key, path);
          if (kept != NULL && json_object_has_member (kept, hash))
            g_hash_table_insert (partial, key,
                                 GSIZE_TO_POINTER (json_object_get_int_member (kept, hash)));
        }
    }
  return g_steal_pointer (&missing);
}

/* Sends the compressed file in fd (length bytes) from offset, which continues a partial
 * upload the server kept when offset is not 0. */
static gboolean
send_upload (Mistpipe *pipe, const MistManifestFile *file, int fd, goffset length,
             goffset offset, Progress *progress, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/api/v1/admin/files/%s", pipe->server, file->sha256);
  g_autofree char *authorization = g_strconcat ("Bearer ", pipe->token, NULL);
  g_autoptr (SoupMessage) message = soup_message_new ("PUT", url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GBytes) reply = NULL;
  int body_fd = dup (fd);

  if (body_fd < 0 || lseek (body_fd, offset, SEEK_SET) != offset)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "Cannot read the compressed file: %s", g_strerror (errno));
      if (body_fd >= 0)
        close (body_fd);
      return FALSE;
    }
  soup_message_headers_replace (headers, "Authorization", authorization);
  if (offset > 0)
    {
      g_autofree char *offset_text = g_strdup_printf ("%" G_GOFFSET_FORMAT, offset);

      soup_message_headers_replace (headers, "Upload-Offset", offset_text);
    }
  stream = g_unix_input_stream_new (body_fd, TRUE);
  soup_message_set_request_body (message, "application/zstd", stream, length - offset);
  progress->current_size = file->size;
  progress->current_sent = (guint64) offset;
  progress->current_length = (guint64) length;
  g_signal_connect (message, "wrote-body-data", G_CALLBACK (on_wrote_body_data), progress);

  reply = soup_session_send_and_read (pipe->session, message, NULL, error);
  progress->current_length = 0;
  return reply != NULL && mistpipe_check_reply (message, reply, NULL, error);
}

/* Compresses the file and uploads it, continuing from offset when the server kept that
 * many bytes of an earlier attempt. The continuation relies on the compression giving
 * the same bytes again (same file, level and zstd version). When the server rejects the
 * continuation, the file is uploaded again from its start. */
static gboolean
upload_file (Mistpipe *pipe, const char *root, const MistManifestFile *file, int level,
             guint64 offset, Progress *progress, GError **error)
{
  g_autofree char *source_path = g_build_filename (root, file->path, NULL);
  g_autofree char *temp_path = NULL;
  g_autoptr (GError) resume_error = NULL;
  int source_fd;
  int temp_fd;
  gboolean compressed;
  gboolean sent;
  goffset length;

  source_fd = g_open (source_path, O_RDONLY | O_CLOEXEC, 0);
  if (source_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot open %s: %s", source_path,
                   g_strerror (errno));
      return FALSE;
    }
  temp_fd = g_file_open_tmp ("mistpipe-XXXXXX.zst", &temp_path, error);
  if (temp_fd < 0)
    {
      close (source_fd);
      return FALSE;
    }
  g_unlink (temp_path);
  compressed = mist_backend_compress_fd (source_fd, temp_fd, level, NULL, error);
  close (source_fd);
  length = compressed ? lseek (temp_fd, 0, SEEK_END) : -1;
  if (length < 0)
    {
      close (temp_fd);
      if (compressed)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot read back %s", temp_path);
      g_prefix_error (error, "Cannot compress “%s”: ", file->path);
      return FALSE;
    }

  sent = FALSE;
  if (offset > 0 && offset < (guint64) length)
    {
      g_printerr ("mistpipe: Continuing the upload of “%s” from byte %" G_GUINT64_FORMAT
                  " of %" G_GOFFSET_FORMAT "\n",
                  file->path, offset, length);
      sent = send_upload (pipe, file, temp_fd, length, (goffset) offset, progress,
                          &resume_error);
      if (!sent)
        g_printerr ("mistpipe: Cannot continue the upload of “%s” at byte %" G_GUINT64_FORMAT
                    " (%s): uploading it again\n",
                    file->path, offset, resume_error->message);
    }
  if (!sent)
    sent = send_upload (pipe, file, temp_fd, length, 0, progress, error);
  close (temp_fd);
  if (!sent)
    g_prefix_error (error, "Cannot upload “%s”: ", file->path);
  return sent;
}

static gboolean
upload_missing (Mistpipe *pipe, const char *root, MistManifest *manifest, GHashTable *missing,
                GHashTable *partial, int level, Progress *progress, GError **error)
{
  GPtrArray *files = mist_manifest_get_files (manifest);
  g_autoptr (GHashTable) sent = g_hash_table_new (g_str_hash, g_str_equal);

  progress->phase = "Uploading";
  progress->files_done = 0;
  progress->files_total = g_hash_table_size (missing);
  progress->bytes_done = 0;
  progress->bytes_total = 0;
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = files->pdata[i];

      if (g_hash_table_contains (missing, file->sha256) && g_hash_table_add (sent, file->sha256))
        progress->bytes_total += file->size;
    }
  g_hash_table_remove_all (sent);

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = files->pdata[i];

      if (!g_hash_table_contains (missing, file->sha256) || !g_hash_table_add (sent, file->sha256))
        continue;
      if (!upload_file (pipe, root, file, level,
                        GPOINTER_TO_SIZE (g_hash_table_lookup (partial, file->sha256)),
                        progress, error))
        return FALSE;
      progress->files_done++;
      progress->bytes_done += file->size;
      draw_progress (progress, FALSE);
    }
  end_progress (progress);
  return TRUE;
}

static gboolean
create_version (Mistpipe *pipe, const char *game, const char *name, const char *changelog,
                MistManifest *manifest, JsonNode **reply, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/admin/games/%s/versions", game);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "changelog");
  json_builder_add_string_value (builder, changelog != NULL ? changelog : "");
  json_builder_set_member_name (builder, "manifest");
  json_builder_add_value (builder, mist_manifest_to_json_node (manifest));
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  return mistpipe_call (pipe, "POST", path, body, reply, error);
}

int
mistpipe_command_push (Mistpipe *pipe, int argc, char **argv)
{
  g_autofree char *version = NULL;
  g_autofree char *changelog = NULL;
  g_autofree char *changelog_file = NULL;
  int level = 19;
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_STRING, &version, "Name of the new version (required)",
      "NAME" },
    { "changelog", 0, 0, G_OPTION_ARG_STRING, &changelog, "What changed, for the players",
      "TEXT" },
    { "changelog-file", 0, 0, G_OPTION_ARG_FILENAME, &changelog_file,
      "Read the changelog from a UTF-8 file", "FILE" },
    { "level", 0, 0, G_OPTION_ARG_INT, &level,
      "zstd level of the uploaded files, 1 to 22 (default 19: smallest downloads)", "N" },
    { NULL },
  };
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (GHashTable) missing = NULL;
  g_autoptr (GHashTable) partial = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (JsonNode) reply = NULL;
  g_autofree char *game_path = NULL;
  g_autofree char *total = NULL;
  g_autofree char *files = NULL;
  g_autofree char *uploaded = NULL;
  Progress progress = { 0 };
  JsonObject *created;
  guint n_files;
  guint n_uploaded;

  if (!mistpipe_parse_options ("push", entries, argc, argv, &rest))
    return 2;
  if (rest[0] == NULL || rest[1] == NULL || rest[2] != NULL || version == NULL)
    {
      g_printerr ("mistpipe: usage: mistpipe push GAME --version NAME [--changelog TEXT] DIR\n");
      return 2;
    }
  if (changelog != NULL && changelog_file != NULL)
    {
      g_printerr ("mistpipe: pass --changelog or --changelog-file, not both\n");
      return 2;
    }
  if (level < 1 || level > 22)
    {
      g_printerr ("mistpipe: invalid --level %d: use 1 to 22\n", level);
      return 2;
    }
  if (changelog_file != NULL &&
      !g_file_get_contents (changelog_file, &changelog, NULL, &error))
    return mistpipe_fail (error);
  if (!mistpipe_require_login (pipe, &error))
    return mistpipe_fail (error);

  /* Fail early on a wrong slug or a lost session, before hashing a large folder. */
  game_path = g_strdup_printf ("/api/v1/games/%s", rest[0]);
  if (!mistpipe_call (pipe, "GET", game_path, NULL, NULL, &error))
    return mistpipe_fail (error);

  progress.terminal = isatty (STDERR_FILENO);
  progress.phase = "Scanning";
  manifest = mist_scan_directory (rest[1], on_scanned, &progress, NULL, &error);
  if (manifest == NULL)
    return mistpipe_fail (error);
  end_progress (&progress);
  if (mist_manifest_get_n_files (manifest) == 0)
    {
      g_printerr ("mistpipe: The folder %s has no files, so there is nothing to push: name the "
                  "folder that holds the game's build\n",
                  rest[1]);
      return 1;
    }

  missing = query_missing (pipe, manifest, partial, &error);
  if (missing == NULL ||
      !upload_missing (pipe, rest[1], manifest, missing, partial, level, &progress, &error) ||
      !create_version (pipe, rest[0], version, changelog, manifest, &reply, &error))
    return mistpipe_fail (error);

  created = json_node_get_object (reply);
  total = g_format_size (mist_manifest_get_total_size (manifest));
  n_files = mist_manifest_get_n_files (manifest);
  n_uploaded = g_hash_table_size (missing);
  files = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n_files), n_files);
  uploaded = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "uploaded %u new file content",
                                           "uploaded %u new file contents", n_uploaded),
                              n_uploaded);
  printf ("Pushed version %" G_GINT64_FORMAT " (“%s”) of %s: %s, %s; %s\n",
          json_object_get_int_member (created, "ordinal"), version, rest[0], files, total,
          uploaded);
  return 0;
}
