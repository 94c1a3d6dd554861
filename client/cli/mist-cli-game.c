/* mist-cli-game.c: verify, uninstall, launch
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-cli-private.h"
#include "mist-error.h"
#include "mist-install.h"
#include "mist-launcher.h"

#include <string.h>

static gboolean
check_installed (Cli *cli, const char *game_id, GError **error)
{
  g_autoptr (MistInstalledGame) game = NULL;
  GError *local_error = NULL;

  if (!cli_open_state (cli, error))
    return FALSE;
  game = mist_state_db_get_installed (cli->db, game_id, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (game == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "%s is not installed: `mist-cli games` lists the installed games", game_id);
      return FALSE;
    }
  return TRUE;
}

static void
add_obstruction_json (JsonBuilder *builder, const MistObstruction *obstruction)
{
  static const char *const kinds[] = {
    [MIST_OBSTRUCTION_FOLDER_FOR_FILE] = "folder-for-file",
    [MIST_OBSTRUCTION_FILE_FOR_FOLDER] = "file-for-folder",
    [MIST_OBSTRUCTION_LINK_FOR_FILE] = "link-for-file",
    [MIST_OBSTRUCTION_LINK_FOR_FOLDER] = "link-for-folder",
  };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, obstruction->path);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kinds[obstruction->kind]);
  json_builder_set_member_name (builder, "replaceable");
  json_builder_add_boolean_value (builder, obstruction->replaceable);
  json_builder_end_object (builder);
}

/* Prints what blocks the damaged files, and what the user has to clear before a repair. */
static void
print_obstructions (const char *game_id, GPtrArray *obstructions)
{
  for (guint i = 0; obstructions != NULL && i < obstructions->len; i++)
    {
      const MistObstruction *obstruction = g_ptr_array_index (obstructions, i);
      g_autofree char *description = mist_obstruction_describe (obstruction);

      if (obstruction->replaceable)
        g_print ("%s: %s; the repair replaces it\n", game_id, description);
      else
        g_print ("%s: %s; move or delete it before the repair\n", game_id, description);
    }
}

int
cli_command_verify (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) bad_paths = NULL;
  g_autoptr (GPtrArray) obstructions = NULL;
  gboolean json = FALSE;
  int status = 0;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("verify", "GAME", entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("verify", "expected one game");
  if (!check_installed (cli, argv[1], &error))
    return cli_fail (cli, error);

  mist_install_verify_async (cli->db, argv[1], NULL, NULL, cli->cancellable, cli_on_done,
                             &result);
  bad_paths = mist_install_verify_finish (cli_wait (&result), &obstructions, &error);
  if (bad_paths == NULL)
    return cli_fail (cli, error);

  if (json || cli->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "game");
      json_builder_add_string_value (builder, argv[1]);
      json_builder_set_member_name (builder, "damaged");
      json_builder_begin_array (builder);
      for (guint i = 0; i < bad_paths->len; i++)
        json_builder_add_string_value (builder, g_ptr_array_index (bad_paths, i));
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "obstructions");
      json_builder_begin_array (builder);
      for (guint i = 0; obstructions != NULL && i < obstructions->len; i++)
        add_obstruction_json (builder, g_ptr_array_index (obstructions, i));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else if (bad_paths->len == 0)
    g_print ("%s: every file matches its hash\n", argv[1]);
  else
    {
      g_print ("%s: %u files are missing or changed:\n", argv[1], bad_paths->len);
      for (guint i = 0; i < bad_paths->len; i++)
        g_print ("  %s\n", (const char *) g_ptr_array_index (bad_paths, i));
      print_obstructions (argv[1], obstructions);
      g_print ("Run `mist-cli repair %s` to download them again.\n", argv[1]);
    }
  return bad_paths->len == 0 ? CLI_EXIT_OK : CLI_EXIT_DAMAGED;
}

