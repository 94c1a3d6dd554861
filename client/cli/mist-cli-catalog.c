/* mist-cli-catalog.c: games, info, plan
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-cli-private.h"
#include "mist-error.h"

/* Installed games by game id (MistInstalledGame, owned by the table). */
static GHashTable *
list_installed (Cli *cli, GError **error)
{
  g_autoptr (GHashTable) table = NULL;
  g_autoptr (GPtrArray) installed = NULL;

  if (!cli_open_state (cli, error))
    return NULL;
  installed = mist_state_db_list_installed (cli->db, error);
  if (installed == NULL)
    return NULL;

  table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                 (GDestroyNotify) mist_installed_game_free);
  for (guint i = 0; i < installed->len; i++)
    {
      MistInstalledGame *game = mist_installed_game_copy (g_ptr_array_index (installed, i));

      g_hash_table_insert (table, game->game_id, game);
    }
  return g_steal_pointer (&table);
}

static void
add_version_json (JsonBuilder *builder, const MistVersionEntry *version)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "ordinal");
  json_builder_add_int_value (builder, version->ordinal);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, version->name);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_string_value (builder, version->created_at);
  json_builder_set_member_name (builder, "installed_size");
  json_builder_add_int_value (builder, (gint64) version->installed_size);
  json_builder_set_member_name (builder, "download_size");
  json_builder_add_int_value (builder, (gint64) version->download_size);
  json_builder_end_object (builder);
}

static void
add_game_json (JsonBuilder *builder, const MistGameEntry *game, const MistInstalledGame *installed)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "slug");
  json_builder_add_string_value (builder, game->slug);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, game->title);
  json_builder_set_member_name (builder, "latest_version");
  if (game->latest != NULL)
    add_version_json (builder, game->latest);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "installed_version");
  if (installed != NULL)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "ordinal");
      json_builder_add_int_value (builder, installed->version_ordinal);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, installed->version_name);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, installed->install_path);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "update_available");
  json_builder_add_boolean_value (builder, installed != NULL && game->latest != NULL &&
                                             game->latest->ordinal != installed->version_ordinal);
  json_builder_end_object (builder);
}

int
cli_command_games (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) games = NULL;
  g_autoptr (GHashTable) installed = NULL;
  gboolean json = FALSE;
  int status = 0;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("games", NULL, entries, &argc, &argv, &status))
    return status;
  if (!cli_connect (cli, TRUE, &error))
    return cli_fail (cli, error);

  mist_client_list_games_async (cli->client, cli->cancellable, cli_on_done, &result);
  games = mist_client_list_games_finish (cli->client, cli_wait (&result), &error);
  if (games == NULL)
    return cli_fail (cli, error);
  installed = list_installed (cli, &error);
  if (installed == NULL)
    return cli_fail (cli, error);

  if (json || cli->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < games->len; i++)
        {
          MistGameEntry *game = g_ptr_array_index (games, i);

          add_game_json (builder, game, g_hash_table_lookup (installed, game->slug));
        }
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  if (games->len == 0)
    g_print ("The server has no games for this account.\n");
  for (guint i = 0; i < games->len; i++)
    {
      MistGameEntry *game = g_ptr_array_index (games, i);
      MistInstalledGame *local = g_hash_table_lookup (installed, game->slug);
      const char *latest = game->latest != NULL ? game->latest->name : "no version";
      g_autofree char *state = NULL;

      if (local == NULL)
        state = g_strdup ("not installed");
      else if (game->latest != NULL && game->latest->ordinal != local->version_ordinal)
        state = g_strdup_printf ("installed %s, update to %s available", local->version_name,
                                 latest);
      else
        state = g_strdup_printf ("installed %s, up to date", local->version_name);
      g_print ("%-20s %-30s %-12s %s\n", game->slug, game->title, latest, state);
    }
  return CLI_EXIT_OK;
}

