/* mist-manifest.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-manifest.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-pack.h"
#include "mist-path.h"

#include <string.h>

struct _MistManifest
{
  gatomicrefcount ref_count;
  GPtrArray *files;     /* MistManifestFile *, owned, sorted by path once `sorted` */
  GHashTable *by_path;  /* path → MistManifestFile * in `files` */
  MistPathSet *paths;
  MistLaunchConfig *launch; /* owned, nullable */
  GPtrArray *packs;         /* MistPack *, owned; not part of the JSON this file writes */
  guint64 total_size;
  gboolean sorted;
};

static void
manifest_file_free (MistManifestFile *file)
{
  g_free (file->path);
  g_free (file->sha256);
  g_free (file->object_id);
  g_free (file);
}

static void
launch_config_free (MistLaunchConfig *launch)
{
  if (launch == NULL)
    return;
  g_free (launch->executable);
  g_strfreev (launch->arguments);
  g_free (launch->working_directory);
  g_hash_table_unref (launch->environment);
  g_free (launch);
}

MistManifest *
mist_manifest_new (void)
{
  MistManifest *manifest = g_new0 (MistManifest, 1);

  g_atomic_ref_count_init (&manifest->ref_count);
  manifest->files = g_ptr_array_new_with_free_func ((GDestroyNotify) manifest_file_free);
  manifest->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  manifest->paths = mist_path_set_new ();
  manifest->sorted = TRUE;
  manifest->packs = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_pack_free);
  return manifest;
}

MistManifest *
mist_manifest_ref (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, NULL);
  g_atomic_ref_count_inc (&manifest->ref_count);
  return manifest;
}

void
mist_manifest_unref (MistManifest *manifest)
{
  g_return_if_fail (manifest != NULL);
  if (!g_atomic_ref_count_dec (&manifest->ref_count))
    return;
  g_hash_table_unref (manifest->by_path);
  g_ptr_array_unref (manifest->files);
  mist_path_set_free (manifest->paths);
  launch_config_free (manifest->launch);
  g_ptr_array_unref (manifest->packs);
  g_free (manifest);
}

gboolean
mist_manifest_add_file (MistManifest *manifest, const MistManifestFile *file, GError **error)
{
  MistManifestFile *copy;

  g_return_val_if_fail (manifest != NULL, FALSE);
  g_return_val_if_fail (file != NULL, FALSE);

  if (!mist_path_set_add (manifest->paths, file->path, error))
    return FALSE;
  if (!mist_sha256_hex_is_valid (file->sha256))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid SHA-256 “%s” for “%s”: expected 64 lowercase hex digits",
                   file->sha256 != NULL ? file->sha256 : "", file->path);
      return FALSE;
    }
  if (file->object_id != NULL && !mist_sha256_hex_is_valid (file->object_id))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid object id “%s” for “%s”: expected 64 lowercase hex digits",
                   file->object_id, file->path);
      return FALSE;
    }
  if (manifest->total_size > G_MAXUINT64 - file->size)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "Invalid size %" G_GUINT64_FORMAT " for “%s”: the build's total overflows",
                   file->size, file->path);
      return FALSE;
    }

  copy = g_new0 (MistManifestFile, 1);
  copy->path = g_strdup (file->path);
  copy->size = file->size;
  copy->sha256 = g_strdup (file->sha256);
  copy->executable = file->executable;
  copy->object_id = g_strdup (file->object_id);
  copy->object_size = file->object_id != NULL ? file->object_size : 0;

  if (manifest->files->len > 0)
    {
      const MistManifestFile *last = g_ptr_array_index (manifest->files, manifest->files->len - 1);

      if (strcmp (last->path, copy->path) > 0)
        manifest->sorted = FALSE;
    }
  g_ptr_array_add (manifest->files, copy);
  g_hash_table_insert (manifest->by_path, copy->path, copy);
  manifest->total_size += copy->size;
  return TRUE;
}

static int
compare_files_by_path (gconstpointer a, gconstpointer b)
{
  const MistManifestFile *file_a = *(MistManifestFile *const *) a;
  const MistManifestFile *file_b = *(MistManifestFile *const *) b;

  return strcmp (file_a->path, file_b->path);
}

