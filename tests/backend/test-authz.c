/* test-authz.c: every route for {anonymous, user, admin} × {public game, private game}
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "backend-test-util.h"

#include <string.h>

/* A 1×1 PNG. */
static const guint8 cover_png[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
  0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
  0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
  0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

typedef enum
{
  ROLE_ANONYMOUS,
  ROLE_USER,
  ROLE_ADMIN,
  N_ROLES,
} Role;

static const char *const role_names[] = { "anonymous", "user", "admin" };

typedef struct
{
  const char *slug;
  char *file_object;  /* object of a file of version 1 */
  char *delta_object; /* object of a delta of the patch set 1→2 */
} Game;

typedef struct
{
  BackendFixture base;
  Game games[2]; /* public, private */
} AuthzFixture;

static void
publish_game (AuthzFixture *fixture, Game *game, gboolean is_public, guint32 seed)
{
  BackendFixture *base = &fixture->base;
  g_autofree char *v1 = g_build_filename (base->work_dir, game->slug, "v1", NULL);
  g_autofree char *v2 = g_build_filename (base->work_dir, game->slug, "v2", NULL);
  g_autofree char *manifest_path = NULL;
  g_autofree char *patch_path = NULL;
  g_autofree char *cover_url = NULL;
  g_autofree char *authorization = g_strconcat ("Bearer ", fixture->base.admin_token, NULL);
  g_autoptr (GBytes) first = text_bytes (4000, seed);
  g_autoptr (GBytes) second = text_bytes (4000, seed + 1);
  g_autoptr (GBytes) cover = g_bytes_new_static (cover_png, sizeof cover_png);
  g_autoptr (JsonNode) manifest = NULL;
  g_autoptr (JsonNode) patch_set = NULL;
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *deltas;

  write_build_file (v1, "data.txt", g_bytes_get_data (first, NULL), g_bytes_get_size (first),
                    FALSE);
  write_build_file (v2, "data.txt", g_bytes_get_data (second, NULL), g_bytes_get_size (second),
                    FALSE);
  create_game (base, game->slug, is_public);
  push_build (base, game->slug, "1", v1);
  push_build (base, game->slug, "2", v2);
  mist_test_server_wait_for_patches (base->server, base->admin_token, game->slug, 120, &error);
  g_assert_no_error (error);

  cover_url = g_strdup_printf ("%s/api/v1/admin/games/%s/cover",
                               mist_test_server_get_url (base->server), game->slug);
  message = soup_message_new ("PUT", cover_url);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                authorization);
  soup_message_set_request_body_from_bytes (message, "image/png", cover);
  g_object_unref (mist_test_server_send_message (base->server, message, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);

  manifest_path = g_strdup_printf ("/api/v1/games/%s/versions/1/manifest", game->slug);
  manifest = get_json (base, base->admin_token, manifest_path, SOUP_STATUS_OK);
  game->file_object = g_strdup (manifest_object_id (manifest, "data.txt"));
  patch_path = g_strdup_printf ("/api/v1/games/%s/patches/1/2", game->slug);
  patch_set = get_json (base, base->admin_token, patch_path, SOUP_STATUS_OK);
  deltas = json_object_get_array_member (json_node_get_object (patch_set), "deltas");
  g_assert_cmpuint (json_array_get_length (deltas), ==, 1);
  game->delta_object = g_strdup (json_object_get_string_member (
    json_object_get_object_member (json_array_get_object_element (deltas, 0), "object"), "id"));
}

static void
authz_setup (AuthzFixture *fixture, gconstpointer data)
{
  backend_fixture_setup (&fixture->base, NULL);
  fixture->games[0].slug = "open-game";
  fixture->games[1].slug = "secret-game";
  /* Different seeds: no object may be shared, or the private one would be public. */
  publish_game (fixture, &fixture->games[0], TRUE, 100);
  publish_game (fixture, &fixture->games[1], FALSE, 200);
}

static void
authz_teardown (AuthzFixture *fixture, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (fixture->games); i++)
    {
      g_free (fixture->games[i].file_object);
      g_free (fixture->games[i].delta_object);
    }
  backend_fixture_teardown (&fixture->base);
}

static const char *
token_for (AuthzFixture *fixture, Role role)
{
  switch (role)
    {
    case ROLE_USER:
      return fixture->base.user_token;
    case ROLE_ADMIN:
      return fixture->base.admin_token;
    default:
      return NULL;
    }
}

