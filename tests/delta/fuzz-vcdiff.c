/* fuzz-vcdiff.c: libFuzzer target for the VCDIFF decoder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each input is a patch, applied to a fixed source and described. The source is the
 * file named by MIST_FUZZ_VCDIFF_SOURCE (run-fuzz-vcdiff writes the one its seed
 * patches were made from), else 64 KiB of zeros. Output goes to a memfd and is cut off
 * after 256 MiB so that patches of many large windows cannot exhaust memory.
 */
#include "mist-delta.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define OUTPUT_LIMIT ((guint64)256 * 1024 * 1024)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static int source_fd = -1;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *path = g_getenv ("MIST_FUZZ_VCDIFF_SOURCE");

  if (path != NULL)
    {
      source_fd = open (path, O_RDONLY | O_CLOEXEC);
      if (source_fd < 0)
        g_error ("Failed to open MIST_FUZZ_VCDIFF_SOURCE %s: %s", path, g_strerror (errno));
      return 0;
    }
  source_fd = memfd_create ("fuzz-source", MFD_CLOEXEC);
  g_assert (source_fd >= 0);
  g_assert (ftruncate (source_fd, 64 * 1024) == 0);
  return 0;
}

static void
stop_large_output (guint64 done, guint64 total, gpointer user_data)
{
  if (done > OUTPUT_LIMIT)
    g_cancellable_cancel (user_data);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *description = NULL;
  int patch_fd = memfd_create ("fuzz-patch", MFD_CLOEXEC);
  int output_fd = memfd_create ("fuzz-output", MFD_CLOEXEC);

  g_assert (patch_fd >= 0 && output_fd >= 0);
  g_assert (write (patch_fd, data, size) == (gssize)size);

  g_assert (lseek (patch_fd, 0, SEEK_SET) == 0);
  if (!mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, stop_large_output, cancellable,
                             cancellable, &error))
    g_assert (error != NULL && error->message != NULL);
  g_clear_error (&error);

  g_assert (lseek (patch_fd, 0, SEEK_SET) == 0);
  description = mist_vcdiff_describe_fd (patch_fd, NULL, &error);
  g_assert ((description == NULL) == (error != NULL));

  close (patch_fd);
  close (output_fd);
  return 0;
}
