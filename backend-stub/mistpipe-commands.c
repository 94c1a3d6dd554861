/* mistpipe-commands.c: login, users, games, patch sets and launch configurations
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mistpipe-commands.h"
#include "mist-config.h"
#include "mist-error.h"

#include <stdio.h>
#include <string.h>

gboolean
mistpipe_parse_options (const char *command,
                        const GOptionEntry *entries,
                        int argc,
                        char **argv,
                        GStrv *rest)
{
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) copy = g_new0 (char *, argc + 1);

  for (int i = 0; i < argc; i++)
    copy[i] = g_strdup (argv[i]);
  g_option_context_set_help_enabled (context, TRUE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse_strv (context, &copy, &error))
    {
      g_printerr ("mistpipe %s: %s\nRun “mistpipe --help” for the commands.\n", command,
                  error->message);
      return FALSE;
    }
  *rest = g_strdupv (copy + 1);
  return TRUE;
}

int
mistpipe_fail (const GError *error)
{
  g_printerr ("mistpipe: %s\n", error->message);
  return 1;
}

static int
usage_error (const char *message)
{
  g_printerr ("mistpipe: %s\nRun “mistpipe --help” for the commands.\n", message);
  return 2;
}

static JsonNode *
node_from_builder (JsonBuilder *builder)
{
  return json_builder_get_root (builder);
}

/* Sessions */

int
mistpipe_command_login (Mistpipe *pipe, int argc, char **argv)
{
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonNode) reply = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  JsonObject *object;
  const char *token;

  if (!mistpipe_parse_options ("login", NULL, argc, argv, &rest))
    return 2;
  if (pipe->server == NULL)
    return usage_error ("No server given: pass --server URL");
  if (rest[0] != NULL)
    username = g_strdup (rest[0]);
  else
    {
      fprintf (stderr, "User name: ");
      fflush (stderr);
      username = g_malloc0 (256);
      if (fgets (username, 256, stdin) == NULL)
        return usage_error ("No user name given");
      g_strstrip (username);
    }
  password = mistpipe_read_password ("Password: ", FALSE, &error);
  if (password == NULL)
    return mistpipe_fail (error);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = node_from_builder (builder);
  g_clear_pointer (&pipe->token, g_free);
  if (!mistpipe_call (pipe, "POST", "/api/v1/auth/login", body, &reply, &error))
    return mistpipe_fail (error);

  object = json_node_get_object (reply);
  token = json_object_get_string_member (object, "token");
  if (!mistpipe_save_session (pipe->server, token, &error))
    return mistpipe_fail (error);
  printf ("Logged in to %s as %s (session until %s)\n", pipe->server, username,
          json_object_get_string_member_with_default (object, "expires_at", "?"));
  return 0;
}

int
mistpipe_command_logout (Mistpipe *pipe, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (pipe->server != NULL && pipe->token != NULL &&
      !mistpipe_call (pipe, "POST", "/api/v1/auth/logout", NULL, NULL, &error))
    g_printerr ("mistpipe: the server did not revoke the token: %s\n", error->message);
  g_clear_error (&error);
  if (!mistpipe_forget_session (&error))
    return mistpipe_fail (error);
  printf ("Logged out\n");
  return 0;
}

/* Users */

static int
user_list (Mistpipe *pipe)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = NULL;
  JsonArray *users;

  if (!mistpipe_call (pipe, "GET", "/api/v1/admin/users", NULL, &reply, &error))
    return mistpipe_fail (error);
  users = json_object_get_array_member (json_node_get_object (reply), "users");
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);

      printf ("%s%s%s\n", json_object_get_string_member (user, "name"),
              json_object_get_boolean_member (user, "is_admin") ? " (admin)" : "",
              json_object_get_boolean_member (user, "disabled") ? " (disabled)" : "");
    }
  return 0;
}

