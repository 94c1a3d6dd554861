/* mist-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"

/* MIST_ERROR is an extended error domain so that an error can carry a wait time. The
 * quark keeps the name "mist-error-quark" that G_DEFINE_QUARK gave it, which
 * G_DEFINE_EXTENDED_ERROR cannot do, so the registration is written out here. */
typedef struct
{
  guint retry_after;
  gboolean transient;
} MistErrorPrivate;

/* GLib stores the private data just before the GError, aligned to two gsize as
 * G_DEFINE_EXTENDED_ERROR (glib/gerror.h, GLib 2.68) computes it. */
static MistErrorPrivate *
mist_error_get_private (const GError *error)
{
  const gsize alignment = 2 * sizeof (gsize);
  const gsize offset = (sizeof (MistErrorPrivate) + (alignment - 1)) & -alignment;

  return (MistErrorPrivate *) (void *) (((guint8 *) error) - offset);
}

static void
mist_error_private_init (GError *error)
{
  mist_error_get_private (error)->retry_after = 0;
  mist_error_get_private (error)->transient = FALSE;
}

static void
mist_error_private_copy (const GError *source, GError *destination)
{
  *mist_error_get_private (destination) = *mist_error_get_private (source);
}

static void
mist_error_private_clear (GError *error)
{
}

GQuark
mist_error_quark (void)
{
  static GQuark quark;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      quark = g_error_domain_register_static ("mist-error-quark",
                                              sizeof (MistErrorPrivate),
                                              mist_error_private_init,
                                              mist_error_private_copy,
                                              mist_error_private_clear);
      g_once_init_leave (&initialized, 1);
    }
  return quark;
}

guint
mist_error_get_retry_after (const GError *error)
{
  if (error == NULL || error->domain != MIST_ERROR)
    return 0;
  return mist_error_get_private (error)->retry_after;
}

void
mist_error_set_retry_after (GError *error, guint seconds)
{
  g_return_if_fail (error != NULL && error->domain == MIST_ERROR);
  mist_error_get_private (error)->retry_after = seconds;
}

/* Stable names for logs and JSON output; they never change once released. */
const char *
mist_error_code_to_string (MistError code)
{
  switch (code)
    {
    case MIST_ERROR_FAILED:
      return "failed";
    case MIST_ERROR_INVALID_DATA:
      return "invalid-data";
    case MIST_ERROR_UNSUPPORTED:
      return "unsupported";
    case MIST_ERROR_CHECKSUM_MISMATCH:
      return "checksum-mismatch";
    case MIST_ERROR_WRONG_SOURCE:
      return "wrong-source";
    case MIST_ERROR_TOO_LARGE:
      return "too-large";
    case MIST_ERROR_INVALID_PATH:
      return "invalid-path";
    case MIST_ERROR_NO_SPACE:
      return "no-space";
    case MIST_ERROR_AUTH_REQUIRED:
      return "auth-required";
    case MIST_ERROR_FORBIDDEN:
      return "forbidden";
    case MIST_ERROR_NOT_FOUND:
      return "not-found";
    case MIST_ERROR_NO_NETWORK:
      return "no-network";
    case MIST_ERROR_SERVER_ERROR:
      return "server-error";
    case MIST_ERROR_RATE_LIMITED:
      return "rate-limited";
    case MIST_ERROR_CERTIFICATE:
      return "certificate";
    case MIST_ERROR_BUSY:
      return "busy";
    case MIST_ERROR_CONFLICT:
      return "conflict";
    case MIST_ERROR_NO_KEYRING:
      return "no-keyring";
    }

  return "unknown";
}

gboolean
mist_error_is_transient (const GError *error)
{
  if (error == NULL || error->domain != MIST_ERROR)
    return FALSE;
  return mist_error_get_private (error)->transient;
}

void
mist_error_set_transient (GError *error, gboolean transient)
{
  g_return_if_fail (error != NULL && error->domain == MIST_ERROR);
  mist_error_get_private (error)->transient = transient;
}
