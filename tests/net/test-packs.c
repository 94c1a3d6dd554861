/* test-packs.c: installs and updates of many small files fetched from pack files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The server is a real backend-stub. It also serves the objects, except in the case where
 * a real nginx serves its data folder (content-base-url). The client is the engine's
 * queue, as the launcher runs it. Every request the client's session sends is recorded,
 * to count the requests for objects and to see where a resumed transfer starts.
 */
#include "mist-hash.h"
#include "mist-object-cache.h"
#include "mist-pack.h"
#include "mist-queue.h"
#include "mist-test-nginx.h"
#include "net-test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define N_FILES 200

typedef struct
{
  NetServer net;
  gboolean started;
  MistClient *client;
  MistStateDb *db;
  MistDownloader *downloader;
  MistQueue *queue;
  char *games_dir;
  char *cache_dir;
  guint patch_set_requests; /* requests for the patch set 1 → 2 */
  char *v1;
  char *v2;
  GPtrArray *requests; /* "PATH RANGE" of every object request, RANGE "-" without one */
  MistTestNginx *nginx; /* serves the objects in the case that starts it, or NULL */
  char *data_root;      /* contains the server's data folder when nginx serves it */
} Fixture;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
on_request_queued (SoupSession *session, SoupMessage *message, gpointer data)
{
  Fixture *fixture = data;
  const char *path = g_uri_get_path (soup_message_get_uri (message));
  const char *range = soup_message_headers_get_one (soup_message_get_request_headers (message),
                                                    "Range");

  if (strstr (path, "/objects/") != NULL)
    g_ptr_array_add (fixture->requests,
                     g_strdup_printf ("%s %s", path, range != NULL ? range : "-"));
  if (g_str_has_suffix (path, "/patches/1/2"))
    fixture->patch_set_requests++;
}

/* Writes a small-files build with the start script net_push() names in the launch
 * configuration. */
