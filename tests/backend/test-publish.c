/* test-publish.c: pushing versions with mistpipe and the patch sets the server builds
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"
#include "mist-delta.h"
#include "mist-hash.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATCH_TIMEOUT_SECONDS 240
/* The server deletes partial uploads older than this at start (docs/api.md). */
#define PARTIAL_UPLOAD_DAYS 7

static void
write_bytes (const char *root, const char *path, GBytes *bytes, gboolean executable)
{
  write_build_file (root, path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                    executable);
}

static void
write_text (const char *root, const char *path, const char *text, gboolean executable)
{
  write_build_file (root, path, text, strlen (text), executable);
}

/* Returns a copy of bytes with length bytes at offset replaced by other pseudo-random
 * bytes, and extra bytes appended. */
static GBytes *
mutate (GBytes *bytes, gsize offset, gsize length, gsize extra, guint32 seed)
{
  g_autoptr (GBytes) noise = pseudo_random_bytes (length + extra, seed);
  gsize size = g_bytes_get_size (bytes);
  guint8 *data = g_malloc (size + extra);

  memcpy (data, g_bytes_get_data (bytes, NULL), size);
  memcpy (data + offset, g_bytes_get_data (noise, NULL), length);
  memcpy (data + size, (const guint8 *) g_bytes_get_data (noise, NULL) + length, extra);
  return g_bytes_new_take (data, size + extra);
}

/* Three versions of a build: files added, removed, changed, renamed (moved and
 * changed, moved unchanged) and made executable. */
static void
write_three_versions (const char *work_dir, char **dirs)
{
  g_autoptr (GBytes) game1 = pseudo_random_bytes (150000, 1);
  g_autoptr (GBytes) game2 = mutate (game1, 70000, 1000, 0, 2);
  g_autoptr (GBytes) game3 = mutate (game2, 20000, 500, 3000, 3);
  g_autoptr (GBytes) levels1 = text_bytes (5000, 1);
  g_autoptr (GBytes) levels2 = text_bytes (5000, 2);
  g_autoptr (GBytes) levels3 = text_bytes (5200, 3);
  g_autoptr (GBytes) sprites1 = text_bytes (3000, 10);
  g_autoptr (GBytes) sprites2 = text_bytes (3000, 11);
  g_autoptr (GBytes) removed = text_bytes (200, 5);
  const char *script = "#!/bin/sh\necho run\n";

  for (int i = 0; i < 3; i++)
    dirs[i] = g_strdup_printf ("%s/v%d", work_dir, i + 1);

  write_bytes (dirs[0], "bin/game", game1, TRUE);
  write_bytes (dirs[0], "data/levels.txt", levels1, FALSE);
  write_bytes (dirs[0], "data/old.txt", removed, FALSE);
  write_bytes (dirs[0], "assets/old/sprites.dat", sprites1, FALSE);
  write_text (dirs[0], "docs/readme.txt", "Read me first.\n", FALSE);
  write_text (dirs[0], "tools/run.sh", script, FALSE);

  write_bytes (dirs[1], "bin/game", game2, TRUE);
  write_bytes (dirs[1], "data/levels.txt", levels2, FALSE);
  write_text (dirs[1], "data/new.txt", "Added in version 2.\n", FALSE);
  write_bytes (dirs[1], "assets/new/sprites.dat", sprites2, FALSE);
  write_text (dirs[1], "doc/readme.txt", "Read me first.\n", FALSE);
  write_text (dirs[1], "tools/run.sh", script, TRUE);

  write_bytes (dirs[2], "bin/game", game3, TRUE);
  write_bytes (dirs[2], "data/levels.txt", levels3, FALSE);
  write_text (dirs[2], "data/new.txt", "Added in version 2.\n", FALSE);
  write_bytes (dirs[2], "assets/new/sprites.dat", sprites2, FALSE);
  write_text (dirs[2], "doc/readme.txt", "Read me first.\n", FALSE);
  write_text (dirs[2], "tools/run.sh", script, TRUE);
}

static GBytes *
download (BackendFixture *fixture, const char *object_id)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/content/objects/%.2s/%s", object_id,
                                           object_id);
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL;
  GBytes *reply = NULL;

  message = mist_test_server_send (fixture->server, "GET", path, fixture->user_token, NULL,
                                   &reply, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  hash = mist_sha256_hex_data (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  g_assert_cmpstr (hash, ==, object_id);
  return reply;
}

static int
temp_fd_with (GBytes *bytes, char **path)
{
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("mist-publish-XXXXXX", path, &error);

  g_assert_no_error (error);
  if (bytes != NULL)
    g_assert_cmpint (write (fd, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)), ==,
                     (gssize) g_bytes_get_size (bytes));
  return fd;
}

