/* mist-throughput-graph.h: the total download speed over the last minutes, as bars
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MIST_TYPE_THROUGHPUT_GRAPH (mist_throughput_graph_get_type ())
G_DECLARE_FINAL_TYPE (MistThroughputGraph, mist_throughput_graph, MIST, THROUGHPUT_GRAPH,
                      GtkWidget)

GtkWidget *mist_throughput_graph_new (void);
void mist_throughput_graph_add_sample (MistThroughputGraph *self, double bytes_per_second);
guint mist_throughput_graph_get_n_samples (MistThroughputGraph *self);
double mist_throughput_graph_get_peak (MistThroughputGraph *self);
void mist_throughput_graph_clear (MistThroughputGraph *self);

G_END_DECLS