int
cli_command_info (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MistGameEntry) game = NULL;
  g_autoptr (GHashTable) installed = NULL;
  MistInstalledGame *local;
  gboolean json = FALSE;
  int status = 0;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("info", "GAME", entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("info", "expected one game");
  if (!cli_connect (cli, TRUE, &error))
    return cli_fail (cli, error);

  mist_client_get_game_async (cli->client, argv[1], cli->cancellable, cli_on_done, &result);
  game = mist_client_get_game_finish (cli->client, cli_wait (&result), &error);
  if (game == NULL)
    return cli_fail (cli, error);
  installed = list_installed (cli, &error);
  if (installed == NULL)
    return cli_fail (cli, error);
  local = g_hash_table_lookup (installed, game->slug);

  if (json || cli->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;

      add_game_json (builder, game, local);
      root = json_builder_get_root (builder);
      json_object_set_string_member (json_node_get_object (root), "description",
                                     game->description);
      {
        JsonArray *versions = json_array_new ();

        for (guint i = 0; i < game->versions->len; i++)
          {
            g_autoptr (JsonBuilder) version_builder = json_builder_new ();

            add_version_json (version_builder, g_ptr_array_index (game->versions, i));
            json_array_add_element (versions, json_builder_get_root (version_builder));
          }
        json_object_set_array_member (json_node_get_object (root), "versions", versions);
      }
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  g_print ("%s (%s)%s\n", game->title, game->slug, game->is_private ? ", private" : "");
  if (game->description[0] != '\0')
    g_print ("%s\n", game->description);
  if (local != NULL)
    g_print ("Installed: %s in %s\n", local->version_name, local->install_path);
  else
    g_print ("Not installed\n");
  g_print ("Versions:\n");
  for (guint i = 0; i < game->versions->len; i++)
    {
      MistVersionEntry *version = g_ptr_array_index (game->versions, i);
      g_autofree char *download = cli_format_size (version->download_size);
      g_autofree char *size = cli_format_size (version->installed_size);

      g_print ("  %3" G_GINT64_FORMAT "  %-12s %s  download %s, installed %s\n",
               version->ordinal, version->name,
               version->created_at != NULL ? version->created_at : "", download, size);
    }
  return CLI_EXIT_OK;
}

static const char *
route_name (MistPlanRoute route)
{
  switch (route)
    {
    case MIST_PLAN_ROUTE_NONE:
      return "none";
    case MIST_PLAN_ROUTE_FULL:
      return "full";
    case MIST_PLAN_ROUTE_PATCH:
      return "patch";
    case MIST_PLAN_ROUTE_REPAIR:
      return "repair";
    }
  return "unknown";
}

int
cli_command_plan (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MistPlan) plan = NULL;
  g_autofree char *summary = NULL;
  gint64 version = 0;
  gboolean json = FALSE;
  int status = 0;
  GArray *route;
  GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_INT64, &version,
      "Target version ordinal (default: the newest)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("plan", "GAME", entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("plan", "expected one game");
  if (version < 0)
    return cli_usage_error ("plan", "invalid version %" G_GINT64_FORMAT, version);
  if (!cli_connect (cli, TRUE, &error) || !cli_open_queue (cli, &error))
    return cli_fail (cli, error);

  if (version == 0)
    {
      g_autoptr (GAsyncResult) game_result = NULL;
      g_autoptr (MistGameEntry) game = NULL;

      mist_client_get_game_async (cli->client, argv[1], cli->cancellable, cli_on_done,
                                  &game_result);
      game = mist_client_get_game_finish (cli->client, cli_wait (&game_result), &error);
      if (game == NULL)
        return cli_fail (cli, error);
      if (game->latest == NULL)
        {
          g_printerr ("mist-cli: %s has no version on the server yet\n", argv[1]);
          return CLI_EXIT_NOT_FOUND;
        }
      version = game->latest->ordinal;
    }

  mist_queue_plan_async (cli->queue, argv[1], version, cli->cancellable, cli_on_done, &result);
  plan = mist_queue_plan_finish (cli->queue, cli_wait (&result), &error);
  if (plan == NULL)
    return cli_fail (cli, error);

  route = mist_plan_get_route_ordinals (plan);
  if (json || cli->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "game");
      json_builder_add_string_value (builder, argv[1]);
      json_builder_set_member_name (builder, "route");
      json_builder_add_string_value (builder, route_name (mist_plan_get_route (plan)));
      json_builder_set_member_name (builder, "from");
      json_builder_add_int_value (builder, mist_plan_get_from (plan));
      json_builder_set_member_name (builder, "to");
      json_builder_add_int_value (builder, mist_plan_get_to (plan));
      json_builder_set_member_name (builder, "steps");
      json_builder_begin_array (builder);
      for (guint i = 0; route != NULL && i < route->len; i++)
        json_builder_add_int_value (builder, g_array_index (route, gint64, i));
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "download_size");
      json_builder_add_int_value (builder, (gint64) mist_plan_get_download_size (plan));
      json_builder_set_member_name (builder, "full_download_size");
      json_builder_add_int_value (builder, (gint64) mist_plan_get_full_download_size (plan));
      json_builder_set_member_name (builder, "installed_size");
      json_builder_add_int_value (builder, (gint64) mist_plan_get_installed_size (plan));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  summary = mist_plan_to_string (plan);
  g_print ("%s\n", summary);
  return CLI_EXIT_OK;
}