/* Applies a delta to the source file with the engine and returns the result. */
static GBytes *
apply_delta (const char *source_path, GBytes *delta)
{
  g_autofree char *patch_path = NULL;
  g_autofree char *output_path = NULL;
  g_autoptr (GError) error = NULL;
  int source_fd = open (source_path, O_RDONLY | O_CLOEXEC);
  int patch_fd = temp_fd_with (delta, &patch_path);
  int output_fd = temp_fd_with (NULL, &output_path);
  char *data = NULL;
  gsize length;

  g_assert_cmpint (source_fd, >=, 0);
  g_assert_cmpint (lseek (patch_fd, 0, SEEK_SET), ==, 0);
  mist_delta_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  close (source_fd);
  close (patch_fd);
  close (output_fd);
  g_file_get_contents (output_path, &data, &length, &error);
  g_assert_no_error (error);
  g_unlink (patch_path);
  g_unlink (output_path);
  return g_bytes_new_take (data, length);
}

static GBytes *
read_local (const char *dir, const char *path)
{
  g_autofree char *full = g_build_filename (dir, path, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize length;

  g_file_get_contents (full, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

static JsonObject *
find_file (JsonArray *files, const char *path)
{
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);

      if (strcmp (json_object_get_string_member (file, "path"), path) == 0)
        return file;
    }
  return NULL;
}

static JsonObject *
find_by_hash (JsonArray *files, const char *sha256)
{
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);

      if (strcmp (json_object_get_string_member (file, "sha256"), sha256) == 0)
        return file;
    }
  return NULL;
}

/* Rebuilds version to from the files of version from, as a client would: unchanged
 * contents are copied, deltas applied, the rest downloaded whole. Every result must
 * equal the file pushed. Returns the number of deltas used. */
static guint
rebuild_with_patch_set (BackendFixture *fixture, const char *slug, int from, int to,
                        char **dirs)
{
  g_autofree char *set_path = g_strdup_printf ("/api/v1/games/%s/patches/%d/%d", slug, from, to);
  g_autofree char *source_path = g_strdup_printf ("/api/v1/games/%s/versions/%d/manifest", slug,
                                                  from);
  g_autofree char *target_path = g_strdup_printf ("/api/v1/games/%s/versions/%d/manifest", slug,
                                                  to);
  g_autoptr (JsonNode) set = get_json (fixture, fixture->user_token, set_path, SOUP_STATUS_OK);
  g_autoptr (JsonNode) source = get_json (fixture, fixture->user_token, source_path,
                                          SOUP_STATUS_OK);
  g_autoptr (JsonNode) target = get_json (fixture, fixture->user_token, target_path,
                                          SOUP_STATUS_OK);
  JsonObject *set_object = json_node_get_object (set);
  JsonArray *deltas = json_object_get_array_member (set_object, "deltas");
  JsonArray *source_files = json_object_get_array_member (json_node_get_object (source), "files");
  JsonArray *target_files = json_object_get_array_member (json_node_get_object (target), "files");

  g_assert_cmpstr (json_object_get_string_member (set_object, "state"), ==, "ready");
  g_assert_cmpint (json_object_get_int_member (set_object, "delta_count"), ==,
                   json_array_get_length (deltas));
  g_assert_cmpint (json_object_get_int_member (set_object, "download_size"), <,
                   json_object_get_int_member (set_object, "full_download_size"));

  for (guint i = 0; i < json_array_get_length (target_files); i++)
    {
      JsonObject *file = json_array_get_object_element (target_files, i);
      const char *path = json_object_get_string_member (file, "path");
      const char *sha256 = json_object_get_string_member (file, "sha256");
      JsonObject *delta = find_file (deltas, path);
      JsonObject *same = find_by_hash (source_files, sha256);
      g_autoptr (GBytes) expected = read_local (dirs[to - 1], path);
      g_autoptr (GBytes) rebuilt = NULL;
      g_autofree char *rebuilt_hash = NULL;

      if (delta != NULL)
        {
          const char *from_path = json_object_get_string_member (delta, "source_path");
          g_autofree char *local = g_build_filename (dirs[from - 1], from_path, NULL);
          g_autoptr (GBytes) patch = download (
            fixture, json_object_get_string_member (json_object_get_object_member (delta,
                                                                                   "object"),
                                                    "id"));
          JsonObject *source_file = find_file (source_files, from_path);

          g_assert_nonnull (source_file);
          g_assert_null (same);
          g_assert_cmpstr (json_object_get_string_member (delta, "source_sha256"), ==,
                           json_object_get_string_member (source_file, "sha256"));
          g_assert_cmpstr (json_object_get_string_member (delta, "target_sha256"), ==, sha256);
          g_assert_cmpint (json_object_get_int_member (
                             json_object_get_object_member (delta, "object"), "size"),
                           <,
                           json_object_get_int_member (
                             json_object_get_object_member (file, "object"), "size"));
          rebuilt = apply_delta (local, patch);
        }
      else if (same != NULL)
        rebuilt = read_local (dirs[from - 1], json_object_get_string_member (same, "path"));
      else
        {
          g_autoptr (GBytes) object = download (
            fixture,
            json_object_get_string_member (json_object_get_object_member (file, "object"), "id"));

          rebuilt = zstd_decompress (object);
        }
      rebuilt_hash = mist_sha256_hex_data (g_bytes_get_data (rebuilt, NULL),
                                           g_bytes_get_size (rebuilt));
      g_assert_cmpstr (rebuilt_hash, ==, sha256);
      g_assert_true (g_bytes_equal (rebuilt, expected));
    }
  return json_array_get_length (deltas);
}

