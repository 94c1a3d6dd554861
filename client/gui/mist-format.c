/* mist-format.c: sizes, speeds, times and update routes as the views write them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-format.h"

#include <glib/gi18n.h>

/* Formats a rate like "1.2 MB/s", in SI units as GNOME shows sizes. */
char *
mist_format_speed (double bytes_per_second)
{
  g_autofree char *size = g_format_size ((guint64) MAX (0.0, bytes_per_second));

  /* TRANSLATORS: a download speed; %s is a size such as "1.2 MB" */
  return g_strdup_printf (_("%s/s"), size);
}

/* Formats the time left of a download, rounded up to whole minutes past the first one. */
char *
mist_format_eta (gint64 seconds)
{
  gint64 minutes;
  gint64 hours;

  if (seconds < 0)
    return g_strdup (_("Time left unknown"));
  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second left", "%u seconds left",
                                         (gulong) seconds),
                            (guint) seconds);

  minutes = (seconds + 59) / 60;
  if (minutes < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute left", "%u minutes left",
                                         (gulong) minutes),
                            (guint) minutes);

  hours = minutes / 60;
  minutes %= 60;
  /* TRANSLATORS: hours and minutes left of a download, for example "2 h 05 min left" */
  return g_strdup_printf (_("%u h %02u min left"), (guint) hours, (guint) minutes);
}

/* Formats the versions a job moves between: "1.2 → 1.5", or "1.5" for a fresh install. */
char *
mist_format_versions (const char *from_version, const char *to_version)
{
  if (from_version == NULL)
    return g_strdup (to_version);
  /* TRANSLATORS: an update from one version to another, for example "1.2 → 1.5" */
  return g_strdup_printf (_("%s → %s"), from_version, to_version);
}

/* Describes an update route, for example "1.2 → 1.5: 38 MB via 3 patches, instead of
 * 1.9 GB". A route without patch sets is a full download. */
char *
mist_format_route (const char *from_version,
                   const char *to_version,
                   guint64 download_size,
                   guint n_patch_sets,
                   guint64 full_download_size)
{
  g_autofree char *versions = mist_format_versions (from_version, to_version);
  g_autofree char *size = g_format_size (download_size);
  g_autofree char *full_size = g_format_size (full_download_size);

  if (n_patch_sets == 0)
    /* TRANSLATORS: "1.2 → 1.5: 1.9 GB, a full download" */
    return g_strdup_printf (_("%s: %s, a full download"), versions, size);

  /* TRANSLATORS: "1.2 → 1.5: 38 MB via 3 patches, instead of 1.9 GB"; the first %s is
   * the versions, the second the download size, %u the number of patches and the last
   * %s the size of a full download */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %s via %u patch, instead of %s",
                                       "%s: %s via %u patches, instead of %s", n_patch_sets),
                          versions, size, n_patch_sets, full_size);
}
