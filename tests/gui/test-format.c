/* test-format.c: sizes, speeds, times and update routes as the launcher writes them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-format.h"

static void
test_route (void)
{
  g_autofree char *patches = mist_format_route ("1.2", "1.5", 38000000, 3, 1900000000);
  g_autofree char *one = mist_format_route ("1.2", "1.3", 1000, 1, 2000);
  g_autofree char *full = mist_format_route ("1.2", "1.5", 1900000000, 0, 1900000000);
  g_autofree char *fresh = mist_format_route (NULL, "1.5", 1900000000, 0, 1900000000);

  g_assert_cmpstr (patches, ==, "1.2 → 1.5: 38.0\u00a0MB via 3 patches, instead of 1.9\u00a0GB");
  g_assert_cmpstr (one, ==, "1.2 → 1.3: 1.0\u00a0kB via 1 patch, instead of 2.0\u00a0kB");
  g_assert_cmpstr (full, ==, "1.2 → 1.5: 1.9\u00a0GB, a full download");
  g_assert_cmpstr (fresh, ==, "1.5: 1.9\u00a0GB, a full download");
}

static void
test_eta (void)
{
  struct
  {
    gint64 seconds;
    const char *expected;
  } cases[] = {
    { -1, "Time left unknown" },
    { 0, "0 seconds left" },
    { 1, "1 second left" },
    { 59, "59 seconds left" },
    { 60, "1 minute left" },
    { 61, "2 minutes left" },
    { 3540, "59 minutes left" },
    { 3599, "1 h 00 min left" },
    { 3600, "1 h 00 min left" },
    { 7500, "2 h 05 min left" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = mist_format_eta (cases[i].seconds);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_speed (void)
{
  g_autofree char *speed = mist_format_speed (2100000);
  g_autofree char *negative = mist_format_speed (-5);

  g_assert_cmpstr (speed, ==, "2.1\u00a0MB/s");
  g_assert_cmpstr (negative, ==, "0 bytes/s");
}

int
main (int argc, char *argv[])
{
  /* The strings are checked in English. */
  g_setenv ("LANGUAGE", "C", TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/format/route", test_route);
  g_test_add_func ("/gui/format/eta", test_eta);
  g_test_add_func ("/gui/format/speed", test_speed);

  return g_test_run ();
}