static void
setup (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_setup (fixture, data);
}

static void
teardown (BackendFixture *fixture, gconstpointer data)
{
  backend_fixture_teardown (fixture);
}

static void
push_three (BackendFixture *fixture, char **dirs)
{
  g_autoptr (GError) error = NULL;

  write_three_versions (fixture->work_dir, dirs);
  create_game (fixture, "quest", TRUE);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("1.%d", i);

      push_build (fixture, "quest", name, dirs[i]);
    }
  mist_test_server_wait_for_patches (fixture->server, fixture->admin_token, "quest",
                                     PATCH_TIMEOUT_SECONDS, &error);
  g_assert_no_error (error);
}

static void
test_publish_three_versions (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  g_autoptr (JsonNode) game = NULL;
  g_autoptr (JsonNode) patches = NULL;
  g_autoptr (JsonNode) v1 = NULL;
  g_autoptr (JsonNode) v2 = NULL;
  JsonArray *versions;
  JsonArray *sets;

  push_three (fixture, dirs);

  game = get_json (fixture, fixture->user_token, "/api/v1/games/quest", SOUP_STATUS_OK);
  versions = json_object_get_array_member (json_node_get_object (game), "versions");
  g_assert_cmpuint (json_array_get_length (versions), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (versions, 2),
                                                  "changelog"),
                   ==, "Changes of 1.2");

  /* The executable bit is part of the manifest. */
  v1 = get_json (fixture, fixture->user_token, "/api/v1/games/quest/versions/1/manifest", 200);
  v2 = get_json (fixture, fixture->user_token, "/api/v1/games/quest/versions/2/manifest", 200);
  g_assert_false (json_object_get_boolean_member (
    find_file (json_object_get_array_member (json_node_get_object (v1), "files"), "tools/run.sh"),
    "executable"));
  g_assert_true (json_object_get_boolean_member (
    find_file (json_object_get_array_member (json_node_get_object (v2), "files"), "tools/run.sh"),
    "executable"));

  /* The chain 1→2→3 and the direct 1→3. */
  patches = get_json (fixture, fixture->user_token, "/api/v1/games/quest/patches", 200);
  sets = json_object_get_array_member (json_node_get_object (patches), "patches");
  g_assert_cmpuint (json_array_get_length (sets), ==, 3);

  /* 1→2: bin/game, data/levels.txt and the moved sprites change; the moved readme and
   * the script whose mode changed are copies. */
  g_assert_cmpuint (rebuild_with_patch_set (fixture, "quest", 1, 2, dirs), ==, 3);
  g_assert_cmpuint (rebuild_with_patch_set (fixture, "quest", 2, 3, dirs), ==, 2);
  g_assert_cmpuint (rebuild_with_patch_set (fixture, "quest", 1, 3, dirs), ==, 3);
}