int
cli_command_uninstall (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) kept = NULL;
  int status = 0;

  if (!cli_parse_options ("uninstall", "GAME", NULL, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("uninstall", "expected one game");
  if (!check_installed (cli, argv[1], &error))
    return cli_fail (cli, error);
  if (mist_launcher_is_running (argv[1]))
    {
      g_printerr ("mist-cli: %s is running: quit it before uninstalling\n", argv[1]);
      return CLI_EXIT_BUSY;
    }

  if (!mist_install_uninstall (cli->db, argv[1], &kept, cli->cancellable, &error))
    return cli_fail (cli, error);
  g_print ("Uninstalled %s\n", argv[1]);
  if (kept != NULL && kept->len > 0)
    g_print ("Kept %u files that Mist did not install (saves, settings, mods)\n", kept->len);
  return CLI_EXIT_OK;
}

/* Launch options saved per game in the state database ("launch-options/GAME"). */
static char *
launch_options_key (const char *game_id)
{
  return g_strconcat ("launch-options/", game_id, NULL);
}

static JsonObject *
load_launch_options (Cli *cli, const char *game_id)
{
  g_autofree char *key = launch_options_key (game_id);
  g_autoptr (MistCatalogEntry) entry = mist_state_db_catalog_get (cli->db, key, NULL);
  g_autoptr (JsonNode) node = NULL;

  if (entry == NULL || (node = json_from_string (entry->json, NULL)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static gboolean
save_launch_options (Cli *cli,
                     const char *game_id,
                     const char *wrapper,
                     char **environment,
                     char **arguments,
                     GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *key = launch_options_key (game_id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "wrapper");
  json_builder_add_string_value (builder, wrapper != NULL ? wrapper : "");
  json_builder_set_member_name (builder, "environment");
  json_builder_begin_array (builder);
  for (guint i = 0; environment != NULL && environment[i] != NULL; i++)
    json_builder_add_string_value (builder, environment[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "arguments");
  json_builder_begin_array (builder);
  for (guint i = 0; arguments != NULL && arguments[i] != NULL; i++)
    json_builder_add_string_value (builder, arguments[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  return mist_state_db_catalog_put (cli->db, key, json, 0, error);
}

static char **
strv_from_member (JsonObject *object, const char *member)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array = object != NULL && json_object_has_member (object, member)
                       ? json_object_get_array_member (object, member)
                       : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      const char *value = json_array_get_string_element (array, i);

      if (value != NULL)
        g_strv_builder_add (builder, value);
    }
  return g_strv_builder_end (builder);
}

static gboolean
parse_environment (char **assignments, GHashTable *environment, GError **error)
{
  for (guint i = 0; assignments != NULL && assignments[i] != NULL; i++)
    {
      const char *equals = strchr (assignments[i], '=');

      if (equals == NULL || equals == assignments[i])
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "Invalid environment setting “%s”: expected NAME=VALUE", assignments[i]);
          return FALSE;
        }
      g_hash_table_insert (environment, g_strndup (assignments[i], equals - assignments[i]),
                           g_strdup (equals + 1));
    }
  return TRUE;
}

int
cli_command_launch (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonObject) saved = NULL;
  g_autoptr (GHashTable) environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                              g_free);
  g_auto (GStrv) saved_environment = NULL;
  g_auto (GStrv) saved_arguments = NULL;
  g_auto (GStrv) env_options = NULL;
  g_auto (GStrv) arguments = NULL;
  g_autofree char *wrapper = NULL;
  g_autofree char *log_path = NULL;
  gboolean save = FALSE;
  MistLaunchOptions options = { 0 };
  int wait_status = 0;
  int status = 0;
  GOptionEntry entries[] = {
    { "wrapper", 0, 0, G_OPTION_ARG_STRING, &wrapper,
      "Run the game through this command; %command% stands for the game's command line",
      "COMMAND" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &env_options,
      "Set an environment variable for the game (repeatable)", "NAME=VALUE" },
    { "save", 0, 0, G_OPTION_ARG_NONE, &save,
      "Remember --wrapper, --env and the arguments for the next launches", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &arguments, NULL, NULL },
    { NULL },
  };

  if (!cli_parse_options ("launch", "GAME [-- ARGS]", entries, &argc, &argv, &status))
    return status;
  if (arguments == NULL || arguments[0] == NULL)
    return cli_usage_error ("launch", "expected one game");
  if (!check_installed (cli, arguments[0], &error))
    return cli_fail (cli, error);

  saved = load_launch_options (cli, arguments[0]);
  if (save && !save_launch_options (cli, arguments[0], wrapper, env_options, arguments + 1,
                                    &error))
    return cli_fail (cli, error);
  if (!save && saved != NULL)
    {
      /* Options given now replace the saved ones. */
      if (wrapper == NULL)
        wrapper = g_strdup (json_object_get_string_member_with_default (saved, "wrapper", ""));
      saved_environment = strv_from_member (saved, "environment");
      if (arguments[1] == NULL)
        saved_arguments = strv_from_member (saved, "arguments");
    }
  if (!parse_environment (saved_environment, environment, &error) ||
      !parse_environment (env_options, environment, &error))
    return cli_fail (cli, error);

  options.extra_arguments = (const char *const *) (saved_arguments != NULL ? saved_arguments
                                                                           : arguments + 1);
  options.extra_environment = environment;
  options.wrapper = wrapper;
  log_path = mist_launcher_get_log_path (arguments[0]);
  g_printerr ("Launching %s (output in %s)\n", arguments[0], log_path);

  mist_launcher_run_async (cli->db, arguments[0], &options, cli->cancellable, cli_on_done,
                           &result);
  if (!mist_launcher_run_finish (cli_wait (&result), &wait_status, &error))
    return cli_fail (cli, error);
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  g_printerr ("mist-cli: %s ended by signal %d\n", arguments[0], WTERMSIG (wait_status));
  return CLI_EXIT_FAILED;
}
