/* test-download.c: resumable, verified downloads against a fault-injecting server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-download.h"
#include "mist-error.h"
#include "mist-fault-server.h"
#include "mist-hash.h"
#include "mist-http.h"
#include "mist-pack.h"
#include "mist-token-bucket.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

typedef struct
{
  MistFaultServer *server;
  SoupSession *session;
  MistDownloader *downloader;
  char *cache_dir;
} Fixture;

typedef struct
{
  GBytes *data;
  char *id;
  char *url;
} TestObject;

static void
test_object_free (TestObject *object)
{
  g_bytes_unref (object->data);
  g_free (object->id);
  g_free (object->url);
  g_free (object);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestObject, test_object_free)

static GBytes *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  return g_bytes_new_take (data, size);
}

/* Publishes size random bytes on the server under their SHA-256. */
static TestObject *
add_object (Fixture *fixture, gsize size)
{
  TestObject *object = g_new0 (TestObject, 1);

  object->data = random_bytes (size);
  object->id = mist_sha256_hex_data (g_bytes_get_data (object->data, NULL), size);
  object->url = mist_fault_server_get_url (fixture->server, object->id);
  mist_fault_server_set_object (fixture->server, object->id, object->data);
  return object;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->server = mist_fault_server_new ();
  fixture->session = mist_http_session_new (NULL, &error);
  g_assert_no_error (error);
  fixture->cache_dir = g_dir_make_tmp ("mist-download-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->downloader = mist_downloader_new (fixture->session, fixture->cache_dir);
  /* Short delays keep the suite quick; the policy is the same as with the defaults. */
  mist_downloader_set_retry_policy (fixture->downloader, 6, 20, 200);
  /* A window long enough that a loaded machine never trips it; the stall test shortens it. */
  mist_downloader_set_stall_limits (fixture->downloader, 10000, 1000);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->downloader);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->server, mist_fault_server_free);
  remove_tree (fixture->cache_dir);
  g_free (fixture->cache_dir);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* Runs download to the end on the default main context. */
