/* test-packs.c: the pack files the server writes for versions and patch sets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include "mist-hash.h"
#include "mist-pack.h"

#include <string.h>

#define N_FILES 200

typedef struct
{
  BackendFixture base;
  char *v1;
  char *v2;
} PacksFixture;

static void
packs_setup (PacksFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) large = pseudo_random_bytes (1536 * 1024, 5);
  g_autoptr (GBytes) large_changed = pseudo_random_bytes (1536 * 1024, 6);

  backend_fixture_setup (&fixture->base, NULL);
  fixture->v1 = g_build_filename (fixture->base.work_dir, "v1", NULL);
  fixture->v2 = g_build_filename (fixture->base.work_dir, "v2", NULL);
  mist_test_make_small_files_build (fixture->v1, N_FILES, NULL, 0, &error);
  g_assert_no_error (error);
  mist_test_make_small_files_build (fixture->v2, N_FILES, fixture->v1, 80, &error);
  g_assert_no_error (error);
  /* Random bytes do not compress, so this object stays above the pack entry limit. */
  write_build_file (fixture->v1, "large.bin", g_bytes_get_data (large, NULL),
                    g_bytes_get_size (large), FALSE);
  write_build_file (fixture->v2, "large.bin", g_bytes_get_data (large_changed, NULL),
                    g_bytes_get_size (large_changed), FALSE);
}

static void
packs_teardown (PacksFixture *fixture, gconstpointer data)
{
  backend_fixture_teardown (&fixture->base);
  g_free (fixture->v1);
  g_free (fixture->v2);
}

static GPtrArray *
parse_packs (JsonNode *root)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *packs;

  packs = mist_packs_new_from_json_node (json_object_get_member (json_node_get_object (root),
                                                                 "packs"),
                                         &error);
  g_assert_no_error (error);
  return packs;
}

/* Fetches each pack through the content route with one Range request per entry as the
 * player, and checks each entry's bytes against its id. Returns the set of entry ids. */
static GHashTable *
check_pack_entries (PacksFixture *fixture, GPtrArray *packs)
{
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < packs->len; i++)
    {
      const MistPack *pack = g_ptr_array_index (packs, i);
      g_autofree char *url = g_strdup_printf ("%s/api/v1/content/objects/%.2s/%s",
                                              mist_test_server_get_url (fixture->base.server),
                                              pack->id, pack->id);
      g_autofree char *authorization = g_strdup_printf ("Bearer %s", fixture->base.user_token);

      for (guint j = 0; j < pack->entries->len; j++)
        {
          const MistPackEntry *entry = &g_array_index (pack->entries, MistPackEntry, j);
          g_autoptr (SoupMessage) message = soup_message_new ("GET", url);
          g_autoptr (SoupMessage) sent = NULL;
          g_autoptr (GBytes) reply = NULL;
          g_autoptr (GError) error = NULL;
          g_autofree char *hash = NULL;
          SoupMessageHeaders *headers = soup_message_get_request_headers (message);

          soup_message_headers_replace (headers, "Authorization", authorization);
          soup_message_headers_set_range (headers, (goffset) entry->offset,
                                          (goffset) (entry->offset + entry->size - 1));
          sent = mist_test_server_send_message (fixture->base.server, message, &reply, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (soup_message_get_status (sent), ==, SOUP_STATUS_PARTIAL_CONTENT);
          g_assert_cmpuint (g_bytes_get_size (reply), ==, entry->size);
          hash = mist_sha256_hex_data (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
          g_assert_cmpstr (hash, ==, entry->object_id);
          g_hash_table_add (ids, g_strdup (entry->object_id));
        }
    }
  return ids;
}

static void
test_packs_version (PacksFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GHashTable) packed = NULL;
  JsonArray *files;

  create_game (&fixture->base, "many", TRUE);
  push_build (&fixture->base, "many", "1.0", fixture->v1);
  mist_test_server_wait_for_packs (fixture->base.server, fixture->base.user_token, "many", 1,
                                   60, &error);
  g_assert_no_error (error);

  manifest = get_json (&fixture->base, fixture->base.user_token,
                       "/api/v1/games/many/versions/1/manifest", SOUP_STATUS_OK);
  packs = parse_packs (manifest);
  g_assert_cmpuint (packs->len, >=, 1);
  packed = check_pack_entries (fixture, packs);

  /* Every small file is in a pack, in path order; the large one stays a single object. */
  files = json_object_get_array_member (json_node_get_object (manifest), "files");
  g_assert_cmpuint (json_array_get_length (files), ==, N_FILES + 1);
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);
      const char *path = json_object_get_string_member (file, "path");
      JsonObject *object = json_object_get_object_member (file, "object");
      const char *object_id = json_object_get_string_member (object, "id");

      if (strcmp (path, "large.bin") == 0)
        g_assert_false (g_hash_table_contains (packed, object_id));
      else
        g_assert_true (g_hash_table_contains (packed, object_id));
    }
  /* A pack closes at 32 MiB, so it ends at most one entry of 1 MiB beyond. */
  for (guint i = 0; i < packs->len; i++)
    g_assert_cmpuint (((MistPack *) g_ptr_array_index (packs, i))->size, <=,
                      (32 << 20) + (1 << 20));
}

