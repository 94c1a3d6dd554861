/* mist-error.h: the engine's error domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIST_ERROR (mist_error_quark ())

/**
 * MistError:
 * @MIST_ERROR_FAILED: an error with no more specific code
 * @MIST_ERROR_INVALID_DATA: input (a patch, a manifest, a server reply) is malformed,
 *   truncated or corrupt
 * @MIST_ERROR_UNSUPPORTED: valid input that uses a feature Mist does not implement
 * @MIST_ERROR_CHECKSUM_MISMATCH: data does not match its declared checksum or hash
 * @MIST_ERROR_WRONG_SOURCE: a delta was applied to a source file it was not made from
 * @MIST_ERROR_TOO_LARGE: a declared size is above a hard limit
 * @MIST_ERROR_INVALID_PATH: a path from a manifest or an upload is unsafe or invalid, or
 *   an install folder cannot take the game
 * @MIST_ERROR_NO_SPACE: not enough free disk space
 * @MIST_ERROR_AUTH_REQUIRED: the server needs a (new) login
 * @MIST_ERROR_FORBIDDEN: the account may not do this
 * @MIST_ERROR_NOT_FOUND: the server or the disk has no such object
 * @MIST_ERROR_NO_NETWORK: the server cannot be reached
 * @MIST_ERROR_SERVER_ERROR: the server failed (5xx) or sent a reply Mist cannot use
 * @MIST_ERROR_RATE_LIMITED: the server requests a wait before the next attempt
 * @MIST_ERROR_CERTIFICATE: the server's TLS certificate is not trusted
 * @MIST_ERROR_BUSY: the object is in use, for example a game that is running
 * @MIST_ERROR_CONFLICT: the request conflicts with the current state
 * @MIST_ERROR_NO_KEYRING: no Secret Service is running, so a secret cannot be stored
 *
 * Codes the client acts on. Messages carry the failing value and what to do next.
 */
typedef enum
{
  MIST_ERROR_FAILED,
  MIST_ERROR_INVALID_DATA,
  MIST_ERROR_UNSUPPORTED,
  MIST_ERROR_CHECKSUM_MISMATCH,
  MIST_ERROR_WRONG_SOURCE,
  MIST_ERROR_TOO_LARGE,
  MIST_ERROR_INVALID_PATH,
  MIST_ERROR_NO_SPACE,
  MIST_ERROR_AUTH_REQUIRED,
  MIST_ERROR_FORBIDDEN,
  MIST_ERROR_NOT_FOUND,
  MIST_ERROR_NO_NETWORK,
  MIST_ERROR_SERVER_ERROR,
  MIST_ERROR_RATE_LIMITED,
  MIST_ERROR_CERTIFICATE,
  MIST_ERROR_BUSY,
  MIST_ERROR_CONFLICT,
  MIST_ERROR_NO_KEYRING,
} MistError;

GQuark mist_error_quark (void);

const char *mist_error_code_to_string (MistError code);

/* Seconds the server asked to wait (Retry-After) before the request may be sent again;
 * 0 when the error is not in the MIST_ERROR domain or carries no wait time. */
guint mist_error_get_retry_after (const GError *error);
void mist_error_set_retry_after (GError *error, guint seconds);

/* Whether the same request may succeed when sent again later (a 5xx reply, a timeout, a
 * dropped connection); FALSE for errors outside the MIST_ERROR domain. */
gboolean mist_error_is_transient (const GError *error);
void mist_error_set_transient (GError *error, gboolean transient);

/* The structured log field that marks a message as a notice for the user: something the
 * engine did on their behalf that they need to know, such as moving a file of theirs out
 * of the game's way. Front ends show notices even where they hide other messages. */
#define MIST_LOG_FIELD_NOTICE "MIST_NOTICE"

/* Logs a notice at G_LOG_LEVEL_MESSAGE; takes a printf format and its arguments. */
#define mist_notice(...)                                                                           \
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, MIST_LOG_FIELD_NOTICE, "1", "MESSAGE",      \
                    __VA_ARGS__)

G_END_DECLS
