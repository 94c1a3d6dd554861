/* test-content.c: objects over HTTP: Range, If-Range, HEAD, conditional requests and 416
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include <string.h>

typedef struct
{
  BackendFixture base;
  char *object_id;
  GBytes *object; /* the stored bytes */
  char *path;     /* URL path of the object */
} ContentFixture;

static void
content_setup (ContentFixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  g_autoptr (GBytes) content = pseudo_random_bytes (100000, 7);
  g_autoptr (JsonNode) manifest = NULL;

  backend_fixture_setup (&fixture->base, NULL);
  build = g_build_filename (fixture->base.work_dir, "v1", NULL);
  write_build_file (build, "game.bin", g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                    TRUE);
  create_game (&fixture->base, "blocks", TRUE);
  push_build (&fixture->base, "blocks", "1.0", build);

  manifest = get_json (&fixture->base, fixture->base.user_token,
                       "/api/v1/games/blocks/versions/1/manifest", SOUP_STATUS_OK);
  fixture->object_id = g_strdup (manifest_object_id (manifest, "game.bin"));
  fixture->object = read_stored_object (&fixture->base, fixture->object_id);
  fixture->path = g_strdup_printf ("/api/v1/content/objects/%.2s/%s", fixture->object_id,
                                   fixture->object_id);
}

static void
content_teardown (ContentFixture *fixture, gconstpointer data)
{
  g_free (fixture->object_id);
  g_free (fixture->path);
  g_bytes_unref (fixture->object);
  backend_fixture_teardown (&fixture->base);
}

/* Sends a request for the object with extra headers (name, value pairs, NULL-ended). */
static SoupMessage *
request_object (ContentFixture *fixture, const char *method, GBytes **reply, ...)
{
  g_autofree char *url = g_strconcat (mist_test_server_get_url (fixture->base.server),
                                      fixture->path, NULL);
  g_autofree char *authorization = g_strconcat ("Bearer ", fixture->base.user_token, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  g_autoptr (GError) error = NULL;
  SoupMessage *sent;
  const char *name;
  va_list args;

  soup_message_headers_replace (headers, "Authorization", authorization);
  va_start (args, reply);
  while ((name = va_arg (args, const char *)) != NULL)
    soup_message_headers_replace (headers, name, va_arg (args, const char *));
  va_end (args);
  sent = mist_test_server_send_message (fixture->base.server, message, reply, &error);
  g_assert_no_error (error);
  return sent;
}

static void
assert_bytes_equal (GBytes *reply, GBytes *whole, gsize offset, gsize length)
{
  g_assert_cmpuint (g_bytes_get_size (reply), ==, length);
  g_assert_cmpmem (g_bytes_get_data (reply, NULL), length,
                   (const guint8 *) g_bytes_get_data (whole, NULL) + offset, length);
}

static void
test_content_full_object (ContentFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "GET", &reply, NULL);
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  g_autofree char *etag = g_strdup_printf ("\"%s\"", fixture->object_id);

  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "ETag"), ==, etag);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Accept-Ranges"), ==, "bytes");
  assert_bytes_equal (reply, fixture->object, 0, g_bytes_get_size (fixture->object));
}

