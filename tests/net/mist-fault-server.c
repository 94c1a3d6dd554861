/* mist-fault-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-fault-server.h"

#include <string.h>

typedef struct
{
  GBytes *data;
  char *etag;
  GBytes *replacement; /* nullable */
  guint replace_after;
} Object;

typedef struct
{
  guint fail_count;
  guint fail_status;
  guint fail_retry_after;
  guint drip_count;
  guint drip_interval_ms;
  guint drop_count;
  guint64 drop_bytes;
  guint overflow_count;
  guint64 overflow_extra;
  gboolean overflow_declared;
} Faults;

struct _MistFaultServer
{
  GThread *thread;         /* runs loop on context */
  GMainContext *context;
  GMainLoop *loop;
  GSocketService *service; /* created and started in thread */
  guint16 port;
  GMutex lock; /* protects everything below */
  GCond changed;       /* signalled once port is set, and when a worker moves to finished */
  GHashTable *objects; /* name → Object * */
  Faults faults;
  gboolean ranges_supported;
  guint64 rate;
  guint etag_serial;
  GPtrArray *requests; /* MistFaultRequest * */
  gboolean stopping;
  GPtrArray *workers;  /* GThread * serving one connection each, owned until joined */
  GPtrArray *finished; /* GThread * of workers that returned, owned until joined */
  guint n_in_progress; /* connections counted by increment_in_progress() */
  guint peak_in_progress;
};

static void
object_free (gpointer data)
{
  Object *object = data;

  g_bytes_unref (object->data);
  g_clear_pointer (&object->replacement, g_bytes_unref);
  g_free (object->etag);
  g_free (object);
}

void
mist_fault_request_free (gpointer data)
{
  MistFaultRequest *request = data;

  g_free (request->path);
  g_free (request->if_range);
  g_free (request->authorization);
  g_free (request);
}

/* The response one request gets, decided under the lock, sent without it. */
typedef struct
{
  guint status;
  guint retry_after;
  GBytes *data;    /* nullable */
  char *etag;      /* nullable */
  guint64 start;   /* first body byte */
  guint drip_interval_ms;
  guint64 drop_after; /* G_MAXUINT64 for none */
  guint64 extra;
  gboolean extra_declared;
  gboolean partial;
  guint64 rate;
} Plan;

static void
plan_clear (Plan *plan)
{
  g_clear_pointer (&plan->data, g_bytes_unref);
  g_free (plan->etag);
}

static void
take_faults (MistFaultServer *server, Plan *plan)
{
  Faults *faults = &server->faults;

  plan->drop_after = G_MAXUINT64;
  if (faults->fail_count > 0)
    {
      faults->fail_count--;
      plan->status = faults->fail_status;
      plan->retry_after = faults->fail_retry_after;
      return;
    }
  if (faults->drip_count > 0)
    {
      faults->drip_count--;
      plan->drip_interval_ms = faults->drip_interval_ms;
    }
  if (faults->drop_count > 0)
    {
      faults->drop_count--;
      plan->drop_after = faults->drop_bytes;
    }
  if (faults->overflow_count > 0)
    {
      faults->overflow_count--;
      plan->extra = faults->overflow_extra;
      plan->extra_declared = faults->overflow_declared;
    }
}

static void
plan_response (MistFaultServer *server,
               const char *path,
               gint64 range_start,
               const char *if_range,
               Plan *plan)
{
  Object *object = NULL;

  plan->rate = server->rate;
  take_faults (server, plan);
  if (plan->status != 0)
    return;

  if (g_str_has_prefix (path, "/objects/"))
    object = g_hash_table_lookup (server->objects, path + strlen ("/objects/"));
  if (object == NULL)
    {
      plan->status = 404;
      return;
    }

  plan->status = 200;
  plan->data = g_bytes_ref (object->data);
  plan->etag = g_strdup (object->etag);
  if (server->ranges_supported && range_start >= 0 &&
      (if_range == NULL || g_strcmp0 (if_range, object->etag) == 0))
    {
      if ((guint64) range_start >= g_bytes_get_size (object->data))
        {
          plan->status = 416;
          g_clear_pointer (&plan->data, g_bytes_unref);
          return;
        }
      plan->status = 206;
      plan->partial = TRUE;
      plan->start = (guint64) range_start;
    }

  if (object->replacement != NULL && --object->replace_after == 0)
    {
      g_bytes_unref (object->data);
      object->data = g_steal_pointer (&object->replacement);
      g_free (object->etag);
      object->etag = g_strdup_printf ("\"v%u\"", ++server->etag_serial);
    }
}

static gboolean
write_all (GOutputStream *output, const void *data, gsize length)
{
  return g_output_stream_write_all (output, data, length, NULL, NULL, NULL);
}

