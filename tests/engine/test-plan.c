/* test-plan.c: the update planner on synthetic version graphs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-plan.h"

/* Returns a stable fake SHA-256 for a label, so tests name contents by words. */
static char *
hash_of (const char *label)
{
  return mist_sha256_hex_data (label, strlen (label));
}

static void
add_version (MistVersionGraph *graph, gint64 ordinal, guint64 download_size, gboolean is_private)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("1.%" G_GINT64_FORMAT, ordinal);
  MistVersionInfo version = { 0 };

  version.ordinal = ordinal;
  version.name = name;
  version.download_size = download_size;
  version.installed_size = download_size * 2;
  version.is_private = is_private;
  g_assert_true (mist_version_graph_add_version (graph, &version, &error));
  g_assert_no_error (error);
}

static MistPatchSet *
add_patch_set (MistVersionGraph *graph, gint64 from, gint64 to, guint64 download_size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistPatchSet) patch_set = mist_patch_set_new (from, to, download_size);

  mist_patch_set_set_has_files (patch_set, TRUE);
  g_assert_true (mist_version_graph_add_patch_set (graph, patch_set, &error));
  g_assert_no_error (error);
  return patch_set; /* the graph keeps a reference */
}

static void
add_delta (MistPatchSet *patch_set,
           const char *path,
           const char *source_path,
           const char *source_label,
           const char *target_label,
           guint64 size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *source = hash_of (source_label);
  g_autofree char *target = hash_of (target_label);
  g_autofree char *object_label = g_strdup_printf ("delta %s→%s", source_label, target_label);
  g_autofree char *object = hash_of (object_label);
  MistPatchFile file = { 0 };

  file.path = (char *) path;
  file.source_path = (char *) source_path;
  file.format = (char *) "zstd";
  file.object_id = object;
  file.object_size = size;
  file.source_sha256 = source;
  file.target_sha256 = target;
  g_assert_true (mist_patch_set_add_file (patch_set, &file, &error));
  g_assert_no_error (error);
}

static void
add_file (MistManifest *manifest, const char *path, const char *label, guint64 object_size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sha256 = hash_of (label);
  g_autofree char *object_label = g_strdup_printf ("object %s", label);
  g_autofree char *object = hash_of (object_label);
  MistManifestFile file = { 0 };

  file.path = (char *) path;
  file.size = object_size * 2;
  file.sha256 = sha256;
  file.object_id = object;
  file.object_size = object_size;
  g_assert_true (mist_manifest_add_file (manifest, &file, &error));
  g_assert_no_error (error);
}

