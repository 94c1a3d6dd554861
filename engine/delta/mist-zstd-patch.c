/* mist-zstd-patch.c: zstd patches with the source file as the reference prefix
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A patch is a Mist container (layout in docs/delta-formats.md). Its header carries the
 * source and target sizes and the source's SHA-256. One or more segments follow, each a
 * small header naming a range of the source and one standard zstd frame compressed with
 * that range as its prefix (ZSTD_CCtx_refPrefix). Segments cut the target into pieces
 * of at most 512 MiB, which bounds the decoder's memory. Each references as much of the
 * source as fits beside it in zstd's largest window, 2 GiB, which is the whole source
 * for sources up to 1.5 GiB.
 *
 * The decoder also accepts a plain zstd frame as `zstd --patch-from` writes it. Such a
 * frame records nothing about its source, so a wrong source shows only as a failed
 * content checksum at the end of the frame, and frames without a checksum are rejected.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader, ZSTD_WINDOWLOG_LIMIT_DEFAULT */

#include "mist-delta.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-mapped-guard-private.h"
#include "mist-zstd-patch-private.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#define WINDOW_LOG_MAX 31 /* ZSTD_WINDOWLOG_MAX_64: a 2 GiB window */
#define WINDOW_SIZE_MAX ((guint64) 1 << WINDOW_LOG_MAX)

/* Output bytes per segment (512 MiB). Each segment is one frame whose window covers the
 * whole segment, so this bounds the decoder's window buffer. The rest of the 2 GiB
 * window (at least 1.5 GiB) is the segment's reference range. Version 1 of the
 * container rejects larger segments. */
#define SEGMENT_TARGET_SIZE ((guint64) 512 * 1024 * 1024)

/* Largest target a container may declare (1 PiB): far above any game file, and low
 * enough that sums of sizes and offsets cannot overflow 64 bits. */
#define TARGET_SIZE_MAX ((guint64) 1 << 50)

#define READ_CHUNK_SIZE (1024 * 1024)
#define HASH_CHUNK_SIZE (4 * 1024 * 1024)
/* Sources below this size are hashed before decoding instead of in a thread alongside. */
#define SOURCE_CHECK_THREAD_MIN_SIZE ((guint64)4 * 1024 * 1024)

typedef struct
{
  const guint8 *data;
  guint64 size;
  int fd; /* not owned, for the size in a truncation error */
} MappedFile;

static void
mapped_file_clear (MappedFile *file)
{
  if (file->data != NULL)
    munmap ((void *) file->data, file->size);
  file->data = NULL;
  file->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MappedFile, mapped_file_clear)

static void
set_error_from_errno (GError **error, int saved_errno, const char *what)
{
  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    g_set_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE, "%s: %s", what, g_strerror (saved_errno));
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
                 g_strerror (saved_errno));
}

/* Returns the size of the regular file behind fd. */
static gboolean
get_regular_file_size (int fd, const char *role, guint64 *size, GError **error)
{
  struct stat info;

  if (fstat (fd, &info) != 0)
    {
      int saved_errno = errno;
      g_autofree char *what = g_strdup_printf ("Failed to inspect the %s file", role);

      set_error_from_errno (error, saved_errno, what);
      return FALSE;
    }
  if (!S_ISREG (info.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "The %s is not a regular file: zstd patches need its size up front", role);
      return FALSE;
    }
  *size = (guint64) info.st_size;
  return TRUE;
}

/* Maps the whole regular file behind fd read-only. An empty file maps to NULL. */
static gboolean
map_regular_file (int fd, const char *role, MappedFile *file, GError **error)
{
  void *data;

  file->data = NULL;
  file->fd = fd;
  if (!get_regular_file_size (fd, role, &file->size, error))
    return FALSE;
  if (file->size == 0)
    return TRUE;

  data = mmap (NULL, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED)
    {
      int saved_errno = errno;
      g_autofree char *what = g_strdup_printf ("Failed to map the %s file", role);

      set_error_from_errno (error, saved_errno, what);
      return FALSE;
    }
  file->data = data;
  return TRUE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize length, GError **error)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_error_from_errno (error, errno, "Failed to write the output");
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static gboolean
pread_full (int fd, guint8 *buffer, gsize length, guint64 offset, gsize *out_read, GError **error)
{
  gsize done = 0;

  while (done < length)
    {
      ssize_t n = pread (fd, buffer + done, length - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;
          g_autofree char *what = g_strdup_printf ("Failed to read at offset %" G_GUINT64_FORMAT,
                                                   offset + done);

          set_error_from_errno (error, saved_errno, what);
          return FALSE;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  *out_read = done;
  return TRUE;
}

static void
put_le32 (guint8 *p, guint32 value)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (value >> (8 * i));
}

static void
put_le64 (guint8 *p, guint64 value)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (value >> (8 * i));
}

static guint32
get_le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static guint64
get_le64 (const guint8 *p)
{
  return (guint64) get_le32 (p) | (guint64) get_le32 (p + 4) << 32;
}

/* Smallest log such that (1 << log) >= size, for size >= 1. */
static int
ceil_log2 (guint64 size)
{
  int log = 0;

  while (log < 63 && ((guint64) 1 << log) < size)
    log++;
  return log;
}

static char *
format_digest (const guint8 digest[MIST_SHA256_DIGEST_SIZE])
{
  GString *hex = g_string_sized_new (MIST_SHA256_HEX_LENGTH);

  for (gsize i = 0; i < MIST_SHA256_DIGEST_SIZE; i++)
    g_string_append_printf (hex, "%02x", digest[i]);
  return g_string_free (hex, FALSE);
}

/* Guarded reads of the mapped source (mist-mapped-guard-private.h). A fault stops zstd
 * or nettle at a read of the source, never inside an allocation, and what they have
 * allocated stays reachable from their context, which is freed as usual. */

typedef struct
{
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  ZSTD_outBuffer *out;
  ZSTD_inBuffer *in;
  ZSTD_EndDirective mode;
  size_t result;
} StreamCall;

static void
compress_call (gpointer data)
{
  StreamCall *call = data;

  call->result = ZSTD_compressStream2 (call->cctx, call->out, call->in, call->mode);
}