GPtrArray *
mist_manifest_get_files (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, NULL);

  if (!manifest->sorted)
    {
      g_ptr_array_sort (manifest->files, compare_files_by_path);
      manifest->sorted = TRUE;
    }
  return manifest->files;
}

const MistManifestFile *
mist_manifest_lookup (MistManifest *manifest, const char *path)
{
  g_return_val_if_fail (manifest != NULL, NULL);
  return g_hash_table_lookup (manifest->by_path, path);
}

GPtrArray *
mist_manifest_get_packs (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, NULL);
  return manifest->packs;
}

guint
mist_manifest_get_n_files (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, 0);
  return manifest->files->len;
}

guint64
mist_manifest_get_total_size (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, 0);
  return manifest->total_size;
}

const MistLaunchConfig *
mist_manifest_get_launch (MistManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, NULL);
  return manifest->launch;
}

static gboolean
validate_environment_name (const char *name, GError **error)
{
  if (name[0] == '\0' || strchr (name, '=') != NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid environment variable name “%s”: it must be non-empty without “=”",
                   name);
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_manifest_set_launch (MistManifest *manifest,
                          const char *executable,
                          const char *const *arguments,
                          const char *working_directory,
                          GHashTable *environment,
                          GError **error)
{
  MistLaunchConfig *launch;
  GHashTableIter iter;
  gpointer name, value;

  g_return_val_if_fail (manifest != NULL, FALSE);
  g_return_val_if_fail (executable != NULL, FALSE);

  if (!mist_path_validate (executable, error))
    {
      g_prefix_error (error, "Invalid launch executable: ");
      return FALSE;
    }
  if (mist_manifest_lookup (manifest, executable) == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid launch executable “%s”: no such file in the build", executable);
      return FALSE;
    }
  if (working_directory != NULL && working_directory[0] != '\0' &&
      !mist_path_validate (working_directory, error))
    {
      g_prefix_error (error, "Invalid launch working directory: ");
      return FALSE;
    }

  launch = g_new0 (MistLaunchConfig, 1);
  launch->executable = g_strdup (executable);
  launch->arguments = arguments != NULL ? g_strdupv ((char **) arguments) : g_new0 (char *, 1);
  launch->working_directory = g_strdup (working_directory != NULL ? working_directory : "");
  launch->environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (environment != NULL)
    {
      g_hash_table_iter_init (&iter, environment);
      while (g_hash_table_iter_next (&iter, &name, &value))
        {
          if (!validate_environment_name (name, error))
            {
              launch_config_free (launch);
              return FALSE;
            }
          g_hash_table_insert (launch->environment, g_strdup (name), g_strdup (value));
        }
    }

  launch_config_free (manifest->launch);
  manifest->launch = launch;
  return TRUE;
}

/* JSON */

static gboolean
invalid_member (GError **error, const char *where, const char *member, const char *expected)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
               "Invalid manifest: %s member “%s” must be %s", where, member, expected);
  return FALSE;
}

/* Reads an optional member of the given JSON value type; a missing member leaves *node
 * NULL, a member of another type is an error. */
static gboolean
get_member (JsonObject *object,
            const char *where,
            const char *member,
            GType value_type,
            const char *expected,
            JsonNode **node,
            GError **error)
{
  JsonNode *found = json_object_get_member (object, member);

  *node = NULL;
  if (found == NULL || JSON_NODE_HOLDS_NULL (found))
    return TRUE;

  if (value_type == JSON_TYPE_OBJECT || value_type == JSON_TYPE_ARRAY)
    {
      if (JSON_NODE_TYPE (found) != (value_type == JSON_TYPE_OBJECT ? JSON_NODE_OBJECT
                                                                     : JSON_NODE_ARRAY))
        return invalid_member (error, where, member, expected);
    }
  else if (!JSON_NODE_HOLDS_VALUE (found) || json_node_get_value_type (found) != value_type)
    return invalid_member (error, where, member, expected);

  *node = found;
  return TRUE;
}