static gboolean
run_download (MistDownload *download, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mist_download_run_async (download, cancellable, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return mist_download_run_finish (download, result, error);
}

static gboolean
fetch_objects (Fixture *fixture, TestObject **objects, guint n_objects, GError **error)
{
  g_autoptr (MistDownload) download = mist_download_new (fixture->downloader);

  for (guint i = 0; i < n_objects; i++)
    mist_download_add_object (download, objects[i]->id, objects[i]->url,
                              g_bytes_get_size (objects[i]->data));
  return run_download (download, NULL, error);
}

static void
assert_object_cached (Fixture *fixture, TestObject *object)
{
  g_autofree char *path = mist_downloader_get_object_path (fixture->downloader, object->id);
  g_autofree char *part_path = g_strconcat (path, ".part", NULL);
  g_autofree char *hex = NULL;
  g_autoptr (GError) error = NULL;
  int fd;

  /* A pack entry is no file of its own: read it through the cache. */
  fd = mist_object_cache_open (mist_downloader_get_object_cache (fixture->downloader), object->id,
                               &error);
  g_assert_no_error (error);
  hex = mist_sha256_hex_fd (fd, NULL, NULL, NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_cmpstr (hex, ==, object->id);
  g_assert_false (g_file_test (part_path, G_FILE_TEST_EXISTS));
}

static GPtrArray *
get_requests (Fixture *fixture)
{
  return mist_fault_server_get_requests (fixture->server);
}

static const MistFaultRequest *
get_request (GPtrArray *requests, guint index)
{
  g_assert_cmpuint (index, <, requests->len);
  return g_ptr_array_index (requests, index);
}

static void
test_download_parallel (Fixture *fixture, gconstpointer data)
{
  TestObject *objects[5];
  g_autoptr (MistDownload) download = mist_download_new (fixture->downloader);
  g_autoptr (GError) error = NULL;
  guint64 total = 0;

  mist_downloader_set_max_parallel (fixture->downloader, 2);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    {
      objects[i] = add_object (fixture, 100000 + i * 70000);
      mist_download_add_object (download, objects[i]->id, objects[i]->url,
                                g_bytes_get_size (objects[i]->data));
      total += g_bytes_get_size (objects[i]->data);
    }
  g_assert_cmpuint (mist_download_get_bytes_total (download), ==, total);

  g_assert_true (run_download (download, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mist_download_get_bytes_done (download), ==, total);
  g_assert_cmpuint (mist_download_get_n_objects_done (download), ==, G_N_ELEMENTS (objects));
  g_assert_cmpint (mist_download_get_eta (download), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    {
      assert_object_cached (fixture, objects[i]);
      test_object_free (objects[i]);
    }
}

/* Each object takes nearly 2 s at the server's rate, long enough for all the transfers
 * allowed to run at once to be in progress together. libsoup's default of 2 connections
 * per host would hold the peak at 2. */
static void
test_download_parallel_limit (Fixture *fixture, gconstpointer data)
{
  const guint max_parallel = GPOINTER_TO_UINT (data);
  TestObject *objects[8];
  g_autoptr (GError) error = NULL;

  mist_downloader_set_max_parallel (fixture->downloader, max_parallel);
  mist_fault_server_set_rate (fixture->server, 64 * 1024);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    objects[i] = add_object (fixture, 128 * 1024);

  g_assert_true (fetch_objects (fixture, objects, G_N_ELEMENTS (objects), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mist_fault_server_get_peak_connections (fixture->server), ==, max_parallel);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    {
      assert_object_cached (fixture, objects[i]);
      test_object_free (objects[i]);
    }
}

/* The limit stays within what the session's connections allow. */
static void
test_download_parallel_clamped (Fixture *fixture, gconstpointer data)
{
  mist_downloader_set_max_parallel (fixture->downloader, 1000);
  g_assert_cmpuint (mist_downloader_get_max_parallel (fixture->downloader), ==, 64);
  mist_downloader_set_max_parallel (fixture->downloader, 0);
  g_assert_cmpuint (mist_downloader_get_max_parallel (fixture->downloader), ==, 1);
}

static void
test_download_server_errors_retried (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 50000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  mist_fault_server_fail_next (fixture->server, 3, 500, 0);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 4);
  g_assert_cmpuint (get_request (requests, 0)->status, ==, 500);
  g_assert_cmpuint (get_request (requests, 3)->status, ==, 200);
}

static void
test_download_server_errors_exhausted (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 1000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  mist_downloader_set_retry_policy (fixture->downloader, 3, 10, 20);
  mist_fault_server_fail_next (fixture->server, 100, 503, 0);
  g_assert_false (fetch_objects (fixture, &object, 1, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_SERVER_ERROR);
  g_assert_nonnull (strstr (error->message, object->id));
  g_assert_nonnull (strstr (error->message, "3 attempts"));

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 3);
}

static void
test_download_not_found_not_retried (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 1000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *missing_id = mist_sha256_hex_data ("missing", 7);

  g_free (object->id);
  object->id = g_strdup (missing_id);
  g_free (object->url);
  object->url = mist_fault_server_get_url (fixture->server, missing_id);

  g_assert_false (fetch_objects (fixture, &object, 1, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 1);
}

static void
test_download_rate_limited_waits (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 1000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();

  mist_fault_server_fail_next (fixture->server, 1, 429, 1);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);
  /* The retry waits the Retry-After second, not the 20 ms backoff. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, G_USEC_PER_SEC);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
}

static void
test_download_drip_stall_retried (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 40000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  /* One byte every 200 ms is 5 bytes/s, under the 100 bytes/s minimum. A window of 2 s
   * keeps a retry that a loaded machine starves for a moment from counting as stalled. */
  mist_downloader_set_stall_limits (fixture->downloader, 2000, 100);
  mist_fault_server_drip_next (fixture->server, 1, 200);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  /* A retry starved even past that window costs one more request, not the bytes fetched. */
  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, >=, 2);
  /* The bytes that dripped in are kept and the next request continues after them. */
  g_assert_cmpint (get_request (requests, 1)->range_start, >, 0);
  g_assert_cmpuint (get_request (requests, 1)->status, ==, 206);
}

static void
test_download_dropped_resumes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 300000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  mist_fault_server_drop_next (fixture->server, 2, 100000);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 3);
  g_assert_cmpint (get_request (requests, 0)->range_start, ==, -1);
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, 100000);
  g_assert_cmpint (get_request (requests, 2)->range_start, ==, 200000);
  g_assert_nonnull (get_request (requests, 1)->if_range);
  g_assert_cmpuint (get_request (requests, 2)->status, ==, 206);
}

