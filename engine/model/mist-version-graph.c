/* mist-version-graph.c: versions, patch sets and the cheapest route between versions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-version-graph.h"
#include "mist-error.h"
#include "mist-pack.h"
#include "mist-path.h"

struct _MistPatchSet
{
  gatomicrefcount ref_count;
  gint64 from;
  gint64 to;
  guint64 download_size;
  gboolean has_files;
  GPtrArray *files;   /* MistPatchFile, sorted by path once sorted is TRUE */
  GHashTable *by_path; /* path → MistPatchFile in files */
  gboolean sorted;
  GPtrArray *packs;    /* MistPack *, owned */
};

struct _MistVersionGraph
{
  gatomicrefcount ref_count;
  GPtrArray *versions;     /* MistVersionInfo, sorted by ordinal */
  GHashTable *by_ordinal;  /* gint64 * → MistVersionInfo in versions */
  GHashTable *patch_sets;  /* "from:to" → MistPatchSet (owned) */
};

static void
patch_file_free (MistPatchFile *file)
{
  g_free (file->path);
  g_free (file->source_path);
  g_free (file->format);
  g_free (file->object_id);
  g_free (file->source_sha256);
  g_free (file->target_sha256);
  g_free (file);
}

MistPatchSet *
mist_patch_set_new (gint64 from_ordinal, gint64 to_ordinal, guint64 download_size)
{
  MistPatchSet *patch_set = g_new0 (MistPatchSet, 1);

  g_atomic_ref_count_init (&patch_set->ref_count);
  patch_set->from = from_ordinal;
  patch_set->to = to_ordinal;
  patch_set->download_size = download_size;
  patch_set->files = g_ptr_array_new_with_free_func ((GDestroyNotify) patch_file_free);
  patch_set->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  patch_set->sorted = TRUE;
  patch_set->packs = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_pack_free);
  return patch_set;
}

MistPatchSet *
mist_patch_set_ref (MistPatchSet *patch_set)
{
  g_atomic_ref_count_inc (&patch_set->ref_count);
  return patch_set;
}

void
mist_patch_set_unref (MistPatchSet *patch_set)
{
  if (!g_atomic_ref_count_dec (&patch_set->ref_count))
    return;
  g_hash_table_unref (patch_set->by_path);
  g_ptr_array_unref (patch_set->files);
  g_ptr_array_unref (patch_set->packs);
  g_free (patch_set);
}

static gboolean
is_known_format (const char *format)
{
  return g_strcmp0 (format, "zstd") == 0 || g_strcmp0 (format, "vcdiff") == 0;
}

static gboolean
is_valid_hash (const char *hex)
{
  if (hex == NULL || strlen (hex) != 64)
    return FALSE;
  for (const char *c = hex; *c != '\0'; c++)
    if (!g_ascii_isdigit (*c) && !(*c >= 'a' && *c <= 'f'))
      return FALSE;
  return TRUE;
}

gboolean
mist_patch_set_add_file (MistPatchSet *patch_set, const MistPatchFile *file, GError **error)
{
  MistPatchFile *copy;
  const char *source_path = file->source_path != NULL ? file->source_path : file->path;

  if (!mist_path_validate (file->path, error) || !mist_path_validate (source_path, error))
    return FALSE;
  if (!is_valid_hash (file->object_id) || !is_valid_hash (file->source_sha256) ||
      !is_valid_hash (file->target_sha256))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Delta for %s has an invalid hash: expected 64 lowercase hex characters", file->path);
      return FALSE;
    }
  if (!is_known_format (file->format))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "Delta for %s has unknown format \"%s\": expected \"zstd\" or \"vcdiff\"", file->path,
                   file->format != NULL ? file->format : "");
      return FALSE;
    }
  if (g_hash_table_contains (patch_set->by_path, file->path))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT " has two deltas for %s",
                   patch_set->from, patch_set->to, file->path);
      return FALSE;
    }

  copy = g_new0 (MistPatchFile, 1);
  copy->path = g_strdup (file->path);
  copy->source_path = g_strdup (source_path);
  copy->format = g_strdup (file->format);
  copy->object_id = g_strdup (file->object_id);
  copy->object_size = file->object_size;
  copy->source_sha256 = g_strdup (file->source_sha256);
  copy->target_sha256 = g_strdup (file->target_sha256);
  g_ptr_array_add (patch_set->files, copy);
  g_hash_table_insert (patch_set->by_path, copy->path, copy);
  patch_set->has_files = TRUE;
  patch_set->sorted = FALSE;
  return TRUE;
}