static gboolean
require_member (JsonObject *object,
                const char *where,
                const char *member,
                GType value_type,
                const char *expected,
                JsonNode **node,
                GError **error)
{
  if (!get_member (object, where, member, value_type, expected, node, error))
    return FALSE;
  if (*node == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid manifest: %s member “%s” is missing", where, member);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_size (JsonNode *node, const char *where, const char *member, guint64 *size, GError **error)
{
  gint64 value = json_node_get_int (node);

  if (value < 0)
    return invalid_member (error, where, member, "a non-negative integer");
  *size = (guint64) value;
  return TRUE;
}

static gboolean
parse_file (MistManifest *manifest, JsonNode *file_node, guint index, GError **error)
{
  g_autofree char *where = g_strdup_printf ("file %u:", index);
  MistManifestFile file = { 0 };
  JsonObject *object;
  JsonNode *node;

  if (!JSON_NODE_HOLDS_OBJECT (file_node))
    return invalid_member (error, "files", where, "an object");
  object = json_node_get_object (file_node);

  if (!require_member (object, where, "path", G_TYPE_STRING, "a string", &node, error))
    return FALSE;
  file.path = (char *) json_node_get_string (node);
  g_free (where);
  where = g_strdup_printf ("file “%s”:", file.path);

  if (!require_member (object, where, "size", G_TYPE_INT64, "an integer", &node, error) ||
      !get_size (node, where, "size", &file.size, error))
    return FALSE;
  if (!require_member (object, where, "sha256", G_TYPE_STRING, "a string", &node, error))
    return FALSE;
  file.sha256 = (char *) json_node_get_string (node);
  if (!get_member (object, where, "executable", G_TYPE_BOOLEAN, "true or false", &node, error))
    return FALSE;
  file.executable = node != NULL && json_node_get_boolean (node);

  if (!get_member (object, where, "object", JSON_TYPE_OBJECT, "an object", &node, error))
    return FALSE;
  if (node != NULL)
    {
      JsonObject *stored = json_node_get_object (node);

      if (!require_member (stored, where, "id", G_TYPE_STRING, "a string", &node, error))
        return FALSE;
      file.object_id = (char *) json_node_get_string (node);
      if (!require_member (stored, where, "size", G_TYPE_INT64, "an integer", &node, error) ||
          !get_size (node, where, "object size", &file.object_size, error))
        return FALSE;
    }

  return mist_manifest_add_file (manifest, &file, error);
}

static gboolean
parse_launch (MistManifest *manifest, JsonObject *object, GError **error)
{
  const char *where = "launch:";
  g_autoptr (GPtrArray) arguments = g_ptr_array_new ();
  g_autoptr (GHashTable) environment = g_hash_table_new (g_str_hash, g_str_equal);
  const char *executable;
  const char *working_directory = "";
  JsonNode *node;

  if (!require_member (object, where, "executable", G_TYPE_STRING, "a string", &node, error))
    return FALSE;
  executable = json_node_get_string (node);

  if (!get_member (object, where, "arguments", JSON_TYPE_ARRAY, "an array of strings", &node,
                   error))
    return FALSE;
  if (node != NULL)
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *argument = json_array_get_element (array, i);

          if (!JSON_NODE_HOLDS_VALUE (argument) ||
              json_node_get_value_type (argument) != G_TYPE_STRING)
            return invalid_member (error, where, "arguments", "an array of strings");
          g_ptr_array_add (arguments, (gpointer) json_node_get_string (argument));
        }
    }
  g_ptr_array_add (arguments, NULL);

  if (!get_member (object, where, "working_directory", G_TYPE_STRING, "a string", &node, error))
    return FALSE;
  if (node != NULL)
    working_directory = json_node_get_string (node);

  if (!get_member (object, where, "environment", JSON_TYPE_OBJECT, "an object of strings",
                   &node, error))
    return FALSE;
  if (node != NULL)
    {
      JsonObject *variables = json_node_get_object (node);
      g_autoptr (GList) names = json_object_get_members (variables);

      for (GList *l = names; l != NULL; l = l->next)
        {
          JsonNode *value = json_object_get_member (variables, l->data);

          if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
            return invalid_member (error, where, "environment", "an object of strings");
          g_hash_table_insert (environment, l->data, (gpointer) json_node_get_string (value));
        }
    }

  return mist_manifest_set_launch (manifest, executable,
                                   (const char *const *) arguments->pdata, working_directory,
                                   environment, error);
}