static char *
write_small_files_build (Fixture *fixture, const char *name, const char *source)
{
  static const char script[] = "#!/bin/sh\necho started\n";
  char *root = g_build_filename (fixture->net.work_dir, name, NULL);
  g_autofree char *bin = g_build_filename (root, "bin", NULL);
  g_autofree char *game = g_build_filename (bin, "game", NULL);
  g_autoptr (GError) error = NULL;

  mist_test_make_small_files_build (root, N_FILES, source, 80, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_file_set_contents (game, script, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (game, 0755), ==, 0);
  return root;
}

/* Starts nginx on a data folder of the test's own, then the backend-stub on that folder
 * with nginx as its content-base-url. Skips the test when nginx is not installed. */
static gboolean
start_servers_with_nginx (Fixture *fixture)
{
  MistTestServerOptions options = { 0 };
  g_autofree char *data_dir = NULL;
  g_autofree char *content_dir = NULL;
  g_autoptr (GError) error = NULL;

  fixture->data_root = g_dir_make_tmp ("mist-packs-data-XXXXXX", &error);
  g_assert_no_error (error);
  data_dir = g_build_filename (fixture->data_root, "data", NULL);
  content_dir = g_build_filename (data_dir, "content", NULL);
  fixture->nginx = mist_test_nginx_start (content_dir, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_test_skip (error->message);
      return FALSE;
    }
  g_assert_no_error (error);

  options.data_dir = data_dir;
  options.content_base_url = mist_test_nginx_get_base_url (fixture->nginx);
  return net_server_start_with_options (&fixture->net, &options);
}

static void
stop_nginx (Fixture *fixture)
{
  g_clear_pointer (&fixture->nginx, mist_test_nginx_free);
  if (fixture->data_root != NULL)
    mist_test_remove_tree (fixture->data_root);
  g_clear_pointer (&fixture->data_root, g_free);
}

/* data is TRUE for a case whose objects nginx serves. */
static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *db_path = NULL;

  if (GPOINTER_TO_INT (data))
    fixture->started = start_servers_with_nginx (fixture);
  else
    fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  fixture->requests = g_ptr_array_new_with_free_func (g_free);
  fixture->games_dir = g_build_filename (fixture->net.work_dir, "games", NULL);
  fixture->cache_dir = g_build_filename (fixture->net.work_dir, "objects", NULL);
  db_path = g_build_filename (fixture->net.work_dir, "state.db", NULL);
  fixture->client = mist_client_new (mist_test_server_get_url (fixture->net.server), NULL,
                                     &error);
  g_assert_no_error (error);
  mist_client_login_async (fixture->client, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD,
                           NULL, on_done, &result);
  g_assert_true (mist_client_login_finish (fixture->client, wait_for (&result), &error));
  g_assert_no_error (error);
  g_signal_connect (mist_client_get_session (fixture->client), "request-queued",
                    G_CALLBACK (on_request_queued), fixture);

  fixture->db = mist_state_db_open (db_path, &error);
  g_assert_no_error (error);
  fixture->downloader = mist_downloader_new (mist_client_get_session (fixture->client),
                                             fixture->cache_dir);
  mist_downloader_set_max_parallel (fixture->downloader, 2);
  fixture->queue = mist_queue_new (fixture->client, fixture->downloader, fixture->db,
                                   fixture->games_dir);
  g_clear_object (&result);
  mist_queue_load_async (fixture->queue, NULL, on_done, &result);
  g_assert_true (mist_queue_load_finish (fixture->queue, wait_for (&result), &error));
  g_assert_no_error (error);

  fixture->v1 = write_small_files_build (fixture, "v1", NULL);
  fixture->v2 = write_small_files_build (fixture, "v2", fixture->v1);
  net_create_game (&fixture->net, "many");
  net_push (&fixture->net, "many", "1.0", fixture->v1);
  mist_test_server_wait_for_packs (fixture->net.server, fixture->net.admin_token, "many", 1, 60,
                                   &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  if (!fixture->started)
    {
      stop_nginx (fixture);
      return;
    }
  g_signal_handlers_disconnect_by_data (mist_client_get_session (fixture->client), fixture);
  g_clear_object (&fixture->queue);
  g_clear_object (&fixture->downloader);
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  g_clear_object (&fixture->client);
  net_server_stop (&fixture->net);
  stop_nginx (fixture);
  g_free (fixture->games_dir);
  g_free (fixture->cache_dir);
  g_free (fixture->v1);
  g_free (fixture->v2);
  g_ptr_array_unref (fixture->requests);
}

static void
on_finished (MistQueue *queue, MistJob *job, gpointer data)
{
  *(MistJob **) data = job;
}

/* Runs the main context until job stops (done, failed, cancelled or paused). */
static MistJobState
wait_for_job (Fixture *fixture, MistJob *job)
{
  MistJob *finished = NULL;
  gulong handler = g_signal_connect (fixture->queue, "job-finished", G_CALLBACK (on_finished),
                                     &finished);

  while (finished != job)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (fixture->queue, handler);
  return mist_job_get_state (job);
}

static MistJob *
add_job (Fixture *fixture, MistJobKind kind)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  MistJob *job;

  mist_queue_add_async (fixture->queue, "many", kind, 0, NULL, NULL, on_done, &result);
  job = mist_queue_add_finish (fixture->queue, wait_for (&result), &error);
  g_assert_no_error (error);
  return g_object_ref (job);
}

static void
run_job (Fixture *fixture, MistJobKind kind)
{
  g_autoptr (MistJob) job = add_job (fixture, kind);

  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_DONE);
  g_assert_null (mist_job_get_error_message (job));
}