static void
assert_route (GArray *route, const gint64 *expected, guint n_expected)
{
  g_assert_nonnull (route);
  g_assert_cmpuint (route->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpint (g_array_index (route, gint64, i), ==, expected[i]);
}

/* Versions 1..3 with full downloads of 1000 bytes each. */
static MistVersionGraph *
three_versions (gboolean middle_private)
{
  MistVersionGraph *graph = mist_version_graph_new ();

  add_version (graph, 1, 1000, FALSE);
  add_version (graph, 2, 1000, middle_private);
  add_version (graph, 3, 1000, FALSE);
  return graph;
}

static void
test_route_missing_link (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (GArray) route = NULL;
  g_autoptr (GError) error = NULL;
  const gint64 expected[] = { 3 };
  guint64 bytes = 0;

  add_patch_set (graph, 1, 2, 10);
  route = mist_version_graph_find_route (graph, 1, 3, &bytes, &error);
  g_assert_no_error (error);
  assert_route (route, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (bytes, ==, 1000);
}

static void
test_route_chain_beats_direct (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (GArray) route = NULL;
  const gint64 expected[] = { 1, 2, 3 };
  guint64 bytes = 0;

  add_patch_set (graph, 1, 2, 10);
  add_patch_set (graph, 2, 3, 10);
  add_patch_set (graph, 1, 3, 50);
  route = mist_version_graph_find_route (graph, 1, 3, &bytes, NULL);
  assert_route (route, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (bytes, ==, 20);
}

static void
test_route_chain_costlier_than_full (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (GArray) route = NULL;
  const gint64 expected[] = { 3 };
  guint64 bytes = 0;

  add_patch_set (graph, 1, 2, 600);
  add_patch_set (graph, 2, 3, 600);
  route = mist_version_graph_find_route (graph, 1, 3, &bytes, NULL);
  assert_route (route, expected, G_N_ELEMENTS (expected));
  g_assert_cmpuint (bytes, ==, 1000);
}

static void
test_route_tie_fewer_steps (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (GArray) route = NULL;
  const gint64 expected[] = { 1, 3 };

  add_patch_set (graph, 1, 2, 10);
  add_patch_set (graph, 2, 3, 10);
  add_patch_set (graph, 1, 3, 20);
  route = mist_version_graph_find_route (graph, 1, 3, NULL, NULL);
  assert_route (route, expected, G_N_ELEMENTS (expected));
}

static void
test_route_skips_private_version (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (TRUE);
  g_autoptr (GArray) route = NULL;
  g_autoptr (GArray) to_private = NULL;
  const gint64 expected[] = { 1, 3 };
  const gint64 expected_private[] = { 1, 2 };

  add_patch_set (graph, 1, 2, 10);
  add_patch_set (graph, 2, 3, 10);
  add_patch_set (graph, 1, 3, 100);
  route = mist_version_graph_find_route (graph, 1, 3, NULL, NULL);
  assert_route (route, expected, G_N_ELEMENTS (expected));

  /* As the target itself, a private version is reachable. */
  to_private = mist_version_graph_find_route (graph, 1, 2, NULL, NULL);
  assert_route (to_private, expected_private, G_N_ELEMENTS (expected_private));
}

static void
test_route_downgrade_and_unknown (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (GArray) route = NULL;
  g_autoptr (GArray) unknown = NULL;
  g_autoptr (GError) error = NULL;
  const gint64 expected[] = { 1 };

  add_patch_set (graph, 1, 2, 10);
  add_patch_set (graph, 2, 3, 10);
  route = mist_version_graph_find_route (graph, 3, 1, NULL, NULL);
  assert_route (route, expected, G_N_ELEMENTS (expected));

  unknown = mist_version_graph_find_route (graph, 1, 9, NULL, &error);
  g_assert_null (unknown);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
}

static void
test_route_hundred_versions (void)
{
  g_autoptr (MistVersionGraph) graph = mist_version_graph_new ();
  g_autoptr (GArray) route = NULL;
  guint64 bytes = 0;

  for (gint64 v = 1; v <= 100; v++)
    add_version (graph, v, 100000, FALSE);
  /* Per version crossed: 10 bytes by single steps, 7.5 by steps of two, 7 by steps of
   * three, so the cheapest route from 1 to 100 is 33 steps of three. */
  for (gint64 v = 2; v <= 100; v++)
    {
      add_patch_set (graph, v - 1, v, 10);
      if (v > 2)
        add_patch_set (graph, v - 2, v, 15);
      if (v > 3)
        add_patch_set (graph, v - 3, v, 21);
    }
  route = mist_version_graph_find_route (graph, 1, 100, &bytes, NULL);
  g_assert_nonnull (route);
  g_assert_cmpuint (bytes, ==, 33 * 21);
  g_assert_cmpuint (route->len, ==, 34);
  for (guint i = 0; i < route->len; i++)
    g_assert_cmpint (g_array_index (route, gint64, i), ==, 1 + 3 * (gint64) i);
}

/* Version 1 has a, b, c and d; version 3 changes a through 2 with deltas, changes b
 * with no delta in 2→3, keeps c, and moves d to e. */
static void
test_plan_per_file (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (MistManifest) installed = mist_manifest_new ();
  g_autoptr (MistManifest) target = mist_manifest_new ();
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (GPtrArray) objects = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  MistPatchSet *first;
  MistPatchSet *second;
  const MistPlanFile *file;
  const MistPlanDelta *delta;

  add_file (installed, "a", "a1", 400);
  add_file (installed, "b", "b1", 300);
  add_file (installed, "c", "c1", 200);
  add_file (installed, "d", "d1", 100);
  add_file (target, "a", "a3", 400);
  add_file (target, "b", "b3", 300);
  add_file (target, "c", "c1", 200);
  add_file (target, "e", "d1", 100);

  first = add_patch_set (graph, 1, 2, 20);
  add_delta (first, "a", "a", "a1", "a2", 10);
  add_delta (first, "b", "b", "b1", "b2", 10);
  second = add_patch_set (graph, 2, 3, 20);
  add_delta (second, "a", "a", "a2", "a3", 10);

  plan = mist_plan_compute (graph, 1, installed, 3, target, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_plan_get_route (plan), ==, MIST_PLAN_ROUTE_PATCH);
  g_assert_cmpuint (mist_plan_get_n_patch_sets (plan), ==, 2);
  g_assert_cmpuint (mist_plan_get_files (plan)->len, ==, 3);
  g_assert_null (mist_plan_lookup_file (plan, "c"));

  file = mist_plan_lookup_file (plan, "a");
  g_assert_cmpstr (file->source_path, ==, "a");
  g_assert_cmpuint (file->deltas->len, ==, 2);
  delta = g_ptr_array_index (file->deltas, 0);
  g_assert_cmpint (delta->from_ordinal, ==, 1);
  g_assert_cmpint (delta->to_ordinal, ==, 2);
  delta = g_ptr_array_index (file->deltas, 1);
  g_assert_cmpint (delta->from_ordinal, ==, 2);
  g_assert_cmpint (delta->to_ordinal, ==, 3);

  /* b's chain breaks in 2→3, which has no delta for it: only its full object is used. */
  file = mist_plan_lookup_file (plan, "b");
  g_assert_null (file->source_path);
  g_assert_cmpuint (file->deltas->len, ==, 0);

  file = mist_plan_lookup_file (plan, "e");
  g_assert_cmpstr (file->copy_from, ==, "d");

  objects = mist_plan_list_objects (plan);
  g_assert_cmpuint (objects->len, ==, 3);
  g_assert_cmpuint (mist_plan_get_download_size (plan), ==, 10 + 10 + 300);
  g_assert_cmpuint (mist_plan_get_full_download_size (plan), ==, 1000);
  g_assert_cmpuint (mist_plan_get_installed_size (plan), ==, 2000);
  g_assert_cmpuint (mist_plan_get_staging_size (plan), ==, 800 + 600 + 200 + 800);

  text = mist_plan_to_string (plan);
  g_assert_cmpstr (text, ==, "1.1 → 1.3: 320 bytes via 2 patches, instead of 1.0\u00a0kB");

  /* A failed delta falls back to the full object. */
  g_assert_true (mist_plan_use_full_object (plan, "a"));
  g_assert_cmpuint (mist_plan_lookup_file (plan, "a")->deltas->len, ==, 0);
  g_assert_cmpuint (mist_plan_get_download_size (plan), ==, 400 + 300);
}

static void
test_plan_costly_chain_uses_full_object (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (MistManifest) installed = mist_manifest_new ();
  g_autoptr (MistManifest) target = mist_manifest_new ();
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (GError) error = NULL;
  MistPatchSet *first;
  MistPatchSet *second;

  add_file (installed, "a", "a1", 100);
  add_file (installed, "big", "big1", 900);
  add_file (target, "a", "a3", 100);
  add_file (target, "big", "big3", 900);
  first = add_patch_set (graph, 1, 2, 80);
  add_delta (first, "a", "a", "a1", "a2", 60);
  add_delta (first, "big", "big", "big1", "big2", 20);
  second = add_patch_set (graph, 2, 3, 80);
  add_delta (second, "a", "a", "a2", "a3", 60);
  add_delta (second, "big", "big", "big2", "big3", 20);

  plan = mist_plan_compute (graph, 1, installed, 3, target, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "a")->deltas->len, ==, 0);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "big")->deltas->len, ==, 2);
  g_assert_cmpuint (mist_plan_get_download_size (plan), ==, 100 + 40);
}

