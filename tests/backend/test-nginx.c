/* test-nginx.c: the data folder's objects served by a real nginx, as a content base URL
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * nginx runs without root on a loopback port (tests/lib/mist-test-nginx.h).
 */
#include "backend-test-util.h"
#include "mist-test-nginx.h"

#include <gio/gio.h>
#include <string.h>

typedef struct
{
  BackendFixture base;
  char *root; /* contains the server's data folder */
  char *data_dir;
  const char *base_url; /* content base URL on nginx, owned by nginx */
  MistTestNginx *nginx;
  char *object_id;
  GBytes *object;
} NginxFixture;

static void
nginx_setup (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) content = pseudo_random_bytes (50000, 11);
  g_autofree char *build = NULL;
  g_autofree char *content_dir = NULL;
  g_autoptr (JsonNode) manifest = NULL;
  MistTestServerOptions options = { 0 };

  fixture->root = g_dir_make_tmp ("mist-nginx-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->data_dir = g_build_filename (fixture->root, "data", NULL);
  content_dir = g_build_filename (fixture->data_dir, "content", NULL);
  fixture->nginx = mist_test_nginx_start (content_dir, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      mist_test_remove_tree (fixture->root);
      g_clear_pointer (&fixture->root, g_free);
      return;
    }
  g_assert_no_error (error);
  fixture->base_url = mist_test_nginx_get_base_url (fixture->nginx);

  options.data_dir = fixture->data_dir;
  options.content_base_url = fixture->base_url;
  backend_fixture_setup (&fixture->base, &options);
  build = g_build_filename (fixture->base.work_dir, "v1", NULL);
  write_build_file (build, "game.bin", g_bytes_get_data (content, NULL),
                    g_bytes_get_size (content), TRUE);
  create_game (&fixture->base, "served", TRUE);
  push_build (&fixture->base, "served", "1.0", build);
  manifest = get_json (&fixture->base, fixture->base.user_token,
                       "/api/v1/games/served/versions/1/manifest", SOUP_STATUS_OK);
  fixture->object_id = g_strdup (manifest_object_id (manifest, "game.bin"));
  fixture->object = read_stored_object (&fixture->base, fixture->object_id);
}

static void
nginx_teardown (NginxFixture *fixture, gconstpointer data)
{
  if (fixture->root == NULL)
    return;
  backend_fixture_teardown (&fixture->base);
  g_clear_pointer (&fixture->nginx, mist_test_nginx_free);
  mist_test_remove_tree (fixture->root);
  g_free (fixture->root);
  g_free (fixture->data_dir);
  g_free (fixture->object_id);
  g_bytes_unref (fixture->object);
}

static gboolean
skip_without_nginx (NginxFixture *fixture)
{
  if (fixture->root != NULL)
    return FALSE;
  g_test_skip ("nginx is not installed (nginx-light, see build-aux/install-deps)");
  return TRUE;
}

/* GETs or HEADs the object from nginx with one extra header (or none). */
static SoupMessage *
fetch (NginxFixture *fixture, const char *method, const char *header, const char *value,
       GBytes **reply)
{
  g_autofree char *url = g_strdup_printf ("%s/objects/%.2s/%s", fixture->base_url,
                                          fixture->object_id, fixture->object_id);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  SoupMessage *sent;

  if (header != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), header, value);
  sent = mist_test_server_send_message (fixture->base.server, message, reply, &error);
  g_assert_no_error (error);
  return sent;
}

static void
test_nginx_advertised_base (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (JsonNode) info = NULL;

  if (skip_without_nginx (fixture))
    return;
  info = get_json (&fixture->base, NULL, "/api/v1/server", SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info),
                                                  "content_base_url"),
                   ==, fixture->base_url);
}

static void
test_nginx_whole_object (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = NULL;

  if (skip_without_nginx (fixture))
    return;
  message = fetch (fixture, "GET", NULL, NULL, &reply);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  g_assert_true (g_bytes_equal (reply, fixture->object));
}

