/* test-bad-input.c: invalid requests are rejected with a clear 4xx and store nothing
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"
#include "mist-hash.h"

#include <sqlite3.h>
#include <string.h>
#include <zstd.h>

typedef struct
{
  BackendFixture base;
  char *sha256; /* of a file content the server has */
  char *size;   /* its size, as text */
} BadInputFixture;

static void
bad_input_setup (BadInputFixture *fixture, gconstpointer data)
{
  g_autofree char *build = NULL;
  const char *content = "known content\n";

  backend_fixture_setup (&fixture->base, NULL);
  build = g_build_filename (fixture->base.work_dir, "v1", NULL);
  write_build_file (build, "known.txt", content, strlen (content), FALSE);
  create_game (&fixture->base, "target", TRUE);
  push_build (&fixture->base, "target", "1.0", build);
  fixture->sha256 = mist_sha256_hex_data (content, strlen (content));
  fixture->size = g_strdup_printf ("%" G_GSIZE_FORMAT, strlen (content));
}

static void
bad_input_teardown (BadInputFixture *fixture, gconstpointer data)
{
  g_free (fixture->sha256);
  g_free (fixture->size);
  backend_fixture_teardown (&fixture->base);
}

static void
list_tree (GString *listing, const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (relative, names->pdata[i], NULL);
      g_autofree char *full = g_build_filename (root, child, NULL);

      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        list_tree (listing, root, child);
      else
        g_string_append_printf (listing, "%s\n", child);
    }
}

static void
append_count (GString *snapshot, sqlite3 *db, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  sqlite3_stmt *statement = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  g_string_append_printf (snapshot, "%s: %lld\n", table, sqlite3_column_int64 (statement, 0));
  sqlite3_finalize (statement);
}

/* Describes what the data folder stores: its files (the database aside) and the rows
 * of every table that requests can add to. */