static void
decompress_call (gpointer data)
{
  StreamCall *call = data;

  call->result = ZSTD_decompressStream (call->dctx, call->out, call->in);
}

typedef struct
{
  MistSha256 *hash;
  const guint8 *data;
  gsize length;
} HashCall;

static void
hash_call (gpointer data)
{
  HashCall *call = data;

  mist_sha256_update (call->hash, call->data, call->length);
}

/* Segments: which part of the source each part of the target is compressed against. */

typedef struct
{
  guint64 reference_offset;
  guint64 reference_length;
  guint64 target_length;
} Segment;

static int
segment_window_log (const Segment *segment)
{
  int log = ceil_log2 (segment->reference_length + segment->target_length);

  return CLAMP (log, ZSTD_WINDOWLOG_MIN, WINDOW_LOG_MAX);
}

/* The encoder's window: as large as the reference range, so that a target byte reaches
 * the source bytes at about its own position, and larger than the segment's output,
 * as zstd --patch-from (1.5.4) sizes it. Never above segment_window_log, the decoder's
 * limit, which covers the reference and the output together. */
static int
encoder_window_log (const Segment *segment)
{
  int log = MAX (ceil_log2 (MAX (segment->reference_length, 1)),
                 ceil_log2 (segment->target_length + 1));

  return CLAMP (log, ZSTD_WINDOWLOG_MIN, segment_window_log (segment));
}

/* Fills segment number index of a target of target_size bytes made from a source of
 * source_size bytes. Segments cut the target into SEGMENT_TARGET_SIZE pieces. Each
 * references the whole source when it fits in the window beside the segment, and
 * otherwise the largest source range that fits, centred on the position in the source
 * that corresponds proportionally to the segment's place in the target. */
static void
plan_segment (guint64 source_size, guint64 target_size, guint64 index, Segment *segment)
{
  guint64 target_offset = index * SEGMENT_TARGET_SIZE;
  guint64 middle;
  guint64 start;

  segment->target_length = MIN (SEGMENT_TARGET_SIZE, target_size - target_offset);
  segment->reference_length = MIN (source_size, WINDOW_SIZE_MAX - segment->target_length);
  if (segment->reference_length == source_size)
    {
      segment->reference_offset = 0;
      return;
    }

  middle = (guint64) ((double) (target_offset + segment->target_length / 2) / (double) target_size
                      * (double) source_size);
  start = middle > segment->reference_length / 2 ? middle - segment->reference_length / 2 : 0;
  segment->reference_offset = MIN (start, source_size - segment->reference_length);
}

static guint64
count_segments (guint64 target_size)
{
  return MAX ((target_size + SEGMENT_TARGET_SIZE - 1) / SEGMENT_TARGET_SIZE, 1);
}

/* Encoder */

typedef struct
{
  ZSTD_CCtx *cctx;
  const MappedFile *source;
  int target_fd;
  int patch_fd;
  guint8 *input;
  guint8 *output;
  gsize output_size;
  guint64 target_done;
  guint64 target_size;
  MistDeltaProgressFunc progress;
  gpointer user_data;
  GCancellable *cancellable;
} Encoder;

static gboolean
check_zstd (size_t result, const char *what, GError **error)
{
  if (!ZSTD_isError (result))
    return TRUE;
  g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "%s: %s", what, ZSTD_getErrorName (result));
  return FALSE;
}

static gboolean
encoder_configure (Encoder *encoder, int level, const Segment *segment, const guint8 *reference)
{
  ZSTD_CCtx *cctx = encoder->cctx;
  int window_log = encoder_window_log (segment);
  /* Twice the long-distance hash table of zstd's default for this window, which also
   * halves the distance between entries. On libxul.so at level 19 this window and
   * table gave a 0.15 % smaller frame than the window over reference and output with
   * the default table (docs/performance.md). */
  int ldm_hash_log = CLAMP (window_log - 6, ZSTD_LDM_HASHLOG_MIN, ZSTD_LDM_HASHLOG_MAX);
  GError *ignored = NULL;
  gboolean ok;

  ZSTD_CCtx_reset (cctx, ZSTD_reset_session_and_parameters);
  ok = check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, level), "level", &ignored)
       && check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_windowLog, window_log), "window",
                      &ignored)
       && check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_enableLongDistanceMatching, 1), "ldm",
                      &ignored)
       && check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_ldmHashLog, ldm_hash_log), "ldm hash",
                      &ignored)
       && check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_checksumFlag, 1), "checksum", &ignored)
       && check_zstd (ZSTD_CCtx_setParameter (cctx, ZSTD_c_contentSizeFlag, 1), "size", &ignored)
       && check_zstd (ZSTD_CCtx_setPledgedSrcSize (cctx, segment->target_length), "size", &ignored)
       && check_zstd (ZSTD_CCtx_refPrefix (cctx, reference, segment->reference_length), "prefix",
                      &ignored);
  g_clear_error (&ignored);

  /* One worker thread, as the zstd tool (1.5.4) uses by default: the worker compresses
   * the whole segment as one job, with the long-distance matches found over all of it.
   * On libxul.so at level 19 the frame was 0.04 % smaller than when compressing block
   * by block on the calling thread (docs/performance.md). A libzstd built without
   * threads rejects the parameter and compresses on the calling thread. */
  if (ok && ZSTD_isError (ZSTD_CCtx_setParameter (cctx, ZSTD_c_nbWorkers, 1)))
    g_debug ("libzstd has no worker threads: compressing on the calling thread");
  return ok;
}

