/* test-object-cache.c: pack entries and single objects in the object cache
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-object-cache.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* The hex digest of a fixed pack id: any valid SHA-256 names a pack. */
#define PACK_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct
{
  char *dir;
  MistObjectCache *cache;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("mist-object-cache-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->cache = mist_object_cache_new (fixture->dir);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  mist_object_cache_clear (fixture->cache);
  mist_object_cache_unref (fixture->cache);
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
}

/* Stores content as an entry of PACK_ID at offset; returns its object id. */
static char *
store (Fixture *fixture, const char *content, guint64 offset)
{
  char *id = mist_sha256_hex_data (content, strlen (content));
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_object_cache_store_entry (fixture->cache, PACK_ID, id, offset,
                                                (const guint8 *)content, strlen (content), &error));
  g_assert_no_error (error);
  return id;
}

/* Reads the object through cache and returns its bytes, or NULL with error set. */
static char *
read_object (MistObjectCache *cache, const char *id, GError **error)
{
  int fd = mist_object_cache_open (cache, id, error);
  GString *bytes;
  char buffer[256];
  gssize count;

  if (fd < 0)
    return NULL;
  bytes = g_string_new (NULL);
  while ((count = read (fd, buffer, sizeof buffer)) > 0)
    g_string_append_len (bytes, buffer, count);
  g_assert_cmpint (count, ==, 0);
  close (fd);
  return g_string_free (bytes, FALSE);
}

static char *
cache_file (Fixture *fixture, const char *suffix)
{
  g_autofree char *name = g_strconcat ("pack-", PACK_ID, suffix, NULL);

  return g_build_filename (fixture->dir, name, NULL);
}