static const char *
reason_phrase (guint status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    default:
      return "Error";
    }
}

static gboolean
server_is_stopping (MistFaultServer *server)
{
  gboolean stopping;

  g_mutex_lock (&server->lock);
  stopping = server->stopping;
  g_mutex_unlock (&server->lock);
  return stopping;
}

/* A connection counts as in progress from the end of its request headers until the server
 * starts the write that completes the response. The count drops before that write, so a
 * client that read a whole response and sent its next request is never counted twice. */
static void
increment_in_progress (MistFaultServer *server, gboolean *counted)
{
  g_mutex_lock (&server->lock);
  *counted = TRUE;
  server->n_in_progress++;
  server->peak_in_progress = MAX (server->peak_in_progress, server->n_in_progress);
  g_mutex_unlock (&server->lock);
}

static void
decrement_in_progress (MistFaultServer *server, gboolean *counted)
{
  if (!*counted)
    return;
  g_mutex_lock (&server->lock);
  *counted = FALSE;
  server->n_in_progress--;
  g_mutex_unlock (&server->lock);
}

static void
send_body (MistFaultServer *server, GOutputStream *output, const Plan *plan, gboolean *counted)
{
  gsize size = 0;
  const guint8 *bytes = g_bytes_get_data (plan->data, &size);
  guint64 sent = 0;
  guint64 end = size - plan->start;
  gint64 started = g_get_monotonic_time ();
  gsize chunk = plan->drip_interval_ms > 0 ? 1 : 16 * 1024;

  while (sent < end && sent < plan->drop_after)
    {
      gsize n = (gsize) MIN (chunk, MIN (end - sent, plan->drop_after - sent));

      if (server_is_stopping (server))
        return;
      if (sent + n == end)
        decrement_in_progress (server, counted);
      if (!write_all (output, bytes + plan->start + sent, n))
        return;
      sent += n;
      if (plan->drip_interval_ms > 0)
        g_usleep ((gulong) plan->drip_interval_ms * 1000);
      else if (plan->rate > 0)
        {
          gint64 due = started + (gint64) (sent * G_USEC_PER_SEC / plan->rate);
          gint64 now = g_get_monotonic_time ();

          if (due > now)
            g_usleep ((gulong) (due - now));
        }
    }
  if (sent == end && plan->extra > 0)
    {
      g_autofree guint8 *garbage = g_malloc0 (plan->extra);

      write_all (output, garbage, plan->extra);
    }
}

static void
send_response (MistFaultServer *server, GOutputStream *output, const Plan *plan, gboolean *counted)
{
  g_autoptr (GString) head = g_string_new (NULL);
  gsize size = plan->data != NULL ? g_bytes_get_size (plan->data) : 0;

  g_string_append_printf (head, "HTTP/1.1 %u %s\r\nConnection: close\r\n", plan->status,
                          reason_phrase (plan->status));
  if (plan->retry_after > 0)
    g_string_append_printf (head, "Retry-After: %u\r\n", plan->retry_after);
  if (plan->data == NULL)
    {
      g_string_append (head, "Content-Length: 0\r\n\r\n");
      decrement_in_progress (server, counted);
      write_all (output, head->str, head->len);
      return;
    }

  g_string_append_printf (head, "ETag: %s\r\n", plan->etag);
  if (server->ranges_supported)
    g_string_append (head, "Accept-Ranges: bytes\r\n");
  if (plan->partial)
    g_string_append_printf (head, "Content-Range: bytes %" G_GUINT64_FORMAT "-%" G_GSIZE_FORMAT
                            "/%" G_GSIZE_FORMAT "\r\n",
                            plan->start, size - 1, size);
  if (plan->extra == 0 || plan->extra_declared)
    g_string_append_printf (head, "Content-Length: %" G_GUINT64_FORMAT "\r\n",
                            size - plan->start + (plan->extra_declared ? plan->extra : 0));
  g_string_append (head, "Content-Type: application/octet-stream\r\n\r\n");
  if (plan->start == size)
    decrement_in_progress (server, counted);
  if (write_all (output, head->str, head->len))
    send_body (server, output, plan, counted);
}

static gint64
parse_range_start (const char *value)
{
  char *end = NULL;
  guint64 start;

  if (value == NULL || !g_str_has_prefix (value, "bytes="))
    return -1;
  start = g_ascii_strtoull (value + strlen ("bytes="), &end, 10);
  if (end == value + strlen ("bytes=") || *end != '-')
    return -1;
  return (gint64) start;
}