static gboolean
requested_object (Fixture *fixture, const char *object_id)
{
  for (guint i = 0; i < fixture->requests->len; i++)
    if (strstr (g_ptr_array_index (fixture->requests, i), object_id) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_packs_install_update (Fixture *fixture, gconstpointer data)
{
  g_autofree char *install_path = NULL;
  guint install_requests;

  if (!fixture->started)
    return;
  install_path = g_build_filename (fixture->games_dir, "many", NULL);
  run_job (fixture, MIST_JOB_KIND_INSTALL);
  net_assert_tree_equal (fixture->v1, install_path);
  /* About 4 MB of small objects fit in one pack, fetched in one span per transfer slot
   * (2 here), so the requests do not grow with the 200 files. */
  install_requests = fixture->requests->len;
  g_test_message ("install: %u object requests for %u files", install_requests, N_FILES + 1);
  g_assert_cmpuint (install_requests, >, 0);
  g_assert_cmpuint (install_requests, <=, 2);

  net_push (&fixture->net, "many", "2.0", fixture->v2);
  g_ptr_array_set_size (fixture->requests, 0);
  run_job (fixture, MIST_JOB_KIND_UPDATE);
  net_assert_tree_equal (fixture->v2, install_path);
  g_test_message ("update: %u object requests", fixture->requests->len);
  g_assert_cmpuint (fixture->requests->len, >, 0);
  g_assert_cmpuint (fixture->requests->len, <=, 2);
  /* Asked for in advance of the plan, and not again once the plan needs it. */
  g_assert_cmpuint (fixture->patch_set_requests, ==, 1);
}

/* Adds the relative path of every file under root/relative to paths. */
static void
list_files (const char *root, const char *relative, GPtrArray *paths)
{
  g_autofree char *folder = g_build_filename (root, relative, NULL);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *child = g_build_filename (relative, name, NULL);
      g_autofree char *path = g_build_filename (root, child, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          list_files (root, child, paths);
          g_free (child);
        }
      else
        g_ptr_array_add (paths, child);
    }
}

static char *
hash_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *hex = mist_sha256_hex_file (path, NULL, &error);

  if (hex == NULL)
    g_error ("Failed to hash %s: %s", path, error->message);
  return hex;
}

/* Asserts that install_dir contains the files of build_dir, each with the same SHA-256,
 * and no other file. */
static void
assert_tree_sha256 (const char *build_dir, const char *install_dir)
{
  g_autoptr (GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) installed = g_ptr_array_new_with_free_func (g_free);

  list_files (build_dir, "", expected);
  list_files (install_dir, "", installed);
  g_assert_cmpuint (installed->len, ==, expected->len);
  for (guint i = 0; i < expected->len; i++)
    {
      const char *path = g_ptr_array_index (expected, i);
      g_autofree char *source = g_build_filename (build_dir, path, NULL);
      g_autofree char *target = g_build_filename (install_dir, path, NULL);
      g_autofree char *expected_hash = hash_file (source);
      g_autofree char *actual_hash = hash_file (target);

      if (g_strcmp0 (actual_hash, expected_hash) != 0)
        g_error ("%s has SHA-256 %s, expected %s as in %s", target, actual_hash, expected_hash,
                 source);
    }
}

/* Adds the ids of the packs listed in the API's reply for path, a manifest or a patch
 * set. */
static void
add_pack_ids (Fixture *fixture, const char *path, GHashTable *pack_ids)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root;
  JsonArray *packs;

  message = mist_test_server_send (fixture->net.server, "GET", path, fixture->net.admin_token, NULL,
                                   &reply, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                              (gssize)g_bytes_get_size (reply), &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (root, "packs"));
  packs = json_object_get_array_member (root, "packs");
  for (guint i = 0; i < json_array_get_length (packs); i++)
    {
      JsonObject *pack = json_array_get_object_element (packs, i);

      g_hash_table_add (pack_ids, g_strdup (json_object_get_string_member (pack, "id")));
    }
}

/* Asserts that the requests nginx logged after the first n_checked are all Range requests
 * for packs that pack_ids lists, and that the client sent all its object requests of this
 * step to nginx. About 4 MB of small objects fit in one pack, fetched in one span per
 * transfer slot, so there are at most 2 requests, as in /net/packs/install-update. */
