/* test-error.c: the engine's error domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"

#include <gio/gio.h>

static void
test_error_names_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (int code = MIST_ERROR_FAILED; code <= MIST_ERROR_NO_KEYRING; code++)
    {
      const char *name = mist_error_code_to_string (code);

      g_assert_cmpstr (name, !=, "unknown");
      g_assert_false (g_hash_table_contains (seen, name));
      g_hash_table_add (seen, (gpointer) name);
    }
}

static void
test_error_domain_stable (void)
{
  g_autoptr (GError) error = g_error_new_literal (MIST_ERROR, MIST_ERROR_NO_SPACE, "full");

  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE);
  g_assert_cmpstr (g_quark_to_string (MIST_ERROR), ==, "mist-error-quark");
}

static void
test_error_retry_after_copied (void)
{
  g_autoptr (GError) error = g_error_new_literal (MIST_ERROR, MIST_ERROR_RATE_LIMITED, "wait");
  g_autoptr (GError) copy = NULL;
  g_autoptr (GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "other");

  g_assert_cmpuint (mist_error_get_retry_after (error), ==, 0);
  mist_error_set_retry_after (error, 42);
  copy = g_error_copy (error);
  g_assert_cmpuint (mist_error_get_retry_after (copy), ==, 42);
  g_assert_cmpuint (mist_error_get_retry_after (other), ==, 0);
  g_assert_cmpuint (mist_error_get_retry_after (NULL), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/error/names-unique", test_error_names_unique);
  g_test_add_func ("/engine/error/domain-stable", test_error_domain_stable);
  g_test_add_func ("/engine/error/retry-after-copied", test_error_retry_after_copied);
  return g_test_run ();
}
