/* mist-throughput-graph.c: the total download speed over the last minutes, as bars
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-throughput-graph.h"

/* One sample a second (the downloads page's tick), so 180 samples are three minutes. */
#define N_SAMPLES 180

struct _MistThroughputGraph
{
  GtkWidget parent_instance;

  double samples[N_SAMPLES]; /* ring buffer of bytes per second */
  guint first;               /* index of the oldest sample */
  guint n_samples;
};

G_DEFINE_FINAL_TYPE (MistThroughputGraph, mist_throughput_graph, GTK_TYPE_WIDGET)

static double
sample_at (MistThroughputGraph *self, guint i)
{
  return self->samples[(self->first + i) % N_SAMPLES];
}

/* Draws one bar per sample, newest at the right edge, scaled to the peak of the window.
 * The bars take the foreground colour so the graph follows the light and dark style. */
static void
mist_throughput_graph_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  MistThroughputGraph *self = MIST_THROUGHPUT_GRAPH (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  double peak = mist_throughput_graph_get_peak (self);
  float bar_width = (float) width / N_SAMPLES;
  GdkRGBA color;
  GdkRGBA baseline;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  baseline = color;
  baseline.alpha *= 0.25f;
  color.alpha *= 0.7f;

  gtk_snapshot_append_color (snapshot, &baseline, &GRAPHENE_RECT_INIT (0, height - 1, width, 1));
  if (peak <= 0)
    return;

  for (guint i = 0; i < self->n_samples; i++)
    {
      double value = sample_at (self, i);
      float bar_height = (float) (value / peak * (height - 2));
      float x = width - (self->n_samples - i) * bar_width;

      if (bar_height < 0.5f)
        continue;
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT (x, height - 1 - bar_height,
                                                      MAX (1.0f, bar_width - 1.0f), bar_height));
    }
}

static void
mist_throughput_graph_measure (GtkWidget *widget,
                               GtkOrientation orientation,
                               int for_size,
                               int *minimum,
                               int *natural,
                               int *minimum_baseline,
                               int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 120;
      *natural = N_SAMPLES * 2;
    }
  else
    {
      *minimum = 32;
      *natural = 48;
    }
}

static void
mist_throughput_graph_class_init (MistThroughputGraphClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = mist_throughput_graph_snapshot;
  widget_class->measure = mist_throughput_graph_measure;
  gtk_widget_class_set_css_name (widget_class, "throughputgraph");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
mist_throughput_graph_init (MistThroughputGraph *self)
{
}

GtkWidget *
mist_throughput_graph_new (void)
{
  return g_object_new (MIST_TYPE_THROUGHPUT_GRAPH, NULL);
}

/* Appends the speed of the last second; the oldest sample drops out after three
 * minutes. */
void
mist_throughput_graph_add_sample (MistThroughputGraph *self, double bytes_per_second)
{
  g_return_if_fail (MIST_IS_THROUGHPUT_GRAPH (self));

  bytes_per_second = MAX (0.0, bytes_per_second);
  if (self->n_samples < N_SAMPLES)
    self->samples[(self->first + self->n_samples++) % N_SAMPLES] = bytes_per_second;
  else
    {
      self->samples[self->first] = bytes_per_second;
      self->first = (self->first + 1) % N_SAMPLES;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
mist_throughput_graph_get_n_samples (MistThroughputGraph *self)
{
  return self->n_samples;
}

double
mist_throughput_graph_get_peak (MistThroughputGraph *self)
{
  double peak = 0;

  for (guint i = 0; i < self->n_samples; i++)
    peak = MAX (peak, sample_at (self, i));
  return peak;
}

void
mist_throughput_graph_clear (MistThroughputGraph *self)
{
  self->first = 0;
  self->n_samples = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
