/* mist-delta.c: format detection and dispatch to the VCDIFF and zstd codecs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-zstd-patch-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* RFC 3284, section 4.1: 0xD6 0xC3 0xC4 ("VCD" with the high bits set), then a version
 * byte that the decoder checks. */
static const guint8 vcdiff_magic[] = { 0xd6, 0xc3, 0xc4 };

#define HEAD_SIZE 8

MistDeltaFormat
mist_delta_format_detect (const guint8 *head, gsize length)
{
  if (length >= sizeof vcdiff_magic && memcmp (head, vcdiff_magic, sizeof vcdiff_magic) == 0)
    return MIST_DELTA_FORMAT_VCDIFF;
  if (mist_zstd_patch_is_container (head, length) || mist_zstd_patch_is_frame (head, length))
    return MIST_DELTA_FORMAT_ZSTD;
  return MIST_DELTA_FORMAT_UNKNOWN;
}

const char *
mist_delta_format_to_string (MistDeltaFormat format)
{
  switch (format)
    {
    case MIST_DELTA_FORMAT_VCDIFF:
      return "vcdiff";
    case MIST_DELTA_FORMAT_ZSTD:
      return "zstd";
    case MIST_DELTA_FORMAT_UNKNOWN:
      break;
    }
  return "unknown";
}

MistDeltaFormat
mist_delta_format_from_string (const char *name)
{
  if (name == NULL)
    return MIST_DELTA_FORMAT_UNKNOWN;
  if (g_ascii_strcasecmp (name, "vcdiff") == 0)
    return MIST_DELTA_FORMAT_VCDIFF;
  if (g_ascii_strcasecmp (name, "zstd") == 0)
    return MIST_DELTA_FORMAT_ZSTD;
  return MIST_DELTA_FORMAT_UNKNOWN;
}

/* Reads the first bytes of the patch with pread, leaving its offset alone. */
static MistDeltaFormat
detect_fd (int patch_fd, GError **error)
{
  guint8 head[HEAD_SIZE];
  ssize_t n;
  MistDeltaFormat format;

  do
    n = pread (patch_fd, head, sizeof head, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to read the patch: %s", g_strerror (saved_errno));
      return MIST_DELTA_FORMAT_UNKNOWN;
    }

  format = mist_delta_format_detect (head, (gsize) n);
  if (format == MIST_DELTA_FORMAT_UNKNOWN && n == 0)
    g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "The patch is empty");
  else if (format == MIST_DELTA_FORMAT_UNKNOWN)
    {
      g_autofree char *hex = g_malloc0 (3 * sizeof head + 1);

      for (ssize_t i = 0; i < MIN (n, 4); i++)
        g_snprintf (hex + 3 * i, 4, "%02x ", head[i]);
      g_strchomp (hex);
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Not a delta patch: it starts with %s, neither VCDIFF (d6 c3 c4) nor zstd "
                   "(28 b5 2f fd, or the Mist container 89 4d 5a 50)",
                   hex);
    }
  return format;
}

gboolean
mist_delta_apply_fd (int source_fd,
                     int patch_fd,
                     int output_fd,
                     MistDeltaProgressFunc progress,
                     gpointer user_data,
                     GCancellable *cancellable,
                     GError **error)
{
  switch (detect_fd (patch_fd, error))
    {
    case MIST_DELTA_FORMAT_VCDIFF:
      return mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, progress, user_data,
                                   cancellable, error);
    case MIST_DELTA_FORMAT_ZSTD:
      return mist_zstd_patch_apply_fd (source_fd, patch_fd, output_fd, progress, user_data,
                                       cancellable, error);
    case MIST_DELTA_FORMAT_UNKNOWN:
      break;
    }
  return FALSE;
}

char *
mist_delta_describe_fd (int patch_fd, GCancellable *cancellable, GError **error)
{
  switch (detect_fd (patch_fd, error))
    {
    case MIST_DELTA_FORMAT_VCDIFF:
      return mist_vcdiff_describe_fd (patch_fd, cancellable, error);
    case MIST_DELTA_FORMAT_ZSTD:
      return mist_zstd_patch_describe_fd (patch_fd, cancellable, error);
    case MIST_DELTA_FORMAT_UNKNOWN:
      break;
    }
  return NULL;
}
