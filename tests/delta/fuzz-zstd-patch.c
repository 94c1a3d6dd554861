/* fuzz-zstd-patch.c: libFuzzer target for applying and describing zstd patches
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each input is a patch applied to a fixed 64 KiB source. With MIST_FUZZ_WRITE_SEEDS set
 * to a folder, the target writes a seed corpus there instead (container patches made by
 * the encoder, plain frames as zstd --patch-from writes them) and exits, so the seeds
 * always match the built-in source.
 */
#include "mist-delta.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#define SOURCE_SIZE (64 * 1024)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static int source_fd = -1;
static int patch_fd = -1;
static int output_fd = -1;

/* Text-like bytes with repeats, so that patches find matches. */
static void
fill_source (guint8 *data, gsize length)
{
  static const char *const words[] = { "mist ", "patch ", "zstd ", "frame ", "segment ",
                                        "window ", "source ", "target\n" };
  guint32 state = 12345;
  gsize i = 0;

  while (i < length)
    {
      const char *word;
      gsize n;

      state = state * 1103515245u + 12345u;
      word = words[(state >> 16) % G_N_ELEMENTS (words)];
      n = MIN (strlen (word), length - i);
      memcpy (data + i, word, n);
      i += n;
    }
}

static int
memfd_with (const char *name, const guint8 *data, gsize length)
{
  int fd = memfd_create (name, MFD_CLOEXEC);

  if (fd < 0 || (length > 0 && write (fd, data, length) != (ssize_t) length))
    abort ();
  return fd;
}

static void
write_seed (const char *folder, const char *name, int fd)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autofree guint8 *data = NULL;
  off_t size = lseek (fd, 0, SEEK_END);

  data = g_malloc (MAX (size, 1));
  if (pread (fd, data, (size_t) size, 0) != size
      || !g_file_set_contents (path, (const char *) data, size, NULL))
    abort ();
}

/* A target derived from the source: an edit at offset, some new bytes, a cut. */
static GBytes *
make_target (const guint8 *source, gsize offset, gsize cut)
{
  GByteArray *target = g_byte_array_new ();

  g_byte_array_append (target, source, (guint) offset);
  g_byte_array_append (target, (const guint8 *) "new bytes in the target ", 24);
  g_byte_array_append (target, source + offset + cut, (guint) (SOURCE_SIZE - offset - cut));
  return g_byte_array_free_to_bytes (target);
}

static void
write_plain_frame_seed (const char *folder, const char *name, const guint8 *source, GBytes *target,
                        int checksum)
{
  gsize target_size = g_bytes_get_size (target);
  gsize capacity = ZSTD_compressBound (target_size);
  g_autofree guint8 *frame = g_malloc (capacity);
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  size_t written;
  int fd;

  ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter (cctx, ZSTD_c_checksumFlag, checksum);
  ZSTD_CCtx_refPrefix (cctx, source, SOURCE_SIZE);
  written = ZSTD_compress2 (cctx, frame, capacity, g_bytes_get_data (target, NULL), target_size);
  ZSTD_freeCCtx (cctx);
  if (ZSTD_isError (written))
    abort ();
  fd = memfd_with ("seed", frame, written);
  write_seed (folder, name, fd);
  close (fd);
}

static void
write_seeds (const char *folder, const guint8 *source)
{
  static const struct
  {
    gsize offset;
    gsize cut;
    int level;
  } edits[] = { { 100, 0, 1 }, { 30000, 500, 3 }, { 65000, 536, 19 }, { 0, 65536, 1 } };

  for (gsize i = 0; i < G_N_ELEMENTS (edits); i++)
    {
      g_autoptr (GBytes) target = make_target (source, edits[i].offset, edits[i].cut);
      g_autofree char *name = g_strdup_printf ("container-%" G_GSIZE_FORMAT, i);
      g_autofree char *plain_name = g_strdup_printf ("plain-%" G_GSIZE_FORMAT, i);
      int target_fd = memfd_with ("target", g_bytes_get_data (target, NULL),
                                  g_bytes_get_size (target));
      int fd = memfd_create ("seed", MFD_CLOEXEC);

      if (!mist_zstd_patch_create_fd (source_fd, target_fd, fd, edits[i].level, NULL, NULL, NULL,
                                      NULL))
        abort ();
      write_seed (folder, name, fd);
      write_plain_frame_seed (folder, plain_name, source, target, i != 1);
      close (fd);
      close (target_fd);
    }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree guint8 *source = g_malloc (SOURCE_SIZE);
  const char *seed_folder = g_getenv ("MIST_FUZZ_WRITE_SEEDS");

  fill_source (source, SOURCE_SIZE);
  source_fd = memfd_with ("source", source, SOURCE_SIZE);
  patch_fd = memfd_create ("patch", MFD_CLOEXEC);
  output_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (patch_fd < 0 || output_fd < 0)
    abort ();

  if (seed_folder != NULL)
    {
      write_seeds (seed_folder, source);
      exit (0);
    }
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *description = NULL;
  GError *error = NULL;

  if (ftruncate (patch_fd, 0) != 0 || pwrite (patch_fd, data, size, 0) != (ssize_t) size)
    abort ();

  if (!mist_zstd_patch_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, &error))
    {
      /* Every failure is a reported error with a message, never a crash. */
      if (error == NULL || error->message == NULL)
        abort ();
      g_clear_error (&error);
    }

  description = mist_delta_describe_fd (patch_fd, NULL, &error);
  if ((description == NULL) == (error == NULL))
    abort ();
  g_clear_error (&error);
  return 0;
}
