/* test-error.c: the engine's error domain
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"

static void
test_error_names_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (int code = MIST_ERROR_FAILED; code <= MIST_ERROR_CONFLICT; code++)
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/error/names-unique", test_error_names_unique);
  g_test_add_func ("/engine/error/domain-stable", test_error_domain_stable);
  return g_test_run ();
}