gint64
mist_patch_set_get_from (MistPatchSet *patch_set)
{
  return patch_set->from;
}

gint64
mist_patch_set_get_to (MistPatchSet *patch_set)
{
  return patch_set->to;
}

guint64
mist_patch_set_get_download_size (MistPatchSet *patch_set)
{
  return patch_set->download_size;
}

gboolean
mist_patch_set_has_files (MistPatchSet *patch_set)
{
  return patch_set->has_files;
}

void
mist_patch_set_set_has_files (MistPatchSet *patch_set, gboolean has_files)
{
  patch_set->has_files = has_files;
}

static int
compare_patch_files (gconstpointer a, gconstpointer b)
{
  const MistPatchFile *file_a = *(MistPatchFile *const *) a;
  const MistPatchFile *file_b = *(MistPatchFile *const *) b;

  return strcmp (file_a->path, file_b->path);
}

GPtrArray *
mist_patch_set_get_packs (MistPatchSet *patch_set)
{
  return patch_set->packs;
}

GPtrArray *
mist_patch_set_get_files (MistPatchSet *patch_set)
{
  if (!patch_set->sorted)
    {
      g_ptr_array_sort (patch_set->files, compare_patch_files);
      patch_set->sorted = TRUE;
    }
  return patch_set->files;
}

const MistPatchFile *
mist_patch_set_lookup (MistPatchSet *patch_set, const char *path)
{
  return g_hash_table_lookup (patch_set->by_path, path);
}

/* JSON. */

static gboolean
json_get_int (JsonObject *object, const char *member, gint64 *value, gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (!required)
        return TRUE;
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Member \"%s\" is missing", member);
      return FALSE;
    }
  if (json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Member \"%s\" is invalid: expected a non-negative integer", member);
      return FALSE;
    }
  *value = json_node_get_int (node);
  return TRUE;
}

static const char *
json_get_string (JsonObject *object, const char *member, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Member \"%s\" is missing or not a string", member);
      return NULL;
    }
  return json_node_get_string (node);
}

static JsonObject *
json_get_object (JsonNode *node, const char *what, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "%s is not a JSON object", what);
      return NULL;
    }
  return json_node_get_object (node);
}

static gboolean
parse_delta (MistPatchSet *patch_set, JsonNode *node, GError **error)
{
  JsonObject *object = json_get_object (node, "A delta", error);
  JsonObject *content;
  MistPatchFile file = { 0 };
  gint64 size = 0;

  if (object == NULL)
    return FALSE;
  file.path = (char *) json_get_string (object, "path", error);
  if (file.path == NULL)
    return FALSE;
  file.source_path = json_object_has_member (object, "source_path")
                       ? (char *) json_get_string (object, "source_path", error)
                       : file.path;
  file.source_sha256 = (char *) json_get_string (object, "source_sha256", error);
  file.target_sha256 = (char *) json_get_string (object, "target_sha256", error);
  file.format = (char *) json_get_string (object, "format", error);
  if (file.source_path == NULL || file.source_sha256 == NULL || file.target_sha256 == NULL ||
      file.format == NULL)
    return FALSE;
  content = json_get_object (json_object_get_member (object, "object"), "Member \"object\"", error);
  if (content == NULL)
    return FALSE;
  file.object_id = (char *) json_get_string (content, "id", error);
  if (file.object_id == NULL || !json_get_int (content, "size", &size, TRUE, error))
    return FALSE;
  file.object_size = (guint64) size;
  return mist_patch_set_add_file (patch_set, &file, error);
}

