/* mist-backend-password.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-password.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define SALT_LENGTH 16
#define HASH_LENGTH 32
#define TOKEN_BYTES 32

gboolean
mist_backend_password_check (const char *password, GError **error)
{
  gsize length = strlen (password);

  if (length < MIST_BACKEND_PASSWORD_MIN_LENGTH)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The password is too short: use at least %d characters",
                   MIST_BACKEND_PASSWORD_MIN_LENGTH);
      return FALSE;
    }
  if (length > MIST_BACKEND_PASSWORD_MAX_LENGTH)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The password is too long: use at most %d bytes",
                   MIST_BACKEND_PASSWORD_MAX_LENGTH);
      return FALSE;
    }
  if (!g_utf8_validate (password, (gssize) length, NULL))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The password is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_backend_random_bytes (void *buffer, gsize length, GError **error)
{
  guint8 *out = buffer;
  gsize done = 0;

  while (done < length)
    {
      ssize_t got = getrandom (out + done, length - done, 0);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "getrandom() failed: %s", g_strerror (saved_errno));
          return FALSE;
        }
      done += (gsize) got;
    }
  return TRUE;
}

char *
mist_backend_password_hash (const char *password, GError **error)
{
  guint8 salt[SALT_LENGTH];
  gsize encoded_length;
  g_autofree char *encoded = NULL;
  int status;

  if (!mist_backend_random_bytes (salt, sizeof salt, error))
    return NULL;

  encoded_length = argon2_encodedlen (MIST_BACKEND_ARGON2_PASSES, MIST_BACKEND_ARGON2_MEMORY_KIB,
                                      MIST_BACKEND_ARGON2_LANES, SALT_LENGTH, HASH_LENGTH,
                                      Argon2_id);
  encoded = g_malloc0 (encoded_length);
  status = argon2id_hash_encoded (MIST_BACKEND_ARGON2_PASSES, MIST_BACKEND_ARGON2_MEMORY_KIB,
                                  MIST_BACKEND_ARGON2_LANES, password, strlen (password), salt,
                                  sizeof salt, HASH_LENGTH, encoded, encoded_length);
  if (status != ARGON2_OK)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "argon2id hashing failed: %s",
                   argon2_error_message (status));
      return NULL;
    }
  return g_steal_pointer (&encoded);
}

gboolean
mist_backend_password_verify (const char *encoded, const char *password)
{
  return argon2id_verify (encoded, password, strlen (password)) == ARGON2_OK;
}

char *
mist_backend_token_new (GError **error)
{
  guint8 bytes[TOKEN_BYTES];
  GString *token = g_string_sized_new (2 * TOKEN_BYTES);

  if (!mist_backend_random_bytes (bytes, sizeof bytes, error))
    {
      g_string_free (token, TRUE);
      return NULL;
    }
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (token, "%02x", bytes[i]);
  return g_string_free (token, FALSE);
}

char *
mist_backend_token_hash (const char *token)
{
  return mist_sha256_hex_data (token, strlen (token));
}
