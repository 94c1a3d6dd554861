/* test-client-admin.c: the administration routes of MistClient against a backend-stub
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-client-admin.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "net-test-util.h"

#include <zstd.h>

typedef struct
{
  NetServer net;
  gboolean started;
  MistClient *admin;
} Fixture;

/* The smallest PNG file: a 1x1 transparent image. */
static const guint8 tiny_png[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
  0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
  0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
  0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
  0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static MistClient *
new_client (Fixture *fixture, const char *name, const char *password)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  MistClient *client = mist_client_new (mist_test_server_get_url (fixture->net.server), NULL,
                                        &error);

  g_assert_no_error (error);
  mist_client_login_async (client, name, password, NULL, on_done, &result);
  g_assert_true (mist_client_login_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
  return client;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  fixture->admin = new_client (fixture, MIST_TEST_ADMIN_NAME, MIST_TEST_ADMIN_PASSWORD);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->admin);
  if (fixture->started)
    net_server_stop (&fixture->net);
}

static JsonObject *
find_user (JsonArray *users, const char *name)
{
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);

      if (g_strcmp0 (json_object_get_string_member (user, "name"), name) == 0)
        return user;
    }
  return NULL;
}

static JsonArray *
list_users (MistClient *client, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mist_client_admin_list_users_async (client, NULL, on_done, &result);
  return mist_client_admin_list_users_finish (client, wait_for (&result), error);
}

static void
test_admin_users (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) created_result = NULL;
  g_autoptr (GAsyncResult) again_result = NULL;
  g_autoptr (GAsyncResult) updated_result = NULL;
  g_autoptr (JsonArray) users = NULL;
  g_autoptr (JsonArray) users_after = NULL;
  g_autoptr (JsonArray) forbidden = NULL;
  g_autoptr (JsonObject) created = NULL;
  g_autoptr (JsonObject) again = NULL;
  g_autoptr (JsonObject) changes = json_object_new ();
  g_autoptr (JsonObject) updated = NULL;
  g_autoptr (MistClient) player = NULL;

  if (!fixture->started)
    return;
  users = list_users (fixture->admin, &error);
  g_assert_no_error (error);
  g_assert_nonnull (find_user (users, MIST_TEST_ADMIN_NAME));
  g_assert_nonnull (find_user (users, MIST_TEST_USER_NAME));

  mist_client_admin_create_user_async (fixture->admin, "carol", "carol-password", FALSE, NULL,
                                       on_done, &created_result);
  created = mist_client_admin_create_user_finish (fixture->admin, wait_for (&created_result),
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (created, "name"), ==, "carol");
  g_assert_false (json_object_get_boolean_member (created, "is_admin"));

  mist_client_admin_create_user_async (fixture->admin, "Carol", "other-password", FALSE, NULL,
                                       on_done, &again_result);
  again = mist_client_admin_create_user_finish (fixture->admin, wait_for (&again_result), &error);
  g_assert_null (again);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CONFLICT);
  g_clear_error (&error);

  json_object_set_boolean_member (changes, "disabled", TRUE);
  mist_client_admin_update_user_async (fixture->admin, "carol", changes, NULL, on_done,
                                       &updated_result);
  updated = mist_client_admin_update_user_finish (fixture->admin, wait_for (&updated_result),
                                                  &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (updated, "disabled"));
  users_after = list_users (fixture->admin, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (find_user (users_after, "carol"), "disabled"));

  player = new_client (fixture, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD);
  forbidden = list_users (player, &error);
  g_assert_null (forbidden);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_FORBIDDEN);
}

static MistGameEntry *
wait_game (MistClient *client, GAsyncResult **result,
           MistGameEntry *(*finish) (MistClient *, GAsyncResult *, GError **))
{
  g_autoptr (GError) error = NULL;
  MistGameEntry *game = finish (client, wait_for (result), &error);

  g_assert_no_error (error);
  g_assert_nonnull (game);
  return game;
}

/* Uploads text as a file's content, checking that the server lacked it before and has it
 * after. Returns its SHA-256. */
static char *
upload_content (MistClient *client, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) missing_result = NULL;
  g_autoptr (GAsyncResult) upload_result = NULL;
  g_autoptr (GAsyncResult) present_result = NULL;
  g_auto (GStrv) missing = NULL;
  g_auto (GStrv) present = NULL;
  g_autoptr (JsonObject) uploaded = NULL;
  g_autoptr (GBytes) frame = NULL;
  gsize size = strlen (text);
  gsize capacity = ZSTD_compressBound (size);
  guint8 *compressed = g_malloc (capacity);
  gsize compressed_size = ZSTD_compress (compressed, capacity, text, size, 3);
  char *sha256 = mist_sha256_hex_data ((const guint8 *) text, size);
  const char *hashes[] = { sha256, NULL };

  g_assert_false (ZSTD_isError (compressed_size));
  frame = g_bytes_new_take (compressed, compressed_size);

  mist_client_admin_find_missing_files_async (client, hashes, NULL, on_done, &missing_result);
  missing = mist_client_admin_find_missing_files_finish (client, wait_for (&missing_result),
                                                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (missing), ==, 1);
  g_assert_cmpstr (missing[0], ==, sha256);

  mist_client_admin_upload_file_async (client, sha256, frame, NULL, on_done, &upload_result);
  uploaded = mist_client_admin_upload_file_finish (client, wait_for (&upload_result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (uploaded, "size"), ==, (gint64) size);

  mist_client_admin_find_missing_files_async (client, hashes, NULL, on_done, &present_result);
  present = mist_client_admin_find_missing_files_finish (client, wait_for (&present_result),
                                                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (present), ==, 0);
  return sha256;
}

