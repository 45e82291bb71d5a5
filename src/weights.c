/* weights.c — parameter tables and the .dsw reader / writer (format in weights.h).
 *
 * The reader trusts nothing: every length is checked against the bytes that remain before it
 * is used, so a truncated or hostile file gives a message, never an out-of-bounds read.
 * Values are stored little-endian; both targets (x86-64, wasm32) are little-endian hosts. */
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- parameter tables ---- */

int ds_param_table_add(ds_param_table *t, const char *name, int ndim, const int *shape) {
    if (t->n >= DS_PARAM_MAX_TENSORS) return ds_fail("parameter table is full (%d tensors)", DS_PARAM_MAX_TENSORS);
    if (strlen(name) >= DS_PARAM_NAME_MAX) return ds_fail("tensor name '%s' is too long", name);
    if (ndim < 1 || ndim > DS_PARAM_MAX_DIMS) return ds_fail("tensor '%s': %d dimensions", name, ndim);
    ds_param_info *p = &t->p[t->n];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->ndim = ndim;
    p->numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1) return ds_fail("tensor '%s': dimension %d is %d", name, d, shape[d]);
        p->shape[d] = shape[d];
        p->numel *= shape[d];
    }
    p->offset = t->total;
    t->total += p->numel;
    t->n++;
    return DS_OK;
}

int ds_param_table_find(const ds_param_table *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->p[i].name, name)) return i;
    return -1;
}

/* ---- little-endian helpers ---- */

static uint32_t get_u32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}
static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