static void
test_plan_needs_patch_file_list (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (MistManifest) target = mist_manifest_new ();
  g_autoptr (MistPatchSet) summary = mist_patch_set_new (1, 3, 5);
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (GError) error = NULL;

  add_file (target, "a", "a3", 100);
  g_assert_true (mist_version_graph_add_patch_set (graph, summary, NULL));
  plan = mist_plan_compute (graph, 1, target, 3, target, &error);
  g_assert_null (plan);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "patches/1/3"));
}

static void
test_plan_fresh_install_and_repair (void)
{
  g_autoptr (MistVersionGraph) graph = three_versions (FALSE);
  g_autoptr (MistManifest) target = mist_manifest_new ();
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (MistPlan) repair = NULL;
  g_autoptr (MistPlan) same = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *repair_text = NULL;
  g_autofree char *same_text = NULL;
  const char *bad[] = { "b", NULL };
  const char *unknown[] = { "zz", NULL };

  add_file (target, "a", "a3", 100);
  add_file (target, "b", "b3", 2000);
  add_file (target, "c", "a3", 100); /* same content, one object */
  plan = mist_plan_compute (graph, MIST_VERSION_NONE, NULL, 3, target, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_plan_get_route (plan), ==, MIST_PLAN_ROUTE_FULL);
  g_assert_cmpuint (mist_plan_get_files (plan)->len, ==, 3);
  g_assert_cmpuint (mist_plan_get_download_size (plan), ==, 2100);
  text = mist_plan_to_string (plan);
  g_assert_cmpstr (text, ==, "Install 1.3: 2.1\u00a0kB");

  repair = mist_plan_new_repair (3, target, bad, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_plan_get_route (repair), ==, MIST_PLAN_ROUTE_REPAIR);
  g_assert_cmpuint (mist_plan_get_download_size (repair), ==, 2000);
  mist_plan_set_version_names (repair, "1.3", "1.3");
  repair_text = mist_plan_to_string (repair);
  g_assert_cmpstr (repair_text, ==, "Repair 1.3: 2.0\u00a0kB for 1 file");
  g_assert_null (mist_plan_new_repair (3, target, unknown, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);

  same = mist_plan_compute (graph, 3, target, 3, target, NULL);
  g_assert_cmpint (mist_plan_get_route (same), ==, MIST_PLAN_ROUTE_NONE);
  same_text = mist_plan_to_string (same);
  g_assert_cmpstr (same_text, ==, "1.3 is up to date: nothing to download");
}

static void
test_patch_set_json (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistPatchSet) patch_set = NULL;
  g_autoptr (MistPatchSet) pending = NULL;
  g_autoptr (MistPatchSet) bad_path = NULL;
  g_autofree char *source = hash_of ("s");
  g_autofree char *target = hash_of ("t");
  g_autofree char *object = hash_of ("o");
  g_autofree char *json = g_strdup_printf (
    "{\"from\": 1, \"to\": 2, \"state\": \"ready\", \"error\": null, \"delta_count\": 1,"
    " \"download_size\": 5120, \"full_download_size\": 61000, \"updated_at\": \"x\","
    " \"deltas\": [{\"path\": \"bin/new\", \"source_path\": \"bin/old\", \"source_sha256\": \"%s\","
    " \"target_sha256\": \"%s\", \"format\": \"vcdiff\", \"object\": {\"id\": \"%s\", \"size\": 5120}}]}",
    source, target, object);
  g_autofree char *bad_json = g_strdup_printf (
    "{\"from\": 1, \"to\": 2, \"state\": \"ready\", \"download_size\": 1,"
    " \"deltas\": [{\"path\": \"../escape\", \"source_sha256\": \"%s\","
    " \"target_sha256\": \"%s\", \"format\": \"zstd\", \"object\": {\"id\": \"%s\", \"size\": 1}}]}",
    source, target, object);
  const MistPatchFile *file;

  patch_set = mist_patch_set_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_patch_set_get_from (patch_set), ==, 1);
  g_assert_cmpint (mist_patch_set_get_to (patch_set), ==, 2);
  g_assert_cmpuint (mist_patch_set_get_download_size (patch_set), ==, 5120);
  g_assert_true (mist_patch_set_has_files (patch_set));
  file = mist_patch_set_lookup (patch_set, "bin/new");
  g_assert_nonnull (file);
  g_assert_cmpstr (file->source_path, ==, "bin/old");
  g_assert_cmpstr (file->format, ==, "vcdiff");
  g_assert_cmpuint (file->object_size, ==, 5120);

  pending = mist_patch_set_new_from_json ("{\"from\": 1, \"to\": 2, \"state\": \"pending\","
                                          " \"download_size\": null, \"deltas\": []}", -1, &error);
  g_assert_null (pending);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_clear_error (&error);

  bad_path = mist_patch_set_new_from_json (bad_json, -1, &error);
  g_assert_null (bad_path);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
}