/* Compresses the next segment->target_length bytes of the target into one frame. */
static gboolean
encoder_write_frame (Encoder *encoder, const Segment *segment, GError **error)
{
  guint64 remaining = segment->target_length;

  for (;;)
    {
      gsize chunk = (gsize) MIN (remaining, READ_CHUNK_SIZE);
      gsize got = 0;
      ZSTD_EndDirective mode;
      ZSTD_inBuffer in;
      gboolean finished = FALSE;

      if (g_cancellable_set_error_if_cancelled (encoder->cancellable, error))
        return FALSE;

      if (chunk > 0 && !pread_full (encoder->target_fd, encoder->input, chunk, encoder->target_done,
                                    &got, error))
        return FALSE;
      if (got < chunk)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "The target file shrank while it was read: %" G_GUINT64_FORMAT
                       " bytes expected, it ends at %" G_GUINT64_FORMAT,
                       encoder->target_size, encoder->target_done + got);
          return FALSE;
        }
      remaining -= chunk;
      mode = remaining == 0 ? ZSTD_e_end : ZSTD_e_continue;
      in = (ZSTD_inBuffer) { encoder->input, chunk, 0 };

      while (!finished)
        {
          ZSTD_outBuffer out = { encoder->output, encoder->output_size, 0 };

          /* The worker compresses most of the segment while this loop flushes its end. */
          if (g_cancellable_set_error_if_cancelled (encoder->cancellable, error))
            return FALSE;
          StreamCall call = { encoder->cctx, NULL, &out, &in, mode, 0 };
          size_t left;

          if (!mist_mapped_guard_run (encoder->source->data, encoder->source->size,
                                      compress_call, &call))
            {
              mist_mapped_set_truncated_error (error, encoder->source->fd, "source",
                                               encoder->source->size);
              return FALSE;
            }
          left = call.result;
          if (!check_zstd (left, "zstd compression failed", error))
            return FALSE;
          if (!write_all (encoder->patch_fd, encoder->output, out.pos, error))
            return FALSE;
          finished = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
        }

      encoder->target_done += chunk;
      if (encoder->progress != NULL)
        encoder->progress (encoder->target_done, encoder->target_size, encoder->user_data);
      if (mode == ZSTD_e_end)
        return TRUE;
    }
}

static void
write_container_header (guint8 header[MIST_ZSTD_PATCH_HEADER_SIZE],
                        guint64 source_size,
                        guint64 target_size,
                        const guint8 source_digest[MIST_SHA256_DIGEST_SIZE],
                        guint32 segment_count)
{
  memset (header, 0, MIST_ZSTD_PATCH_HEADER_SIZE);
  memcpy (header, MIST_ZSTD_PATCH_MAGIC, MIST_ZSTD_PATCH_MAGIC_SIZE);
  put_le32 (header + 8, MIST_ZSTD_PATCH_VERSION);
  put_le32 (header + 12, MIST_ZSTD_PATCH_HEADER_SIZE);
  put_le64 (header + 16, source_size);
  put_le64 (header + 24, target_size);
  memcpy (header + 32, source_digest, MIST_SHA256_DIGEST_SIZE);
  put_le32 (header + 64, segment_count);
  put_le32 (header + 68, 0);
}

static gboolean
hash_mapped (const MappedFile *file, guint8 digest[MIST_SHA256_DIGEST_SIZE], GError **error)
{
  g_autoptr (MistSha256) hash = mist_sha256_new ();
  HashCall call = { hash, file->data, file->size };

  if (file->size > 0 && !mist_mapped_guard_run (file->data, file->size, hash_call, &call))
    {
      mist_mapped_set_truncated_error (error, file->fd, "source", file->size);
      return FALSE;
    }
  mist_sha256_finish (hash, digest);
  return TRUE;
}

gboolean
mist_zstd_patch_create_fd (int source_fd,
                           int target_fd,
                           int patch_fd,
                           int level,
                           MistDeltaProgressFunc progress,
                           gpointer user_data,
                           GCancellable *cancellable,
                           GError **error)
{
  g_auto (MappedFile) source = { NULL, 0, -1 };
  guint64 target_size = 0;
  g_autofree guint8 *input = NULL;
  g_autofree guint8 *output = NULL;
  guint8 header[MIST_ZSTD_PATCH_HEADER_SIZE];
  guint8 digest[MIST_SHA256_DIGEST_SIZE];
  guint64 segment_count;
  Encoder encoder = { 0 };
  MistMappedCover *cover;
  gboolean ok = TRUE;

  if (level < 1 || level > ZSTD_maxCLevel ())
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED,
                   "Invalid zstd level %d: use 1 (fastest) to %d (smallest)", level,
                   ZSTD_maxCLevel ());
      return FALSE;
    }

  /* The source is the prefix and must stay in memory; the target is streamed. */
  if (!map_regular_file (source_fd, "source", &source, error)
      || !get_regular_file_size (target_fd, "target", &target_size, error))
    return FALSE;
  if (target_size > TARGET_SIZE_MAX)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "The target file is %" G_GUINT64_FORMAT " bytes, above the limit of %"
                   G_GUINT64_FORMAT, target_size, TARGET_SIZE_MAX);
      return FALSE;
    }

  if (!hash_mapped (&source, digest, error))
    return FALSE;
  segment_count = count_segments (target_size);
  write_container_header (header, source.size, target_size, digest, (guint32) segment_count);
  if (!write_all (patch_fd, header, sizeof header, error))
    return FALSE;

  input = g_malloc (READ_CHUNK_SIZE);
  encoder.output_size = ZSTD_CStreamOutSize ();
  output = g_malloc (encoder.output_size);
  encoder.cctx = ZSTD_createCCtx ();
  encoder.source = &source;
  encoder.target_fd = target_fd;
  encoder.patch_fd = patch_fd;
  encoder.input = input;
  encoder.output = output;
  encoder.target_size = target_size;
  encoder.progress = progress;
  encoder.user_data = user_data;
  encoder.cancellable = cancellable;

  /* zstd's worker thread reads the source too, and cannot run a guard. */
  cover = mist_mapped_cover_add (source.data, source.size);
  for (guint64 i = 0; ok && i < segment_count; i++)
    {
      Segment segment;
      guint8 segment_header[MIST_ZSTD_PATCH_SEGMENT_HEADER_SIZE];

      plan_segment (source.size, target_size, i, &segment);
      put_le64 (segment_header, segment.reference_offset);
      put_le64 (segment_header + 8, segment.reference_length);
      put_le64 (segment_header + 16, segment.target_length);

      if (!encoder_configure (&encoder, level, &segment,
                              source.data == NULL ? NULL : source.data + segment.reference_offset))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED,
                       "zstd rejected the parameters for level %d and a window of 2^%d bytes",
                       level, encoder_window_log (&segment));
          ok = FALSE;
        }
      else
        {
          ok = write_all (patch_fd, segment_header, sizeof segment_header, error)
               && encoder_write_frame (&encoder, &segment, error);
        }
    }

  ZSTD_freeCCtx (encoder.cctx);
  if (!mist_mapped_cover_remove (cover) && ok)
    {
      mist_mapped_set_truncated_error (error, source.fd, "source", source.size);
      ok = FALSE;
    }
  return ok;
}

