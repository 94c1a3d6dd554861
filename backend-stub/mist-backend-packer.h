/* mist-backend-packer.h: writes pack files of small objects (engine/model/mist-pack.h)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A client that fetches thousands of small objects one by one pays one round trip for
 * each. The patch worker therefore also stores the small objects of each version and
 * each patch set concatenated into a few pack objects, in path order. A client then
 * fetches any subset of them with a few Range requests.
 */
#pragma once

#include "mist-backend-store.h"

G_BEGIN_DECLS

/* About 32 MiB per pack. Clients fetch a pack in several Range requests at once, and
 * spans never cross packs, so fewer packs mean fewer requests per download. */
#define MIST_BACKEND_PACK_TARGET_SIZE (G_GUINT64_CONSTANT (32) << 20)
/* Objects above 1 MiB take long enough to transfer that one request each costs little. */
#define MIST_BACKEND_PACK_MAX_ENTRY_SIZE (G_GUINT64_CONSTANT (1) << 20)

/* Writes the objects of object_ids that are at most MIST_BACKEND_PACK_MAX_ENTRY_SIZE, in
 * that order and each once, into pack objects of about MIST_BACKEND_PACK_TARGET_SIZE.
 * Returns the packs (MistPack elements); a pack that would contain a single entry
 * is not written, so the array may be empty. */
GPtrArray *mist_backend_write_packs (MistBackendStore *store,
                                     GPtrArray *object_ids,
                                     GCancellable *cancellable,
                                     GError **error);

/* The JSON text of the "packs" member of docs/api.md. */
char *mist_backend_packs_to_json (GPtrArray *packs);

G_END_DECLS