int
mistpipe_command_user (Mistpipe *pipe, int argc, char **argv)
{
  gboolean admin = FALSE;
  const GOptionEntry entries[] = {
    { "admin", 0, 0, G_OPTION_ARG_NONE, &admin, "Make the new account an admin", NULL },
    { NULL },
  };
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *password = NULL;
  g_autofree char *path = NULL;
  const char *action;
  const char *name;

  if (!mistpipe_parse_options ("user", entries, argc, argv, &rest))
    return 2;
  if (!mistpipe_require_login (pipe, &error))
    return mistpipe_fail (error);
  action = rest[0];
  if (action == NULL)
    return usage_error ("“user” needs a command: add, list, disable, enable, passwd, "
                        "grant-admin or revoke-admin");
  if (strcmp (action, "list") == 0)
    return user_list (pipe);
  name = rest[1];
  if (name == NULL)
    return usage_error ("This user command needs a user name");

  json_builder_begin_object (builder);
  if (strcmp (action, "add") == 0 || strcmp (action, "passwd") == 0)
    {
      password = mistpipe_read_password ("Password: ", TRUE, &error);
      if (password == NULL)
        return mistpipe_fail (error);
      json_builder_set_member_name (builder, "password");
      json_builder_add_string_value (builder, password);
    }
  if (strcmp (action, "add") == 0)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
      json_builder_set_member_name (builder, "is_admin");
      json_builder_add_boolean_value (builder, admin);
    }
  else if (strcmp (action, "disable") == 0 || strcmp (action, "enable") == 0)
    {
      json_builder_set_member_name (builder, "disabled");
      json_builder_add_boolean_value (builder, strcmp (action, "disable") == 0);
    }
  else if (strcmp (action, "grant-admin") == 0 || strcmp (action, "revoke-admin") == 0)
    {
      json_builder_set_member_name (builder, "is_admin");
      json_builder_add_boolean_value (builder, strcmp (action, "grant-admin") == 0);
    }
  else if (strcmp (action, "passwd") != 0)
    return usage_error ("Unknown user command");
  json_builder_end_object (builder);
  body = node_from_builder (builder);

  if (strcmp (action, "add") == 0)
    {
      if (!mistpipe_call (pipe, "POST", "/api/v1/admin/users", body, NULL, &error))
        return mistpipe_fail (error);
      printf ("Created %s“%s”\n", admin ? "the admin " : "the user ", name);
      return 0;
    }
  path = g_strdup_printf ("/api/v1/admin/users/%s", name);
  if (!mistpipe_call (pipe, "PATCH", path, body, NULL, &error))
    return mistpipe_fail (error);
  printf ("Changed the user “%s”\n", name);
  return 0;
}

/* Games */

static int
game_list (Mistpipe *pipe)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = NULL;
  JsonArray *games;

  if (!mistpipe_call (pipe, "GET", "/api/v1/games", NULL, &reply, &error))
    return mistpipe_fail (error);
  games = json_object_get_array_member (json_node_get_object (reply), "games");
  for (guint i = 0; i < json_array_get_length (games); i++)
    {
      JsonObject *game = json_array_get_object_element (games, i);
      JsonNode *latest = json_object_get_member (game, "latest_version");

      printf ("%-24s %-8s %s%s%s%s\n", json_object_get_string_member (game, "slug"),
              json_object_get_string_member (game, "visibility"),
              json_object_get_string_member (game, "title"),
              JSON_NODE_HOLDS_OBJECT (latest) ? " (version " : "",
              JSON_NODE_HOLDS_OBJECT (latest)
                ? json_object_get_string_member (json_node_get_object (latest), "name")
                : "",
              JSON_NODE_HOLDS_OBJECT (latest) ? ")" : "");
    }
  return 0;
}

static gboolean
upload_cover (Mistpipe *pipe, const char *slug, const char *cover, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/admin/games/%s/cover", slug);
  g_autoptr (GMappedFile) file = g_mapped_file_new (cover, FALSE, error);
  g_autoptr (GBytes) bytes = NULL;

  if (file == NULL)
    {
      g_prefix_error (error, "Cannot read the cover: ");
      return FALSE;
    }
  bytes = g_mapped_file_get_bytes (file);
  return mistpipe_call_bytes (pipe, "PUT", path, "application/octet-stream", bytes, NULL, error);
}