/* Patch reader: a buffered, sequential view of the patch read with pread from offset 0. */

typedef struct
{
  int fd;
  guint64 file_offset; /* where the next pread starts */
  guint8 *buffer;
  gsize capacity;
  gsize start;
  gsize end;
  gboolean eof;
} PatchReader;

static void
patch_reader_init (PatchReader *reader, int fd)
{
  reader->fd = fd;
  reader->file_offset = 0;
  reader->capacity = READ_CHUNK_SIZE;
  reader->buffer = g_malloc (reader->capacity);
  reader->start = 0;
  reader->end = 0;
  reader->eof = FALSE;
}

static void
patch_reader_clear (PatchReader *reader)
{
  g_clear_pointer (&reader->buffer, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PatchReader, patch_reader_clear)

static gsize
patch_reader_available (const PatchReader *reader)
{
  return reader->end - reader->start;
}

/* Offset in the patch of the next unconsumed byte. */
static guint64
patch_reader_position (const PatchReader *reader)
{
  return reader->file_offset - patch_reader_available (reader);
}

/* Reads until at least wanted bytes are buffered or the patch ends. Fails only on I/O
 * errors: the caller checks patch_reader_available(). */
static gboolean
patch_reader_fill (PatchReader *reader, gsize wanted, GError **error)
{
  g_assert (wanted <= reader->capacity);

  if (patch_reader_available (reader) >= wanted || reader->eof)
    return TRUE;

  memmove (reader->buffer, reader->buffer + reader->start, patch_reader_available (reader));
  reader->end -= reader->start;
  reader->start = 0;

  while (reader->end < wanted && !reader->eof)
    {
      gsize requested = reader->capacity - reader->end;
      gsize got = 0;

      if (!pread_full (reader->fd, reader->buffer + reader->end, requested, reader->file_offset,
                       &got, error))
        {
          g_prefix_error (error, "Failed to read the patch: ");
          return FALSE;
        }
      reader->end += got;
      reader->file_offset += got;
      reader->eof = got < requested;
    }
  return TRUE;
}

static gboolean
patch_reader_require (PatchReader *reader, gsize wanted, const char *what, GError **error)
{
  if (!patch_reader_fill (reader, wanted, error))
    return FALSE;
  if (patch_reader_available (reader) < wanted)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The patch is truncated: it ends at byte %" G_GUINT64_FORMAT " inside the %s",
                   patch_reader_position (reader) + patch_reader_available (reader), what);
      return FALSE;
    }
  return TRUE;
}

static void
patch_reader_skip (PatchReader *reader, guint64 length)
{
  if (length <= patch_reader_available (reader))
    {
      reader->start += (gsize) length;
      return;
    }
  reader->file_offset += length - patch_reader_available (reader);
  reader->start = reader->end = 0;
}

/* Container header parsing, shared by apply and describe. */

typedef struct
{
  guint64 source_size;
  guint64 target_size;
  guint8 source_digest[MIST_SHA256_DIGEST_SIZE];
  guint32 segment_count;
} ContainerHeader;

static gboolean
parse_container_header (PatchReader *reader, ContainerHeader *header, GError **error)
{
  const guint8 *p;
  guint32 version;
  guint32 header_size;
  guint32 flags;

  if (!patch_reader_require (reader, MIST_ZSTD_PATCH_HEADER_SIZE, "header", error))
    return FALSE;
  p = reader->buffer + reader->start;
  version = get_le32 (p + 8);
  header_size = get_le32 (p + 12);
  header->source_size = get_le64 (p + 16);
  header->target_size = get_le64 (p + 24);
  memcpy (header->source_digest, p + 32, MIST_SHA256_DIGEST_SIZE);
  header->segment_count = get_le32 (p + 64);
  flags = get_le32 (p + 68);

  if (memcmp (p, MIST_ZSTD_PATCH_MAGIC, MIST_ZSTD_PATCH_MAGIC_SIZE) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Not a Mist zstd patch: the magic bytes do not match");
      return FALSE;
    }
  if (version != MIST_ZSTD_PATCH_VERSION || flags != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "Unsupported Mist zstd patch version %u (flags 0x%x): this build reads "
                   "version %u; update Mist",
                   version, flags, MIST_ZSTD_PATCH_VERSION);
      return FALSE;
    }
  if (header_size != MIST_ZSTD_PATCH_HEADER_SIZE)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid header size %u in a version %u patch (expected %u)", header_size,
                   version, MIST_ZSTD_PATCH_HEADER_SIZE);
      return FALSE;
    }
  if (header->source_size > TARGET_SIZE_MAX || header->target_size > TARGET_SIZE_MAX)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "The patch declares a %" G_GUINT64_FORMAT "-byte source and a %"
                   G_GUINT64_FORMAT "-byte target, above the limit of %" G_GUINT64_FORMAT,
                   header->source_size, header->target_size, TARGET_SIZE_MAX);
      return FALSE;
    }
  /* Every segment but the one of an empty target carries at least one byte. */
  if (header->segment_count < count_segments (header->target_size)
      || header->segment_count > MAX (header->target_size, 1))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid segment count %u for a %" G_GUINT64_FORMAT "-byte target",
                   header->segment_count, header->target_size);
      return FALSE;
    }

  reader->start += MIST_ZSTD_PATCH_HEADER_SIZE;
  return TRUE;
}