static void
test_publish_rename_uses_old_file (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  g_autoptr (JsonNode) set = NULL;
  JsonObject *delta;

  push_three (fixture, dirs);
  set = get_json (fixture, fixture->user_token, "/api/v1/games/quest/patches/1/2", 200);
  delta = find_file (json_object_get_array_member (json_node_get_object (set), "deltas"),
                     "assets/new/sprites.dat");
  g_assert_nonnull (delta);
  g_assert_cmpstr (json_object_get_string_member (delta, "source_path"), ==,
                   "assets/old/sprites.dat");
}

/* Pushing the same folder again uploads nothing and the name must be new. */
static void
test_publish_push_is_resumable (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  const char *again[] = { "push", "quest", "--version", "1.0", "--level", "3", NULL, NULL };
  const char *renamed[] = { "push", "quest", "--version", "1.0-again", "--level", "3", NULL, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *errors = NULL;

  write_three_versions (fixture->work_dir, dirs);
  create_game (fixture, "quest", TRUE);
  push_build (fixture, "quest", "1.0", dirs[0]);

  again[6] = dirs[0];
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, again,
                                                  NULL, NULL, &errors, &error),
                   ==, 1);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (errors, "has a version named “1.0” already"));

  renamed[6] = dirs[0];
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, renamed,
                                                  NULL, &output, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (output, "uploaded 0 new file contents"));
}

static void
test_publish_launch_config (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  const char *args[] = { "launch-config", "quest", "--executable", "bin/game", "--arg", "--full",
                         "--workdir", "data", "--env", "LANG=C", NULL };
  const char *missing[] = { "launch-config", "quest", "--executable", "bin/nothing", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (JsonNode) third = NULL;
  JsonObject *launch;

  write_three_versions (fixture->work_dir, dirs);
  create_game (fixture, "quest", TRUE);
  push_build (fixture, "quest", "1.0", dirs[0]);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, args,
                                                  NULL, NULL, NULL, &error),
                   ==, 0);
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, missing,
                                                  NULL, NULL, NULL, &error),
                   ==, 1);
  g_assert_no_error (error);

  manifest = get_json (fixture, fixture->user_token, "/api/v1/games/quest/versions/1/manifest",
                       200);
  launch = json_object_get_object_member (json_node_get_object (manifest), "launch");
  g_assert_nonnull (launch);
  g_assert_cmpstr (json_object_get_string_member (launch, "executable"), ==, "bin/game");
  g_assert_cmpstr (json_object_get_string_member (launch, "working_directory"), ==, "data");
  g_assert_cmpstr (json_array_get_string_element (
                     json_object_get_array_member (launch, "arguments"), 0),
                   ==, "--full");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (launch,
                                                                                 "environment"),
                                                  "LANG"),
                   ==, "C");

  /* A later version without its own launch configuration inherits the game's. */
  push_build (fixture, "quest", "1.1", dirs[1]);
  third = get_json (fixture, fixture->user_token, "/api/v1/games/quest/versions/2/manifest", 200);
  launch = json_object_get_object_member (json_node_get_object (third), "launch");
  g_assert_nonnull (launch);
  g_assert_cmpstr (json_object_get_string_member (launch, "executable"), ==, "bin/game");
}

/* When a delta cannot be made, here because the stored object of the old file is damaged,
 * only that file is downloaded in full. The rest of the patch set keeps its deltas. */