MistPatchSet *
mist_patch_set_new_from_json_node (JsonNode *node, GError **error)
{
  g_autoptr (MistPatchSet) patch_set = NULL;
  JsonObject *object = json_get_object (node, "A patch set", error);
  GPtrArray *packs;
  JsonNode *deltas;
  const char *state;
  gint64 from = 0;
  gint64 to = 0;
  gint64 download_size = 0;

  if (object == NULL || !json_get_int (object, "from", &from, TRUE, error) ||
      !json_get_int (object, "to", &to, TRUE, error))
    goto invalid;
  state = json_object_has_member (object, "state") ? json_get_string (object, "state", error) : "ready";
  if (state == NULL)
    goto invalid;
  if (g_strcmp0 (state, "ready") != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT " is %s, not ready", from, to, state);
      return NULL;
    }
  if (!json_get_int (object, "download_size", &download_size, TRUE, error))
    goto invalid;

  patch_set = mist_patch_set_new (from, to, (guint64) download_size);
  deltas = json_object_get_member (object, "deltas");
  if (deltas != NULL)
    {
      if (!JSON_NODE_HOLDS_ARRAY (deltas))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Member \"deltas\" is not an array");
          goto invalid;
        }
      for (guint i = 0; i < json_array_get_length (json_node_get_array (deltas)); i++)
        if (!parse_delta (patch_set, json_array_get_element (json_node_get_array (deltas), i), error))
          {
            g_prefix_error (error, "Delta %u: ", i);
            goto invalid;
          }
      /* A ready set with no changed files still carries its (empty) file list. */
      patch_set->has_files = TRUE;
    }
  packs = mist_packs_new_from_json_node (json_object_get_member (object, "packs"), error);
  if (packs == NULL)
    goto invalid;
  g_ptr_array_unref (patch_set->packs);
  patch_set->packs = packs;
  return g_steal_pointer (&patch_set);

invalid:
  g_prefix_error (error, "Invalid patch set: ");
  return NULL;
}

MistPatchSet *
mist_patch_set_new_from_json (const char *data, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, data, length, error))
    {
      g_prefix_error (error, "Invalid patch set JSON: ");
      if (error != NULL && *error != NULL && (*error)->domain != MIST_ERROR)
        {
          GError *converted = g_error_new_literal (MIST_ERROR, MIST_ERROR_INVALID_DATA, (*error)->message);

          g_clear_error (error);
          g_propagate_error (error, converted);
        }
      return NULL;
    }
  return mist_patch_set_new_from_json_node (json_parser_get_root (parser), error);
}

/* The graph. */

static void
version_info_free (MistVersionInfo *version)
{
  g_free (version->name);
  g_free (version);
}

MistVersionGraph *
mist_version_graph_new (void)
{
  MistVersionGraph *graph = g_new0 (MistVersionGraph, 1);

  g_atomic_ref_count_init (&graph->ref_count);
  graph->versions = g_ptr_array_new_with_free_func ((GDestroyNotify) version_info_free);
  graph->by_ordinal = g_hash_table_new (g_int64_hash, g_int64_equal);
  graph->patch_sets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) mist_patch_set_unref);
  return graph;
}

MistVersionGraph *
mist_version_graph_ref (MistVersionGraph *graph)
{
  g_atomic_ref_count_inc (&graph->ref_count);
  return graph;
}

void
mist_version_graph_unref (MistVersionGraph *graph)
{
  if (!g_atomic_ref_count_dec (&graph->ref_count))
    return;
  g_hash_table_unref (graph->patch_sets);
  g_hash_table_unref (graph->by_ordinal);
  g_ptr_array_unref (graph->versions);
  g_free (graph);
}

static int
compare_versions (gconstpointer a, gconstpointer b)
{
  const MistVersionInfo *version_a = *(MistVersionInfo *const *) a;
  const MistVersionInfo *version_b = *(MistVersionInfo *const *) b;

  return (version_a->ordinal > version_b->ordinal) - (version_a->ordinal < version_b->ordinal);
}

gboolean
mist_version_graph_add_version (MistVersionGraph *graph, const MistVersionInfo *version, GError **error)
{
  MistVersionInfo *copy;

  if (version->ordinal <= MIST_VERSION_NONE)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Version ordinal %" G_GINT64_FORMAT " is invalid: ordinals start at 1", version->ordinal);
      return FALSE;
    }
  if (g_hash_table_contains (graph->by_ordinal, &version->ordinal))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT, "Version %" G_GINT64_FORMAT " was added twice",
                   version->ordinal);
      return FALSE;
    }
  copy = g_memdup2 (version, sizeof *version);
  copy->name = version->name != NULL ? g_strdup (version->name)
                                     : g_strdup_printf ("%" G_GINT64_FORMAT, version->ordinal);
  g_ptr_array_add (graph->versions, copy);
  g_ptr_array_sort (graph->versions, compare_versions);
  g_hash_table_insert (graph->by_ordinal, &copy->ordinal, copy);
  return TRUE;
}