/* Reads and checks one segment header; target_left is the output still owed. */
static gboolean
parse_segment_header (PatchReader *reader,
                      const ContainerHeader *header,
                      guint32 index,
                      guint64 target_left,
                      Segment *segment,
                      GError **error)
{
  const guint8 *p;

  if (!patch_reader_require (reader, MIST_ZSTD_PATCH_SEGMENT_HEADER_SIZE, "segment header", error))
    return FALSE;
  p = reader->buffer + reader->start;
  segment->reference_offset = get_le64 (p);
  segment->reference_length = get_le64 (p + 8);
  segment->target_length = get_le64 (p + 16);
  reader->start += MIST_ZSTD_PATCH_SEGMENT_HEADER_SIZE;

  if (segment->reference_offset > header->source_size
      || segment->reference_length > header->source_size - segment->reference_offset)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Segment %u references source bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                   ", outside the %" G_GUINT64_FORMAT "-byte source",
                   index + 1, segment->reference_offset,
                   segment->reference_offset + segment->reference_length, header->source_size);
      return FALSE;
    }
  if (segment->target_length > target_left
      || (segment->target_length == 0 && header->target_size != 0))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Segment %u declares %" G_GUINT64_FORMAT " output bytes, but %"
                   G_GUINT64_FORMAT " remain of the %" G_GUINT64_FORMAT "-byte target",
                   index + 1, segment->target_length, target_left, header->target_size);
      return FALSE;
    }
  if (segment->target_length > SEGMENT_TARGET_SIZE)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "Segment %u declares %" G_GUINT64_FORMAT " output bytes, above the limit of %"
                   G_GUINT64_FORMAT " per segment",
                   index + 1, segment->target_length, SEGMENT_TARGET_SIZE);
      return FALSE;
    }
  if (segment->reference_length + segment->target_length > WINDOW_SIZE_MAX)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "Segment %u needs a window of %" G_GUINT64_FORMAT
                   " bytes, above zstd's limit of 2 GiB",
                   index + 1, segment->reference_length + segment->target_length);
      return FALSE;
    }
  return TRUE;
}

/* Reads the header of the zstd frame at the reader's position without consuming it. */
static gboolean
peek_frame_header (PatchReader *reader, ZSTD_frameHeader *frame, GError **error)
{
  size_t result;

  if (!patch_reader_fill (reader, ZSTD_FRAMEHEADERSIZE_MAX, error))
    return FALSE;
  result = ZSTD_getFrameHeader (frame, reader->buffer + reader->start,
                                patch_reader_available (reader));
  if (ZSTD_isError (result))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid zstd frame header at byte %" G_GUINT64_FORMAT ": %s",
                   patch_reader_position (reader), ZSTD_getErrorName (result));
      return FALSE;
    }
  if (result > 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The patch is truncated inside the zstd frame header at byte %" G_GUINT64_FORMAT,
                   patch_reader_position (reader));
      return FALSE;
    }
  if (frame->frameType != ZSTD_frame)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "Unexpected skippable zstd frame at byte %" G_GUINT64_FORMAT,
                   patch_reader_position (reader));
      return FALSE;
    }
  if (frame->dictID != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "The zstd frame at byte %" G_GUINT64_FORMAT " needs dictionary %u: it was "
                   "made with --dict, not --patch-from",
                   patch_reader_position (reader), frame->dictID);
      return FALSE;
    }
  return TRUE;
}

/* Source check: hashes the mapped source on a second thread while the frames decode,
 * so that a wrong source costs no extra time when the patch is right. */

enum
{
  SOURCE_CHECK_RUNNING,
  SOURCE_CHECK_MATCH,
  SOURCE_CHECK_MISMATCH,
  SOURCE_CHECK_STOPPED,
  SOURCE_CHECK_TRUNCATED,
};

typedef struct
{
  const guint8 *data;
  guint64 size;
  int fd;
  guint8 expected[MIST_SHA256_DIGEST_SIZE];
  guint8 actual[MIST_SHA256_DIGEST_SIZE];
  gint state; /* atomic, SOURCE_CHECK_* */
  gint stop;  /* atomic, set by the decoding thread */
  GThread *thread;
} SourceCheck;

static gpointer
source_check_run (gpointer data)
{
  SourceCheck *check = data;
  g_autoptr (MistSha256) hash = mist_sha256_new ();

  for (guint64 offset = 0; offset < check->size; offset += HASH_CHUNK_SIZE)
    {
      if (g_atomic_int_get (&check->stop))
        {
          g_atomic_int_set (&check->state, SOURCE_CHECK_STOPPED);
          return NULL;
        }
      HashCall call = { hash, check->data + offset, (gsize) MIN (HASH_CHUNK_SIZE,
                                                                 check->size - offset) };

      if (!mist_mapped_guard_run (check->data, check->size, hash_call, &call))
        {
          g_atomic_int_set (&check->state, SOURCE_CHECK_TRUNCATED);
          return NULL;
        }
    }

  mist_sha256_finish (hash, check->actual);
  g_atomic_int_set (&check->state,
                    memcmp (check->actual, check->expected, MIST_SHA256_DIGEST_SIZE) == 0
                      ? SOURCE_CHECK_MATCH
                      : SOURCE_CHECK_MISMATCH);
  return NULL;
}

static void
source_check_start (SourceCheck *check, const MappedFile *source, const guint8 *expected)
{
  check->data = source->data;
  check->size = source->size;
  check->fd = source->fd;
  memcpy (check->expected, expected, MIST_SHA256_DIGEST_SIZE);
  check->state = SOURCE_CHECK_RUNNING;
  check->stop = FALSE;
  /* Starting a thread costs more than hashing a small source. */
  if (check->size < SOURCE_CHECK_THREAD_MIN_SIZE)
    {
      source_check_run (check);
      return;
    }
  check->thread = g_thread_try_new ("mist-source-hash", source_check_run, check, NULL);
  if (check->thread == NULL)
    source_check_run (check);
}

static gboolean
source_check_failed (SourceCheck *check)
{
  int state = g_atomic_int_get (&check->state);

  return state == SOURCE_CHECK_MISMATCH || state == SOURCE_CHECK_TRUNCATED;
}

/* Waits for the hash (or stops it first) and returns the final SOURCE_CHECK_* state. */
static int
source_check_finish (SourceCheck *check, gboolean stop)
{
  if (stop)
    g_atomic_int_set (&check->stop, TRUE);
  if (check->thread != NULL)
    g_thread_join (g_steal_pointer (&check->thread));
  return g_atomic_int_get (&check->state);
}

static void
set_wrong_source_error (GError **error, const SourceCheck *check)
{
  if (g_atomic_int_get (&check->state) == SOURCE_CHECK_TRUNCATED)
    {
      mist_mapped_set_truncated_error (error, check->fd, "source", check->size);
      return;
    }
  g_autofree char *expected = format_digest (check->expected);
  g_autofree char *actual = format_digest (check->actual);

  g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
               "Wrong source file: its SHA-256 is %s, but the patch was made from a file with "
               "SHA-256 %s",
               actual, expected);
}