static void
handle_connection (MistFaultServer *server, GSocketConnection *connection)
{
  g_autoptr (GDataInputStream) input = NULL;
  g_autofree char *request_line = NULL;
  g_auto (GStrv) words = NULL;
  MistFaultRequest *request;
  Plan plan = { 0 };
  gboolean counted = FALSE;

  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  request_line = g_data_input_stream_read_line (input, NULL, NULL, NULL);
  if (request_line == NULL)
    return;
  words = g_strsplit (request_line, " ", 3);
  if (g_strv_length (words) != 3)
    return;

  request = g_new0 (MistFaultRequest, 1);
  request->path = g_strdup (words[1]);
  request->range_start = -1;
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (input, NULL, NULL, NULL);
      char *colon;

      if (line == NULL || line[0] == '\0')
        break;
      colon = strchr (line, ':');
      if (colon == NULL)
        continue;
      *colon = '\0';
      g_strstrip (colon + 1);
      if (g_ascii_strcasecmp (line, "Range") == 0)
        request->range_start = parse_range_start (colon + 1);
      else if (g_ascii_strcasecmp (line, "If-Range") == 0)
        request->if_range = g_strdup (colon + 1);
      else if (g_ascii_strcasecmp (line, "Authorization") == 0)
        request->authorization = g_strdup (colon + 1);
    }

  g_mutex_lock (&server->lock);
  plan_response (server, request->path, request->range_start, request->if_range, &plan);
  request->status = plan.status;
  g_ptr_array_add (server->requests, request);
  g_mutex_unlock (&server->lock);

  increment_in_progress (server, &counted);
  send_response (server, g_io_stream_get_output_stream (G_IO_STREAM (connection)), &plan, &counted);
  decrement_in_progress (server, &counted);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  plan_clear (&plan);
}

typedef struct
{
  MistFaultServer *server;
  GSocketConnection *connection; /* owned */
} WorkerData;

static gpointer
serve_connection (gpointer data)
{
  WorkerData *worker_data = data;
  MistFaultServer *server = worker_data->server;

  handle_connection (server, worker_data->connection);
  g_object_unref (worker_data->connection);
  g_free (worker_data);

  /* From here on the thread only returns, so joining it does not block for long. */
  g_mutex_lock (&server->lock);
  g_ptr_array_remove_fast (server->workers, g_thread_self ());
  g_ptr_array_add (server->finished, g_thread_self ());
  g_cond_broadcast (&server->changed);
  g_mutex_unlock (&server->lock);
  return NULL;
}

static void
join_finished_workers (MistFaultServer *server)
{
  g_autoptr (GPtrArray) finished = NULL;

  g_mutex_lock (&server->lock);
  finished = g_steal_pointer (&server->finished);
  server->finished = g_ptr_array_new ();
  g_mutex_unlock (&server->lock);

  for (guint i = 0; i < finished->len; i++)
    g_thread_join (g_ptr_array_index (finished, i));
}

/* Each connection gets its own joinable thread, because the pool threads of a
 * GThreadedSocketService stay alive after the service is freed (GLib 2.74).
 * mist_fault_server_free() joins them all, so no server thread outlives the server. */
static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  MistFaultServer *server = data;

  join_finished_workers (server);

  g_mutex_lock (&server->lock);
  if (!server->stopping)
    {
      WorkerData *worker_data = g_new0 (WorkerData, 1);

      worker_data->server = server;
      worker_data->connection = g_object_ref (connection);
      /* Added under the lock, so the worker finds itself in workers when it finishes. */
      g_ptr_array_add (server->workers,
                       g_thread_new ("fault-connection", serve_connection, worker_data));
    }
  g_mutex_unlock (&server->lock);
  return TRUE;
}

/* The listener lives in its own thread and main context, so the server keeps accepting
 * while the test blocks, for example in g_subprocess_wait(). */
static gpointer
run_listener (gpointer data)
{
  MistFaultServer *server = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) bound_address = NULL;

  g_main_context_push_thread_default (server->context);
  server->service = g_socket_service_new ();
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound_address, &error);
  g_assert_no_error (error);
  g_signal_connect (server->service, "incoming", G_CALLBACK (on_incoming), server);
  g_socket_service_start (server->service);

  g_mutex_lock (&server->lock);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound_address));
  g_cond_broadcast (&server->changed);
  g_mutex_unlock (&server->lock);

  g_main_loop_run (server->loop);

  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

MistFaultServer *
mist_fault_server_new (void)
{
  MistFaultServer *server = g_new0 (MistFaultServer, 1);

  g_mutex_init (&server->lock);
  g_cond_init (&server->changed);
  server->workers = g_ptr_array_new ();
  server->finished = g_ptr_array_new ();
  server->objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, object_free);
  server->requests = g_ptr_array_new_with_free_func (mist_fault_request_free);
  server->ranges_supported = TRUE;
  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->thread = g_thread_new ("fault-server", run_listener, server);

  g_mutex_lock (&server->lock);
  while (server->port == 0)
    g_cond_wait (&server->changed, &server->lock);
  g_mutex_unlock (&server->lock);
  return server;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