static char *
patch_set_key (gint64 from, gint64 to)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, from, to);
}

gboolean
mist_version_graph_add_patch_set (MistVersionGraph *graph, MistPatchSet *patch_set, GError **error)
{
  if (!g_hash_table_contains (graph->by_ordinal, &patch_set->from) ||
      !g_hash_table_contains (graph->by_ordinal, &patch_set->to) || patch_set->from == patch_set->to)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT
                   " does not join two known versions; add the versions first",
                   patch_set->from, patch_set->to);
      return FALSE;
    }
  g_hash_table_replace (graph->patch_sets, patch_set_key (patch_set->from, patch_set->to),
                        mist_patch_set_ref (patch_set));
  return TRUE;
}

gboolean
mist_version_graph_add_game_json (MistVersionGraph *graph, JsonNode *game, GError **error)
{
  JsonObject *object = json_get_object (game, "The game entry", error);
  JsonNode *versions;

  if (object == NULL)
    return FALSE;
  versions = json_object_get_member (object, "versions");
  if (versions == NULL || !JSON_NODE_HOLDS_ARRAY (versions))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "The game entry has no \"versions\" array");
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (versions)); i++)
    {
      JsonObject *entry = json_get_object (json_array_get_element (json_node_get_array (versions), i),
                                           "A version", error);
      MistVersionInfo version = { 0 };
      gint64 installed_size = 0;
      gint64 download_size = 0;

      if (entry == NULL || !json_get_int (entry, "ordinal", &version.ordinal, TRUE, error) ||
          (version.name = (char *) json_get_string (entry, "name", error)) == NULL ||
          !json_get_int (entry, "installed_size", &installed_size, TRUE, error) ||
          !json_get_int (entry, "download_size", &download_size, TRUE, error))
        {
          g_prefix_error (error, "Version %u of the game entry: ", i);
          return FALSE;
        }
      version.installed_size = (guint64) installed_size;
      version.download_size = (guint64) download_size;
      if (!mist_version_graph_add_version (graph, &version, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
mist_version_graph_add_patches_json (MistVersionGraph *graph, JsonNode *patches, GError **error)
{
  JsonObject *object = json_get_object (patches, "The patch list", error);
  JsonNode *list;

  if (object == NULL)
    return FALSE;
  list = json_object_get_member (object, "patches");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "The patch list has no \"patches\" array");
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (MistPatchSet) patch_set =
        mist_patch_set_new_from_json_node (json_array_get_element (json_node_get_array (list), i),
                                           &local_error);

      if (patch_set == NULL && g_error_matches (local_error, MIST_ERROR, MIST_ERROR_NOT_FOUND))
        continue; /* pending, running or failed: not usable yet */
      if (patch_set == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* A server may still list patch sets of a version it no longer offers. No route can
       * use them, so they are left out instead of failing the whole plan. */
      if (!g_hash_table_contains (graph->by_ordinal, &patch_set->from)
          || !g_hash_table_contains (graph->by_ordinal, &patch_set->to))
        {
          g_message ("Ignoring patch set %" G_GINT64_FORMAT "→%" G_GINT64_FORMAT
                     " from the server: it joins a version the game does not list",
                     patch_set->from, patch_set->to);
          continue;
        }
      if (!mist_version_graph_add_patch_set (graph, patch_set, error))
        return FALSE;
    }
  return TRUE;
}

const MistVersionInfo *
mist_version_graph_lookup (MistVersionGraph *graph, gint64 ordinal)
{
  return g_hash_table_lookup (graph->by_ordinal, &ordinal);
}

GPtrArray *
mist_version_graph_get_versions (MistVersionGraph *graph)
{
  return graph->versions;
}

MistPatchSet *
mist_version_graph_lookup_patch_set (MistVersionGraph *graph, gint64 from_ordinal, gint64 to_ordinal)
{
  g_autofree char *key = patch_set_key (from_ordinal, to_ordinal);

  return g_hash_table_lookup (graph->patch_sets, key);
}

/* Route search. */

typedef struct
{
  guint64 bytes;
  guint steps;
  gint previous; /* index into versions, or -1 */
  gboolean reached;
  gboolean done;
} RouteNode;

static gboolean
route_cost_less (guint64 bytes_a, guint steps_a, guint64 bytes_b, guint steps_b)
{
  return bytes_a < bytes_b || (bytes_a == bytes_b && steps_a < steps_b);
}

/* Dijkstra over the versions with (bytes, steps) as the lexicographic distance: both add
 * up along a route and never decrease, so the first settled distance is the least. The
 * graph has one node per released version, so the O(V² + E) form is fast enough. */
static GArray *
find_patch_route (MistVersionGraph *graph, guint source, guint target, guint64 *bytes)
{
  guint n = graph->versions->len;
  g_autofree RouteNode *nodes = g_new0 (RouteNode, n);
  GArray *route;

  for (guint i = 0; i < n; i++)
    nodes[i].previous = -1;
  nodes[source].reached = TRUE;

  for (;;)
    {
      gint current = -1;
      MistVersionInfo *version;

      for (guint i = 0; i < n; i++)
        if (nodes[i].reached && !nodes[i].done &&
            (current < 0 || route_cost_less (nodes[i].bytes, nodes[i].steps, nodes[current].bytes,
                                             nodes[current].steps)))
          current = (gint) i;
      if (current < 0 || (guint) current == target)
        break;
      nodes[current].done = TRUE;
      version = g_ptr_array_index (graph->versions, current);
      if ((guint) current != source && version->is_private)
        continue; /* never a step in between */

      for (guint next = 0; next < n; next++)
        {
          MistVersionInfo *next_version = g_ptr_array_index (graph->versions, next);
          MistPatchSet *patch_set;
          guint64 bytes_via;

          if (nodes[next].done)
            continue;
          patch_set = mist_version_graph_lookup_patch_set (graph, version->ordinal, next_version->ordinal);
          if (patch_set == NULL)
            continue;
          bytes_via = nodes[current].bytes + patch_set->download_size;
          if (!nodes[next].reached ||
              route_cost_less (bytes_via, nodes[current].steps + 1, nodes[next].bytes, nodes[next].steps))
            {
              nodes[next].reached = TRUE;
              nodes[next].bytes = bytes_via;
              nodes[next].steps = nodes[current].steps + 1;
              nodes[next].previous = current;
            }
        }
    }

  if (!nodes[target].reached)
    return NULL;

  route = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (gint i = (gint) target; i >= 0; i = nodes[i].previous)
    {
      MistVersionInfo *version = g_ptr_array_index (graph->versions, i);

      g_array_prepend_val (route, version->ordinal);
    }
  *bytes = nodes[target].bytes;
  return route;
}

static gint
version_index (MistVersionGraph *graph, gint64 ordinal)
{
  for (guint i = 0; i < graph->versions->len; i++)
    if (((MistVersionInfo *) g_ptr_array_index (graph->versions, i))->ordinal == ordinal)
      return (gint) i;
  return -1;
}

GArray *
mist_version_graph_find_route (MistVersionGraph *graph,
                               gint64 from_ordinal,
                               gint64 to_ordinal,
                               guint64 *download_size,
                               GError **error)
{
  const MistVersionInfo *target = mist_version_graph_lookup (graph, to_ordinal);
  gint source_index = version_index (graph, from_ordinal);
  g_autoptr (GArray) patch_route = NULL;
  GArray *full_route;
  guint64 patch_bytes = 0;

  if (target == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "Version %" G_GINT64_FORMAT " is not known; refresh the game's version list", to_ordinal);
      return NULL;
    }

  if (from_ordinal == to_ordinal)
    {
      GArray *route = g_array_new (FALSE, FALSE, sizeof (gint64));

      g_array_append_val (route, to_ordinal);
      if (download_size != NULL)
        *download_size = 0;
      return route;
    }

  if (source_index >= 0)
    patch_route = find_patch_route (graph, (guint) source_index, (guint) version_index (graph, to_ordinal),
                                    &patch_bytes);

  /* A full download counts as one step. On equal bytes the patch route wins only when it
   * is one step too, because it reuses the installed files. */
  if (patch_route != NULL &&
      (patch_bytes < target->download_size ||
       (patch_bytes == target->download_size && patch_route->len - 1 <= 1)))
    {
      if (download_size != NULL)
        *download_size = patch_bytes;
      return g_steal_pointer (&patch_route);
    }

  full_route = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (full_route, to_ordinal);
  if (download_size != NULL)
    *download_size = target->download_size;
  return full_route;
}