static void
test_content_ranges (ContentFixture *fixture, gconstpointer data)
{
  gsize size = g_bytes_get_size (fixture->object);
  g_autofree char *expected_range = g_strdup_printf ("bytes 10-19/%" G_GSIZE_FORMAT, size);
  g_autoptr (GBytes) middle = NULL;
  g_autoptr (GBytes) open_end = NULL;
  g_autoptr (GBytes) suffix = NULL;
  g_autoptr (SoupMessage) first = request_object (fixture, "GET", &middle, "Range",
                                                  "bytes=10-19", NULL);
  g_autoptr (SoupMessage) second = request_object (fixture, "GET", &open_end, "Range",
                                                   "bytes=1000-", NULL);
  g_autoptr (SoupMessage) third = request_object (fixture, "GET", &suffix, "Range", "bytes=-500",
                                                  NULL);

  g_assert_cmpuint (soup_message_get_status (first), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (first),
                                                 "Content-Range"),
                   ==, expected_range);
  assert_bytes_equal (middle, fixture->object, 10, 10);

  g_assert_cmpuint (soup_message_get_status (second), ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_bytes_equal (open_end, fixture->object, 1000, size - 1000);

  g_assert_cmpuint (soup_message_get_status (third), ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_bytes_equal (suffix, fixture->object, size - 500, 500);
}

static void
test_content_if_range (ContentFixture *fixture, gconstpointer data)
{
  g_autofree char *etag = g_strdup_printf ("\"%s\"", fixture->object_id);
  g_autoptr (GBytes) matching_reply = NULL;
  g_autoptr (GBytes) stale_reply = NULL;
  g_autoptr (SoupMessage) matching = request_object (fixture, "GET", &matching_reply, "Range",
                                                     "bytes=100-199", "If-Range", etag, NULL);
  g_autoptr (SoupMessage) stale = request_object (
    fixture, "GET", &stale_reply, "Range", "bytes=100-199", "If-Range",
    "\"0000000000000000000000000000000000000000000000000000000000000000\"", NULL);

  g_assert_cmpuint (soup_message_get_status (matching), ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_bytes_equal (matching_reply, fixture->object, 100, 100);
  g_assert_cmpuint (soup_message_get_status (stale), ==, SOUP_STATUS_OK);
  assert_bytes_equal (stale_reply, fixture->object, 0, g_bytes_get_size (fixture->object));
}

static void
test_content_head (ContentFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "HEAD", &reply, NULL);
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);

  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  g_assert_cmpint (soup_message_headers_get_content_length (headers), ==,
                   (goffset) g_bytes_get_size (fixture->object));
  g_assert_cmpuint (g_bytes_get_size (reply), ==, 0);
  g_assert_nonnull (soup_message_headers_get_one (headers, "ETag"));
}

/* HEAD with a Range gets the headers of the GET with that Range. */
static void
test_content_head_range (ContentFixture *fixture, gconstpointer data)
{
  g_autofree char *expected_range = g_strdup_printf ("bytes 10-19/%" G_GSIZE_FORMAT,
                                                     g_bytes_get_size (fixture->object));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "HEAD", &reply, "Range",
                                                    "bytes=10-19", NULL);
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);

  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Content-Range"), ==, expected_range);
  g_assert_cmpint (soup_message_headers_get_content_length (headers), ==, 10);
  g_assert_cmpuint (g_bytes_get_size (reply), ==, 0);
}

static void
test_content_unsatisfiable_range (ContentFixture *fixture, gconstpointer data)
{
  g_autofree char *start = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-",
                                            g_bytes_get_size (fixture->object));
  g_autofree char *expected = g_strdup_printf ("bytes */%" G_GSIZE_FORMAT,
                                               g_bytes_get_size (fixture->object));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "GET", &reply, "Range", start, NULL);

  g_assert_cmpuint (soup_message_get_status (message), ==,
                    SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (message),
                                                 "Content-Range"),
                   ==, expected);
}

static void
test_content_if_none_match (ContentFixture *fixture, gconstpointer data)
{
  g_autofree char *etag = g_strdup_printf ("\"%s\"", fixture->object_id);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "GET", &reply, "If-None-Match", etag,
                                                    NULL);

  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_NOT_MODIFIED);
  g_assert_cmpuint (g_bytes_get_size (reply), ==, 0);
}

static void
test_content_multiple_ranges (ContentFixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (SoupMessage) message = request_object (fixture, "GET", &reply, "Range",
                                                    "bytes=0-9,500-509", NULL);
  const char *type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (message), NULL);

  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (type, ==, "multipart/byteranges");
  g_assert_nonnull (memmem (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                            (const guint8 *) g_bytes_get_data (fixture->object, NULL) + 500, 10));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, ContentFixture, NULL, content_setup, function, content_teardown)
  ADD ("/backend/content/full-object", test_content_full_object);
  ADD ("/backend/content/ranges", test_content_ranges);
  ADD ("/backend/content/if-range", test_content_if_range);
  ADD ("/backend/content/head", test_content_head);
  ADD ("/backend/content/head-range", test_content_head_range);
  ADD ("/backend/content/unsatisfiable-range", test_content_unsatisfiable_range);
  ADD ("/backend/content/if-none-match", test_content_if_none_match);
  ADD ("/backend/content/multiple-ranges", test_content_multiple_ranges);
#undef ADD

  return g_test_run ();
}