static void
test_publish_failed_delta_falls_back (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *first = g_build_filename (fixture->work_dir, "first", NULL);
  g_autofree char *second = g_build_filename (fixture->work_dir, "second", NULL);
  g_autofree char *damaged_path = NULL;
  g_autoptr (GBytes) damaged_text = text_bytes (3000, 21);
  g_autoptr (GBytes) intact_text = text_bytes (3000, 22);
  g_autoptr (GBytes) damaged_next = text_bytes (3001, 21);
  g_autoptr (GBytes) intact_next = text_bytes (3001, 22);
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (JsonNode) set = NULL;
  g_autoptr (GError) error = NULL;
  const char *object_id;
  JsonObject *set_object;
  JsonArray *deltas;

  write_build_file (first, "damaged.txt", g_bytes_get_data (damaged_text, NULL),
                    g_bytes_get_size (damaged_text), FALSE);
  write_build_file (first, "intact.txt", g_bytes_get_data (intact_text, NULL),
                    g_bytes_get_size (intact_text), FALSE);
  write_build_file (second, "damaged.txt", g_bytes_get_data (damaged_next, NULL),
                    g_bytes_get_size (damaged_next), FALSE);
  write_build_file (second, "intact.txt", g_bytes_get_data (intact_next, NULL),
                    g_bytes_get_size (intact_next), FALSE);
  create_game (fixture, "quest", TRUE);
  push_build (fixture, "quest", "1", first);

  /* Cut the stored object of version 1's damaged.txt to a few bytes of its zstd frame. */
  manifest = get_json (fixture, fixture->admin_token, "/api/v1/games/quest/versions/1/manifest",
                       SOUP_STATUS_OK);
  object_id = manifest_object_id (manifest, "damaged.txt");
  damaged_path = g_build_filename (mist_test_server_get_data_dir (fixture->server), "content",
                                   "objects", (char[]){ object_id[0], object_id[1], '\0' },
                                   object_id, NULL);
  g_assert_true (g_file_set_contents (damaged_path, "\x28\xb5\x2f\xfd", 4, &error));
  g_assert_no_error (error);

  push_build (fixture, "quest", "2", second);
  g_assert_true (mist_test_server_wait_for_patches (fixture->server, fixture->admin_token,
                                                    "quest", 120, &error));
  g_assert_no_error (error);

  set = get_json (fixture, fixture->user_token, "/api/v1/games/quest/patches/1/2", SOUP_STATUS_OK);
  set_object = json_node_get_object (set);
  g_assert_cmpstr (json_object_get_string_member (set_object, "state"), ==, "ready");
  deltas = json_object_get_array_member (set_object, "deltas");
  g_assert_nonnull (find_file (deltas, "intact.txt"));
  g_assert_null (find_file (deltas, "damaged.txt"));
}

/* A loopback TCP proxy to the server, run by python3, that closes every connection once
 * its clients sent LIMIT bytes in all, like a network that fails in the middle of an
 * upload. It prints its port, then serves until it is stopped. */
static const char cutting_proxy_script[] =
  "import asyncio, sys\n"
  "upstream, limit = int(sys.argv[1]), int(sys.argv[2])\n"
  "sent = 0\n"
  "async def pump(reader, writer, other, count):\n"
  "    global sent\n"
  "    try:\n"
  "        while data := await reader.read(65536):\n"
  "            if count:\n"
  "                data = data[:max(0, limit - sent)]\n"
  "                sent += len(data)\n"
  "            if data:\n"
  "                writer.write(data)\n"
  "                await writer.drain()\n"
  "            if count and sent >= limit:\n"
  "                break\n"
  "    finally:\n"
  "        writer.close()\n"
  "        other.close()\n"
  "async def handle(client_reader, client_writer):\n"
  "    server_reader, server_writer = await asyncio.open_connection('127.0.0.1', upstream)\n"
  "    await asyncio.gather(pump(client_reader, server_writer, client_writer, True),\n"
  "                         pump(server_reader, client_writer, server_writer, False),\n"
  "                         return_exceptions=True)\n"
  "async def main():\n"
  "    server = await asyncio.start_server(handle, '127.0.0.1', 0)\n"
  "    print(server.sockets[0].getsockname()[1], flush=True)\n"
  "    await server.serve_forever()\n"
  "asyncio.run(main())\n";

static GSubprocess *
cutting_proxy_start (MistTestServer *server, gsize limit, guint16 *port)
{
  g_autoptr (GUri) uri = g_uri_parse (mist_test_server_get_url (server), G_URI_FLAGS_NONE, NULL);
  g_autofree char *upstream = g_strdup_printf ("%d", g_uri_get_port (uri));
  g_autofree char *limit_text = g_strdup_printf ("%" G_GSIZE_FORMAT, limit);
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  GSubprocess *proxy;

  proxy = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "python3", "-c",
                            cutting_proxy_script, upstream, limit_text, NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proxy));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  *port = (guint16) g_ascii_strtoull (line, NULL, 10);
  g_assert_cmpuint (*port, >, 0);
  return proxy;
}

static void
cutting_proxy_stop (GSubprocess *proxy)
{
  g_subprocess_force_exit (proxy);
  g_subprocess_wait (proxy, NULL, NULL);
  g_object_unref (proxy);
}

/* A push cut off in the middle of a file continues that file from the bytes the server
 * kept, and the stored object is the whole file. */
