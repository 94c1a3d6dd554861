/* mist-credentials.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-credentials.h"
#include "mist-error.h"

#include <libsecret/secret.h>
#include <string.h>

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "example.mist.Session",
    SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

void
mist_credential_free (MistCredential *credential)
{
  if (credential == NULL)
    return;
  g_free (credential->username);
  if (credential->token != NULL)
    memset (credential->token, 0, strlen (credential->token));
  g_free (credential->token);
  g_free (credential);
}

/* Every libsecret failure but a cancellation means there is no usable Secret Service:
 * none on the bus, no bus at all, or a keyring that stays locked. */
static void
convert_error (GError **error, const char *action)
{
  GError *original;

  if (error == NULL || *error == NULL ||
      g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  original = *error;
  *error = g_error_new (MIST_ERROR, MIST_ERROR_NO_KEYRING,
                        "Failed to %s the session token because no Secret Service (keyring) "
                        "is available: %s",
                        action, original->message);
  g_error_free (original);
}

static GHashTable *
make_attributes (const char *server_url, const char *username)
{
  GHashTable *attributes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attributes, (gpointer) "server", (gpointer) server_url);
  if (username != NULL)
    g_hash_table_insert (attributes, (gpointer) "username", (gpointer) username);
  return attributes;
}

gboolean
mist_credentials_store (const char *server_url,
                        const char *username,
                        const char *token,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (GHashTable) attributes = make_attributes (server_url, username);
  g_autofree char *label = g_strdup_printf ("Mist session of %s on %s", username, server_url);

  g_return_val_if_fail (server_url != NULL && username != NULL && token != NULL, FALSE);

  if (!secret_password_storev_sync (get_schema (), attributes, SECRET_COLLECTION_DEFAULT, label,
                                    token, cancellable, error))
    {
      convert_error (error, "store");
      return FALSE;
    }
  return TRUE;
}

MistCredential *
mist_credentials_lookup (const char *server_url, GCancellable *cancellable, GError **error)
{
  g_autoptr (GHashTable) attributes = make_attributes (server_url, NULL);
  g_autolist (SecretRetrievable) items = NULL;
  SecretRetrievable *newest = NULL;
  g_autoptr (SecretValue) value = NULL;
  g_autoptr (GHashTable) found_attributes = NULL;
  GError *local_error = NULL;
  MistCredential *credential;

  g_return_val_if_fail (server_url != NULL, NULL);

  items = secret_password_searchv_sync (get_schema (), attributes,
                                        SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK, cancellable,
                                        &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      convert_error (error, "look up");
      return NULL;
    }
  if (items == NULL)
    return NULL;

  for (GList *l = items; l != NULL; l = l->next)
    {
      if (newest == NULL ||
          secret_retrievable_get_modified (l->data) > secret_retrievable_get_modified (newest))
        newest = l->data;
    }

  value = secret_retrievable_retrieve_secret_sync (newest, cancellable, error);
  if (value == NULL)
    {
      convert_error (error, "read");
      return NULL;
    }

  found_attributes = secret_retrievable_get_attributes (newest);
  credential = g_new0 (MistCredential, 1);
  credential->username = g_strdup (g_hash_table_lookup (found_attributes, "username"));
  credential->token = g_strdup (secret_value_get_text (value));
  if (credential->username == NULL || credential->token == NULL)
    {
      mist_credential_free (credential);
      return NULL;
    }
  return credential;
}

gboolean
mist_credentials_clear (const char *server_url,
                        const char *username,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (GHashTable) attributes = make_attributes (server_url, username);
  GError *local_error = NULL;

  g_return_val_if_fail (server_url != NULL, FALSE);

  /* FALSE without an error means there was nothing to delete. */
  if (!secret_password_clearv_sync (get_schema (), attributes, cancellable, &local_error) &&
      local_error != NULL)
    {
      g_propagate_error (error, local_error);
      convert_error (error, "delete");
      return FALSE;
    }
  return TRUE;
}

/* Asynchronous forms: the blocking ones in a worker thread. */

typedef struct
{
  char *server_url;
  char *username;
  char *token;
} Arguments;

static void
arguments_free (gpointer data)
{
  Arguments *arguments = data;

  g_free (arguments->server_url);
  g_free (arguments->username);
  if (arguments->token != NULL)
    memset (arguments->token, 0, strlen (arguments->token));
  g_free (arguments->token);
  g_free (arguments);
}

static GTask *
new_task (const char *server_url,
          const char *username,
          const char *token,
          gpointer source_tag,
          GCancellable *cancellable,
          GAsyncReadyCallback callback,
          gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Arguments *arguments = g_new0 (Arguments, 1);

  arguments->server_url = g_strdup (server_url);
  arguments->username = g_strdup (username);
  arguments->token = g_strdup (token);
  g_task_set_task_data (task, arguments, arguments_free);
  g_task_set_source_tag (task, source_tag);
  return task;
}

static void
store_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Arguments *arguments = data;
  GError *error = NULL;

  if (mist_credentials_store (arguments->server_url, arguments->username, arguments->token,
                              cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
mist_credentials_store_async (const char *server_url,
                              const char *username,
                              const char *token,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = new_task (server_url, username, token,
                                     mist_credentials_store_async, cancellable, callback,
                                     user_data);

  g_task_run_in_thread (task, store_in_thread);
}

gboolean
mist_credentials_store_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lookup_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Arguments *arguments = data;
  GError *error = NULL;
  MistCredential *credential = mist_credentials_lookup (arguments->server_url, cancellable,
                                                        &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, credential, (GDestroyNotify) mist_credential_free);
}

void
mist_credentials_lookup_async (const char *server_url,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = new_task (server_url, NULL, NULL, mist_credentials_lookup_async,
                                     cancellable, callback, user_data);

  g_task_run_in_thread (task, lookup_in_thread);
}

MistCredential *
mist_credentials_lookup_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
clear_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Arguments *arguments = data;
  GError *error = NULL;

  if (mist_credentials_clear (arguments->server_url, arguments->username, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
mist_credentials_clear_async (const char *server_url,
                              const char *username,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = new_task (server_url, username, NULL, mist_credentials_clear_async,
                                     cancellable, callback, user_data);

  g_task_run_in_thread (task, clear_in_thread);
}

gboolean
mist_credentials_clear_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
