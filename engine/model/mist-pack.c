/* mist-pack.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-pack.h"
#include "mist-error.h"
#include "mist-hash.h"

static void
pack_entry_clear (gpointer data)
{
  MistPackEntry *entry = data;

  g_free (entry->object_id);
}

MistPack *
mist_pack_new (const char *id, guint64 size)
{
  MistPack *pack = g_new0 (MistPack, 1);

  pack->id = g_strdup (id);
  pack->size = size;
  pack->entries = g_array_new (FALSE, TRUE, sizeof (MistPackEntry));
  g_array_set_clear_func (pack->entries, pack_entry_clear);
  return pack;
}

MistPack *
mist_pack_copy (const MistPack *pack)
{
  MistPack *copy = mist_pack_new (pack->id, pack->size);

  for (guint i = 0; i < pack->entries->len; i++)
    {
      const MistPackEntry *entry = &g_array_index (pack->entries, MistPackEntry, i);

      mist_pack_add_entry (copy, entry->object_id, entry->offset, entry->size);
    }
  return copy;
}

void
mist_pack_free (MistPack *pack)
{
  if (pack == NULL)
    return;
  g_free (pack->id);
  g_array_unref (pack->entries);
  g_free (pack);
}

void
mist_pack_add_entry (MistPack *pack, const char *object_id, guint64 offset, guint64 size)
{
  MistPackEntry entry = { g_strdup (object_id), offset, size };

  g_array_append_val (pack->entries, entry);
}

static gboolean
invalid_pack (GError **error, guint pack_index, const char *problem)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Invalid pack %u: %s", pack_index,
               problem);
  return FALSE;
}

/* Reads member as a hash (is_hash) or as an integer of at least min into *text or
 * *number; JSON integers are exact up to 2^53, far above any object size. */
static gboolean
read_member (JsonObject *object, const char *member, gboolean is_hash, gint64 min,
             const char **text, guint64 *number)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  if (is_hash)
    {
      if (json_node_get_value_type (node) != G_TYPE_STRING)
        return FALSE;
      *text = json_node_get_string (node);
      return mist_sha256_hex_is_valid (*text);
    }
  if (json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < min)
    return FALSE;
  *number = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_entries (MistPack *pack, JsonArray *entries, guint pack_index, GError **error)
{
  guint64 end = 0;

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      const char *object_id = NULL;
      guint64 offset = 0;
      guint64 size = 0;
      g_autofree char *problem = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !read_member (json_node_get_object (node), "id", TRUE, 0, &object_id, NULL) ||
          !read_member (json_node_get_object (node), "offset", FALSE, 0, NULL, &offset) ||
          !read_member (json_node_get_object (node), "size", FALSE, 1, NULL, &size))
        {
          problem = g_strdup_printf ("entry %u needs \"id\" (a SHA-256), \"offset\" and "
                                     "\"size\" (integers, the size at least 1)", i);
          return invalid_pack (error, pack_index, problem);
        }
      if (offset < end || size > pack->size || offset > pack->size - size)
        {
          problem = g_strdup_printf ("entry %u (bytes %" G_GUINT64_FORMAT " to %"
                                     G_GUINT64_FORMAT ") overlaps the one before it or ends "
                                     "after the pack's %" G_GUINT64_FORMAT " bytes",
                                     i, offset, offset + size, pack->size);
          return invalid_pack (error, pack_index, problem);
        }
      end = offset + size;
      mist_pack_add_entry (pack, object_id, offset, size);
    }
  return TRUE;
}

GPtrArray *
mist_packs_new_from_json_node (JsonNode *node, GError **error)
{
  g_autoptr (GPtrArray) packs = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_pack_free);
  JsonArray *array;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_steal_pointer (&packs);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "Invalid member \"packs\": expected an array");
      return NULL;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autoptr (MistPack) pack = NULL;
      JsonObject *object;
      JsonNode *entries;
      const char *id = NULL;
      guint64 size = 0;

      object = JSON_NODE_HOLDS_OBJECT (element) ? json_node_get_object (element) : NULL;
      entries = object != NULL ? json_object_get_member (object, "entries") : NULL;
      if (object == NULL || !read_member (object, "id", TRUE, 0, &id, NULL) ||
          !read_member (object, "size", FALSE, 1, NULL, &size) || entries == NULL ||
          !JSON_NODE_HOLDS_ARRAY (entries))
        {
          invalid_pack (error, i, "it needs \"id\" (a SHA-256), \"size\" (an integer of at "
                                  "least 1) and \"entries\" (an array)");
          return NULL;
        }
      pack = mist_pack_new (id, size);
      if (!parse_entries (pack, json_node_get_array (entries), i, error))
        return NULL;
      g_ptr_array_add (packs, g_steal_pointer (&pack));
    }
  return g_steal_pointer (&packs);
}

JsonNode *
mist_packs_to_json_node (GPtrArray *packs)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_array (builder);
  for (guint i = 0; i < packs->len; i++)
    {
      const MistPack *pack = g_ptr_array_index (packs, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, pack->id);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) pack->size);
      json_builder_set_member_name (builder, "entries");
      json_builder_begin_array (builder);
      for (guint j = 0; j < pack->entries->len; j++)
        {
          const MistPackEntry *entry = &g_array_index (pack->entries, MistPackEntry, j);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, entry->object_id);
          json_builder_set_member_name (builder, "offset");
          json_builder_add_int_value (builder, (gint64) entry->offset);
          json_builder_set_member_name (builder, "size");
          json_builder_add_int_value (builder, (gint64) entry->size);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}