static void
test_graph_from_api_json (void)
{
  g_autoptr (MistVersionGraph) graph = mist_version_graph_new ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  const char *game =
    "{\"slug\": \"tetris\", \"versions\": ["
    " {\"ordinal\": 1, \"name\": \"1.0\", \"installed_size\": 100, \"download_size\": 60},"
    " {\"ordinal\": 2, \"name\": \"1.1\", \"installed_size\": 120, \"download_size\": 70}]}";
  const char *patches
    = "{\"patches\": [{\"from\": 1, \"to\": 2, \"state\": \"ready\", \"download_size\": 9},"
      " {\"from\": 2, \"to\": 1, \"state\": \"failed\", \"error\": \"x\", \"download_size\": null},"
      " {\"from\": 2, \"to\": 5, \"state\": \"ready\", \"download_size\": 3}]}";

  g_assert_true (json_parser_load_from_data (parser, game, -1, NULL));
  g_assert_true (mist_version_graph_add_game_json (graph, json_parser_get_root (parser), &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, patches, -1, NULL));
  g_assert_true (mist_version_graph_add_patches_json (graph, json_parser_get_root (parser), &error));
  g_assert_no_error (error);

  g_assert_cmpstr (mist_version_graph_lookup (graph, 2)->name, ==, "1.1");
  g_assert_cmpuint (mist_version_graph_lookup (graph, 2)->download_size, ==, 70);
  g_assert_nonnull (mist_version_graph_lookup_patch_set (graph, 1, 2));
  g_assert_false (mist_patch_set_has_files (mist_version_graph_lookup_patch_set (graph, 1, 2)));
  g_assert_null (mist_version_graph_lookup_patch_set (graph, 2, 1));
  /* Version 5 is not listed (deleted on the server): its patch set is left out. */
  g_assert_null (mist_version_graph_lookup_patch_set (graph, 2, 5));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/plan/route-missing-link", test_route_missing_link);
  g_test_add_func ("/engine/plan/route-chain-beats-direct", test_route_chain_beats_direct);
  g_test_add_func ("/engine/plan/route-chain-costlier-than-full", test_route_chain_costlier_than_full);
  g_test_add_func ("/engine/plan/route-tie-fewer-steps", test_route_tie_fewer_steps);
  g_test_add_func ("/engine/plan/route-skips-private-version", test_route_skips_private_version);
  g_test_add_func ("/engine/plan/route-downgrade-and-unknown", test_route_downgrade_and_unknown);
  g_test_add_func ("/engine/plan/route-hundred-versions", test_route_hundred_versions);
  g_test_add_func ("/engine/plan/per-file", test_plan_per_file);
  g_test_add_func ("/engine/plan/costly-chain-uses-full-object", test_plan_costly_chain_uses_full_object);
  g_test_add_func ("/engine/plan/needs-patch-file-list", test_plan_needs_patch_file_list);
  g_test_add_func ("/engine/plan/fresh-install-and-repair", test_plan_fresh_install_and_repair);
  g_test_add_func ("/engine/plan/patch-set-json", test_patch_set_json);
  g_test_add_func ("/engine/plan/graph-from-api-json", test_graph_from_api_json);
  return g_test_run ();
}