static void
test_download_changed_object_restarts (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 200000);
  g_autoptr (GBytes) old_data = random_bytes (200000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  /* The first response carries other bytes under another ETag and breaks off; by the
   * second request the server has the object the id names. */
  mist_fault_server_set_object (fixture->server, object->id, old_data);
  mist_fault_server_replace_after (fixture->server, object->id, object->data, 1);
  mist_fault_server_drop_next (fixture->server, 1, 80000);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, 80000);
  /* If-Range named the old ETag, so the server sent the new object whole. */
  g_assert_cmpuint (get_request (requests, 1)->status, ==, 200);
}

static void
test_download_overflow_declared (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 30000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  mist_fault_server_overflow_next (fixture->server, 2, 500, TRUE);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 3);
}

static void
test_download_overflow_undeclared (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 30000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  mist_fault_server_overflow_next (fixture->server, 1, 500, FALSE);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  /* The declared bytes were complete, so no second request was needed, and the garbage
   * after them never reached the file. */
  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 1);
  path = mist_downloader_get_object_path (fixture->downloader, object->id);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}

static void
test_download_ranges_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 200000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  mist_fault_server_set_ranges_supported (fixture->server, FALSE);
  mist_fault_server_drop_next (fixture->server, 1, 50000);
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, 50000);
  g_assert_cmpuint (get_request (requests, 1)->status, ==, 200);
}