static void
test_entries_read_back (Fixture *fixture, gconstpointer data)
{
  g_autofree char *first = store (fixture, "first entry", 0);
  g_autofree char *second = store (fixture, "second entry, further on", 4096);
  g_autofree char *absent = mist_sha256_hex_data ("never stored", 12);
  g_autofree char *bytes = NULL;
  g_autoptr (MistObjectCache) reopened = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_object_cache_contains (fixture->cache, first));
  g_assert_true (mist_object_cache_contains (fixture->cache, second));
  g_assert_false (mist_object_cache_contains (fixture->cache, absent));
  bytes = read_object (fixture->cache, second, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bytes, ==, "second entry, further on");
  g_clear_pointer (&bytes, g_free);

  /* A new reader finds the entries through the index file alone. */
  reopened = mist_object_cache_new (fixture->dir);
  g_assert_true (mist_object_cache_contains (reopened, first));
  bytes = read_object (reopened, first, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bytes, ==, "first entry");

  g_assert_null (read_object (reopened, absent, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
}

static void
test_single_object_file (Fixture *fixture, gconstpointer data)
{
  const char content[] = "an object fetched on its own";
  g_autofree char *id = mist_sha256_hex_data (content, strlen (content));
  g_autofree char *path = g_build_filename (fixture->dir, id, NULL);
  g_autofree char *bytes = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, content, -1, &error));
  g_assert_true (mist_object_cache_contains (fixture->cache, id));
  bytes = read_object (fixture->cache, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bytes, ==, content);

  g_assert_true (mist_object_cache_discard (fixture->cache, id, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (mist_object_cache_contains (fixture->cache, id));
}

static void
test_discard_deletes_empty_pack (Fixture *fixture, gconstpointer data)
{
  g_autofree char *first = store (fixture, "first entry", 0);
  g_autofree char *second = store (fixture, "second entry", 100);
  g_autofree char *pack_file = cache_file (fixture, "");
  g_autofree char *index_file = cache_file (fixture, ".index");
  g_autoptr (MistObjectCache) reopened = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_object_cache_discard (fixture->cache, first, &error));
  g_assert_no_error (error);
  g_assert_false (mist_object_cache_contains (fixture->cache, first));
  g_assert_true (mist_object_cache_contains (fixture->cache, second));
  g_assert_true (g_file_test (pack_file, G_FILE_TEST_IS_REGULAR));

  /* The discard is in the index too. */
  reopened = mist_object_cache_new (fixture->dir);
  g_assert_false (mist_object_cache_contains (reopened, first));
  g_assert_true (mist_object_cache_contains (reopened, second));

  g_assert_true (mist_object_cache_discard (fixture->cache, second, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (pack_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (index_file, G_FILE_TEST_EXISTS));
}

/* After a crash the index may name bytes that never reached the pack file. */
static void
test_damaged_entry_discarded (Fixture *fixture, gconstpointer data)
{
  g_autofree char *good = store (fixture, "an entry that stays intact", 0);
  g_autofree char *damaged = store (fixture, "an entry that gets damaged", 64);
  g_autofree char *cut = store (fixture, "an entry beyond the end", 128);
  g_autofree char *pack_file = cache_file (fixture, "");
  g_autoptr (MistObjectCache) reopened = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bytes = NULL;
  int fd;

  fd = open (pack_file, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, "XX", 2, 70), ==, 2);
  g_assert_cmpint (ftruncate (fd, 130), ==, 0);
  close (fd);

  reopened = mist_object_cache_new (fixture->dir);
  g_assert_null (read_object (reopened, damaged, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_false (mist_object_cache_contains (reopened, damaged));
  g_clear_error (&error);

  g_assert_null (read_object (reopened, cut, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_false (mist_object_cache_contains (reopened, cut));
  g_clear_error (&error);

  bytes = read_object (reopened, good, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bytes, ==, "an entry that stays intact");
}

/* An entry is hashed when first read from the index, not when the same cache object
 * stored it: then only a crash, which ends the process, could have lost its bytes. */
static void
test_read_entry_checks_once (Fixture *fixture, gconstpointer data)
{
  static const char content[] = "an entry read into memory";
  g_autofree char *id = store (fixture, content, 0);
  g_autofree char *single_id = mist_sha256_hex_data ("single", 6);
  g_autofree char *single_path = g_build_filename (fixture->dir, single_id, NULL);
  g_autofree char *pack_file = cache_file (fixture, "");
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  int fd;

  /* An object stored on its own is no entry: it is opened instead. */
  g_assert_true (g_file_set_contents (single_path, "single", 6, NULL));
  g_assert_null (mist_object_cache_read_entry (fixture->cache, single_id, &error));
  g_assert_no_error (error);

  bytes = mist_object_cache_read_entry (fixture->cache, id, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), content,
                   strlen (content));
  g_clear_pointer (&bytes, g_bytes_unref);

  fd = open (pack_file, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, "XX", 2, 3), ==, 2);
  close (fd);
  bytes = mist_object_cache_read_entry (fixture->cache, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_clear_pointer (&bytes, g_bytes_unref);

  /* Read from the index again, the damaged entry is found and discarded. */
  mist_object_cache_reload (fixture->cache);
  g_assert_null (mist_object_cache_read_entry (fixture->cache, id, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_false (mist_object_cache_contains (fixture->cache, id));
}

static void
test_bad_index_lines_ignored (Fixture *fixture, gconstpointer data)
{
  g_autofree char *intact = store (fixture, "intact entry", 0);
  g_autofree char *index_file = cache_file (fixture, ".index");
  g_autofree char *contents = NULL;
  g_autofree char *appended = NULL;
  g_autoptr (MistObjectCache) reopened = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (index_file, &contents, NULL, &error));
  /* An unknown verb, a bad id, a size above the limit and a line cut short. */
  appended = g_strconcat (contents, "? ", intact, "\n", "+ nothex 0 1\n", "+ ", intact,
                          " 0 99999999999\n", "- ", NULL);
  g_assert_true (g_file_set_contents (index_file, appended, -1, &error));

  reopened = mist_object_cache_new (fixture->dir);
  g_assert_true (mist_object_cache_contains (reopened, intact));
}

/* A crash may cut the index's last line short; the next line must still count. */
static void
test_cut_line_ended (Fixture *fixture, gconstpointer data)
{
  g_autofree char *cut = store (fixture, "entry whose line is cut", 0);
  g_autofree char *index_file = cache_file (fixture, ".index");
  g_autofree char *after = NULL;
  g_autoptr (MistObjectCache) reopened = NULL;
  GStatBuf info;

  g_assert_cmpint (g_stat (index_file, &info), ==, 0);
  g_assert_cmpint (truncate (index_file, info.st_size - 5), ==, 0);
  after = store (fixture, "entry stored after the cut", 64);

  reopened = mist_object_cache_new (fixture->dir);
  g_assert_false (mist_object_cache_contains (reopened, cut));
  g_assert_true (mist_object_cache_contains (reopened, after));
}

static void
test_huge_offset_ignored (Fixture *fixture, gconstpointer data)
{
  g_autofree char *intact = store (fixture, "intact entry", 0);
  g_autofree char *index_file = cache_file (fixture, ".index");
  g_autofree char *contents = NULL;
  g_autofree char *appended = NULL;
  g_autofree char *bytes = NULL;
  g_autoptr (MistObjectCache) reopened = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (index_file, &contents, NULL, &error));
  appended = g_strconcat (contents, "+ ", intact, " 18446744073709551615 10\n", NULL);
  g_assert_true (g_file_set_contents (index_file, appended, -1, &error));

  reopened = mist_object_cache_new (fixture->dir);
  bytes = read_object (reopened, intact, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bytes, ==, "intact entry");
}

/* A cache object keeps the index it read until it reloads it, and then finds another
 * object's discard. */
static void
test_reload_sees_discard (Fixture *fixture, gconstpointer data)
{
  g_autofree char *first = store (fixture, "first entry", 0);
  g_autofree char *second = store (fixture, "second entry", 100);
  g_autoptr (MistObjectCache) other = mist_object_cache_new (fixture->dir);
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_object_cache_discard (other, first, &error));
  g_assert_no_error (error);
  mist_object_cache_reload (fixture->cache);
  g_assert_false (mist_object_cache_contains (fixture->cache, first));
  g_assert_true (mist_object_cache_contains (fixture->cache, second));
}

static void
test_clear_forgets_entries (Fixture *fixture, gconstpointer data)
{
  g_autofree char *id = store (fixture, "entry", 0);
  g_autofree char *pack_file = cache_file (fixture, "");

  mist_object_cache_clear (fixture->cache);
  g_assert_false (mist_object_cache_contains (fixture->cache, id));
  g_assert_false (g_file_test (pack_file, G_FILE_TEST_EXISTS));

  /* A pack stored again after the clear holds only what was stored since. */
  g_free (store (fixture, "another entry", 0));
  g_assert_false (mist_object_cache_contains (fixture->cache, id));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function)                                                                        \
  g_test_add (name, Fixture, NULL, fixture_set_up, function, fixture_tear_down)
  ADD ("/object-cache/entries-read-back", test_entries_read_back);
  ADD ("/object-cache/single-object-file", test_single_object_file);
  ADD ("/object-cache/discard-deletes-empty-pack", test_discard_deletes_empty_pack);
  ADD ("/object-cache/damaged-entry-discarded", test_damaged_entry_discarded);
  ADD ("/object-cache/read-entry-checks-once", test_read_entry_checks_once);
  ADD ("/object-cache/bad-index-lines-ignored", test_bad_index_lines_ignored);
  ADD ("/object-cache/clear-forgets-entries", test_clear_forgets_entries);
  ADD ("/object-cache/cut-line-ended", test_cut_line_ended);
  ADD ("/object-cache/huge-offset-ignored", test_huge_offset_ignored);
  ADD ("/object-cache/reload-sees-discard", test_reload_sees_discard);
#undef ADD

  return g_test_run ();
}
