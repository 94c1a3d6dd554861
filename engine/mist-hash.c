/* mist-hash.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-hash.h"
#include "mist-error.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BUFFER_SIZE (1024 * 1024)

struct _MistSha256
{
  struct sha256_ctx context;
};

MistSha256 *
mist_sha256_new (void)
{
  MistSha256 *hash = g_new0 (MistSha256, 1);

  sha256_init (&hash->context);
  return hash;
}

void
mist_sha256_update (MistSha256 *hash, const void *data, gsize length)
{
  sha256_update (&hash->context, length, data);
}

void
mist_sha256_finish (MistSha256 *hash, guint8 digest[MIST_SHA256_DIGEST_SIZE])
{
  sha256_digest (&hash->context, MIST_SHA256_DIGEST_SIZE, digest);
}

void
mist_sha256_finish_hex (MistSha256 *hash, char hex[MIST_SHA256_HEX_LENGTH + 1])
{
  static const char digits[] = "0123456789abcdef";
  guint8 digest[SHA256_DIGEST_SIZE];

  sha256_digest (&hash->context, sizeof digest, digest);
  for (gsize i = 0; i < sizeof digest; i++)
    {
      hex[2 * i] = digits[digest[i] >> 4];
      hex[2 * i + 1] = digits[digest[i] & 0xf];
    }
  hex[MIST_SHA256_HEX_LENGTH] = '\0';
}

void
mist_sha256_free (MistSha256 *hash)
{
  g_free (hash);
}

char *
mist_sha256_hex_data (const void *data, gsize length)
{
  g_autoptr (MistSha256) hash = mist_sha256_new ();
  char *hex = g_malloc (MIST_SHA256_HEX_LENGTH + 1);

  mist_sha256_update (hash, data, length);
  mist_sha256_finish_hex (hash, hex);
  return hex;
}

char *
mist_sha256_hex_fd (int fd,
                    MistHashProgressFunc progress,
                    gpointer user_data,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (MistSha256) hash = mist_sha256_new ();
  g_autofree guint8 *buffer = g_malloc (HASH_BUFFER_SIZE);
  guint64 offset = 0;
  guint64 total = 0;
  struct stat info;
  char *hex;

  if (fstat (fd, &info) == 0)
    total = (guint64) info.st_size;

  for (;;)
    {
      ssize_t n;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      n = pread (fd, buffer, HASH_BUFFER_SIZE, (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Failed to read at offset %" G_GUINT64_FORMAT ": %s", offset,
                       g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;

      mist_sha256_update (hash, buffer, (gsize) n);
      offset += (guint64) n;
      if (progress != NULL)
        progress (offset, MAX (total, offset), user_data);
    }

  hex = g_malloc (MIST_SHA256_HEX_LENGTH + 1);
  mist_sha256_finish_hex (hash, hex);
  return hex;
}

char *
mist_sha256_hex_file (const char *path, GCancellable *cancellable, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char *hex;

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to open %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  hex = mist_sha256_hex_fd (fd, NULL, NULL, cancellable, error);
  close (fd);
  if (hex == NULL)
    g_prefix_error (error, "Failed to hash %s: ", path);
  return hex;
}

gboolean
mist_sha256_hex_is_valid (const char *hex)
{
  if (hex == NULL || strlen (hex) != MIST_SHA256_HEX_LENGTH)
    return FALSE;

  for (const char *c = hex; *c != '\0'; c++)
    {
      if (!g_ascii_isdigit (*c) && !(*c >= 'a' && *c <= 'f'))
        return FALSE;
    }
  return TRUE;
}
