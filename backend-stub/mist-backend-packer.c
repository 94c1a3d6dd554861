/* mist-backend-packer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-packer.h"
#include "mist-hash.h"
#include "mist-pack.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

/* The pack being written: a temporary file in DATA/tmp and the hash of its bytes. */
typedef struct
{
  MistBackendStore *store; /* unowned */
  int fd;
  char *temp_path;
  MistSha256 *hash;
  MistPack *pack; /* id unset until the pack is complete */
} PackWriter;

static void
pack_writer_discard (PackWriter *writer)
{
  if (writer->fd >= 0)
    close (writer->fd);
  writer->fd = -1;
  if (writer->temp_path != NULL)
    g_unlink (writer->temp_path);
  g_clear_pointer (&writer->temp_path, g_free);
  g_clear_pointer (&writer->hash, mist_sha256_free);
  g_clear_pointer (&writer->pack, mist_pack_free);
}

static gboolean
pack_writer_append (PackWriter *writer, const char *object_id, GError **error)
{
  g_autofree char *path = mist_backend_store_object_path (writer->store, object_id);
  g_autofree char *bytes = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &bytes, &length, error))
    return FALSE;
  if (writer->pack == NULL)
    {
      writer->fd = mist_backend_store_open_temp (writer->store, &writer->temp_path, error);
      if (writer->fd < 0)
        return FALSE;
      writer->hash = mist_sha256_new ();
      writer->pack = mist_pack_new (NULL, 0);
    }
  if (!mist_backend_write_all (writer->fd, bytes, length, error))
    return FALSE;
  mist_sha256_update (writer->hash, bytes, length);
  mist_pack_add_entry (writer->pack, object_id, writer->pack->size, length);
  writer->pack->size += length;
  return TRUE;
}

/* Stores the pack as an object and moves it to packs; a single entry is dropped. */
static gboolean
pack_writer_finish (PackWriter *writer, GPtrArray *packs, GError **error)
{
  char hex[MIST_SHA256_HEX_LENGTH + 1];

  if (writer->pack == NULL)
    return TRUE;
  if (writer->pack->entries->len < 2)
    {
      pack_writer_discard (writer);
      return TRUE;
    }
  mist_sha256_finish_hex (writer->hash, hex);
  if (!mist_backend_store_commit (writer->store, writer->fd, writer->temp_path, hex, FALSE,
                                  error))
    return FALSE;
  g_clear_pointer (&writer->temp_path, g_free);
  writer->pack->id = g_strdup (hex);
  g_ptr_array_add (packs, g_steal_pointer (&writer->pack));
  pack_writer_discard (writer);
  return TRUE;
}

GPtrArray *
mist_backend_write_packs (MistBackendStore *store,
                          GPtrArray *object_ids,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) packs = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_pack_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  PackWriter writer = { store, -1, NULL, NULL, NULL };

  for (guint i = 0; i < object_ids->len; i++)
    {
      const char *object_id = g_ptr_array_index (object_ids, i);
      g_autofree char *path = mist_backend_store_object_path (store, object_id);
      GStatBuf info;

      if (!g_hash_table_add (seen, (gpointer) object_id))
        continue;
      if (g_stat (path, &info) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Cannot read the object %s: %s", path, g_strerror (saved_errno));
          goto failed;
        }
      if ((guint64) info.st_size > MIST_BACKEND_PACK_MAX_ENTRY_SIZE || info.st_size == 0)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !pack_writer_append (&writer, object_id, error))
        goto failed;
      if (writer.pack->size >= MIST_BACKEND_PACK_TARGET_SIZE &&
          !pack_writer_finish (&writer, packs, error))
        goto failed;
    }
  if (!pack_writer_finish (&writer, packs, error))
    goto failed;
  return g_steal_pointer (&packs);

failed:
  pack_writer_discard (&writer);
  g_prefix_error (error, "Cannot write a pack: ");
  return NULL;
}

char *
mist_backend_packs_to_json (GPtrArray *packs)
{
  g_autoptr (JsonNode) node = mist_packs_to_json_node (packs);

  return json_to_string (node, FALSE);
}
