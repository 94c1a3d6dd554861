/* mist-hash.h: SHA-256 through nettle, which uses the CPU's SHA instructions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIST_SHA256_DIGEST_SIZE 32
#define MIST_SHA256_HEX_LENGTH 64

typedef struct _MistSha256 MistSha256;

MistSha256 *mist_sha256_new (void);
void mist_sha256_update (MistSha256 *hash, const void *data, gsize length);
/* Writes the binary digest and resets the state. */
void mist_sha256_finish (MistSha256 *hash, guint8 digest[MIST_SHA256_DIGEST_SIZE]);
/* Writes the lowercase hex digest (65 bytes with the NUL) and resets the state. */
void mist_sha256_finish_hex (MistSha256 *hash, char hex[MIST_SHA256_HEX_LENGTH + 1]);
void mist_sha256_free (MistSha256 *hash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistSha256, mist_sha256_free)

char *mist_sha256_hex_data (const void *data, gsize length);

typedef void (*MistHashProgressFunc) (guint64 done, guint64 total, gpointer user_data);

/* Hashes the whole file behind fd from offset 0 with pread, so the fd's offset is
 * left alone. Returns the lowercase hex digest, or NULL with error set. */
char *mist_sha256_hex_fd (int fd,
                          MistHashProgressFunc progress,
                          gpointer user_data,
                          GCancellable *cancellable,
                          GError **error);

char *mist_sha256_hex_file (const char *path, GCancellable *cancellable, GError **error);

gboolean mist_sha256_hex_is_valid (const char *hex);

G_END_DECLS