/* Decoder */

typedef struct
{
  ZSTD_DCtx *dctx;
  const MappedFile *source;
  PatchReader *reader;
  int output_fd;
  guint8 *output;
  gsize output_size;
  guint64 done;
  guint64 total; /* 0 when not known */
  SourceCheck *check; /* NULL for plain frames */
  gboolean frame_failed; /* the last error came from decoding a frame */
  MistDeltaProgressFunc progress;
  gpointer user_data;
  GCancellable *cancellable;
} Decoder;

static void
set_frame_error (GError **error, size_t result, gboolean plain, guint64 frame_offset)
{
  ZSTD_ErrorCode code = ZSTD_getErrorCode (result);
  const char *name = ZSTD_getErrorName (result);

  if (code == ZSTD_error_checksum_wrong && plain)
    g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
                 "The output does not match the frame's content checksum: the source is not the "
                 "file this patch was made from, or the patch is corrupt");
  else if (code == ZSTD_error_checksum_wrong)
    g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                 "The output of the zstd frame at byte %" G_GUINT64_FORMAT
                 " does not match its content checksum: the patch is corrupt",
                 frame_offset);
  else if (code == ZSTD_error_frameParameter_windowTooLarge)
    g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                 "The zstd frame at byte %" G_GUINT64_FORMAT " needs a larger window than its "
                 "sizes justify: %s", frame_offset, name);
  else if (code == ZSTD_error_memory_allocation)
    g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "zstd decoding failed: %s", name);
  else if (plain)
    g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                 "The zstd frame is corrupt, or the source is not the file it was made from: %s",
                 name);
  else
    g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                 "The zstd frame at byte %" G_GUINT64_FORMAT " is corrupt: %s", frame_offset,
                 name);
}

/* Decodes one frame at the reader's position with prefix as its reference and writes
 * its output. expected is the frame's output size, or ZSTD_CONTENTSIZE_UNKNOWN. */
static gboolean
decoder_run_frame (Decoder *decoder,
                   const guint8 *prefix,
                   gsize prefix_length,
                   guint64 expected,
                   GError **error)
{
  PatchReader *reader = decoder->reader;
  guint64 frame_offset = patch_reader_position (reader);
  guint64 produced = 0;
  gboolean plain = decoder->check == NULL;

  ZSTD_DCtx_reset (decoder->dctx, ZSTD_reset_session_only);
  if (ZSTD_isError (ZSTD_DCtx_refPrefix (decoder->dctx, prefix, prefix_length)))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "zstd rejected the source as prefix");
      return FALSE;
    }

  for (;;)
    {
      ZSTD_outBuffer out = { decoder->output, decoder->output_size, 0 };
      ZSTD_inBuffer in;
      StreamCall call;
      size_t result;

      if (g_cancellable_set_error_if_cancelled (decoder->cancellable, error))
        return FALSE;
      if (decoder->check != NULL && source_check_failed (decoder->check))
        {
          set_wrong_source_error (error, decoder->check);
          return FALSE;
        }
      if (patch_reader_available (reader) == 0 && !patch_reader_fill (reader, 1, error))
        return FALSE;

      in = (ZSTD_inBuffer) { reader->buffer + reader->start, patch_reader_available (reader), 0 };
      call = (StreamCall) { NULL, decoder->dctx, &out, &in, ZSTD_e_continue, 0 };
      if (!mist_mapped_guard_run (decoder->source->data, decoder->source->size, decompress_call,
                                  &call))
        {
          mist_mapped_set_truncated_error (error, decoder->source->fd, "source",
                                           decoder->source->size);
          return FALSE;
        }
      result = call.result;
      reader->start += in.pos;
      if (ZSTD_isError (result))
        {
          set_frame_error (error, result, plain, frame_offset);
          return FALSE;
        }

      produced += out.pos;
      if (expected != ZSTD_CONTENTSIZE_UNKNOWN && produced > expected)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "The zstd frame at byte %" G_GUINT64_FORMAT
                       " decodes to more than its declared %" G_GUINT64_FORMAT " bytes",
                       frame_offset, expected);
          return FALSE;
        }
      if (!write_all (decoder->output_fd, decoder->output, out.pos, error))
        return FALSE;
      decoder->done += out.pos;
      if (out.pos > 0 && decoder->progress != NULL)
        decoder->progress (decoder->done, decoder->total, decoder->user_data);

      if (result == 0)
        break;
      if (in.pos == 0 && out.pos == 0 && reader->eof && patch_reader_available (reader) == 0)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "The patch is truncated: it ends inside the zstd frame at byte %"
                       G_GUINT64_FORMAT, frame_offset);
          return FALSE;
        }
    }

  if (expected != ZSTD_CONTENTSIZE_UNKNOWN && produced != expected)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The zstd frame at byte %" G_GUINT64_FORMAT " decodes to %" G_GUINT64_FORMAT
                   " bytes instead of its declared %" G_GUINT64_FORMAT,
                   frame_offset, produced, expected);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_patch_end (PatchReader *reader, GError **error)
{
  if (!patch_reader_fill (reader, 1, error))
    return FALSE;
  if (patch_reader_available (reader) > 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Unexpected data after the last zstd frame, at byte %" G_GUINT64_FORMAT,
                   patch_reader_position (reader));
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_window_limit (Decoder *decoder, int window_log, GError **error)
{
  if (ZSTD_isError (ZSTD_DCtx_setParameter (decoder->dctx, ZSTD_d_windowLogMax, window_log)))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "zstd rejected a window limit of 2^%d",
                   window_log);
      return FALSE;
    }
  return TRUE;
}

