/* mist-path.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-path.h"
#include "mist-error.h"

#include <string.h>

static gboolean
reject (GError **error, const char *path, const char *reason)
{
  g_autofree char *printable = g_strescape (path, NULL);

  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH, "Invalid path “%s”: %s", printable,
               reason);
  return FALSE;
}

static gboolean
validate_component (const char *path, const char *component, gsize length, GError **error)
{
  if (length == 0)
    return reject (error, path, "it has an empty component (a leading, doubled or trailing “/”)");
  if (length == 1 && component[0] == '.')
    return reject (error, path, "it has a “.” component");
  if (length == 2 && component[0] == '.' && component[1] == '.')
    return reject (error, path, "it has a “..” component that would leave the install folder");
  if (length > MIST_PATH_MAX_COMPONENT)
    return reject (error, path, "a component is longer than 255 bytes");
  return TRUE;
}

gboolean
mist_path_validate (const char *path, GError **error)
{
  const char *start;
  gsize length;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (path == NULL || path[0] == '\0')
    return reject (error, "", "it is empty");

  length = strlen (path);
  if (length > MIST_PATH_MAX_LENGTH)
    return reject (error, path, "it is longer than 4096 bytes");
  if (!g_utf8_validate (path, (gssize) length, NULL))
    return reject (error, path, "it is not valid UTF-8");
  if (path[0] == '/')
    return reject (error, path, "it is absolute; paths in a build are relative to its folder");

  for (const char *c = path; *c != '\0'; c++)
    {
      if (*c == '\\')
        return reject (error, path, "it contains a backslash; use “/” between folders");
      if ((guchar) *c < 0x20 || *c == 0x7f)
        return reject (error, path, "it contains a control character");
    }

  if (g_ascii_strncasecmp (path, MIST_PATH_STAGING_FOLDER, strlen (MIST_PATH_STAGING_FOLDER)) == 0
      && (path[strlen (MIST_PATH_STAGING_FOLDER)] == '/'
          || path[strlen (MIST_PATH_STAGING_FOLDER)] == '\0'))
    return reject (error, path,
                   "“" MIST_PATH_STAGING_FOLDER "” is the folder where the launcher stages "
                   "updates; rename it in the build");

  start = path;
  for (;;)
    {
      const char *slash = strchr (start, '/');
      gsize component_length = slash != NULL ? (gsize) (slash - start) : strlen (start);

      if (!validate_component (path, start, component_length, error))
        return FALSE;
      if (slash == NULL)
        break;
      start = slash + 1;
    }

  return TRUE;
}

char *
mist_path_collation_key (const char *path)
{
  g_autofree char *normalized = g_utf8_normalize (path, -1, G_NORMALIZE_NFC);

  if (normalized == NULL)
    return g_strdup (path);
  return g_utf8_casefold (normalized, -1);
}

struct _MistPathSet
{
  GHashTable *files;   /* collation key → original path */
  GHashTable *folders; /* collation key of every parent folder → the first file path beneath it */
};

MistPathSet *
mist_path_set_new (void)
{
  MistPathSet *set = g_new0 (MistPathSet, 1);

  set->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  set->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return set;
}

void
mist_path_set_free (MistPathSet *set)
{
  if (set == NULL)
    return;
  g_hash_table_unref (set->files);
  g_hash_table_unref (set->folders);
  g_free (set);
}

static gboolean
reject_clash (GError **error, const char *path, const char *other, const char *how)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH, "Invalid path “%s”: %s “%s”", path,
               how, other);
  return FALSE;
}

gboolean
mist_path_set_add (MistPathSet *set, const char *path, GError **error)
{
  g_autofree char *key = NULL;
  const char *existing;

  if (!mist_path_validate (path, error))
    return FALSE;

  key = mist_path_collation_key (path);
  existing = g_hash_table_lookup (set->files, key);
  if (existing != NULL)
    return reject_clash (error, path, existing,
                         strcmp (existing, path) == 0
                           ? "it is listed twice, as"
                           : "it differs only in letter case or Unicode form from");
  existing = g_hash_table_lookup (set->folders, key);
  if (existing != NULL)
    return reject_clash (error, path, existing, "it is a file but also the folder of");

  /* Every parent folder of the new path must not already be a file. */
  for (char *slash = strchr (key, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
    {
      g_autofree char *folder = g_strndup (key, (gsize) (slash - key));

      existing = g_hash_table_lookup (set->files, folder);
      if (existing != NULL)
        return reject_clash (error, path, existing, "its folder is already a file,");
    }

  for (char *slash = strchr (key, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
    {
      char *folder = g_strndup (key, (gsize) (slash - key));

      if (g_hash_table_contains (set->folders, folder))
        g_free (folder);
      else
        g_hash_table_insert (set->folders, folder, g_strdup (path));
    }
  g_hash_table_insert (set->files, g_steal_pointer (&key), g_strdup (path));
  return TRUE;
}
