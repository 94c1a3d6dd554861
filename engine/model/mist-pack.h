/* mist-pack.h: pack files, many small objects concatenated into one object
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A pack is an ordinary object (named by the SHA-256 of its bytes) whose bytes are other
 * objects one after the other. Its index lists each entry's object id, offset and size,
 * so a client fetches any subset with Range requests and verifies every entry against
 * its own id. The JSON form is the "packs" member of docs/api.md.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *object_id; /* hex SHA-256 of the entry's bytes */
  guint64 offset;  /* first byte of the entry in the pack */
  guint64 size;    /* bytes of the entry, at least 1 */
} MistPackEntry;

typedef struct
{
  char *id;         /* hex SHA-256 of the whole pack */
  guint64 size;     /* bytes of the pack */
  GArray *entries;  /* MistPackEntry, sorted by offset, not overlapping; owned */
} MistPack;

MistPack *mist_pack_new (const char *id, guint64 size);
MistPack *mist_pack_copy (const MistPack *pack);
void mist_pack_free (MistPack *pack);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPack, mist_pack_free)

/* Appends an entry; the caller keeps entries sorted and inside the pack. */
void mist_pack_add_entry (MistPack *pack, const char *object_id, guint64 offset, guint64 size);

/* Parses a "packs" array (NULL or a JSON null give an empty array), validating every
 * hash, that entries are sorted, do not overlap and end inside their pack. Returns a
 * new array of MistPack. */
GPtrArray *mist_packs_new_from_json_node (JsonNode *node, GError **error);

/* Builds the "packs" array of packs (MistPack elements). */
JsonNode *mist_packs_to_json_node (GPtrArray *packs);

G_END_DECLS