int
mistpipe_command_game (Mistpipe *pipe, int argc, char **argv)
{
  g_autofree char *title = NULL;
  g_autofree char *description = NULL;
  g_autofree char *cover = NULL;
  gboolean make_public = FALSE;
  gboolean make_private = FALSE;
  const GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "Title shown in the launcher", "TITLE" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description, "Description", "TEXT" },
    { "cover", 0, 0, G_OPTION_ARG_FILENAME, &cover, "Cover image (PNG, JPEG or WebP)", "FILE" },
    { "public", 0, 0, G_OPTION_ARG_NONE, &make_public, "Show the game to every user", NULL },
    { "private", 0, 0, G_OPTION_ARG_NONE, &make_private, "Show the game to admins only (the "
      "default for new games)", NULL },
    { NULL },
  };
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *path = NULL;
  const char *action;
  const char *slug;
  gboolean create;

  if (!mistpipe_parse_options ("game", entries, argc, argv, &rest))
    return 2;
  if (!mistpipe_require_login (pipe, &error))
    return mistpipe_fail (error);
  action = rest[0];
  if (action != NULL && strcmp (action, "list") == 0)
    return game_list (pipe);
  if (action == NULL || (strcmp (action, "create") != 0 && strcmp (action, "edit") != 0))
    return usage_error ("“game” needs a command: create, edit or list");
  slug = rest[1];
  if (slug == NULL)
    return usage_error ("“game create” and “game edit” need the game's slug");
  if (make_public && make_private)
    return usage_error ("Pass --public or --private, not both");
  create = strcmp (action, "create") == 0;
  if (create && title == NULL)
    return usage_error ("“game create” needs --title");

  json_builder_begin_object (builder);
  if (create)
    {
      json_builder_set_member_name (builder, "slug");
      json_builder_add_string_value (builder, slug);
    }
  if (title != NULL)
    {
      json_builder_set_member_name (builder, "title");
      json_builder_add_string_value (builder, title);
    }
  if (description != NULL)
    {
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, description);
    }
  if (make_public || make_private)
    {
      json_builder_set_member_name (builder, "visibility");
      json_builder_add_string_value (builder, make_public ? "public" : "private");
    }
  json_builder_end_object (builder);
  body = node_from_builder (builder);

  path = create ? g_strdup ("/api/v1/admin/games")
                : g_strdup_printf ("/api/v1/admin/games/%s", slug);
  if (!mistpipe_call (pipe, create ? "POST" : "PATCH", path, body, NULL, &error))
    return mistpipe_fail (error);
  if (cover != NULL && !upload_cover (pipe, slug, cover, &error))
    return mistpipe_fail (error);
  printf ("%s the game “%s”\n", create ? "Created" : "Changed", slug);
  return 0;
}

/* Patch sets */