mist_fault_server_free (MistFaultServer *server)
{
  GSource *source = g_idle_source_new ();

  g_mutex_lock (&server->lock);
  server->stopping = TRUE;
  g_mutex_unlock (&server->lock);

  g_source_set_callback (source, quit_loop, server->loop, NULL);
  g_source_attach (source, server->context);
  g_source_unref (source);
  g_thread_join (server->thread);

  /* The listener has stopped, so no worker starts any more. Running workers see
   * stopping and end their response early. */
  g_mutex_lock (&server->lock);
  while (server->workers->len > 0)
    g_cond_wait (&server->changed, &server->lock);
  g_mutex_unlock (&server->lock);
  join_finished_workers (server);

  g_object_unref (server->service);
  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_hash_table_unref (server->objects);
  g_ptr_array_unref (server->requests);
  g_ptr_array_unref (server->workers);
  g_ptr_array_unref (server->finished);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->changed);
  g_free (server);
}

char *
mist_fault_server_get_url (MistFaultServer *server, const char *name)
{
  return g_strdup_printf ("http://127.0.0.1:%u/objects/%s", server->port, name);
}

void
mist_fault_server_set_object (MistFaultServer *server, const char *name, GBytes *data)
{
  Object *object = g_new0 (Object, 1);

  g_mutex_lock (&server->lock);
  object->data = g_bytes_ref (data);
  object->etag = g_strdup_printf ("\"v%u\"", ++server->etag_serial);
  g_hash_table_replace (server->objects, g_strdup (name), object);
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_replace_after (MistFaultServer *server,
                                 const char *name,
                                 GBytes *data,
                                 guint after)
{
  Object *object;

  g_mutex_lock (&server->lock);
  object = g_hash_table_lookup (server->objects, name);
  g_assert (object != NULL && after > 0);
  g_clear_pointer (&object->replacement, g_bytes_unref);
  object->replacement = g_bytes_ref (data);
  object->replace_after = after;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_fail_next (MistFaultServer *server, guint count, guint status, guint retry_after)
{
  g_mutex_lock (&server->lock);
  server->faults.fail_count = count;
  server->faults.fail_status = status;
  server->faults.fail_retry_after = retry_after;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_drip_next (MistFaultServer *server, guint count, guint interval_ms)
{
  g_mutex_lock (&server->lock);
  server->faults.drip_count = count;
  server->faults.drip_interval_ms = interval_ms;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_drop_next (MistFaultServer *server, guint count, guint64 bytes)
{
  g_mutex_lock (&server->lock);
  server->faults.drop_count = count;
  server->faults.drop_bytes = bytes;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_overflow_next (MistFaultServer *server,
                                 guint count,
                                 guint64 extra,
                                 gboolean declare_length)
{
  g_mutex_lock (&server->lock);
  server->faults.overflow_count = count;
  server->faults.overflow_extra = extra;
  server->faults.overflow_declared = declare_length;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_set_ranges_supported (MistFaultServer *server, gboolean supported)
{
  g_mutex_lock (&server->lock);
  server->ranges_supported = supported;
  g_mutex_unlock (&server->lock);
}

void
mist_fault_server_set_rate (MistFaultServer *server, guint64 bytes_per_second)
{
  g_mutex_lock (&server->lock);
  server->rate = bytes_per_second;
  g_mutex_unlock (&server->lock);
}

guint
mist_fault_server_get_peak_connections (MistFaultServer *server)
{
  guint peak;

  g_mutex_lock (&server->lock);
  peak = server->peak_in_progress;
  g_mutex_unlock (&server->lock);
  return peak;
}

GPtrArray *
mist_fault_server_get_requests (MistFaultServer *server)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func (mist_fault_request_free);

  g_mutex_lock (&server->lock);
  for (guint i = 0; i < server->requests->len; i++)
    {
      const MistFaultRequest *request = g_ptr_array_index (server->requests, i);
      MistFaultRequest *duplicate = g_new0 (MistFaultRequest, 1);

      duplicate->path = g_strdup (request->path);
      duplicate->range_start = request->range_start;
      duplicate->if_range = g_strdup (request->if_range);
      duplicate->authorization = g_strdup (request->authorization);
      duplicate->status = request->status;
      g_ptr_array_add (copy, duplicate);
    }
  g_mutex_unlock (&server->lock);
  return copy;
}