static void
test_nginx_ranges (NginxFixture *fixture, gconstpointer data)
{
  gsize size;
  g_autoptr (GBytes) middle = NULL;
  g_autoptr (GBytes) suffix = NULL;
  g_autoptr (GBytes) beyond_reply = NULL;
  g_autoptr (GBytes) head_reply = NULL;
  g_autoptr (GBytes) multi_reply = NULL;
  g_autoptr (SoupMessage) first = NULL;
  g_autoptr (SoupMessage) last = NULL;
  g_autoptr (SoupMessage) beyond = NULL;
  g_autoptr (SoupMessage) head = NULL;
  g_autoptr (SoupMessage) multi = NULL;
  g_autofree char *beyond_range = NULL;
  const guint8 *data_bytes;

  if (skip_without_nginx (fixture))
    return;
  size = g_bytes_get_size (fixture->object);
  data_bytes = g_bytes_get_data (fixture->object, NULL);

  first = fetch (fixture, "GET", "Range", "bytes=10-19", &middle);
  g_assert_cmpuint (soup_message_get_status (first), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpmem (g_bytes_get_data (middle, NULL), g_bytes_get_size (middle), data_bytes + 10,
                   10);

  last = fetch (fixture, "GET", "Range", "bytes=-300", &suffix);
  g_assert_cmpuint (soup_message_get_status (last), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpmem (g_bytes_get_data (suffix, NULL), g_bytes_get_size (suffix),
                   data_bytes + size - 300, 300);

  beyond_range = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-", size);
  beyond = fetch (fixture, "GET", "Range", beyond_range, &beyond_reply);
  g_assert_cmpuint (soup_message_get_status (beyond), ==,
                    SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);

  head = fetch (fixture, "HEAD", NULL, NULL, &head_reply);
  g_assert_cmpuint (soup_message_get_status (head), ==, SOUP_STATUS_OK);
  g_assert_cmpint (soup_message_headers_get_content_length (
                     soup_message_get_response_headers (head)),
                   ==, (goffset) size);
  g_assert_cmpuint (g_bytes_get_size (head_reply), ==, 0);

  multi = fetch (fixture, "GET", "Range", "bytes=0-9,500-509", &multi_reply);
  g_assert_cmpuint (soup_message_get_status (multi), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_content_type (soup_message_get_response_headers (multi),
                                                          NULL),
                   ==, "multipart/byteranges");
  g_assert_nonnull (memmem (g_bytes_get_data (multi_reply, NULL), g_bytes_get_size (multi_reply),
                            data_bytes + 500, 10));
}

static void
test_nginx_if_range (NginxFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GBytes) stale_reply = NULL;
  g_autoptr (SoupMessage) plain = NULL;
  g_autoptr (SoupMessage) matching = NULL;
  g_autoptr (SoupMessage) stale = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;
  const char *etag;

  if (skip_without_nginx (fixture))
    return;
  plain = fetch (fixture, "HEAD", NULL, NULL, &whole);
  etag = soup_message_headers_get_one (soup_message_get_response_headers (plain), "ETag");
  g_assert_nonnull (etag);

  url = g_strdup_printf ("%s/objects/%.2s/%s", fixture->base_url, fixture->object_id,
                         fixture->object_id);
  matching = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (matching), "Range",
                                "bytes=100-199");
  soup_message_headers_replace (soup_message_get_request_headers (matching), "If-Range", etag);
  g_object_unref (mist_test_server_send_message (fixture->base.server, matching, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (matching), ==, SOUP_STATUS_PARTIAL_CONTENT);

  stale = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (stale), "Range",
                                "bytes=100-199");
  soup_message_headers_replace (soup_message_get_request_headers (stale), "If-Range",
                                "\"stale-etag\"");
  g_object_unref (mist_test_server_send_message (fixture->base.server, stale, &stale_reply,
                                                 &error));
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (stale), ==, SOUP_STATUS_OK);
  g_assert_true (g_bytes_equal (stale_reply, fixture->object));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, NginxFixture, NULL, nginx_setup, function, nginx_teardown)
  ADD ("/backend/nginx/advertised-base", test_nginx_advertised_base);
  ADD ("/backend/nginx/whole-object", test_nginx_whole_object);
  ADD ("/backend/nginx/ranges", test_nginx_ranges);
  ADD ("/backend/nginx/if-range", test_nginx_if_range);
#undef ADD

  return g_test_run ();
}