MistManifest *
mist_manifest_new_from_json_node (JsonNode *root, GError **error)
{
  g_autoptr (MistManifest) manifest = mist_manifest_new ();
  JsonObject *object;
  JsonArray *files;
  JsonNode *node;
  GPtrArray *packs;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "Invalid manifest: the top level must be a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);

  if (!require_member (object, "the", "format", G_TYPE_INT64, "an integer", &node, error))
    return NULL;
  if (json_node_get_int (node) != MIST_MANIFEST_FORMAT)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "Unsupported manifest format %" G_GINT64_FORMAT
                   ": this Mist reads format %d; update Mist",
                   json_node_get_int (node), MIST_MANIFEST_FORMAT);
      return NULL;
    }

  if (!require_member (object, "the", "files", JSON_TYPE_ARRAY, "an array", &node, error))
    return NULL;
  files = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      if (!parse_file (manifest, json_array_get_element (files, i), i, error))
        return NULL;
    }

  if (!get_member (object, "the", "launch", JSON_TYPE_OBJECT, "an object", &node, error))
    return NULL;
  if (node != NULL && !parse_launch (manifest, json_node_get_object (node), error))
    return NULL;

  packs = mist_packs_new_from_json_node (json_object_get_member (object, "packs"), error);
  if (packs == NULL)
    {
      g_prefix_error (error, "Invalid manifest: ");
      return NULL;
    }
  g_ptr_array_unref (manifest->packs);
  manifest->packs = packs;
  return g_steal_pointer (&manifest);
}

MistManifest *
mist_manifest_new_from_json (const char *data, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) parse_error = NULL;

  if (!json_parser_load_from_data (parser, data, length, &parse_error))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Invalid manifest JSON: %s",
                   parse_error->message);
      return NULL;
    }
  return mist_manifest_new_from_json_node (json_parser_get_root (parser), error);
}

static void
build_launch (JsonBuilder *builder, const MistLaunchConfig *launch)
{
  g_autoptr (GList) names = g_hash_table_get_keys (launch->environment);

  json_builder_set_member_name (builder, "launch");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "executable");
  json_builder_add_string_value (builder, launch->executable);
  json_builder_set_member_name (builder, "arguments");
  json_builder_begin_array (builder);
  for (char **argument = launch->arguments; *argument != NULL; argument++)
    json_builder_add_string_value (builder, *argument);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "working_directory");
  json_builder_add_string_value (builder, launch->working_directory);
  json_builder_set_member_name (builder, "environment");
  json_builder_begin_object (builder);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    {
      json_builder_set_member_name (builder, l->data);
      json_builder_add_string_value (builder, g_hash_table_lookup (launch->environment, l->data));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

JsonNode *
mist_manifest_to_json_node (MistManifest *manifest)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  GPtrArray *files = mist_manifest_get_files (manifest);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, MIST_MANIFEST_FORMAT);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, file->path);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) file->size);
      json_builder_set_member_name (builder, "sha256");
      json_builder_add_string_value (builder, file->sha256);
      json_builder_set_member_name (builder, "executable");
      json_builder_add_boolean_value (builder, file->executable);
      if (file->object_id != NULL)
        {
          json_builder_set_member_name (builder, "object");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, file->object_id);
          json_builder_set_member_name (builder, "size");
          json_builder_add_int_value (builder, (gint64) file->object_size);
          json_builder_end_object (builder);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  if (manifest->launch != NULL)
    build_launch (builder, manifest->launch);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

char *
mist_manifest_to_json (MistManifest *manifest, gsize *length)
{
  g_autoptr (JsonNode) root = mist_manifest_to_json_node (manifest);
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, length);
}