static void
assert_nginx_served_packs (Fixture *fixture, GHashTable *pack_ids, guint *n_checked)
{
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  guint n_new;

  requests = mist_test_nginx_get_requests (fixture->nginx, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (requests->len, >=, *n_checked);
  n_new = requests->len - *n_checked;
  for (guint i = *n_checked; i < requests->len; i++)
    {
      const char *request = g_ptr_array_index (requests, i);
      g_auto (GStrv) fields = g_strsplit (request, " ", -1);
      g_autofree char *object_id = NULL;

      g_test_message ("nginx: %s", request);
      g_assert_cmpuint (g_strv_length (fields), ==, 4);
      g_assert_cmpstr (fields[0], ==, "GET");
      g_assert_true (g_str_has_prefix (fields[1], "/mist/objects/"));
      object_id = g_path_get_basename (fields[1]);
      g_assert_true (g_hash_table_contains (pack_ids, object_id));
      g_assert_cmpstr (fields[2], ==, "206");
      g_assert_true (g_str_has_prefix (fields[3], "bytes="));
    }
  g_assert_cmpuint (n_new, >, 0);
  g_assert_cmpuint (n_new, <=, 2);
  g_assert_cmpuint (fixture->requests->len, ==, n_new);
  *n_checked = requests->len;
}

/* The install and update of /net/packs/install-update, with nginx serving the objects
 * from the server's data folder as a static file server. */
static void
test_packs_nginx_install_update (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GHashTable) install_packs
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) update_packs
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *install_path = NULL;
  g_autoptr (GError) error = NULL;
  guint n_checked = 0;

  if (!fixture->started)
    return;
  install_path = g_build_filename (fixture->games_dir, "many", NULL);
  add_pack_ids (fixture, "/api/v1/games/many/versions/1/manifest", install_packs);
  run_job (fixture, MIST_JOB_KIND_INSTALL);
  assert_tree_sha256 (fixture->v1, install_path);
  assert_nginx_served_packs (fixture, install_packs, &n_checked);

  /* The client prefers the patch set's packs, but may take entries from the version's. */
  net_push (&fixture->net, "many", "2.0", fixture->v2);
  mist_test_server_wait_for_packs (fixture->net.server, fixture->net.admin_token, "many", 2, 60,
                                   &error);
  g_assert_no_error (error);
  add_pack_ids (fixture, "/api/v1/games/many/patches/1/2", update_packs);
  add_pack_ids (fixture, "/api/v1/games/many/versions/2/manifest", update_packs);
  g_ptr_array_set_size (fixture->requests, 0);
  run_job (fixture, MIST_JOB_KIND_UPDATE);
  assert_tree_sha256 (fixture->v2, install_path);
  assert_nginx_served_packs (fixture, update_packs, &n_checked);
}

/* Returns the first pack of the version's manifest, parsed from the API. */
static MistPack *
first_pack (Fixture *fixture)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistManifest) manifest = NULL;

  message = mist_test_server_send (fixture->net.server, "GET",
                                   "/api/v1/games/many/versions/1/manifest",
                                   fixture->net.admin_token, NULL, &reply, &error);
  g_assert_no_error (error);
  manifest = mist_manifest_new_from_json (g_bytes_get_data (reply, NULL),
                                          (gssize) g_bytes_get_size (reply), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_manifest_get_packs (manifest)->len, >, 0);
  return mist_pack_copy (g_ptr_array_index (mist_manifest_get_packs (manifest), 0));
}

/* A pack entry whose bytes changed on the server is never installed: the client sees
 * the wrong hash and fetches that object on its own. */