static gboolean
decode_segments (Decoder *decoder,
                 const MappedFile *source,
                 const ContainerHeader *header,
                 GError **error)
{
  guint64 target_left = header->target_size;

  for (guint32 i = 0; i < header->segment_count; i++)
    {
      Segment segment;
      ZSTD_frameHeader frame;
      const guint8 *prefix;

      if (!parse_segment_header (decoder->reader, header, i, target_left, &segment, error)
          || !peek_frame_header (decoder->reader, &frame, error))
        return FALSE;
      if (frame.frameContentSize != segment.target_length || !frame.checksumFlag)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "The zstd frame of segment %u must declare its %" G_GUINT64_FORMAT
                       " output bytes and a content checksum",
                       i + 1, segment.target_length);
          return FALSE;
        }

      /* The window covers the reference range and the segment's output, as the encoder
       * sized it; a larger window in the frame is rejected by zstd. */
      prefix = source->data == NULL ? NULL : source->data + segment.reference_offset;
      if (!set_window_limit (decoder, segment_window_log (&segment), error))
        return FALSE;
      if (!decoder_run_frame (decoder, prefix, (gsize) segment.reference_length,
                              segment.target_length, error))
        {
          decoder->frame_failed = TRUE;
          g_prefix_error (error, "Segment %u: ", i + 1);
          return FALSE;
        }
      target_left -= segment.target_length;
    }

  if (target_left != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The segments produce %" G_GUINT64_FORMAT " bytes less than the declared %"
                   G_GUINT64_FORMAT "-byte target",
                   target_left, header->target_size);
      return FALSE;
    }
  return check_patch_end (decoder->reader, error);
}

static gboolean
apply_container (Decoder *decoder, const MappedFile *source, GError **error)
{
  ContainerHeader header;
  SourceCheck check = { 0 };
  g_autoptr (GError) local_error = NULL;
  gboolean ok;
  int state;

  if (!parse_container_header (decoder->reader, &header, error))
    return FALSE;
  if (header.source_size != source->size)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
                   "Wrong source file: it is %" G_GUINT64_FORMAT " bytes, but the patch was made "
                   "from a %" G_GUINT64_FORMAT "-byte file",
                   source->size, header.source_size);
      return FALSE;
    }

  decoder->total = header.target_size;
  decoder->check = &check;
  source_check_start (&check, source, header.source_digest);
  ok = decode_segments (decoder, source, &header, &local_error);

  /* When a frame fails to decode, the hash tells a wrong source from a corrupt patch.
   * An invalid container is reported as it is, without waiting for the hash. */
  state = source_check_finish (&check, !ok && (!decoder->frame_failed
                                               || g_error_matches (local_error, G_IO_ERROR,
                                                                   G_IO_ERROR_CANCELLED)));
  if ((state == SOURCE_CHECK_MISMATCH || state == SOURCE_CHECK_TRUNCATED)
      && (ok || decoder->frame_failed))
    {
      set_wrong_source_error (error, &check);
      return FALSE;
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_assert (state == SOURCE_CHECK_MATCH);
  return TRUE;
}

static gboolean
apply_plain_frame (Decoder *decoder, const MappedFile *source, GError **error)
{
  ZSTD_frameHeader frame;
  guint64 target_guess;
  int window_log;

  if (!peek_frame_header (decoder->reader, &frame, error))
    return FALSE;
  if (!frame.checksumFlag)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "The zstd frame has no content checksum, so a wrong source file could not be "
                   "detected: create the patch again with zstd --check");
      return FALSE;
    }
  if (source->size > TARGET_SIZE_MAX)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE, "The source file is too large");
      return FALSE;
    }

  /* zstd sizes the window of a patch to at most the source plus the target; the
   * default limit (2^27) still admits frames made with a fixed --long=27. */
  target_guess = frame.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN
                   ? source->size
                   : MIN (frame.frameContentSize, TARGET_SIZE_MAX);
  window_log = ceil_log2 (MAX (source->size + target_guess, 1));
  window_log = CLAMP (window_log, ZSTD_WINDOWLOG_LIMIT_DEFAULT, WINDOW_LOG_MAX);
  if (frame.windowSize > ((guint64) 1 << window_log))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                   "The zstd frame asks for a %" G_GUINT64_FORMAT "-byte window, above the "
                   "limit of 2^%d bytes for this source and target",
                   (guint64) frame.windowSize, window_log);
      return FALSE;
    }
  if (frame.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN)
    decoder->total = frame.frameContentSize;

  decoder->check = NULL;
  return set_window_limit (decoder, window_log, error)
         && decoder_run_frame (decoder, source->data, (gsize) source->size, frame.frameContentSize,
                               error)
         && check_patch_end (decoder->reader, error);
}

gboolean
mist_zstd_patch_apply_fd (int source_fd,
                          int patch_fd,
                          int output_fd,
                          MistDeltaProgressFunc progress,
                          gpointer user_data,
                          GCancellable *cancellable,
                          GError **error)
{
  g_auto (MappedFile) source = { NULL, 0, -1 };
  g_auto (PatchReader) reader = { 0 };
  g_autofree guint8 *output = NULL;
  Decoder decoder = { 0 };
  gboolean ok;

  if (!map_regular_file (source_fd, "source", &source, error))
    return FALSE;

  patch_reader_init (&reader, patch_fd);
  if (!patch_reader_fill (&reader, MIST_ZSTD_PATCH_MAGIC_SIZE, error))
    return FALSE;

  decoder.output_size = 8 * ZSTD_DStreamOutSize ();
  output = g_malloc (decoder.output_size);
  decoder.dctx = ZSTD_createDCtx ();
  decoder.source = &source;
  decoder.reader = &reader;
  decoder.output_fd = output_fd;
  decoder.output = output;
  decoder.progress = progress;
  decoder.user_data = user_data;
  decoder.cancellable = cancellable;

  if (mist_zstd_patch_is_container (reader.buffer, patch_reader_available (&reader)))
    ok = apply_container (&decoder, &source, error);
  else if (mist_zstd_patch_is_frame (reader.buffer, patch_reader_available (&reader)))
    ok = apply_plain_frame (&decoder, &source, error);
  else
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Not a zstd patch: it starts with neither the Mist container magic nor the "
                   "zstd frame magic 28 b5 2f fd");
      ok = FALSE;
    }

  ZSTD_freeDCtx (decoder.dctx);
  return ok;
}

gboolean
mist_zstd_patch_is_container (const guint8 *head, gsize length)
{
  return length >= MIST_ZSTD_PATCH_MAGIC_SIZE
         && memcmp (head, MIST_ZSTD_PATCH_MAGIC, MIST_ZSTD_PATCH_MAGIC_SIZE) == 0;
}