uint64_t ds_weights_checksum(const uint8_t *bytes, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= bytes[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- the model's description (format version 2) ---- */

void ds_weights_meta_default(ds_weights_meta *meta) {
    memset(meta, 0, sizeof *meta);
    meta->schedule_kind = DS_SCHEDULE_LINEAR;
    meta->schedule_T = 1000;
    meta->prediction = DS_PREDICT_EPS;
}

const char *ds_prediction_name(ds_prediction p) {
    return p == DS_PREDICT_EPS ? "eps" : p == DS_PREDICT_V ? "v" : p == DS_PREDICT_FLOW ? "flow" : "unknown";
}

/* Length of the well-formed UTF-8 sequence starting at s[0] (at most n bytes), or 0. Refuses
 * overlong forms, surrogates and code points past U+10FFFF, as a UTF-8 decoder must. */
static int utf8_sequence(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    int len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* A class name of len bytes: UTF-8 without control characters. */
static int check_class_name(const uint8_t *name, size_t len, int index) {
    if (len < 1 || len >= DS_CLASS_NAME_MAX)
        return ds_fail("class name #%d: length %zu is out of range 1..%d", index, len, DS_CLASS_NAME_MAX - 1);
    for (size_t i = 0; i < len;) {
        if (name[i] < 0x20 || name[i] == 0x7f)
            return ds_fail("class name #%d: control byte 0x%02x at byte %zu", index, name[i], i);
        int k = utf8_sequence(name + i, len - i);
        if (!k) return ds_fail("class name #%d: not valid UTF-8 at byte %zu", index, i);
        i += (size_t)k;
    }
    return DS_OK;
}

int ds_weights_meta_check(const ds_weights_meta *meta) {
    if (!meta) return ds_fail("model description: null");
    if (meta->schedule_kind != DS_SCHEDULE_LINEAR && meta->schedule_kind != DS_SCHEDULE_COSINE)
        return ds_fail("unknown noise schedule kind %d (this build knows 0 = linear, 1 = cosine; a newer Diffuscope may "
                       "know more: update Diffuscope)", (int)meta->schedule_kind);
    if (meta->schedule_T < 1 || meta->schedule_T > DS_MAX_T)
        return ds_fail("schedule T = %d is out of range 1..%d", meta->schedule_T, DS_MAX_T);
    if (meta->prediction != DS_PREDICT_EPS && meta->prediction != DS_PREDICT_V && meta->prediction != DS_PREDICT_FLOW)
        return ds_fail("unknown prediction target %d (this build knows 0 = eps, 1 = v and 2 = flow velocity; a newer "
                       "Diffuscope may know more: update Diffuscope)", (int)meta->prediction);
    if (meta->n_class_names < 0 || meta->n_class_names > DS_WEIGHTS_MAX_CLASS_NAMES)
        return ds_fail("%d class names (0..%d allowed)", meta->n_class_names, DS_WEIGHTS_MAX_CLASS_NAMES);
    for (int i = 0; i < meta->n_class_names; i++) {
        const char *name = meta->class_names[i];
        const char *nul = memchr(name, 0, DS_CLASS_NAME_MAX); /* none: too long, refused below */
        if (check_class_name((const uint8_t *)name, nul ? (size_t)(nul - name) : DS_CLASS_NAME_MAX, i)) return DS_ERR;
        for (int j = 0; j < i; j++)
            if (!strcmp(name, meta->class_names[j])) return ds_fail("class name #%d '%s' repeats class name #%d", i, name, j);
    }
    return DS_OK;
}

static int meta_is_default(const ds_weights_meta *meta) {
    return meta->schedule_kind == DS_SCHEDULE_LINEAR && meta->schedule_T == 1000 && meta->prediction == DS_PREDICT_EPS &&
           meta->n_class_names == 0;
}

/* ---- f16 ---- */

uint16_t ds_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf, NaN (keep a quiet NaN) */
        return sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0);
    if (a >= 0x477ff000u) return sign | 0x7c00; /* >= 65520 rounds to infinity */
    if (a < 0x38800000u) {                       /* below 2^-14: a subnormal half or zero */
        if (a <= 0x33000000u) return sign;       /* <= 2^-25 rounds to (even) zero */
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* value = m * 2^(e-150); in units of 2^-24: m >> shift */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t h = ((((a >> 23) - 127 + 15) << 10) | ((a & 0x7fffffu) >> 13));
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry into the exponent is right */
    return sign | (uint16_t)h;
}

float ds_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        float v = (float)m * 5.9604644775390625e-8f; /* m * 2^-24, exact */
        return sign ? -v : v;
    }
    if (e == 31)
        bits = sign | 0x7f800000u | (m << 13);
    else
        bits = sign | ((e - 15 + 127) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* ---- reading ---- */

static const char *const DTYPE_NAMES[DS_DTYPE_COUNT] = {"f32", "f16", "q8"};

const char *ds_dtype_name(ds_dtype d) { return d >= 0 && d < DS_DTYPE_COUNT ? DTYPE_NAMES[d] : "unknown"; }

int ds_dtype_parse(const char *name, ds_dtype *out) {
    for (int d = 0; d < DS_DTYPE_COUNT; d++)
        if (name && !strcmp(name, DTYPE_NAMES[d])) {
            *out = (ds_dtype)d;
            return DS_OK;
        }
    return ds_fail("unknown dtype '%s' (f32, f16 or q8)", name ? name : "(null)");
}

/* bytes of a tensor's data before padding: values, and for q8 the per-row scales first */
static uint64_t data_bytes_of(uint32_t dtype, uint64_t rows, uint64_t numel) {
    return dtype == DS_DTYPE_F32 ? 4 * numel : dtype == DS_DTYPE_F16 ? 2 * numel : 4 * rows + numel;
}

/* What a tensor is stored as when the file is written as `dtype`. q8 takes only tensors of
 * at least Q8_MIN_ROWS rows of at least Q8_MIN_COLS values; the rest (1-D tensors, and the
 * network's thin ends: the UNet's conv_out has one row per image channel, its conv_in 9 values
 * per row) stay f16. Their quantisation error reaches the output undiluted (on the Fashion
 * UNet, conv_in and conv_out in q8 double the RMS error of the predicted noise: 7.0e-3
 * against 3.0e-3 relative to the f16 file) while f16 costs at most a few kB there. */
#define Q8_MIN_ROWS 8
#define Q8_MIN_COLS 16
static ds_dtype stored_dtype(ds_dtype dtype, const ds_param_info *p) {
    if (dtype != DS_DTYPE_Q8) return dtype;
    const long rows = p->ndim >= 2 ? p->shape[0] : 1, cols = p->numel / (rows > 0 ? rows : 1);
    return p->ndim >= 2 && rows >= Q8_MIN_ROWS && cols >= Q8_MIN_COLS ? DS_DTYPE_Q8 : DS_DTYPE_F16;
}

static const char *kind_name(uint32_t kind) { return kind == 1 ? "unet" : kind == 2 ? "mlp" : "unknown"; }

/* One tensor record, located but not yet matched to a model. */
typedef struct {
    char name[DS_PARAM_NAME_MAX];
    uint32_t dtype, ndim, dims[DS_PARAM_MAX_DIMS];
    uint64_t numel;
    size_t data_at; /* offset of the first value */
    size_t next;    /* offset of the next record */
} record;

/* Parses the record at `at`; the tensor region ends at `end`. */
static int parse_record(const uint8_t *bytes, size_t at, size_t end, uint32_t index, record *r) {
    if (end - at < 4) return ds_fail("truncated: tensor #%u starts at byte %zu but the tensor data ends at %zu", index, at, end);
    uint32_t name_len = get_u32(bytes + at);
    if (name_len < 1 || name_len >= DS_PARAM_NAME_MAX)
        return ds_fail("tensor #%u: name length %u is out of range 1..%d (corrupt file?)", index, name_len, DS_PARAM_NAME_MAX - 1);
    size_t p = at + 4;
    if (end - p < pad4(name_len) + 8) return ds_fail("truncated: tensor #%u's record runs past the end of the file", index);
    for (uint32_t i = 0; i < name_len; i++) {
        uint8_t ch = bytes[p + i];
        if (ch < 0x21 || ch > 0x7e) return ds_fail("tensor #%u: its name holds a non-printable byte 0x%02x", index, ch);
        r->name[i] = (char)ch;
    }
    r->name[name_len] = '\0';
    p += pad4(name_len);
    r->dtype = get_u32(bytes + p);
    r->ndim = get_u32(bytes + p + 4);
    p += 8;
    if (r->dtype >= DS_DTYPE_COUNT)
        return ds_fail("tensor '%s': unknown dtype %u (0 = f32, 1 = f16, 2 = q8)", r->name, r->dtype);
    if (r->ndim < 1 || r->ndim > DS_PARAM_MAX_DIMS)
        return ds_fail("tensor '%s': %u dimensions (1..%d allowed)", r->name, r->ndim, DS_PARAM_MAX_DIMS);
    if (r->dtype == DS_DTYPE_Q8 && r->ndim < 2)
        return ds_fail("tensor '%s': q8 needs 2 or more dimensions (one scale per row), it has 1", r->name);
    if (end - p < 4 * (size_t)r->ndim) return ds_fail("truncated: tensor '%s' shape runs past the end of the file", r->name);
    r->numel = 1;
    for (uint32_t d = 0; d < r->ndim; d++) {
        r->dims[d] = get_u32(bytes + p + 4 * d);
        if (r->dims[d] < 1 || r->dims[d] > (1u << 28))
            return ds_fail("tensor '%s': dimension %u is %u (corrupt file?)", r->name, d, r->dims[d]);
        r->numel *= r->dims[d];
        if (r->numel > (1ull << 28)) return ds_fail("tensor '%s' is implausibly large (corrupt file?)", r->name);
    }
    p += 4 * r->ndim;
    uint64_t data_bytes = (data_bytes_of(r->dtype, r->dims[0], r->numel) + 3) & ~(uint64_t)3; /* 64-bit on wasm32 too */
    if ((uint64_t)(end - p) < data_bytes)
        return ds_fail("truncated: tensor '%s' needs %llu bytes of data at byte %zu but only %zu remain", r->name,
                       (unsigned long long)data_bytes, p, end - p);
    r->data_at = p;
    r->next = p + (size_t)data_bytes;
    return DS_OK;
}

/* The version-2 description at bytes 160..179 and the class-name block after the header,
 * which ends by `end`; sets h->meta and h->tensors_at. Version 1 gets the default. */
static int read_meta(const uint8_t *bytes, size_t end, ds_weights_header *h) {
    ds_weights_meta *meta = &h->meta;
    ds_weights_meta_default(meta);
    h->tensors_at = DS_WEIGHTS_HEADER_BYTES;
    if (h->version == 1) return DS_OK;
    /* int32 casts: a corrupt huge value turns negative and the range checks below refuse it */
    meta->schedule_kind = (ds_schedule_kind)(int32_t)get_u32(bytes + 160);
    meta->schedule_T = (int32_t)get_u32(bytes + 164);
    meta->prediction = (ds_prediction)(int32_t)get_u32(bytes + 168);
    uint32_t n_names = get_u32(bytes + 172), names_bytes = get_u32(bytes + 176);
    if (n_names > DS_WEIGHTS_MAX_CLASS_NAMES)
        return ds_fail("header: %u class names (0..%d allowed)", n_names, DS_WEIGHTS_MAX_CLASS_NAMES);
    if (names_bytes % 4 || names_bytes > end - DS_WEIGHTS_HEADER_BYTES)
        return ds_fail("header: the class-name block of %u bytes does not fit the file (corrupt file?)", names_bytes);
    size_t at = DS_WEIGHTS_HEADER_BYTES, block_end = at + names_bytes;
    for (uint32_t i = 0; i < n_names; i++) {
        if (block_end - at < 4) return ds_fail("class name #%u: past the end of the %u-byte class-name block", i, names_bytes);
        uint32_t len = get_u32(bytes + at);
        if ((uint64_t)(block_end - at - 4) < ((uint64_t)len + 3) / 4 * 4) /* 64-bit: no wrap on wasm32 */
            return ds_fail("class name #%u: its %u bytes run past the end of the %u-byte class-name block", i, len, names_bytes);
        if (check_class_name(bytes + at + 4, len, (int)i)) return DS_ERR;
        for (size_t k = len; k < pad4(len); k++)
            if (bytes[at + 4 + k]) return ds_fail("class name #%u: padding byte is not zero (corrupt file?)", i);
        memcpy(meta->class_names[i], bytes + at + 4, len);
        meta->class_names[i][len] = '\0';
        at += 4 + pad4(len);
    }
    meta->n_class_names = (int)n_names;
    if (at != block_end) return ds_fail("header: %zu stray bytes after the last class name (corrupt file?)", block_end - at);
    h->tensors_at = block_end;
    if (ds_weights_meta_check(meta)) {
        return ds_fail("header: %s", ds_last_error()); /* ds_fail may quote its own buffer */
    }
    return DS_OK;
}

int ds_weights_read_header(const uint8_t *bytes, size_t n, ds_weights_header *h) {
    if (!bytes || !h) return ds_fail("weights: null input");
    if (n < 4 || memcmp(bytes, DS_WEIGHTS_MAGIC, 4) != 0) {
        if (n < 4) return ds_fail("truncated: %zu bytes is too short for a weights file", n);
        return ds_fail("bad magic: a Diffuscope weights file (.dsw) starts with \"DSCW\", this one with %02x %02x %02x %02x",
                       bytes[0], bytes[1], bytes[2], bytes[3]);
    }
    if (n < DS_WEIGHTS_HEADER_BYTES + 8)
        return ds_fail("truncated: %zu bytes, but the header alone takes %d", n, DS_WEIGHTS_HEADER_BYTES);
    memset(h, 0, sizeof *h);
    h->version = get_u32(bytes + 4);
    if (h->version > DS_WEIGHTS_VERSION)
        return ds_fail("unknown format version %u (written by a newer Diffuscope; this build reads formats %d..%d): "
                       "update Diffuscope", h->version, DS_WEIGHTS_VERSION_MIN, DS_WEIGHTS_VERSION);
    if (h->version < DS_WEIGHTS_VERSION_MIN)
        return ds_fail("unknown format version %u (this build reads formats %d..%d; corrupt file?)", h->version,
                       DS_WEIGHTS_VERSION_MIN, DS_WEIGHTS_VERSION);
    h->kind = get_u32(bytes + 8);
    uint32_t n_config = get_u32(bytes + 12);
    if (n_config > DS_WEIGHTS_MAX_CONFIG) return ds_fail("header: %u config ints (at most %d)", n_config, DS_WEIGHTS_MAX_CONFIG);
    h->n_config = (int)n_config;
    for (int i = 0; i < DS_WEIGHTS_MAX_CONFIG; i++) {
        int32_t v = (int32_t)get_u32(bytes + 16 + 4 * i);
        if (i >= h->n_config && v != 0) return ds_fail("header: unused config int %d is %d, not 0 (corrupt file?)", i, v);
        h->config[i] = v;
    }
    h->n_tensors = get_u32(bytes + 144);
    uint32_t header_size = get_u32(bytes + 148);
    h->file_size = get_u64(bytes + 152);
    if (header_size != DS_WEIGHTS_HEADER_BYTES)
        return ds_fail("header: header size %u (expected %d; corrupt file?)", header_size, DS_WEIGHTS_HEADER_BYTES);
    const int padding_at = h->version == 1 ? 160 : 180;
    for (int i = padding_at; i < DS_WEIGHTS_HEADER_BYTES; i++)
        if (bytes[i]) return ds_fail("header: padding byte %d is not zero (corrupt file?)", i);
    if (h->file_size > n)
        return ds_fail("truncated: the header says the file has %llu bytes but only %zu are here",
                       (unsigned long long)h->file_size, n);
    if (h->file_size < n)
        return ds_fail("%zu unexpected bytes after the end of the file (the header says %llu bytes)",
                       n - (size_t)h->file_size, (unsigned long long)h->file_size);
    if (h->n_tensors < 1 || h->n_tensors > DS_PARAM_MAX_TENSORS)
        return ds_fail("header: %u tensors (1..%d allowed)", h->n_tensors, DS_PARAM_MAX_TENSORS);
    if (h->kind != DS_MODEL_UNET && h->kind != DS_MODEL_MLP)
        return ds_fail("header: unknown model kind %u (1 = unet, 2 = mlp)", h->kind);

    const size_t end = n - 8;
    if (read_meta(bytes, end, h)) return DS_ERR;
    size_t at = h->tensors_at;
    record r;
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        if (parse_record(bytes, at, end, i, &r)) return DS_ERR;
        at = r.next;
    }
    if (at != end) return ds_fail("%zu stray bytes between the last tensor and the checksum (corrupt file?)", end - at);
    uint64_t stored = get_u64(bytes + end), computed = ds_weights_checksum(bytes, end);
    if (stored != computed)
        return ds_fail("checksum mismatch: the file says %016llx but its contents give %016llx (the file is corrupt)",
                       (unsigned long long)stored, (unsigned long long)computed);
    return DS_OK;
}

static void format_shape(char *buf, size_t cap, int ndim, const uint32_t *dims32, const int *dims) {
    size_t len = 0;
    len += (size_t)snprintf(buf + len, cap - len, "(");
    for (int d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%u", d ? ", " : "", dims32 ? dims32[d] : (unsigned)dims[d]);
    if (len < cap) snprintf(buf + len, cap - len, ")");
}

/* one record's values into dst (numel floats), widened or dequantised; every value finite */
static int decode_tensor(const uint8_t *src, const record *r, float *dst, long numel) {
    const long rows = (long)r->dims[0], cols = numel / rows;
    const int8_t *q = (const int8_t *)(src + 4 * rows);
    for (long j = 0; j < numel; j++) {
        float v;
        if (r->dtype == DS_DTYPE_F32) {
            uint32_t bits = get_u32(src + 4 * j);
            memcpy(&v, &bits, 4);
        } else if (r->dtype == DS_DTYPE_F16) {
            v = ds_f16_to_f32((uint16_t)(src[2 * j] | src[2 * j + 1] << 8));
        } else {
            uint32_t bits = get_u32(src + 4 * (j / cols));
            float scale;
            memcpy(&scale, &bits, 4);
            if (!(scale >= 0) || !isfinite(scale))
                return ds_fail("tensor '%s': q8 scale of row %ld is %g (must be finite and >= 0)", r->name, j / cols, scale);
            v = (float)q[j] * scale;
        }
        if (!isfinite(v)) return ds_fail("tensor '%s' holds a non-finite value (%g) at index %ld", r->name, v, j);
        dst[j] = v;
    }
    return DS_OK;
}

/* q8 encoding of one tensor (rows x cols floats): the per-row scales then the int8 values */
static void encode_q8(const float *src, long rows, long cols, uint8_t *out) {
    int8_t *q = (int8_t *)(out + 4 * rows);
    for (long i = 0; i < rows; i++) {
        const float *row = src + i * cols;
        float amax = 0.0f;
        for (long j = 0; j < cols; j++) amax = fabsf(row[j]) > amax ? fabsf(row[j]) : amax;
        float scale = amax / 127.0f;
        uint32_t bits;
        memcpy(&bits, &scale, 4);
        put_u32(out + 4 * i, bits);
        for (long j = 0; j < cols; j++) {
            /* floor(x + 0.5): the same integer on every platform, whatever the rounding mode */
            float x = scale > 0 ? floorf(row[j] / scale + 0.5f) : 0.0f;
            q[i * cols + j] = (int8_t)(x > 127 ? 127 : x < -127 ? -127 : x);
        }
    }
}

int ds_weights_read_tensors(const uint8_t *bytes, size_t n, const ds_param_table *table, float *params) {
    ds_weights_header h;
    if (!table || !params) return ds_fail("weights: null table or parameter blob");
    if (ds_weights_read_header(bytes, n, &h)) return DS_ERR;
    unsigned char seen[DS_PARAM_MAX_TENSORS] = {0};
    size_t at = h.tensors_at;
    record r;
    for (uint32_t i = 0; i < h.n_tensors; i++) {
        if (parse_record(bytes, at, n - 8, i, &r)) return DS_ERR;
        at = r.next;
        int k = ds_param_table_find(table, r.name);
        if (k < 0) return ds_fail("unexpected tensor '%s' (this %s model has no such parameter)", r.name, kind_name(h.kind));
        if (seen[k]) return ds_fail("tensor '%s' appears twice", r.name);
        seen[k] = 1;
        const ds_param_info *p = &table->p[k];
        int same = (int)r.ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = (int)r.dims[d] == p->shape[d];
        if (!same) {
            char got[80], want[80];
            format_shape(got, sizeof got, (int)r.ndim, r.dims, NULL);
            format_shape(want, sizeof want, p->ndim, NULL, p->shape);
            return ds_fail("tensor '%s' has shape %s but the model expects %s", r.name, got, want);
        }
        if (decode_tensor(bytes + r.data_at, &r, params + p->offset, p->numel)) return DS_ERR;
    }
    for (int k = 0; k < table->n; k++)
        if (!seen[k]) return ds_fail("missing tensor '%s' (the %s model needs it)", table->p[k].name, kind_name(h.kind));
    return DS_OK;
}

/* ---- writing ---- */

int ds_weights_write(ds_model_kind kind, const int *config, int n_config, const ds_weights_meta *meta,
                     const ds_param_table *table, const float *params, ds_dtype dtype, uint8_t **out_bytes,
                     size_t *out_size) {
    if (!table || !params || !out_bytes || !out_size || (n_config > 0 && !config))
        return ds_fail("weights write: null argument");
    if (n_config < 0 || n_config > DS_WEIGHTS_MAX_CONFIG) return ds_fail("weights write: %d config ints", n_config);
    if (dtype < 0 || dtype >= DS_DTYPE_COUNT) return ds_fail("weights write: unknown dtype %d", (int)dtype);
    if (table->n < 1) return ds_fail("weights write: empty parameter table");
    ds_weights_meta def;
    if (!meta) {
        ds_weights_meta_default(&def);
        meta = &def;
    }
    if (ds_weights_meta_check(meta)) {
        return ds_fail("weights write: %s", ds_last_error());
    }
    const uint32_t version = meta_is_default(meta) ? 1 : 2; /* the oldest format that holds it */
    size_t names_bytes = 0;
    for (int i = 0; i < meta->n_class_names; i++) names_bytes += 4 + pad4(strlen(meta->class_names[i]));
    size_t size = DS_WEIGHTS_HEADER_BYTES + names_bytes + 8;
    for (int k = 0; k < table->n; k++) {
        const ds_param_info *p = &table->p[k];
        const ds_dtype sd = stored_dtype(dtype, p);
        size += 4 + pad4(strlen(p->name)) + 8 + 4 * (size_t)p->ndim + pad4((size_t)data_bytes_of(sd, (uint64_t)p->shape[0], (uint64_t)p->numel));
        for (long j = 0; j < p->numel; j++) {
            float v = params[p->offset + j];
            if (!isfinite(v)) return ds_fail("weights write: tensor '%s' holds a non-finite value at index %ld", p->name, j);
            if (sd == DS_DTYPE_F16 && fabsf(v) >= 65520.0f)
                return ds_fail("weights write: tensor '%s' value %g at index %ld does not fit in f16", p->name, v, j);
        }
    }
    uint8_t *b = calloc(size, 1);
    if (!b) return ds_fail("weights write: out of memory for %zu bytes", size);
    memcpy(b, DS_WEIGHTS_MAGIC, 4);
    put_u32(b + 4, version);
    put_u32(b + 8, (uint32_t)kind);
    put_u32(b + 12, (uint32_t)n_config);
    for (int i = 0; i < n_config; i++) put_u32(b + 16 + 4 * i, (uint32_t)config[i]);
    put_u32(b + 144, (uint32_t)table->n);
    put_u32(b + 148, DS_WEIGHTS_HEADER_BYTES);
    put_u64(b + 152, size);
    size_t at = DS_WEIGHTS_HEADER_BYTES;
    if (version == 2) {
        put_u32(b + 160, (uint32_t)meta->schedule_kind);
        put_u32(b + 164, (uint32_t)meta->schedule_T);
        put_u32(b + 168, (uint32_t)meta->prediction);
        put_u32(b + 172, (uint32_t)meta->n_class_names);
        put_u32(b + 176, (uint32_t)names_bytes);
        for (int i = 0; i < meta->n_class_names; i++) {
            size_t len = strlen(meta->class_names[i]);
            put_u32(b + at, (uint32_t)len);
            memcpy(b + at + 4, meta->class_names[i], len);
            at += 4 + pad4(len);
        }
    }
    for (int k = 0; k < table->n; k++) {
        const ds_param_info *p = &table->p[k];
        size_t name_len = strlen(p->name);
        put_u32(b + at, (uint32_t)name_len);
        memcpy(b + at + 4, p->name, name_len);
        at += 4 + pad4(name_len);
        const ds_dtype sd = stored_dtype(dtype, p);
        put_u32(b + at, (uint32_t)sd);
        put_u32(b + at + 4, (uint32_t)p->ndim);
        at += 8;
        for (int d = 0; d < p->ndim; d++, at += 4) put_u32(b + at, (uint32_t)p->shape[d]);
        const float *src = params + p->offset;
        if (sd == DS_DTYPE_Q8) encode_q8(src, p->shape[0], p->numel / p->shape[0], b + at);
        for (long j = 0; sd != DS_DTYPE_Q8 && j < p->numel; j++) {
            if (sd == DS_DTYPE_F32) {
                uint32_t bits;
                memcpy(&bits, &src[j], 4);
                put_u32(b + at + 4 * j, bits);
            } else {
                uint16_t hv = ds_f32_to_f16(src[j]);
                b[at + 2 * j] = (uint8_t)hv;
                b[at + 2 * j + 1] = (uint8_t)(hv >> 8);
            }
        }
        at += pad4((size_t)data_bytes_of(sd, (uint64_t)p->shape[0], (uint64_t)p->numel));
    }
    put_u64(b + at, ds_weights_checksum(b, at));
    *out_bytes = b;
    *out_size = size;
    return DS_OK;
}