static void
test_packs_corrupt_entry (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistPack) pack = NULL;
  g_autofree char *pack_path = NULL;
  g_autofree char *install_path = NULL;
  const MistPackEntry *entry;
  guint8 byte;
  int fd;

  if (!fixture->started)
    return;
  pack = first_pack (fixture);
  entry = &g_array_index (pack->entries, MistPackEntry, 1);
  pack_path = g_build_filename (mist_test_server_get_data_dir (fixture->net.server), "content",
                                "objects", (char[]) { pack->id[0], pack->id[1], '\0' },
                                pack->id, NULL);
  fd = open (pack_path, O_RDWR);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &byte, 1, (off_t) entry->offset + 5), ==, 1);
  byte ^= 0xff;
  g_assert_cmpint (pwrite (fd, &byte, 1, (off_t) entry->offset + 5), ==, 1);
  close (fd);

  install_path = g_build_filename (fixture->games_dir, "many", NULL);
  run_job (fixture, MIST_JOB_KIND_INSTALL);
  net_assert_tree_equal (fixture->v1, install_path);
  g_assert_true (requested_object (fixture, entry->object_id));
  g_assert_false (requested_object (fixture,
                                    g_array_index (pack->entries, MistPackEntry, 2).object_id));
}

static void
on_progress (MistJob *job, GParamSpec *pspec, gpointer data)
{
  Fixture *fixture = data;

  if (mist_job_get_bytes_done (job) * 3 > mist_job_get_bytes_total (job) &&
      mist_job_get_state (job) == MIST_JOB_STATE_RUNNING)
    mist_queue_pause (fixture->queue, job, NULL);
}

/* Starts an install at 1 MB/s, which makes the install of about 4 MB last long enough to
 * pause it a third of the way, and returns the job once paused. */
static MistJob *
pause_install (Fixture *fixture)
{
  MistJob *job;

  mist_downloader_set_rate_limit (fixture->downloader, 1000 * 1000);
  job = add_job (fixture, MIST_JOB_KIND_INSTALL);
  g_signal_connect (job, "notify::bytes-done", G_CALLBACK (on_progress), fixture);
  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_PAUSED);
  g_signal_handlers_disconnect_by_data (job, fixture);
  return job;
}

/* Returns the length of a request's "Range: bytes=A-B", 0 without a range. */
static guint64
range_length (const char *request)
{
  const char *range = strstr (request, " bytes=");
  char *end = NULL;
  guint64 first;
  guint64 last;

  if (range == NULL)
    return 0;
  first = g_ascii_strtoull (range + strlen (" bytes="), &end, 10);
  g_assert_true (*end == '-');
  last = g_ascii_strtoull (end + 1, NULL, 10);
  return last - first + 1;
}

/* Returns the bytes of the job's objects that a new reader of the cache finds stored. */
static guint64
stored_bytes (Fixture *fixture, MistJob *job)
{
  g_autoptr (MistObjectCache) cache = mist_object_cache_new (fixture->cache_dir);
  g_autoptr (GPtrArray) objects = mist_plan_list_objects (mist_job_get_plan (job));
  guint64 total = 0;

  for (guint i = 0; i < objects->len; i++)
    {
      const MistPlanObject *object = g_ptr_array_index (objects, i);

      if (mist_object_cache_contains (cache, object->object_id))
        total += object->size;
    }
  return total;
}

/* A paused install continues after the pack entries it stored before. */
static void
test_packs_pause_resumes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistJob) job = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *install_path = NULL;
  guint64 stored;
  guint64 requested = 0;
  guint before;

  if (!fixture->started)
    return;
  job = pause_install (fixture);
  stored = stored_bytes (fixture, job);
  g_test_message ("paused with %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes stored",
                  stored, mist_job_get_bytes_total (job));
  g_assert_cmpuint (stored, >, 0);
  g_assert_cmpuint (stored, <, mist_job_get_bytes_total (job));

  before = fixture->requests->len;
  mist_downloader_set_rate_limit (fixture->downloader, 0);
  g_assert_true (mist_queue_resume (fixture->queue, job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_DONE);
  install_path = g_build_filename (fixture->games_dir, "many", NULL);
  net_assert_tree_equal (fixture->v1, install_path);

  /* The requests after the pause skip every entry stored before it. Entries still being
   * written at the pause are stored too, so fewer bytes may be left. */
  for (guint i = before; i < fixture->requests->len; i++)
    {
      const char *request = g_ptr_array_index (fixture->requests, i);

      g_assert_cmpuint (range_length (request), >, 0);
      requested += range_length (request);
    }
  g_assert_cmpuint (requested, >, 0);
  g_assert_cmpuint (requested, <=, mist_job_get_bytes_total (job) - stored);
}

