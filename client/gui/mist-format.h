/* mist-format.h: sizes, speeds, times and update routes as the views write them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *mist_format_speed (double bytes_per_second);
char *mist_format_eta (gint64 seconds);
char *mist_format_route (const char *from_version,
                         const char *to_version,
                         guint64 download_size,
                         guint n_patch_sets,
                         guint64 full_download_size);
char *mist_format_versions (const char *from_version, const char *to_version);

G_END_DECLS
