#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Header-only helpers over libpng for MISCImage.
 *
 * libpng reports errors by longjmp. Each entry point below does its whole libpng job inside one
 * C frame that owns the setjmp, so a longjmp never crosses a Swift frame. Failures come back as
 * a nonzero return value and a one-line message in a caller-owned buffer.
 *
 * Locals that outlive a longjmp are set before setjmp and never modified after it, as C requires.
 */

/* Where libpng's error text goes: a caller-owned buffer. */
typedef struct misc_png_messages {
  char *text;
  size_t capacity;
} misc_png_messages;

/* An in-memory PNG being read. */
typedef struct misc_png_source {
  const uint8_t *data;
  size_t size;
  size_t offset;
} misc_png_source;

/* A growing in-memory PNG being written. */
typedef struct misc_png_sink {
  uint8_t *data;
  size_t size;
  size_t capacity;
} misc_png_sink;

/* What a PNG decodes to after MISC's transforms: 8- or 16-bit RGB or RGBA, big-endian samples. */
typedef struct misc_png_header {
  uint32_t width;
  uint32_t height;
  /* Bits per decoded sample: 8 or 16. */
  uint32_t bit_depth;
  /* Samples per decoded pixel: 3 (RGB) or 4 (RGBA). */
  uint32_t channels;
  /* Bytes per decoded row. */
  size_t row_bytes;
  /* The file's own IHDR colour type and bit depth, for messages. */
  uint32_t source_color_type;
  uint32_t source_bit_depth;
} misc_png_header;

static inline void misc_png_set_message(misc_png_messages *messages, const char *text) {
  if (messages != NULL && messages->text != NULL && messages->capacity > 0) {
    snprintf(messages->text, messages->capacity, "%s", text);
  }
}

static inline void misc_png_error_fn(png_structp png, png_const_charp text) {
  misc_png_set_message((misc_png_messages *)png_get_error_ptr(png), text);
  png_longjmp(png, 1);
}

static inline void misc_png_warning_fn(png_structp png, png_const_charp text) {
  /* Warnings (bad ancillary chunks, odd profiles) do not stop a decode. */
  (void)png;
  (void)text;
}