static void
test_publish_interrupted_upload_resumes (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *build = g_build_filename (fixture->work_dir, "big", NULL);
  g_autoptr (GBytes) content = pseudo_random_bytes (8 * 1024 * 1024, 5);
  const char *push[] = { "--server", NULL, "push", "quest", "--version", "1", "--level", "1",
                         build, NULL };
  g_autofree char *proxy_url = NULL;
  g_autofree char *uploads = NULL;
  g_autofree char *output = NULL;
  g_autofree char *errors = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (GBytes) stored = NULL;
  g_autoptr (GBytes) unpacked = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *proxy;
  guint16 proxy_port;
  int status;

  write_build_file (build, "world.pak", g_bytes_get_data (content, NULL),
                    g_bytes_get_size (content), FALSE);
  create_game (fixture, "quest", TRUE);

  /* About half of the 8 MiB body gets through before the proxy cuts the connection. */
  proxy = cutting_proxy_start (fixture->server, 4 * 1024 * 1024, &proxy_port);
  proxy_url = g_strdup_printf ("http://127.0.0.1:%u", proxy_port);
  push[1] = proxy_url;
  status = mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, push, NULL,
                                          NULL, &errors, &error);
  cutting_proxy_stop (proxy);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 1);

  push[1] = mist_test_server_get_url (fixture->server);
  g_clear_pointer (&errors, g_free);
  status = mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, push, NULL,
                                          &output, &errors, &error);
  g_assert_no_error (error);
  if (status != 0)
    g_printerr ("%s", errors);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (errors, "Continuing the upload of “world.pak” from byte "));
  g_assert_null (strstr (errors, "uploading it again"));

  manifest = get_json (fixture, fixture->admin_token, "/api/v1/games/quest/versions/1/manifest",
                       SOUP_STATUS_OK);
  stored = read_stored_object (fixture, manifest_object_id (manifest, "world.pak"));
  unpacked = zstd_decompress (stored);
  g_assert_true (g_bytes_equal (unpacked, content));
  uploads = g_build_filename (mist_test_server_get_data_dir (fixture->server), "uploads", NULL);
  g_assert_true (g_file_test (uploads, G_FILE_TEST_IS_DIR));
}

static const MistTestServerOptions with_xdelta3 = { .use_xdelta3 = TRUE, .direct_patches = 1 };

static gint64
count_rows (BackendFixture *fixture, const char *sql)
{
  g_autofree char *path = g_build_filename (mist_test_server_get_data_dir (fixture->server),
                                            "mist.sqlite3", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *statement = NULL;
  gint64 count;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  count = sqlite3_column_int64 (statement, 0);
  sqlite3_finalize (statement);
  sqlite3_close (db);
  return count;
}

/* With use-xdelta3 the server also builds VCDIFF deltas and keeps the smaller one;
 * whichever format wins, the deltas apply. With direct-patches 1 only the chain exists. */
static void
test_publish_xdelta3 (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  g_autoptr (JsonNode) patches = NULL;

  push_three (fixture, dirs);
  g_assert_cmpint (count_rows (fixture, "SELECT count(*) FROM delta_cache WHERE format = 'vcdiff'"),
                   >, 0);
  patches = get_json (fixture, fixture->user_token, "/api/v1/games/quest/patches", 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (patches), "patches")),
                    ==, 2);
  rebuild_with_patch_set (fixture, "quest", 1, 2, dirs);
  rebuild_with_patch_set (fixture, "quest", 2, 3, dirs);
}

