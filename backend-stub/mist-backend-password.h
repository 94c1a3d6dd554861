/* mist-backend-password.h: argon2id password hashes and bearer tokens
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* argon2id parameters, the OWASP Password Storage Cheat Sheet's first recommended
 * configuration: 19 MiB of memory, 2 passes, 1 lane. */
#define MIST_BACKEND_ARGON2_MEMORY_KIB 19456
#define MIST_BACKEND_ARGON2_PASSES 2
#define MIST_BACKEND_ARGON2_LANES 1

#define MIST_BACKEND_PASSWORD_MIN_LENGTH 8
#define MIST_BACKEND_PASSWORD_MAX_LENGTH 1024

/* Checks the length rules of a new password; error names the rule that fails. */
gboolean mist_backend_password_check (const char *password, GError **error);

/* Returns the PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) of password with a
 * fresh random salt. Takes about as long as one verification; call it off the main loop. */
char *mist_backend_password_hash (const char *password, GError **error);

/* Returns TRUE when password matches the PHC string encoded. */
gboolean mist_backend_password_verify (const char *encoded, const char *password);

/* Fills buffer with random bytes from getrandom(). */
gboolean mist_backend_random_bytes (void *buffer, gsize length, GError **error);

/* Returns a new bearer token: 64 hex digits of 256 random bits. */
char *mist_backend_token_new (GError **error);
/* Returns the hex SHA-256 under which a token is stored. */
char *mist_backend_token_hash (const char *token);

G_END_DECLS
