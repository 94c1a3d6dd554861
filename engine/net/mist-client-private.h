/* mist-client-private.h: the request machinery of MistClient, for its route files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-client.h"

G_BEGIN_DECLS

/* Turns a reply's JSON into the task's result, or returns NULL with error set. */
typedef gpointer (*MistClientParseFunc) (JsonNode *root, GError **error);

/* Sends method to path (under the server URL) with body of content_type (body may be
 * NULL). The task returns the value of parse, or the reply body as GBytes when parse is
 * NULL. A GET is sent again after a transient failure (mist_client_set_retry_policy()). */
void mist_client_request_async (MistClient *self,
                                const char *method,
                                const char *path,
                                const char *content_type,
                                GBytes *body,
                                MistClientParseFunc parse,
                                GDestroyNotify free_result,
                                gpointer source_tag,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);

/* The same with a JSON body, or none when body is NULL. */
void mist_client_request_json_async (MistClient *self,
                                     const char *method,
                                     const char *path,
                                     JsonNode *body,
                                     MistClientParseFunc parse,
                                     GDestroyNotify free_result,
                                     gpointer source_tag,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

/* Returns TRUE, after returning an INVALID_DATA error through a new task, when slug is
 * not a valid game slug. */
gboolean mist_client_fail_on_invalid_slug (MistClient *self,
                                           const char *slug,
                                           gpointer source_tag,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);

/* Makes the entry's cover URL absolute. */
void mist_client_resolve_cover_url (MistClient *self, MistGameEntry *entry);

/* Parsers of reply objects: a JsonObject reference, a MistGameEntry, a MistVersionEntry. */
gpointer mist_client_parse_object (JsonNode *root, GError **error);
gpointer mist_client_parse_game (JsonNode *root, GError **error);
gpointer mist_client_parse_version (JsonNode *root, GError **error);

G_END_DECLS