static void
test_download_checksum_mismatch (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 20000);
  g_autoptr (GBytes) wrong = random_bytes (20000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *path = mist_downloader_get_object_path (fixture->downloader, object->id);
  g_autofree char *part_path = g_strconcat (path, ".part", NULL);

  mist_downloader_set_retry_policy (fixture->downloader, 2, 10, 20);
  mist_fault_server_set_object (fixture->server, object->id, wrong);
  g_assert_false (fetch_objects (fixture, &object, 1, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part_path, G_FILE_TEST_EXISTS));

  /* A failed hash starts over from zero instead of resuming the wrong bytes. */
  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, -1);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_download_cancel_keeps_partial (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 400000);
  g_autoptr (MistDownload) download = mist_download_new (fixture->downloader);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  mist_fault_server_set_rate (fixture->server, 400000);
  mist_download_add_object (download, object->id, object->url, 400000);
  g_timeout_add (300, cancel_later, cancellable);
  g_assert_false (run_download (download, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_assert_cmpuint (mist_downloader_get_partial_size (fixture->downloader, object->id), >, 0);
  g_assert_cmpuint (mist_downloader_get_partial_size (fixture->downloader, object->id), <,
                    400000);
  g_assert_cmpuint (mist_download_get_bytes_done (download), ==,
                    mist_downloader_get_partial_size (fixture->downloader, object->id));

  g_clear_error (&error);
  g_assert_true (mist_downloader_discard_object (fixture->downloader, object->id, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mist_downloader_get_partial_size (fixture->downloader, object->id), ==, 0);
}

static void
test_download_rate_limit_holds (Fixture *fixture, gconstpointer data)
{
  const guint64 rate = 200 * 1024;
  TestObject *objects[2];
  gint64 started;
  double seconds;
  g_autoptr (GError) error = NULL;

  /* Two parallel objects, 10 seconds at the limit together. */
  objects[0] = add_object (fixture, rate * 6);
  objects[1] = add_object (fixture, rate * 4);
  mist_downloader_set_rate_limit (fixture->downloader, rate);
  started = g_get_monotonic_time ();
  g_assert_true (fetch_objects (fixture, objects, 2, &error));
  g_assert_no_error (error);
  seconds = (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC;
  g_test_message ("10 s at the limit took %.2f s", seconds);
  g_assert_cmpfloat (seconds, >=, 9.0);
  g_assert_cmpfloat (seconds, <=, 11.0);
  assert_object_cached (fixture, objects[0]);
  assert_object_cached (fixture, objects[1]);
  test_object_free (objects[0]);
  test_object_free (objects[1]);
}

static gboolean
lift_rate_limit (gpointer data)
{
  mist_downloader_set_rate_limit (data, 0);
  return G_SOURCE_REMOVE;
}

static void
test_download_rate_limit_changed (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 4 * 1024 * 1024);
  g_autoptr (GError) error = NULL;
  gint64 started;

  /* At 100 KiB/s the object would take 40 s; lifting the limit after 0.5 s must take
   * effect on the running transfer. */
  mist_downloader_set_rate_limit (fixture->downloader, 100 * 1024);
  g_timeout_add (500, lift_rate_limit, fixture->downloader);
  started = g_get_monotonic_time ();
  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
  assert_object_cached (fixture, object);
}

/* Resume after the downloading process was killed */

static int
run_child_download (const char *url, const char *id, const char *size, const char *cache_dir)
{
  g_autoptr (SoupSession) session = mist_http_session_new (NULL, NULL);
  g_autoptr (MistDownloader) downloader = mist_downloader_new (session, cache_dir);
  g_autoptr (MistDownload) download = mist_download_new (downloader);
  g_autoptr (GError) error = NULL;

  mist_downloader_set_rate_limit (downloader, 100 * 1024);
  mist_download_add_object (download, id, url, g_ascii_strtoull (size, NULL, 10));
  if (!run_download (download, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
}

static void
test_download_resume_after_kill (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestObject) object = add_object (fixture, 1024 * 1024);
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *size = g_strdup_printf ("%" G_GSIZE_FORMAT, g_bytes_get_size (object->data));
  const char *self_path = g_getenv ("MIST_TEST_SELF");
  guint64 partial = 0;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  g_assert_nonnull (self_path);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_path, "--child-download",
                            object->url, object->id, size, fixture->cache_dir, NULL);
  g_assert_no_error (error);

  /* At 100 KiB/s the child needs 10 s; kill it once it has 300 KiB. */
  while (partial < 300 * 1024 && g_get_monotonic_time () < deadline)
    {
      g_usleep (20000);
      partial = mist_downloader_get_partial_size (fixture->downloader, object->id);
    }
  g_test_message ("partial file: %" G_GUINT64_FORMAT " bytes before the kill", partial);
  g_subprocess_send_signal (child, SIGKILL);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (child));

  partial = mist_downloader_get_partial_size (fixture->downloader, object->id);
  g_assert_cmpuint (partial, >=, 300 * 1024);
  g_assert_cmpuint (partial, <, g_bytes_get_size (object->data));

  g_assert_true (fetch_objects (fixture, &object, 1, &error));
  g_assert_no_error (error);
  assert_object_cached (fixture, object);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, (gint64) partial);
  g_assert_cmpuint (get_request (requests, 1)->status, ==, 206);
}

/* Token bucket with a fixed clock */

