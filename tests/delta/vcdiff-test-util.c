/* vcdiff-test-util.c: test data, the xdelta3 reference encoder and file helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "vcdiff-test-util.h"

#include "mist-delta.h"
#include "mist-hash.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <string.h>
#include <glib/gstdio.h>
#include <unistd.h>

char *
test_dir_new (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("mist-vcdiff-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
test_dir_remove (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static guint64
next_random (guint64 *state)
{
  /* splitmix64: fast and good enough to defeat accidental matches. */
  guint64 z = (*state += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
test_fill_random (guint8 *data, gsize length, guint64 seed)
{
  guint64 state = seed;
  gsize i = 0;

  for (; i + 8 <= length; i += 8)
    {
      guint64 value = next_random (&state);

      memcpy (data + i, &value, 8);
    }
  for (; i < length; i++)
    data[i] = next_random (&state);
}

GByteArray *
test_edit_data (const guint8 *source, gsize length, guint64 seed)
{
  GByteArray *target = g_byte_array_sized_new (length + length / 8);
  guint64 state = seed;
  gsize position = 0;

  while (position < length)
    {
      gsize run = 1000 + next_random (&state) % 60000;
      gsize keep = MIN (length - position, run);
      guint action = next_random (&state) % 4;
      guint8 fresh[2048];
      gsize fresh_length = 16 + next_random (&state) % (sizeof fresh - 16);

      g_byte_array_append (target, source + position, keep);
      position += keep;
      switch (action)
        {
          case 0: /* insert new bytes */
            test_fill_random (fresh, fresh_length, next_random (&state));
            g_byte_array_append (target, fresh, fresh_length);
            break;
          case 1: /* delete */
            position += MIN (length - position, fresh_length);
            break;
          case 2: /* copy a block from elsewhere in the source */
            {
              gsize from = next_random (&state) % length;
              gsize block = MIN (length - from, fresh_length * 4);

              g_byte_array_append (target, source + from, block);
            }
            break;
          default: /* replace a few bytes */
            {
              gsize wanted = 1 + next_random (&state) % 16;
              gsize count = MIN (length - position, wanted);

              test_fill_random (fresh, count, next_random (&state));
              g_byte_array_append (target, fresh, count);
              position += count;
            }
            break;
        }
    }
  return target;
}

void
test_write_file (const char *path, const guint8 *data, gsize length)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, (const char *)data, length, &error);
  g_assert_no_error (error);
}

char *
test_sha256_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *hex = mist_sha256_hex_file (path, NULL, &error);

  g_assert_no_error (error);
  return hex;
}

void
test_xdelta3_encode (const char *const *options,
                     const char *source,
                     const char *target,
                     const char *patch)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;
  int status;

  g_ptr_array_add (argv, (gpointer) "xdelta3");
  g_ptr_array_add (argv, (gpointer) "-e");
  g_ptr_array_add (argv, (gpointer) "-f");
  for (guint i = 0; options != NULL && options[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)options[i]);
  if (source != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "-s");
      g_ptr_array_add (argv, (gpointer)source);
    }
  g_ptr_array_add (argv, (gpointer)target);
  g_ptr_array_add (argv, (gpointer)patch);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &errors,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("xdelta3 failed: %s: %s", error->message, errors);
}

gboolean
test_vcdiff_apply (const char *source, const char *patch, const char *output, GError **error)
{
  int source_fd = -1;
  int patch_fd;
  int output_fd;
  gboolean ok;

  if (source != NULL)
    {
      source_fd = open (source, O_RDONLY | O_CLOEXEC);
      g_assert_cmpint (source_fd, >=, 0);
    }
  patch_fd = open (patch, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (patch_fd, >=, 0);
  output_fd = open (output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_assert_cmpint (output_fd, >=, 0);

  ok = mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, error);

  if (source_fd >= 0)
    close (source_fd);
  close (patch_fd);
  close (output_fd);
  return ok;
}

static int
memfd_with (const char *name, const guint8 *data, gsize length)
{
  int fd = memfd_create (name, MFD_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  if (length > 0)
    g_assert_cmpint (write (fd, data, length), ==, (gssize)length);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

GBytes *
test_vcdiff_apply_bytes (const guint8 *source,
                         gsize source_length,
                         const guint8 *patch,
                         gsize patch_length,
                         GError **error)
{
  int source_fd = source != NULL ? memfd_with ("source", source, source_length) : -1;
  int patch_fd = memfd_with ("patch", patch, patch_length);
  int output_fd = memfd_with ("output", NULL, 0);
  GBytes *result = NULL;

  if (mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, error))
    {
      off_t size = lseek (output_fd, 0, SEEK_END);
      guint8 *data = g_malloc (MAX (size, 1));

      g_assert_cmpint (pread (output_fd, data, size, 0), ==, size);
      result = g_bytes_new_take (data, size);
    }

  if (source_fd >= 0)
    close (source_fd);
  close (patch_fd);
  close (output_fd);
  return result;
}