static void
test_packs_patch_set (PacksFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) set = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autoptr (GHashTable) packed = NULL;
  JsonArray *deltas;
  guint n_small_deltas = 0;

  create_game (&fixture->base, "many", TRUE);
  push_build (&fixture->base, "many", "1.0", fixture->v1);
  push_build (&fixture->base, "many", "2.0", fixture->v2);
  mist_test_server_wait_for_patches (fixture->base.server, fixture->base.admin_token, "many",
                                     120, &error);
  g_assert_no_error (error);

  set = get_json (&fixture->base, fixture->base.user_token, "/api/v1/games/many/patches/1/2",
                  SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (set), "state"), ==,
                   "ready");
  packs = parse_packs (set);
  g_assert_cmpuint (packs->len, >=, 1);
  packed = check_pack_entries (fixture, packs);

  deltas = json_object_get_array_member (json_node_get_object (set), "deltas");
  g_assert_cmpuint (json_array_get_length (deltas), >=, N_FILES * 70 / 100);
  for (guint i = 0; i < json_array_get_length (deltas); i++)
    {
      JsonObject *object = json_object_get_object_member (json_array_get_object_element (deltas,
                                                                                          i),
                                                          "object");

      if (json_object_get_int_member (object, "size") <= (1 << 20))
        {
          g_assert_true (g_hash_table_contains (packed,
                                                json_object_get_string_member (object, "id")));
          n_small_deltas++;
        }
    }
  g_assert_cmpuint (n_small_deltas, >, 0);

  /* Version 2 got packs of its own full objects as well. */
  manifest = get_json (&fixture->base, fixture->base.user_token,
                       "/api/v1/games/many/versions/2/manifest", SOUP_STATUS_OK);
  g_clear_pointer (&packs, g_ptr_array_unref);
  packs = parse_packs (manifest);
  g_assert_cmpuint (packs->len, >=, 1);
}

/* A pack of a private game is hidden from players like the objects inside it. */
static void
test_packs_private (PacksFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (GPtrArray) packs = NULL;
  g_autofree char *path = NULL;
  const MistPack *pack;

  create_game (&fixture->base, "hidden", FALSE);
  push_build (&fixture->base, "hidden", "1.0", fixture->v1);
  mist_test_server_wait_for_packs (fixture->base.server, fixture->base.admin_token, "hidden", 1,
                                   60, &error);
  g_assert_no_error (error);
  manifest = get_json (&fixture->base, fixture->base.admin_token,
                       "/api/v1/games/hidden/versions/1/manifest", SOUP_STATUS_OK);
  packs = parse_packs (manifest);
  g_assert_cmpuint (packs->len, >=, 1);
  pack = g_ptr_array_index (packs, 0);
  path = g_strdup_printf ("/api/v1/content/objects/%.2s/%s", pack->id, pack->id);
  g_assert_cmpuint (send_status (&fixture->base, "HEAD", path, fixture->base.user_token, NULL),
                    ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpuint (send_status (&fixture->base, "HEAD", path, fixture->base.admin_token, NULL),
                    ==, SOUP_STATUS_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, PacksFixture, NULL, packs_setup, function, packs_teardown)
  ADD ("/backend/packs/version", test_packs_version);
  ADD ("/backend/packs/patch-set", test_packs_patch_set);
  ADD ("/backend/packs/private-game", test_packs_private);
#undef ADD

  return g_test_run ();
}