int
mistpipe_command_patches (Mistpipe *pipe, int argc, char **argv)
{
  g_autofree char *retry = NULL;
  const GOptionEntry entries[] = {
    { "retry", 0, 0, G_OPTION_ARG_STRING, &retry, "Build the patch set FROM:TO again", "FROM:TO" },
    { NULL },
  };
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = NULL;
  g_autofree char *path = NULL;
  JsonArray *patches;

  if (!mistpipe_parse_options ("patches", entries, argc, argv, &rest))
    return 2;
  if (!mistpipe_require_login (pipe, &error))
    return mistpipe_fail (error);
  if (rest[0] == NULL)
    return usage_error ("“patches” needs the game's slug");

  if (retry != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (retry, ":", 2);
      g_autofree char *retry_path = NULL;

      if (g_strv_length (parts) != 2)
        return usage_error ("--retry takes FROM:TO, such as 2:3");
      retry_path = g_strdup_printf ("/api/v1/admin/games/%s/patches/%s/%s/retry", rest[0],
                                    parts[0], parts[1]);
      if (!mistpipe_call (pipe, "POST", retry_path, NULL, NULL, &error))
        return mistpipe_fail (error);
      printf ("Queued the patch set %s→%s again\n", parts[0], parts[1]);
    }

  path = g_strdup_printf ("/api/v1/games/%s/patches", rest[0]);
  if (!mistpipe_call (pipe, "GET", path, NULL, &reply, &error))
    return mistpipe_fail (error);
  patches = json_object_get_array_member (json_node_get_object (reply), "patches");
  if (json_array_get_length (patches) == 0)
    printf ("No patch sets: push a second version first\n");
  for (guint i = 0; i < json_array_get_length (patches); i++)
    {
      JsonObject *set = json_array_get_object_element (patches, i);
      const char *state = json_object_get_string_member (set, "state");
      g_autofree char *full = mistpipe_format_size (
        (guint64) json_object_get_int_member (set, "full_download_size"));

      printf ("%3" G_GINT64_FORMAT " → %-3" G_GINT64_FORMAT " %-8s",
              json_object_get_int_member (set, "from"), json_object_get_int_member (set, "to"),
              state);
      if (strcmp (state, "ready") == 0)
        {
          g_autofree char *size = mistpipe_format_size (
            (guint64) json_object_get_int_member (set, "download_size"));

          gint64 n_deltas = json_object_get_int_member (set, "delta_count");

          printf (g_dngettext (GETTEXT_PACKAGE, " %" G_GINT64_FORMAT " delta, %s to download (full: %s)",
                               " %" G_GINT64_FORMAT " deltas, %s to download (full: %s)",
                               (gulong) n_deltas),
                  n_deltas, size, full);
        }
      else if (strcmp (state, "failed") == 0)
        printf (" %s", json_object_get_string_member_with_default (set, "error", ""));
      printf ("\n");
    }
  return 0;
}

/* Launch configuration */

int
mistpipe_command_launch_config (Mistpipe *pipe, int argc, char **argv)
{
  g_autofree char *executable = NULL;
  g_autofree char *workdir = NULL;
  g_auto (GStrv) arguments = NULL;
  g_auto (GStrv) environment = NULL;
  const GOptionEntry entries[] = {
    { "executable", 0, 0, G_OPTION_ARG_STRING, &executable,
      "File to run, relative to the install folder", "PATH" },
    { "arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &arguments, "An argument (repeat for more)",
      "ARG" },
    { "workdir", 0, 0, G_OPTION_ARG_STRING, &workdir,
      "Working folder, relative to the install folder (default: the install folder)", "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &environment,
      "An environment variable (repeat for more)", "NAME=VALUE" },
    { NULL },
  };
  g_auto (GStrv) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *path = NULL;

  if (!mistpipe_parse_options ("launch-config", entries, argc, argv, &rest))
    return 2;
  if (!mistpipe_require_login (pipe, &error))
    return mistpipe_fail (error);
  if (rest[0] == NULL || executable == NULL)
    return usage_error ("“launch-config” needs the game's slug and --executable");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "executable");
  json_builder_add_string_value (builder, executable);
  json_builder_set_member_name (builder, "arguments");
  json_builder_begin_array (builder);
  for (guint i = 0; arguments != NULL && arguments[i] != NULL; i++)
    json_builder_add_string_value (builder, arguments[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "working_directory");
  json_builder_add_string_value (builder, workdir != NULL ? workdir : "");
  json_builder_set_member_name (builder, "environment");
  json_builder_begin_object (builder);
  for (guint i = 0; environment != NULL && environment[i] != NULL; i++)
    {
      const char *equals = strchr (environment[i], '=');
      g_autofree char *name = NULL;

      if (equals == NULL || equals == environment[i])
        return usage_error ("--env takes NAME=VALUE");
      name = g_strndup (environment[i], (gsize) (equals - environment[i]));
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, equals + 1);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  body = node_from_builder (builder);

  path = g_strdup_printf ("/api/v1/admin/games/%s/launch", rest[0]);
  if (!mistpipe_call (pipe, "PUT", path, body, NULL, &error))
    return mistpipe_fail (error);
  printf ("Set the launch configuration of “%s”\n", rest[0]);
  return 0;
}
