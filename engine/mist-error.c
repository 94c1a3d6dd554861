/* mist-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"

G_DEFINE_QUARK (mist-error-quark, mist_error)

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
    }

  return "unknown";
}