static char *
snapshot (BadInputFixture *fixture)
{
  const char *data_dir = mist_test_server_get_data_dir (fixture->base.server);
  g_autofree char *database = g_build_filename (data_dir, "mist.sqlite3", NULL);
  GString *text = g_string_new (NULL);
  const char *tables[] = { "users", "games", "files", "versions", "version_files", "patch_sets",
                           "deltas" };
  sqlite3 *db = NULL;

  list_tree (text, data_dir, "content");
  list_tree (text, data_dir, "covers");
  list_tree (text, data_dir, "tmp");
  g_assert_cmpint (sqlite3_open_v2 (database, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    append_count (text, db, tables[i]);
  sqlite3_exec (db, "SELECT title, description, visibility, cover_sha256 FROM games", NULL, NULL,
                NULL);
  sqlite3_close (db);
  return g_string_free (text, FALSE);
}

typedef struct
{
  const char *name;
  const char *method;
  const char *path;
  const char *body; /* "@HASH@" stands for the known hash and "@SIZE@" for its size */
  guint status;
  const char *code;
} BadRequest;

static const BadRequest bad_requests[] = {
  { "parent path", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"../escape\","
    " \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "absolute path", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"/etc/passwd\","
    " \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "backslash", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"bin\\\\game\","
    " \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "NUL in a path", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"a\\u0000b\","
    " \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "duplicate path", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": ["
    "{\"path\": \"a.txt\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"},"
    "{\"path\": \"a.txt\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "duplicate after case folding", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": ["
    "{\"path\": \"Readme\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"},"
    "{\"path\": \"README\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "file used as a folder", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": ["
    "{\"path\": \"a\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"},"
    "{\"path\": \"a/b\", \"size\": @SIZE@, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-path" },
  { "size of the wrong type", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"a\","
    " \"size\": \"@SIZE@\", \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-data" },
  { "name of the wrong type", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": 2, \"manifest\": {\"format\": 1, \"files\": []}}", 400, "invalid-data" },
  { "files not an array", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": \"none\"}}", 400,
    "invalid-data" },
  { "unknown format", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 9, \"files\": []}}", 400, "invalid-data" },
  { "malformed JSON", "POST", "/api/v1/admin/games/target/versions", "{\"name\": \"2\",", 400,
    "invalid-data" },
  { "size differs from the upload", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"a\","
    " \"size\": 999, \"sha256\": \"@HASH@\"}]}}",
    400, "invalid-data" },
  { "content never uploaded", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"a\", \"size\": 1,"
    " \"sha256\": \"1111111111111111111111111111111111111111111111111111111111111111\"}]}}",
    409, "conflict" },
  { "launch executable not in the build", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"2\", \"manifest\": {\"format\": 1, \"files\": [{\"path\": \"a\","
    " \"size\": @SIZE@, \"sha256\": \"@HASH@\"}], \"launch\": {\"executable\": \"b\"}}}",
    400, "invalid-data" },
  { "existing version name", "POST", "/api/v1/admin/games/target/versions",
    "{\"name\": \"1.0\", \"manifest\": {\"format\": 1, \"files\": []}}", 409, "conflict" },
  { "invalid slug", "POST", "/api/v1/admin/games",
    "{\"slug\": \"Not A Slug\", \"title\": \"T\"}", 400, "invalid-data" },
  { "missing title", "POST", "/api/v1/admin/games", "{\"slug\": \"untitled\"}", 400,
    "invalid-data" },
  { "unknown visibility", "POST", "/api/v1/admin/games",
    "{\"slug\": \"hidden\", \"title\": \"T\", \"visibility\": \"hidden\"}", 400, "invalid-data" },
  { "title of the wrong type", "PATCH", "/api/v1/admin/games/target", "{\"title\": [1]}", 400,
    "invalid-data" },
  { "invalid user name", "POST", "/api/v1/admin/users",
    "{\"name\": \"no spaces\", \"password\": \"long-enough-password\"}", 400, "invalid-data" },
  { "short password", "POST", "/api/v1/admin/users",
    "{\"name\": \"short\", \"password\": \"abc\"}", 400, "invalid-data" },
  { "existing user name in other case", "POST", "/api/v1/admin/users",
    "{\"name\": \"PLAYER\", \"password\": \"long-enough-password\"}", 409, "conflict" },
  { "launch of the wrong type", "PUT", "/api/v1/admin/games/target/launch",
    "{\"executable\": \"known.txt\", \"arguments\": \"--all\"}", 400, "invalid-data" },
  { "invalid hash in an upload URL", "PUT", "/api/v1/admin/files/not-a-hash", "x", 400,
    "invalid-data" },
  { "missing query with a bad hash", "POST", "/api/v1/admin/files/missing",
    "{\"sha256\": [\"xyz\"]}", 400, "invalid-data" },
};

static void
check_error (GBytes *reply, const char *code)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  JsonObject *detail;

  g_assert_nonnull (root);
  detail = json_object_get_object_member (json_node_get_object (root), "error");
  g_assert_nonnull (detail);
  g_assert_cmpstr (json_object_get_string_member (detail, "code"), ==, code);
  g_assert_cmpuint (strlen (json_object_get_string_member (detail, "message")), >, 10);
}

static char *
fill_template (const char *template, BadInputFixture *fixture)
{
  g_autoptr (GString) text = g_string_new (template);

  g_string_replace (text, "@HASH@", fixture->sha256, 0);
  g_string_replace (text, "@SIZE@", fixture->size, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
test_bad_input_requests (BadInputFixture *fixture, gconstpointer data)
{
  g_autofree char *before = snapshot (fixture);
  g_autofree char *after = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_requests); i++)
    {
      const BadRequest *request = &bad_requests[i];
      g_autofree char *body = fill_template (request->body, fixture);
      g_autoptr (SoupMessage) message = NULL;
      g_autoptr (GBytes) reply = NULL;
      g_autoptr (GError) error = NULL;

      g_test_message ("%s", request->name);
      message = mist_test_server_send (fixture->base.server, request->method, request->path,
                                       fixture->base.admin_token, body, &reply, &error);
      g_assert_no_error (error);
      if (soup_message_get_status (message) != request->status)
        g_test_message ("%s: %.*s", request->name, (int) g_bytes_get_size (reply),
                        (const char *) g_bytes_get_data (reply, NULL));
      g_assert_cmpuint (soup_message_get_status (message), ==, request->status);
      check_error (reply, request->code);
    }

  after = snapshot (fixture);
  g_assert_cmpstr (after, ==, before);
}

static guint
put_file (BadInputFixture *fixture, const char *sha256, const void *body, gsize length)
{
  g_autofree char *url = g_strdup_printf ("%s/api/v1/admin/files/%s",
                                          mist_test_server_get_url (fixture->base.server), sha256);
  g_autofree char *authorization = g_strconcat ("Bearer ", fixture->base.admin_token, NULL);
  g_autoptr (SoupMessage) message = soup_message_new ("PUT", url);
  g_autoptr (GBytes) bytes = g_bytes_new (body, length);
  g_autoptr (SoupMessage) sent = NULL;
  g_autoptr (GError) error = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                authorization);
  soup_message_set_request_body_from_bytes (message, "application/zstd", bytes);
  sent = mist_test_server_send_message (fixture->base.server, message, NULL, &error);
  g_assert_no_error (error);
  return soup_message_get_status (sent);
}

static GBytes *
compress (const char *text)
{
  gsize bound = ZSTD_compressBound (strlen (text));
  guint8 *frame = g_malloc (bound);
  size_t length = ZSTD_compress (frame, bound, text, strlen (text), 3);

  g_assert_false (ZSTD_isError (length));
  return g_bytes_new_take (frame, length);
}