/* A patch set left running by a stopped server is built again after a restart. */
static void
test_publish_restart_resumes (BackendFixture *fixture, gconstpointer data)
{
  g_auto (GStrv) dirs = g_new0 (char *, 4);
  g_autofree char *data_dir = g_build_filename (fixture->work_dir, "server-data", NULL);
  MistTestServerOptions options = { .data_dir = data_dir };
  g_autofree char *database = g_build_filename (data_dir, "mist.sqlite3", NULL);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = NULL;

  /* Run on a data folder that outlives the first server. */
  g_assert_true (mist_test_server_stop (fixture->server, &error));
  g_clear_pointer (&fixture->server, mist_test_server_free);
  fixture->server = mist_test_server_start (&options, &error);
  g_assert_no_error (error);
  g_free (fixture->admin_token);
  fixture->admin_token = mist_test_server_login (fixture->server, MIST_TEST_ADMIN_NAME,
                                                 MIST_TEST_ADMIN_PASSWORD, &error);
  g_assert_no_error (error);
  g_free (fixture->user_token);
  fixture->user_token = mist_test_server_login (fixture->server, MIST_TEST_USER_NAME,
                                                MIST_TEST_USER_PASSWORD, &error);
  g_assert_no_error (error);
  push_three (fixture, dirs);
  g_assert_true (mist_test_server_stop (fixture->server, &error));
  g_assert_no_error (error);
  g_clear_pointer (&fixture->server, mist_test_server_free);

  /* What a crash in the middle of building 1→3 leaves behind. */
  g_assert_cmpint (sqlite3_open (database, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "DELETE FROM deltas WHERE patch_set_id IN (SELECT id FROM"
                                 " patch_sets WHERE from_ordinal = 1 AND to_ordinal = 3);"
                                 "UPDATE patch_sets SET state = 'running', delta_count = NULL,"
                                 " download_size = NULL WHERE from_ordinal = 1 AND to_ordinal = 3;",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  fixture->server = mist_test_server_start (&options, &error);
  g_assert_no_error (error);
  mist_test_server_wait_for_patches (fixture->server, fixture->admin_token, "quest",
                                     PATCH_TIMEOUT_SECONDS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rebuild_with_patch_set (fixture, "quest", 1, 3, dirs), ==, 3);
  mist_test_server_stop (fixture->server, &error);
  g_assert_no_error (error);
  g_clear_pointer (&fixture->server, mist_test_server_free);
  mist_test_remove_tree (data_dir);

  /* teardown stops a server: give it a fresh one. */
  fixture->server = mist_test_server_start (NULL, &error);
  g_assert_no_error (error);
}

/* Writes a partial upload named name into uploads, last changed age_days ago. */
static char *
write_partial_upload (const char *uploads, const char *name, guint age_days)
{
  char *path = g_build_filename (uploads, name, NULL);
  struct timespec times[2];

  g_assert_true (g_file_set_contents (path, "cut-off zstd frame", -1, NULL));
  times[0].tv_sec = times[1].tv_sec = time (NULL) - (time_t)age_days * 24 * 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
  return path;
}

/* At start the server deletes the partial uploads that were not continued for a week,
 * and keeps newer ones for a resume. */
static void
test_publish_stale_uploads_deleted (BackendFixture *fixture, gconstpointer data)
{
  g_autofree char *data_dir = g_build_filename (fixture->work_dir, "server-data", NULL);
  g_autofree char *uploads = g_build_filename (data_dir, "uploads", NULL);
  MistTestServerOptions options = { .data_dir = data_dir };
  g_autofree char *stale = NULL;
  g_autofree char *recent = NULL;
  g_autofree char *other = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_test_server_stop (fixture->server, &error));
  g_clear_pointer (&fixture->server, mist_test_server_free);
  g_assert_cmpint (g_mkdir_with_parents (uploads, 0755), ==, 0);
  stale = write_partial_upload (uploads, "0a.part", PARTIAL_UPLOAD_DAYS + 1);
  recent = write_partial_upload (uploads, "0b.part", PARTIAL_UPLOAD_DAYS - 1);
  other = write_partial_upload (uploads, "notes.txt", PARTIAL_UPLOAD_DAYS + 1);

  fixture->server = mist_test_server_start (&options, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (recent, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, options, function) \
  g_test_add (name, BackendFixture, options, setup, function, teardown)
  ADD ("/backend/publish/three-versions", NULL, test_publish_three_versions);
  ADD ("/backend/publish/rename-uses-old-file", NULL, test_publish_rename_uses_old_file);
  ADD ("/backend/publish/push-is-resumable", NULL, test_publish_push_is_resumable);
  ADD ("/backend/publish/launch-config", NULL, test_publish_launch_config);
  ADD ("/backend/publish/xdelta3", &with_xdelta3, test_publish_xdelta3);
  ADD ("/backend/publish/failed-delta-falls-back", NULL, test_publish_failed_delta_falls_back);
  ADD ("/backend/publish/interrupted-upload-resumes", NULL,
       test_publish_interrupted_upload_resumes);
  ADD ("/backend/publish/restart-resumes", NULL, test_publish_restart_resumes);
  ADD ("/backend/publish/stale-uploads-deleted", NULL, test_publish_stale_uploads_deleted);
#undef ADD

  return g_test_run ();
}
