/* vcdiff-apply.c: applies a VCDIFF patch with the engine, for benchmarks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: vcdiff-apply SOURCE PATCH OUTPUT   (SOURCE may be "-" for none)
 */
#include "mist-delta.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int source_fd = -1;
  int patch_fd;
  int output_fd;

  if (argc != 4)
    {
      g_printerr ("Usage: %s SOURCE PATCH OUTPUT   (SOURCE \"-\" for none)\n", argv[0]);
      return 2;
    }
  if (g_strcmp0 (argv[1], "-") != 0 && (source_fd = open (argv[1], O_RDONLY | O_CLOEXEC)) < 0)
    {
      g_printerr ("Failed to open the source %s: %s\n", argv[1], g_strerror (errno));
      return 1;
    }
  if ((patch_fd = open (argv[2], O_RDONLY | O_CLOEXEC)) < 0)
    {
      g_printerr ("Failed to open the patch %s: %s\n", argv[2], g_strerror (errno));
      return 1;
    }
  output_fd = open (argv[3], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (output_fd < 0)
    {
      g_printerr ("Failed to create the output %s: %s\n", argv[3], g_strerror (errno));
      return 1;
    }
  if (!mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
}