/* Overwrites every pack file in the cache with zeros of the same length. */
static guint
damage_cached_packs (Fixture *fixture)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->cache_dir, 0, NULL);
  const char *name;
  guint damaged = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->cache_dir, name, NULL);
      g_autofree char *zeros = NULL;
      g_autoptr (GError) error = NULL;
      GStatBuf info;

      if (!g_str_has_prefix (name, "pack-") || g_str_has_suffix (name, ".index")
          || g_stat (path, &info) != 0)
        continue;
      zeros = g_malloc0 ((gsize)info.st_size);
      g_assert_true (g_file_set_contents (path, zeros, (gssize)info.st_size, &error));
      g_assert_no_error (error);
      damaged++;
    }
  return damaged;
}

/* Pack entries damaged in the cache while a job is paused are fetched again, and the
 * resumed job installs the right files. */
static void
test_packs_damaged_cache_refetched (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistJob) job = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *install_path = NULL;

  if (!fixture->started)
    return;
  job = pause_install (fixture);
  g_assert_cmpuint (damage_cached_packs (fixture), >, 0);

  mist_downloader_set_rate_limit (fixture->downloader, 0);
  g_assert_true (mist_queue_resume (fixture->queue, job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_DONE);
  install_path = g_build_filename (fixture->games_dir, "many", NULL);
  net_assert_tree_equal (fixture->v1, install_path);
}

/* A pack file the cache cannot write fails the job with the pack's name and what to
 * check, not as a download error of some object. */
static void
test_packs_cache_unwritable (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistJob) job = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) error = NULL;
  const char *message;
  const char *name;
  guint blocked = 0;

  if (!fixture->started)
    return;
  job = pause_install (fixture);

  /* A folder in place of each pack file: even root cannot write into it as a file. */
  dir = g_dir_open (fixture->cache_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->cache_dir, name, NULL);

      if (!g_str_has_prefix (name, "pack-") || g_str_has_suffix (name, ".index"))
        continue;
      g_assert_cmpint (g_unlink (path), ==, 0);
      g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
      blocked++;
    }
  g_assert_cmpuint (blocked, >, 0);

  mist_downloader_set_rate_limit (fixture->downloader, 0);
  g_assert_true (mist_queue_resume (fixture->queue, job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_FAILED);
  message = mist_job_get_error_message (job);
  g_assert_nonnull (strstr (message, "Failed to download pack "));
  g_assert_nonnull (strstr (message, "Check that the object cache"));
  g_assert_nonnull (strstr (message, fixture->cache_dir));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) \
  g_test_add (name, Fixture, NULL, fixture_set_up, function, fixture_tear_down)
  ADD ("/net/packs/install-update", test_packs_install_update);
  g_test_add ("/net/packs/nginx-install-update", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up,
              test_packs_nginx_install_update, fixture_tear_down);
  ADD ("/net/packs/corrupt-entry", test_packs_corrupt_entry);
  ADD ("/net/packs/pause-resumes", test_packs_pause_resumes);
  ADD ("/net/packs/damaged-cache-refetched", test_packs_damaged_cache_refetched);
  ADD ("/net/packs/cache-unwritable", test_packs_cache_unwritable);
#undef ADD

  return g_test_run ();
}