static inline void misc_png_read_fn(png_structp png, png_bytep out, size_t length) {
  misc_png_source *source = (misc_png_source *)png_get_io_ptr(png);
  if (length > source->size - source->offset) {
    png_error(png, "file ends early (truncated PNG)");
  }
  memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

static inline void misc_png_write_fn(png_structp png, png_bytep bytes, size_t length) {
  misc_png_sink *sink = (misc_png_sink *)png_get_io_ptr(png);
  if (length > SIZE_MAX - sink->size) {
    png_error(png, "encoded PNG too large");
  }
  if (sink->size + length > sink->capacity) {
    size_t capacity = sink->capacity < 4096 ? 4096 : sink->capacity;
    while (capacity < sink->size + length) {
      if (capacity > SIZE_MAX / 2) {
        capacity = sink->size + length;
        break;
      }
      capacity *= 2;
    }
    uint8_t *grown = (uint8_t *)realloc(sink->data, capacity);
    if (grown == NULL) {
      png_error(png, "out of memory while encoding PNG");
    }
    sink->data = grown;
    sink->capacity = capacity;
  }
  memcpy(sink->data + sink->size, bytes, length);
  sink->size += length;
}

static inline void misc_png_flush_fn(png_structp png) { (void)png; }

/* Asks libpng for 8/16-bit RGB(A): palettes and low-bit greys expanded, tRNS made alpha,
   grey replicated. Samples stay big-endian; 16-bit reduction and alpha are done in Swift. */
static inline void misc_png_configure_read(png_structp png, png_infop info) {
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(png);
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (png_get_valid(png, info, PNG_INFO_tRNS)) {
    png_set_tRNS_to_alpha(png);
  }
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(png);
  }
  (void)png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

static inline png_structp misc_png_create_read(misc_png_messages *messages, misc_png_source *source) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, messages, misc_png_error_fn,
                                           misc_png_warning_fn);
  if (png != NULL) {
    /* MISC bounds the pixel count itself; libpng's default 1e6-per-side limit would refuse
       legitimate panoramas. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_read_fn(png, source, misc_png_read_fn);
  }
  return png;
}

/* Reads the PNG header and reports the decoded layout. Allocates no pixel memory.
   Returns 0 on success, 1 with a message on failure. */
static inline int misc_png_read_header(const uint8_t *data, size_t size, misc_png_header *header,
                                       char *message, size_t message_capacity) {
  misc_png_messages messages = {message, message_capacity};
  misc_png_source source = {data, size, 0};
  png_structp png = misc_png_create_read(&messages, &source);
  if (png == NULL) {
    misc_png_set_message(&messages, "libpng could not create a read struct");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (info == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    misc_png_set_message(&messages, "libpng could not create an info struct");
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    return 1;
  }
  png_read_info(png, info);
  header->source_color_type = (uint32_t)png_get_color_type(png, info);
  header->source_bit_depth = (uint32_t)png_get_bit_depth(png, info);
  misc_png_configure_read(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->bit_depth = (uint32_t)png_get_bit_depth(png, info);
  header->channels = (uint32_t)png_get_channels(png, info);
  header->row_bytes = png_get_rowbytes(png, info);
  png_destroy_read_struct(&png, &info, NULL);
  return 0;
}

/* Decodes the whole PNG into `pixels` (header->height rows of header->row_bytes bytes), in the
   layout misc_png_read_header reported. Returns 0 on success, 1 with a message on failure. */
static inline int misc_png_read_pixels(const uint8_t *data, size_t size,
                                       const misc_png_header *header, uint8_t *pixels,
                                       size_t pixels_size, char *message,
                                       size_t message_capacity) {
  misc_png_messages messages = {message, message_capacity};
  misc_png_source source = {data, size, 0};
  if (header->height == 0 || header->row_bytes == 0 ||
      header->row_bytes > pixels_size / header->height) {
    misc_png_set_message(&messages, "pixel buffer does not match the PNG header");
    return 1;
  }
  png_bytep *rows = (png_bytep *)malloc((size_t)header->height * sizeof(png_bytep));
  if (rows == NULL) {
    misc_png_set_message(&messages, "out of memory for PNG row table");
    return 1;
  }
  for (uint32_t y = 0; y < header->height; y++) {
    rows[y] = pixels + (size_t)y * header->row_bytes;
  }
  png_structp png = misc_png_create_read(&messages, &source);
  if (png == NULL) {
    free(rows);
    misc_png_set_message(&messages, "libpng could not create a read struct");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (info == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    free(rows);
    misc_png_set_message(&messages, "libpng could not create an info struct");
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return 1;
  }
  png_read_info(png, info);
  misc_png_configure_read(png, info);
  if (png_get_image_width(png, info) != header->width ||
      png_get_image_height(png, info) != header->height ||
      png_get_rowbytes(png, info) != header->row_bytes) {
    png_error(png, "PNG header changed between reads");
  }
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  return 0;
}

/* Encodes 8-bit RGB (width * height * 3 bytes, row-major) as a PNG in memory. On success
   returns 0 and a malloc'd buffer the caller frees with misc_png_free; on failure 1 and a
   message. */
static inline int misc_png_encode_rgb8(const uint8_t *pixels, uint32_t width, uint32_t height,
                                       uint8_t **out_data, size_t *out_size, char *message,
                                       size_t message_capacity) {
  misc_png_messages messages = {message, message_capacity};
  *out_data = NULL;
  *out_size = 0;
  if (width == 0 || height == 0 || width > PNG_UINT_31_MAX / 3 || height > PNG_UINT_31_MAX) {
    misc_png_set_message(&messages, "image dimensions are outside what PNG can store");
    return 1;
  }
  misc_png_sink *sink = (misc_png_sink *)calloc(1, sizeof(misc_png_sink));
  png_bytep *rows = (png_bytep *)malloc((size_t)height * sizeof(png_bytep));
  if (sink == NULL || rows == NULL) {
    free(sink);
    free(rows);
    misc_png_set_message(&messages, "out of memory while encoding PNG");
    return 1;
  }
  for (uint32_t y = 0; y < height; y++) {
    rows[y] = (png_bytep)(pixels + (size_t)y * width * 3);
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &messages, misc_png_error_fn,
                                            misc_png_warning_fn);
  if (png == NULL) {
    free(sink);
    free(rows);
    misc_png_set_message(&messages, "libpng could not create a write struct");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (info == NULL) {
    png_destroy_write_struct(&png, NULL);
    free(sink);
    free(rows);
    misc_png_set_message(&messages, "libpng could not create an info struct");
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(sink->data);
    free(sink);
    free(rows);
    return 1;
  }
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_write_fn(png, sink, misc_png_write_fn, misc_png_flush_fn);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  *out_data = sink->data;
  *out_size = sink->size;
  free(sink);
  free(rows);
  return 0;
}

/* Frees a buffer returned by misc_png_encode_rgb8. */
static inline void misc_png_free(void *buffer) { free(buffer); }
