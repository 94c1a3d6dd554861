/* mist-launch-settings.c: a user's launch options for one game
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-launch-settings.h"

#include "mist-error.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

MistLaunchSettings *
mist_launch_settings_new (void)
{
  MistLaunchSettings *settings = g_new0 (MistLaunchSettings, 1);

  settings->wrapper = g_strdup ("");
  settings->environment = g_new0 (char *, 1);
  settings->arguments = g_new0 (char *, 1);
  return settings;
}

void
mist_launch_settings_free (MistLaunchSettings *settings)
{
  g_free (settings->wrapper);
  g_strfreev (settings->environment);
  g_strfreev (settings->arguments);
  g_free (settings);
}

char *
mist_launch_settings_key (const char *game_id)
{
  return g_strconcat ("launch-options/", game_id, NULL);
}

static char **
strv_from_member (JsonObject *object, const char *member)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node)
                                                                   : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_strv_builder_add (builder, json_node_get_string (element));
    }
  return g_strv_builder_end (builder);
}

MistLaunchSettings *
mist_launch_settings_from_json (const char *json, GError **error)
{
  g_autoptr (MistLaunchSettings) settings = mist_launch_settings_new ();
  g_autoptr (JsonNode) root = json_from_string (json, error);
  JsonObject *object;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The saved launch options are not a JSON object: %s", json);
      return NULL;
    }
  object = json_node_get_object (root);
  g_free (settings->wrapper);
  settings->wrapper =
    g_strdup (json_object_get_string_member_with_default (object, "wrapper", ""));
  g_strfreev (settings->environment);
  settings->environment = strv_from_member (object, "environment");
  g_strfreev (settings->arguments);
  settings->arguments = strv_from_member (object, "arguments");
  return g_steal_pointer (&settings);
}

static void
add_strv_member (JsonBuilder *builder, const char *member, char **values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

char *
mist_launch_settings_to_json (const MistLaunchSettings *settings)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "wrapper");
  json_builder_add_string_value (builder, settings->wrapper);
  add_strv_member (builder, "environment", settings->environment);
  add_strv_member (builder, "arguments", settings->arguments);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* Splits text into shell words; blank text gives no words rather than an error. */
static gboolean
split_words (const char *text, char ***words, GError **error)
{
  g_autoptr (GError) shell_error = NULL;

  if (text[strspn (text, " \t\n")] == '\0')
    {
      *words = g_new0 (char *, 1);
      return TRUE;
    }
  if (!g_shell_parse_argv (text, NULL, words, &shell_error))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, _("Invalid quoting in “%s”: %s"),
                   text, shell_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_launch_settings_parse_arguments (const char *text, char ***arguments, GError **error)
{
  return split_words (text, arguments, error);
}

gboolean
mist_launch_settings_parse_environment (const char *text, char ***environment, GError **error)
{
  g_auto (GStrv) words = NULL;

  if (!split_words (text, &words, error))
    return FALSE;
  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *equals = strchr (words[i], '=');

      if (equals == NULL || equals == words[i])
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       _("Invalid variable “%s”: write NAME=VALUE, for example DXVK_HUD=fps."),
                       words[i]);
          return FALSE;
        }
    }
  *environment = g_steal_pointer (&words);
  return TRUE;
}

gboolean
mist_launch_settings_check_wrapper (const char *text, GError **error)
{
  g_auto (GStrv) words = NULL;

  return split_words (text, &words, error);
}

char *
mist_launch_settings_join (const char *const *words)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; words != NULL && words[i] != NULL; i++)
    {
      g_autofree char *quoted = NULL;

      if (i > 0)
        g_string_append_c (text, ' ');
      /* Plain words stay readable; others get the quotes g_shell_quote() chooses. */
      if (words[i][0] != '\0' && strpbrk (words[i], " \t\n\\'\"$`*?[]#~;&|<>(){}!") == NULL)
        g_string_append (text, words[i]);
      else
        {
          quoted = g_shell_quote (words[i]);
          g_string_append (text, quoted);
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

void
mist_launch_settings_to_options (const MistLaunchSettings *settings,
                                 GHashTable *environment,
                                 MistLaunchOptions *options)
{
  for (guint i = 0; settings->environment[i] != NULL; i++)
    {
      const char *equals = strchr (settings->environment[i], '=');

      if (equals == NULL || equals == settings->environment[i])
        continue;
      g_hash_table_insert (environment,
                           g_strndup (settings->environment[i], equals - settings->environment[i]),
                           g_strdup (equals + 1));
    }
  options->extra_arguments = (const char *const *) settings->arguments;
  options->extra_environment = environment;
  options->wrapper = settings->wrapper[0] != '\0' ? settings->wrapper : NULL;
}