static void
test_token_bucket_rate (void)
{
  g_autoptr (MistTokenBucket) bucket = mist_token_bucket_new (1000);
  gint64 now = 1000000;
  gint64 wait_us = 0;
  guint64 granted = 0;

  /* It starts empty: nothing is granted before time passes. */
  g_assert_cmpuint (mist_token_bucket_take (bucket, 500, now, &wait_us), ==, 0);
  g_assert_cmpint (wait_us, >, 0);

  /* Over 10 simulated seconds the grants add up to the rate, within one capacity. */
  for (int step = 1; step <= 1000; step++)
    granted += mist_token_bucket_take (bucket, 500, now + step * 10000, &wait_us);
  g_assert_cmpuint (granted, >=, 9900);
  g_assert_cmpuint (granted, <=, 10100);

  /* Without a limit everything is granted at once. */
  mist_token_bucket_set_rate (bucket, 0);
  g_assert_cmpuint (mist_token_bucket_take (bucket, 1 << 20, now, &wait_us), ==, 1 << 20);
  g_assert_cmpint (wait_us, ==, 0);
}

/* Pack files */

#define PACK_ENTRIES 4
#define PACK_ENTRY_SIZE 100000

typedef struct
{
  TestObject *entries[PACK_ENTRIES]; /* also served on their own */
  GBytes *data;
  char *url;
  MistPack *index;
} TestPack;

static void
test_pack_free (TestPack *pack)
{
  for (guint i = 0; i < PACK_ENTRIES; i++)
    test_object_free (pack->entries[i]);
  g_bytes_unref (pack->data);
  g_free (pack->url);
  mist_pack_free (pack->index);
  g_free (pack);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestPack, test_pack_free)

/* Publishes a pack of PACK_ENTRIES random objects; the byte at corrupt_offset of the
 * pack is flipped unless corrupt_offset is -1. */
static TestPack *
add_pack (Fixture *fixture, gssize corrupt_offset)
{
  TestPack *pack = g_new0 (TestPack, 1);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_autofree char *id = NULL;

  for (guint i = 0; i < PACK_ENTRIES; i++)
    {
      pack->entries[i] = add_object (fixture, PACK_ENTRY_SIZE);
      g_byte_array_append (bytes, g_bytes_get_data (pack->entries[i]->data, NULL),
                           PACK_ENTRY_SIZE);
    }
  if (corrupt_offset >= 0)
    bytes->data[corrupt_offset] ^= 0xff;
  pack->data = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
  id = mist_sha256_hex_data (g_bytes_get_data (pack->data, NULL), g_bytes_get_size (pack->data));
  pack->url = mist_fault_server_get_url (fixture->server, id);
  mist_fault_server_set_object (fixture->server, id, pack->data);
  pack->index = mist_pack_new (id, g_bytes_get_size (pack->data));
  for (guint i = 0; i < PACK_ENTRIES; i++)
    mist_pack_add_entry (pack->index, pack->entries[i]->id, i * PACK_ENTRY_SIZE,
                         PACK_ENTRY_SIZE);
  return pack;
}

/* Fetches the entries of pack whose bit is set in wanted, offering the pack. */
static gboolean
fetch_from_pack (Fixture *fixture, TestPack *pack, guint wanted, GError **error)
{
  g_autoptr (MistDownload) download = mist_download_new (fixture->downloader);

  for (guint i = 0; i < PACK_ENTRIES; i++)
    if (wanted & (1u << i))
      mist_download_add_object (download, pack->entries[i]->id, pack->entries[i]->url,
                                PACK_ENTRY_SIZE);
  mist_download_add_pack (download, pack->index, pack->url);
  return run_download (download, NULL, error);
}

static void
test_download_pack_dropped_resumes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestPack) pack = add_pack (fixture, -1);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  /* The first reply breaks off in the third entry: the next request starts there. */
  mist_fault_server_drop_next (fixture->server, 1, 2 * PACK_ENTRY_SIZE + 5000);
  g_assert_true (fetch_from_pack (fixture, pack, 0xf, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < PACK_ENTRIES; i++)
    assert_object_cached (fixture, pack->entries[i]);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_true (g_str_has_suffix (get_request (requests, 0)->path, pack->index->id));
  g_assert_cmpint (get_request (requests, 0)->range_start, ==, 0);
  g_assert_true (g_str_has_suffix (get_request (requests, 1)->path, pack->index->id));
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, 2 * PACK_ENTRY_SIZE);
}

/* A server that ignores Range sends the whole pack; the needed entries are taken from
 * it, and an entry already cached is not asked for. */