static void
test_bad_input_uploads (BadInputFixture *fixture, gconstpointer data)
{
  const char *content = "the real content\n";
  g_autofree char *sha256 = mist_sha256_hex_data (content, strlen (content));
  g_autoptr (GBytes) right = compress (content);
  g_autoptr (GBytes) other = compress ("other content\n");
  g_autoptr (GByteArray) two_frames = g_byte_array_new ();
  g_autofree char *before = snapshot (fixture);
  g_autofree char *after = NULL;
  gsize truncated_length = g_bytes_get_size (right) - 3;

  g_byte_array_append (two_frames, g_bytes_get_data (right, NULL), g_bytes_get_size (right));
  g_byte_array_append (two_frames, g_bytes_get_data (right, NULL), g_bytes_get_size (right));

  g_assert_cmpuint (put_file (fixture, sha256, content, strlen (content)), ==, 422);
  g_assert_cmpuint (put_file (fixture, sha256, g_bytes_get_data (other, NULL),
                              g_bytes_get_size (other)),
                    ==, 422);
  g_assert_cmpuint (put_file (fixture, sha256, two_frames->data, two_frames->len), ==, 422);
  g_assert_cmpuint (put_file (fixture, sha256, g_bytes_get_data (right, NULL), truncated_length),
                    ==, 422);
  g_assert_cmpuint (put_file (fixture, sha256, "", 0), ==, 422);
  after = snapshot (fixture);
  g_assert_cmpstr (after, ==, before);

  /* The right frame is stored once; sending it again changes nothing. */
  g_assert_cmpuint (put_file (fixture, sha256, g_bytes_get_data (right, NULL),
                              g_bytes_get_size (right)),
                    ==, SOUP_STATUS_CREATED);
  g_assert_cmpuint (put_file (fixture, sha256, g_bytes_get_data (right, NULL),
                              g_bytes_get_size (right)),
                    ==, SOUP_STATUS_OK);
}

static void
test_bad_input_body_limits (BadInputFixture *fixture, gconstpointer data)
{
  g_autofree char *huge = g_strnfill (100 * 1024, 'a');
  g_autofree char *body = g_strdup_printf ("{\"username\": \"%s\", \"password\": \"x\"}", huge);
  g_autofree char *before = snapshot (fixture);
  g_autofree char *after = NULL;
  g_autofree char *cover_url = g_strdup_printf ("%s/api/v1/admin/games/target/cover",
                                                mist_test_server_get_url (fixture->base.server));
  g_autofree char *authorization = g_strconcat ("Bearer ", fixture->base.admin_token, NULL);
  g_autoptr (SoupMessage) cover = soup_message_new ("PUT", cover_url);
  g_autoptr (SoupMessage) sent = NULL;
  g_autoptr (GBytes) text = g_bytes_new_static ("not an image", 12);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (send_status (&fixture->base, "POST", "/api/v1/auth/login", NULL, body), ==,
                    SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);

  soup_message_headers_replace (soup_message_get_request_headers (cover), "Authorization",
                                authorization);
  soup_message_set_request_body_from_bytes (cover, "image/png", text);
  sent = mist_test_server_send_message (fixture->base.server, cover, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (sent), ==, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE);

  after = snapshot (fixture);
  g_assert_cmpstr (after, ==, before);
}

/* mistpipe names what it cannot publish and uploads nothing. */
static void
test_bad_input_symlink_in_build (BadInputFixture *fixture, gconstpointer data)
{
  g_autofree char *build = g_build_filename (fixture->base.work_dir, "linked", NULL);
  g_autofree char *bin = g_build_filename (build, "bin", NULL);
  g_autofree char *link = g_build_filename (bin, "game", NULL);
  const char *args[] = { "push", "target", "--version", "2", NULL, NULL };
  g_autofree char *before = snapshot (fixture);
  g_autofree char *after = NULL;
  g_autofree char *errors = NULL;
  g_autoptr (GError) error = NULL;

  write_build_file (build, "data.txt", "data\n", 5, FALSE);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  args[4] = build;
  g_assert_cmpint (mist_test_server_run_mistpipe (fixture->base.server, fixture->base.admin_token,
                                                  args, NULL, NULL, &errors, &error),
                   ==, 1);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (errors, "“bin/game” is a symbolic link"));
  after = snapshot (fixture);
  g_assert_cmpstr (after, ==, before);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, BadInputFixture, NULL, bad_input_setup, function, bad_input_teardown)
  ADD ("/backend/bad-input/requests", test_bad_input_requests);
  ADD ("/backend/bad-input/uploads", test_bad_input_uploads);
  ADD ("/backend/bad-input/body-limits", test_bad_input_body_limits);
  ADD ("/backend/bad-input/symlink-in-build", test_bad_input_symlink_in_build);
#undef ADD

  return g_test_run ();
}
