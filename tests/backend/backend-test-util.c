/* backend-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zstd.h>

void
backend_fixture_setup (BackendFixture *fixture, const MistTestServerOptions *options)
{
  g_autoptr (GError) error = NULL;
  MistTestServerOptions used = { 0 };

  if (options != NULL)
    used = *options;
  fixture->server = mist_test_server_start (&used, &error);
  g_assert_no_error (error);
  fixture->admin_token = mist_test_server_login (fixture->server, MIST_TEST_ADMIN_NAME,
                                                 MIST_TEST_ADMIN_PASSWORD, &error);
  g_assert_no_error (error);
  fixture->user_token = mist_test_server_login (fixture->server, MIST_TEST_USER_NAME,
                                                MIST_TEST_USER_PASSWORD, &error);
  g_assert_no_error (error);
  fixture->work_dir = g_dir_make_tmp ("mist-backend-test-XXXXXX", &error);
  g_assert_no_error (error);
}

void
backend_fixture_teardown (BackendFixture *fixture)
{
  g_autoptr (GError) error = NULL;

  mist_test_server_stop (fixture->server, &error);
  g_assert_no_error (error);
  g_clear_pointer (&fixture->server, mist_test_server_free);
  mist_test_remove_tree (fixture->work_dir);
  g_clear_pointer (&fixture->work_dir, g_free);
  g_clear_pointer (&fixture->admin_token, g_free);
  g_clear_pointer (&fixture->user_token, g_free);
}

void
write_build_file (const char *root, const char *path, const void *data, gsize length,
                  gboolean executable)
{
  g_autofree char *full = g_build_filename (root, path, NULL);
  g_autofree char *parent = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (full, data, (gssize) length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (full, executable ? 0755 : 0644), ==, 0);
}

GBytes *
pseudo_random_bytes (gsize length, guint32 seed)
{
  g_autoptr (GRand) random = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (length);

  for (gsize i = 0; i < length; i++)
    data[i] = (guint8) g_rand_int (random);
  return g_bytes_new_take (data, length);
}

GBytes *
text_bytes (gsize lines, guint32 seed)
{
  GString *text = g_string_new (NULL);

  for (gsize i = 0; i < lines; i++)
    {
      /* One line in 50 depends on the seed, so two seeds give similar files. */
      guint32 value = i % 50 == 7 ? (guint32) (i * 2654435761u) ^ seed : (guint32) i;

      g_string_append_printf (text, "line %" G_GSIZE_FORMAT " value %u\n", i, value);
    }
  return g_string_free_to_bytes (text);
}

void
create_game (BackendFixture *fixture, const char *slug, gboolean is_public)
{
  const char *args[] = { "game", "create", slug, "--title", slug,
                         is_public ? "--public" : "--private", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;
  int status;

  status = mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, args, NULL, NULL,
                                          &errors, &error);
  g_assert_no_error (error);
  if (status != 0)
    g_printerr ("%s", errors);
  g_assert_cmpint (status, ==, 0);
}

void
push_build (BackendFixture *fixture, const char *slug, const char *version, const char *dir)
{
  g_autofree char *changelog = g_strdup_printf ("Changes of %s", version);
  const char *args[] = { "push", slug, "--version", version, "--changelog", changelog,
                         "--level", "3", dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;
  int status;

  status = mist_test_server_run_mistpipe (fixture->server, fixture->admin_token, args, NULL, NULL,
                                          &errors, &error);
  g_assert_no_error (error);
  if (status != 0)
    g_printerr ("%s", errors);
  g_assert_cmpint (status, ==, 0);
}

JsonNode *
get_json (BackendFixture *fixture, const char *token, const char *path, guint expected_status)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *root = NULL;

  message = mist_test_server_send (fixture->server, "GET", path, token, NULL, &reply, &error);
  g_assert_no_error (error);
  if (soup_message_get_status (message) != expected_status)
    g_printerr ("GET %s: %.*s\n", path, (int) g_bytes_get_size (reply),
                (const char *) g_bytes_get_data (reply, NULL));
  g_assert_cmpuint (soup_message_get_status (message), ==, expected_status);
  if (g_bytes_get_size (reply) > 0)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));

      root = json_from_string (text, &error);
      g_assert_no_error (error);
    }
  return root;
}

guint
send_status (BackendFixture *fixture, const char *method, const char *path, const char *token,
             const char *body)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GError) error = NULL;

  message = mist_test_server_send (fixture->server, method, path, token, body, NULL, &error);
  g_assert_no_error (error);
  return soup_message_get_status (message);
}

GBytes *
read_stored_object (BackendFixture *fixture, const char *object_id)
{
  char prefix[3] = { object_id[0], object_id[1], '\0' };
  g_autofree char *path = g_build_filename (mist_test_server_get_data_dir (fixture->server),
                                            "content", "objects", prefix, object_id, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize length;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

GBytes *
zstd_decompress (GBytes *frame)
{
  gsize length;
  const void *data = g_bytes_get_data (frame, &length);
  unsigned long long size = ZSTD_getFrameContentSize (data, length);
  guint8 *output;
  size_t written;

  g_assert_true (size != ZSTD_CONTENTSIZE_ERROR && size != ZSTD_CONTENTSIZE_UNKNOWN);
  output = g_malloc (size + 1);
  written = ZSTD_decompress (output, size + 1, data, length);
  g_assert_false (ZSTD_isError (written));
  g_assert_cmpuint (written, ==, size);
  return g_bytes_new_take (output, written);
}

const char *
manifest_object_id (JsonNode *manifest, const char *path)
{
  JsonArray *files = json_object_get_array_member (json_node_get_object (manifest), "files");

  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);

      if (strcmp (json_object_get_string_member (file, "path"), path) == 0)
        return json_object_get_string_member (json_object_get_object_member (file, "object"),
                                              "id");
    }
  g_assert_not_reached ();
  return NULL;
}
