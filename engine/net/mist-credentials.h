/* mist-credentials.h: session tokens in the user's keyring (Secret Service, libsecret)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One secret per server URL and user name (schema "example.mist.Session"). When no
 * Secret Service is running the calls fail with MIST_ERROR_NO_KEYRING: the caller keeps
 * the token for this session only and warns the user that it will not be remembered. The
 * token is never written to a file by Mist.
 *
 * The calls block on D-Bus in a worker thread and call back on the caller's main context.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *username;
  char *token;
} MistCredential;

void mist_credential_free (MistCredential *credential);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistCredential, mist_credential_free)

void mist_credentials_store_async (const char *server_url,
                                   const char *username,
                                   const char *token,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean mist_credentials_store_finish (GAsyncResult *result, GError **error);

/* Finds the stored session for server_url. Returns NULL without an error when there is
 * none; with several users, the one stored last. */
void mist_credentials_lookup_async (const char *server_url,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
MistCredential *mist_credentials_lookup_finish (GAsyncResult *result, GError **error);

/* Deletes the stored session of username on server_url, or of every user there when
 * username is NULL. Nothing stored is no error. */
void mist_credentials_clear_async (const char *server_url,
                                   const char *username,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean mist_credentials_clear_finish (GAsyncResult *result, GError **error);

/* Blocking forms for command-line tools and tests. */
gboolean mist_credentials_store (const char *server_url,
                                 const char *username,
                                 const char *token,
                                 GCancellable *cancellable,
                                 GError **error);
MistCredential *mist_credentials_lookup (const char *server_url,
                                         GCancellable *cancellable,
                                         GError **error);
gboolean mist_credentials_clear (const char *server_url,
                                 const char *username,
                                 GCancellable *cancellable,
                                 GError **error);

G_END_DECLS