static void
check_route (AuthzFixture *fixture, Role role, const char *method, const char *path,
             const char *body, guint expected)
{
  guint status = send_status (&fixture->base, method, path, token_for (fixture, role), body);

  if (status != expected)
    g_test_message ("%s %s as %s: expected %u, got %u", method, path, role_names[role], expected,
                    status);
  g_assert_cmpuint (status, ==, expected);
}

/* Routes under a game: anonymous 401; a user can read a public game, and a private one is
 * 404 as if it did not exist; an admin reads both. */
static void
test_authz_game_read_routes (AuthzFixture *fixture, gconstpointer data)
{
  for (guint g = 0; g < G_N_ELEMENTS (fixture->games); g++)
    {
      const Game *game = &fixture->games[g];
      gboolean is_public = g == 0;
      g_autofree char *file = g_strdup_printf ("/api/v1/content/objects/%.2s/%s",
                                               game->file_object, game->file_object);
      g_autofree char *delta = g_strdup_printf ("/api/v1/content/objects/%.2s/%s",
                                                game->delta_object, game->delta_object);
      g_autofree char *detail = g_strdup_printf ("/api/v1/games/%s", game->slug);
      g_autofree char *cover = g_strdup_printf ("/api/v1/games/%s/cover", game->slug);
      g_autofree char *version = g_strdup_printf ("/api/v1/games/%s/versions/1", game->slug);
      g_autofree char *manifest = g_strdup_printf ("/api/v1/games/%s/versions/2/manifest",
                                                   game->slug);
      g_autofree char *patches = g_strdup_printf ("/api/v1/games/%s/patches", game->slug);
      g_autofree char *patch_set = g_strdup_printf ("/api/v1/games/%s/patches/1/2", game->slug);
      const struct
      {
        const char *method;
        const char *path;
      } routes[] = {
        { "GET", detail },   { "GET", cover },     { "GET", version },
        { "GET", manifest }, { "GET", patches },   { "GET", patch_set },
        { "GET", file },     { "HEAD", file },     { "GET", delta },
      };

      for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
        {
          check_route (fixture, ROLE_ANONYMOUS, routes[r].method, routes[r].path, NULL,
                       SOUP_STATUS_UNAUTHORIZED);
          check_route (fixture, ROLE_USER, routes[r].method, routes[r].path, NULL,
                       is_public ? SOUP_STATUS_OK : SOUP_STATUS_NOT_FOUND);
          check_route (fixture, ROLE_ADMIN, routes[r].method, routes[r].path, NULL,
                       SOUP_STATUS_OK);
        }
    }
}

/* Admin routes under a game: anonymous 401, user 403 (also for a private game, since the
 * role is checked before the game), admin succeeds. */
static void
test_authz_game_admin_routes (AuthzFixture *fixture, gconstpointer data)
{
  for (guint g = 0; g < G_N_ELEMENTS (fixture->games); g++)
    {
      const Game *game = &fixture->games[g];
      g_autofree char *edit = g_strdup_printf ("/api/v1/admin/games/%s", game->slug);
      g_autofree char *launch = g_strdup_printf ("/api/v1/admin/games/%s/launch", game->slug);
      g_autofree char *cover = g_strdup_printf ("/api/v1/admin/games/%s/cover", game->slug);
      g_autofree char *versions = g_strdup_printf ("/api/v1/admin/games/%s/versions",
                                                   game->slug);
      g_autofree char *retry = g_strdup_printf ("/api/v1/admin/games/%s/patches/1/2/retry",
                                                game->slug);
      const struct
      {
        const char *method;
        const char *path;
        const char *body;
        guint admin_status;
      } routes[] = {
        { "PATCH", edit, "{\"description\": \"Edited\"}", SOUP_STATUS_OK },
        { "PUT", launch, "{\"executable\": \"data.txt\"}", SOUP_STATUS_OK },
        /* The version names exist already: the admin gets a conflict, not a new version. */
        { "POST", versions, "{\"name\": \"1\", \"manifest\": {\"format\": 1, \"files\": []}}",
          SOUP_STATUS_CONFLICT },
        { "POST", retry, NULL, SOUP_STATUS_ACCEPTED },
        { "DELETE", cover, NULL, SOUP_STATUS_NO_CONTENT },
      };

      for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
        {
          check_route (fixture, ROLE_ANONYMOUS, routes[r].method, routes[r].path, routes[r].body,
                       SOUP_STATUS_UNAUTHORIZED);
          check_route (fixture, ROLE_USER, routes[r].method, routes[r].path, routes[r].body,
                       SOUP_STATUS_FORBIDDEN);
          check_route (fixture, ROLE_ADMIN, routes[r].method, routes[r].path, routes[r].body,
                       routes[r].admin_status);
        }
    }
}