gboolean
mist_zstd_patch_is_frame (const guint8 *head, gsize length)
{
  static const guint8 magic[] = { 0x28, 0xb5, 0x2f, 0xfd };

  return length >= sizeof magic && memcmp (head, magic, sizeof magic) == 0;
}

/* Description */

/* Walks the blocks of the frame at the reader's position, without decoding them, and
 * appends its sizes and checksum to text. */
static gboolean
describe_frame (PatchReader *reader, guint64 patch_size, GString *text, GError **error)
{
  ZSTD_frameHeader frame;
  guint64 frame_offset = patch_reader_position (reader);
  guint64 blocks = 0;
  gboolean last = FALSE;

  if (!peek_frame_header (reader, &frame, error))
    return FALSE;
  patch_reader_skip (reader, frame.headerSize);

  while (!last)
    {
      const guint8 *p;
      guint32 block_header;
      guint32 block_type;
      guint32 block_size;
      guint64 block_end;

      if (!patch_reader_require (reader, 3, "zstd block header", error))
        return FALSE;
      p = reader->buffer + reader->start;
      block_header = (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16;
      reader->start += 3;
      last = block_header & 1;
      block_type = (block_header >> 1) & 3;
      block_size = block_header >> 3;
      if (block_type == 3 || block_size > frame.blockSizeMax)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "Invalid zstd block header at byte %" G_GUINT64_FORMAT,
                       patch_reader_position (reader) - 3);
          return FALSE;
        }
      /* Skipping reads nothing, so the block's end is checked against the file size.
       * Otherwise a truncated patch would be reported as ending past its real end. */
      block_end = patch_reader_position (reader) + (block_type == 1 ? 1 : block_size);
      if (block_end > patch_size)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "The patch is truncated: it ends at byte %" G_GUINT64_FORMAT
                       " inside the zstd block at byte %" G_GUINT64_FORMAT
                       ", which ends at byte %" G_GUINT64_FORMAT,
                       patch_size, patch_reader_position (reader) - 3, block_end);
          return FALSE;
        }
      patch_reader_skip (reader, block_end - patch_reader_position (reader));
      blocks++;
    }

  g_string_append_printf (text, "  frame: %" G_GUINT64_FORMAT " bytes at byte %" G_GUINT64_FORMAT
                          ", %" G_GUINT64_FORMAT " blocks, window %" G_GUINT64_FORMAT " bytes\n",
                          patch_reader_position (reader) + (frame.checksumFlag ? 4 : 0)
                            - frame_offset,
                          frame_offset, blocks, (guint64) frame.windowSize);
  if (frame.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN)
    g_string_append (text, "  output: size not declared\n");
  else
    g_string_append_printf (text, "  output: %" G_GUINT64_FORMAT " bytes\n",
                            (guint64) frame.frameContentSize);
  if (frame.checksumFlag)
    {
      if (!patch_reader_require (reader, 4, "frame checksum", error))
        return FALSE;
      g_string_append_printf (text, "  content checksum (XXH64, low 32 bits): %08x\n",
                              get_le32 (reader->buffer + reader->start));
      reader->start += 4;
    }
  else
    g_string_append (text, "  content checksum: none\n");

  if (patch_reader_position (reader) > patch_size)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The patch is truncated: the zstd frame at byte %" G_GUINT64_FORMAT
                   " ends past its end",
                   frame_offset);
      return FALSE;
    }
  return TRUE;
}

static gboolean
describe_container (PatchReader *reader, guint64 patch_size, GString *text, GError **error)
{
  ContainerHeader header;
  guint64 target_left;
  g_autofree char *digest = NULL;

  if (!parse_container_header (reader, &header, error))
    return FALSE;
  digest = format_digest (header.source_digest);
  g_string_append_printf (text,
                          "format: zstd (Mist container, version %u)\n"
                          "source: %" G_GUINT64_FORMAT " bytes, SHA-256 %s\n"
                          "target: %" G_GUINT64_FORMAT " bytes\n"
                          "segments: %u\n",
                          MIST_ZSTD_PATCH_VERSION, header.source_size, digest, header.target_size,
                          header.segment_count);

  target_left = header.target_size;
  for (guint32 i = 0; i < header.segment_count; i++)
    {
      Segment segment;

      if (!parse_segment_header (reader, &header, i, target_left, &segment, error))
        return FALSE;
      g_string_append_printf (text,
                              "segment %u: output bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                              ", reference source bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                              "\n",
                              i + 1, header.target_size - target_left,
                              header.target_size - target_left + segment.target_length,
                              segment.reference_offset,
                              segment.reference_offset + segment.reference_length);
      if (!describe_frame (reader, patch_size, text, error))
        return FALSE;
      target_left -= segment.target_length;
    }
  return TRUE;
}

char *
mist_zstd_patch_describe_fd (int patch_fd, GCancellable *cancellable, GError **error)
{
  g_auto (PatchReader) reader = { 0 };
  g_autoptr (GString) text = g_string_new (NULL);
  struct stat info;
  gboolean ok;

  if (fstat (patch_fd, &info) != 0)
    {
      set_error_from_errno (error, errno, "Failed to inspect the patch");
      return NULL;
    }

  patch_reader_init (&reader, patch_fd);
  if (!patch_reader_fill (&reader, MIST_ZSTD_PATCH_MAGIC_SIZE, error))
    return NULL;

  if (mist_zstd_patch_is_container (reader.buffer, patch_reader_available (&reader)))
    ok = describe_container (&reader, (guint64) info.st_size, text, error);
  else if (mist_zstd_patch_is_frame (reader.buffer, patch_reader_available (&reader)))
    {
      g_string_append (text, "format: zstd (plain frame, as zstd --patch-from writes it)\n"
                             "source: not recorded; a wrong source fails the content checksum\n");
      ok = describe_frame (&reader, (guint64) info.st_size, text, error);
    }
  else
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "Not a zstd patch");
      ok = FALSE;
    }

  if (ok && !check_patch_end (&reader, error))
    ok = FALSE;
  if (!ok)
    return NULL;
  g_string_append_printf (text, "patch: %" G_GUINT64_FORMAT " bytes\n", (guint64) info.st_size);
  return g_string_free (g_steal_pointer (&text), FALSE);
}