static void
test_download_pack_ranges_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestPack) pack = add_pack (fixture, -1);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (fetch_objects (fixture, &pack->entries[1], 1, &error));
  g_assert_no_error (error);
  mist_fault_server_set_ranges_supported (fixture->server, FALSE);
  g_assert_true (fetch_from_pack (fixture, pack, 0xe, &error));
  g_assert_no_error (error);
  for (guint i = 1; i < PACK_ENTRIES; i++)
    assert_object_cached (fixture, pack->entries[i]);
  g_assert_false (mist_downloader_has_object (fixture->downloader, pack->entries[0]->id));

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_true (g_str_has_suffix (get_request (requests, 1)->path, pack->index->id));
  g_assert_cmpint (get_request (requests, 1)->range_start, ==, 2 * PACK_ENTRY_SIZE);
  g_assert_cmpuint (get_request (requests, 1)->status, ==, 200);
}

/* An entry whose bytes in the pack are wrong is fetched on its own. */
static void
test_download_pack_entry_corrupt (Fixture *fixture, gconstpointer data)
{
  g_autoptr (TestPack) pack = add_pack (fixture, PACK_ENTRY_SIZE + 10);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (fetch_from_pack (fixture, pack, 0xf, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < PACK_ENTRIES; i++)
    assert_object_cached (fixture, pack->entries[i]);

  requests = get_requests (fixture);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_true (g_str_has_suffix (get_request (requests, 0)->path, pack->index->id));
  g_assert_true (g_str_has_suffix (get_request (requests, 1)->path, pack->entries[1]->id));
}

static void
add_test (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  if (argc == 6 && g_strcmp0 (argv[1], "--child-download") == 0)
    return run_child_download (argv[2], argv[3], argv[4], argv[5]);

  g_setenv ("MIST_TEST_SELF", argv[0], TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/token-bucket/rate", test_token_bucket_rate);
  add_test ("/net/download/parallel", test_download_parallel);
  g_test_add ("/net/download/parallel-limit/8", Fixture, GUINT_TO_POINTER (8), fixture_set_up,
              test_download_parallel_limit, fixture_tear_down);
  g_test_add ("/net/download/parallel-limit/3", Fixture, GUINT_TO_POINTER (3), fixture_set_up,
              test_download_parallel_limit, fixture_tear_down);
  add_test ("/net/download/parallel-clamped", test_download_parallel_clamped);
  add_test ("/net/download/server-errors-retried", test_download_server_errors_retried);
  add_test ("/net/download/server-errors-exhausted", test_download_server_errors_exhausted);
  add_test ("/net/download/not-found-not-retried", test_download_not_found_not_retried);
  add_test ("/net/download/rate-limited-waits", test_download_rate_limited_waits);
  add_test ("/net/download/drip-stall-retried", test_download_drip_stall_retried);
  add_test ("/net/download/dropped-resumes", test_download_dropped_resumes);
  add_test ("/net/download/changed-object-restarts", test_download_changed_object_restarts);
  add_test ("/net/download/overflow-declared", test_download_overflow_declared);
  add_test ("/net/download/overflow-undeclared", test_download_overflow_undeclared);
  add_test ("/net/download/ranges-refused", test_download_ranges_refused);
  add_test ("/net/download/checksum-mismatch", test_download_checksum_mismatch);
  add_test ("/net/download/cancel-keeps-partial", test_download_cancel_keeps_partial);
  add_test ("/net/download/resume-after-kill", test_download_resume_after_kill);
  add_test ("/net/download/rate-limit-changed", test_download_rate_limit_changed);
  add_test ("/net/download/rate-limit-holds", test_download_rate_limit_holds);
  add_test ("/net/download/pack-dropped-resumes", test_download_pack_dropped_resumes);
  add_test ("/net/download/pack-ranges-refused", test_download_pack_ranges_refused);
  add_test ("/net/download/pack-entry-corrupt", test_download_pack_entry_corrupt);
  return g_test_run ();
}
