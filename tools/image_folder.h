/* image_folder.h — a folder of the user's own images (PNG, JPEG), read as a training set.
 *
 * Layout: DIR/CLASS/NAME.png (or .jpg, .jpeg), one class per subfolder, the subfolders' names sorted
 * bytewise giving class 0, 1, ... and the class names the .dsw records; or images directly in
 * DIR and no subfolder: one class, named after DIR (the trainer keeps its label dropout, so
 * sampling with or without the class is the same model). At most IMAGE_FOLDER_MAX_CLASSES
 * classes: the samplers spell "no class" as class 10 (src/sampler.h). Names starting with '.'
 * are skipped; files with other extensions are counted and ignored; with subfolders, files at
 * the top level are ignored the same way.
 *
 * Every image is decoded by stb_image, alpha composited over black, converted to the model's
 * channels (grey = 0.299 R + 0.587 G + 0.114 B; grey to RGB copies), resized with an area
 * filter so that its longer side is `size` (aspect kept), centred on a black size x size
 * square, and rounded to bytes, stored planar (C, size, size) like the UNet's input. Files
 * are read in sorted order, so the set and its hash depend only on the files' bytes.
 *
 * A bad image (an empty file, one that does not decode, one over IMAGE_FOLDER_MAX_BYTES or
 * IMAGE_FOLDER_MAX_SIDE, or, with channels 0 = "from the data", one whose channel count
 * differs from the majority's) is listed on stderr with its path and reason; with skip_bad 0
 * loading then fails naming the first of them, with skip_bad 1 they are left out.
 * Not here: training (unet_trainer.h), writing the class names (weights.h). */
#ifndef DS_IMAGE_FOLDER_H
#define DS_IMAGE_FOLDER_H

#include <stdint.h>

#include "weights.h"

#define IMAGE_FOLDER_MAX_CLASSES 10
#define IMAGE_FOLDER_MAX_IMAGES 262144       /* 768 MB at 32 x 32 RGB */
#define IMAGE_FOLDER_MAX_BYTES (64L << 20)  /* one encoded file */
#define IMAGE_FOLDER_MAX_SIDE 8192          /* decoded width or height */

typedef struct {
    int size;      /* output side: 28 or 32 */
    int channels;  /* 1, 3, or 0: the images' own (all grey: 1, all colour: 3) */
    int skip_bad;  /* 1: leave bad images out; 0: refuse the folder */
    int quiet;     /* 1: no listing of bad files on stderr (the error still names the first) */
} image_folder_opts;

typedef struct {
    int n;                  /* images */
    int size, channels;     /* each image (channels, size, size) */
    int item;               /* bytes per image: channels * size * size */
    int n_classes;          /* 1..IMAGE_FOLDER_MAX_CLASSES */
    char class_names[IMAGE_FOLDER_MAX_CLASSES][DS_CLASS_NAME_MAX]; /* (n_classes) */
    int n_bad, n_ignored;   /* bad images left out (skip_bad), files that are not images */
    uint8_t *pixels;        /* (n, channels, size, size) 0..255 */
    uint8_t *labels;        /* (n) 0..n_classes-1 */
    uint64_t hash;          /* FNV-1a over size, channels, class names, pixels and labels */
} image_folder;

/* Reads dir as above. 0, or -1 after ds_fail naming the folder or file and the problem ("cats/x.png:
 * not a readable image (bad zlib header); 2 bad images in all: --bad-images skip leaves them
 * out"). The set is freed with image_folder_free, also after a failure. */
int image_folder_load(const char *dir, const image_folder_opts *opts, image_folder *set);
void image_folder_free(image_folder *set);

/* An encoded image in memory (PNG or JPEG, size bytes): its channel count as stored (1 grey, 3
 * colour) into *channels, checking that it decodes as far as its header and is neither zero-size
 * nor over IMAGE_FOLDER_MAX_SIDE. DS_OK, or DS_ERR after ds_fail ("not a readable image (...)",
 * "too big (9000 x 9000 pixels; ...)"), without the file's name. */
int image_folder_probe(const unsigned char *bytes, long size, int *channels);
/* Decodes it and fits it (image_folder_fit) into out (channels, side, side). DS_OK or DS_ERR.
 * Both are what image_folder_load runs on each file (and what tests/fuzz feeds). */
int image_folder_decode(const unsigned char *bytes, long size, int channels, int side, uint8_t *out);

/* One decoded image (h, w, comp) 8-bit, comp 1..4 as stb_image gives it, to the planar
 * (channels, size, size) bytes described above. Exposed for tests. */
void image_folder_fit(const uint8_t *img, int w, int h, int comp, int channels, int size, uint8_t *out);

#endif