static JsonNode *
one_file_manifest (const char *sha256, gsize size)
{
  g_autofree char *text = g_strdup_printf ("{\"format\": 1, \"files\": [{\"path\": \"bin/game\", "
                                           "\"size\": %" G_GSIZE_FORMAT ", \"sha256\": \"%s\", "
                                           "\"executable\": true}], \"launch\": "
                                           "{\"executable\": \"bin/game\"}}",
                                           size, sha256);
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static void
create_version (MistClient *client, const char *name, const char *content)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MistVersionEntry) version = NULL;
  g_autofree char *sha256 = upload_content (client, content);
  g_autoptr (JsonNode) manifest = one_file_manifest (sha256, strlen (content));

  mist_client_admin_create_version_async (client, "chess", name, "Changes", manifest, NULL,
                                          on_done, &result);
  version = mist_client_admin_create_version_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (version->name, ==, name);
}

/* Waits until the server's worker finished the patch set 1 -> 2. */
static void
wait_for_patch_set (MistClient *client)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) patch_set = NULL;
      const char *state;

      mist_client_get_patch_set_async (client, "chess", 1, 2, NULL, on_done, &result);
      patch_set = mist_client_get_patch_set_finish (client, wait_for (&result), &error);
      g_assert_no_error (error);
      state = json_object_get_string_member (json_node_get_object (patch_set), "state");
      if (g_strcmp0 (state, "ready") == 0 || g_strcmp0 (state, "failed") == 0)
        return;
      g_usleep (100000);
    }
  g_assert_not_reached ();
}

static void
test_admin_games_and_versions (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) created_result = NULL;
  g_autoptr (GAsyncResult) updated_result = NULL;
  g_autoptr (GAsyncResult) cover_result = NULL;
  g_autoptr (GAsyncResult) uncover_result = NULL;
  g_autoptr (GAsyncResult) launch_result = NULL;
  g_autoptr (GAsyncResult) retry_result = NULL;
  g_autoptr (MistGameEntry) created = NULL;
  g_autoptr (MistGameEntry) updated = NULL;
  g_autoptr (MistGameEntry) covered = NULL;
  g_autoptr (MistGameEntry) launched = NULL;
  g_autoptr (JsonObject) changes = json_object_new ();
  g_autoptr (GBytes) image = g_bytes_new_static (tiny_png, sizeof tiny_png);
  g_autoptr (JsonNode) launch = json_from_string ("{\"executable\": \"bin/game\", "
                                                  "\"arguments\": [\"--windowed\"]}", NULL);

  if (!fixture->started)
    return;
  mist_client_admin_create_game_async (fixture->admin, "chess", "Chess", NULL, TRUE, NULL,
                                       on_done, &created_result);
  created = wait_game (fixture->admin, &created_result, mist_client_admin_create_game_finish);
  g_assert_cmpstr (created->slug, ==, "chess");
  g_assert_true (created->is_private);

  json_object_set_string_member (changes, "title", "Chess Deluxe");
  json_object_set_string_member (changes, "visibility", "public");
  mist_client_admin_update_game_async (fixture->admin, "chess", changes, NULL, on_done,
                                       &updated_result);
  updated = wait_game (fixture->admin, &updated_result, mist_client_admin_update_game_finish);
  g_assert_cmpstr (updated->title, ==, "Chess Deluxe");
  g_assert_false (updated->is_private);

  mist_client_admin_set_cover_async (fixture->admin, "chess", image, NULL, on_done,
                                     &cover_result);
  covered = wait_game (fixture->admin, &cover_result, mist_client_admin_set_cover_finish);
  g_assert_nonnull (covered->cover_url);
  g_assert_true (g_str_has_prefix (covered->cover_url, "http://127.0.0.1:"));
  mist_client_admin_delete_cover_async (fixture->admin, "chess", NULL, on_done, &uncover_result);
  g_assert_true (mist_client_admin_delete_cover_finish (fixture->admin,
                                                        wait_for (&uncover_result), &error));
  g_assert_no_error (error);

  create_version (fixture->admin, "1.0", "first build");
  create_version (fixture->admin, "2.0", "second build, a little longer");
  mist_client_admin_set_launch_async (fixture->admin, "chess", launch, NULL, on_done,
                                      &launch_result);
  launched = wait_game (fixture->admin, &launch_result, mist_client_admin_set_launch_finish);
  g_assert_nonnull (launched->launch);

  wait_for_patch_set (fixture->admin);
  mist_client_admin_retry_patch_set_async (fixture->admin, "chess", 1, 2, NULL, on_done,
                                           &retry_result);
  g_assert_true (mist_client_admin_retry_patch_set_finish (fixture->admin,
                                                           wait_for (&retry_result), &error));
  g_assert_no_error (error);
  /* The worker builds the set again. */
  wait_for_patch_set (fixture->admin);
}

static void
add_test (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add_test ("/net/client-admin/users", test_admin_users);
  add_test ("/net/client-admin/games-and-versions", test_admin_games_and_versions);
  return g_test_run ();
}