static void
test_authz_global_routes (AuthzFixture *fixture, gconstpointer data)
{
  static const char *const hash =
    "0000000000000000000000000000000000000000000000000000000000000000";
  g_autofree char *file = g_strdup_printf ("/api/v1/admin/files/%s", hash);
  g_autofree char *missing = g_strdup_printf ("{\"sha256\": [\"%s\"]}", hash);
  const struct
  {
    const char *method;
    const char *path;
    const char *body;
    guint statuses[N_ROLES];
  } routes[] = {
    { "GET", "/api/v1/server", NULL, { 200, 200, 200 } },
    { "GET", "/api/v1/me", NULL, { 401, 200, 200 } },
    { "GET", "/api/v1/games", NULL, { 401, 200, 200 } },
    { "GET", "/api/v1/admin/users", NULL, { 401, 403, 200 } },
    { "POST", "/api/v1/admin/users", "{\"name\": \"x\"}", { 401, 403, 400 } },
    { "PATCH", "/api/v1/admin/users/" MIST_TEST_USER_NAME, "{}", { 401, 403, 200 } },
    { "POST", "/api/v1/admin/games", "{\"slug\": \"open-game\", \"title\": \"T\"}",
      { 401, 403, 409 } },
    { "POST", "/api/v1/admin/files/missing", missing, { 401, 403, 200 } },
    /* Not a zstd frame of the content with that hash: rejected, and only admins get
     * that far. */
    { "PUT", file, "{}", { 401, 403, 422 } },
    { "GET", "/api/v1/games/no-such-game", NULL, { 401, 404, 404 } },
    { "GET", "/api/v1/no-such-route", NULL, { 404, 404, 404 } },
    { "DELETE", "/api/v1/games", NULL, { 405, 405, 405 } },
  };

  for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
    for (Role role = 0; role < N_ROLES; role++)
      check_route (fixture, role, routes[r].method, routes[r].path, routes[r].body,
                   routes[r].statuses[role]);
}

static gboolean
list_has (JsonNode *list, const char *slug)
{
  JsonArray *games = json_object_get_array_member (json_node_get_object (list), "games");

  for (guint i = 0; i < json_array_get_length (games); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (games, i), "slug"),
                slug) == 0)
      return TRUE;
  return FALSE;
}

static void
test_authz_game_list (AuthzFixture *fixture, gconstpointer data)
{
  g_autoptr (JsonNode) user = get_json (&fixture->base, fixture->base.user_token,
                                        "/api/v1/games", SOUP_STATUS_OK);
  g_autoptr (JsonNode) admin = get_json (&fixture->base, fixture->base.admin_token,
                                         "/api/v1/games", SOUP_STATUS_OK);

  g_assert_true (list_has (user, "open-game"));
  g_assert_false (list_has (user, "secret-game"));
  g_assert_true (list_has (admin, "open-game"));
  g_assert_true (list_has (admin, "secret-game"));
}

/* Making a game private hides its objects at once, and public shows them again. */
static void
test_authz_visibility_change (AuthzFixture *fixture, gconstpointer data)
{
  const Game *game = &fixture->games[0];
  g_autofree char *file = g_strdup_printf ("/api/v1/content/objects/%.2s/%s", game->file_object,
                                           game->file_object);

  check_route (fixture, ROLE_ADMIN, "PATCH", "/api/v1/admin/games/open-game",
               "{\"visibility\": \"private\"}", SOUP_STATUS_OK);
  check_route (fixture, ROLE_USER, "GET", file, NULL, SOUP_STATUS_NOT_FOUND);
  check_route (fixture, ROLE_USER, "GET", "/api/v1/games/open-game", NULL, SOUP_STATUS_NOT_FOUND);
  check_route (fixture, ROLE_ADMIN, "PATCH", "/api/v1/admin/games/open-game",
               "{\"visibility\": \"public\"}", SOUP_STATUS_OK);
  check_route (fixture, ROLE_USER, "GET", file, NULL, SOUP_STATUS_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, AuthzFixture, NULL, authz_setup, function, authz_teardown)
  ADD ("/backend/authz/game-read-routes", test_authz_game_read_routes);
  ADD ("/backend/authz/game-admin-routes", test_authz_game_admin_routes);
  ADD ("/backend/authz/global-routes", test_authz_global_routes);
  ADD ("/backend/authz/game-list", test_authz_game_list);
  ADD ("/backend/authz/visibility-change", test_authz_visibility_change);
#undef ADD

  return g_test_run ();
}
