/* test_image_folder_cli.c — `diffuscope train --images DIR` end to end on a folder of small RGB
 * PNGs the test draws itself (three classes of coloured shapes, one undecodable file, one text
 * file): --bad-images refuse lists the bad file and writes nothing; skip trains; resume is
 * byte-exact against an uninterrupted run; a changed folder is refused on resume; the .dsw
 * header holds the folder's class names, 3 channels and 32 x 32; `sample` and `edit` write RGB PNGs.
 * Also the resizing itself (area filter, centring, channels) on hand-made pixels. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "error.h"
#include "image_folder.h"
#include "pngout.h"
#include "test_files.h"
#include "weights.h"
#include "model.h"
#include "sampler.h"

static char dir[256], imgs[300];

static const char *CLASSES[3] = {"circles", "squares", "stripes"};

/* image i of class k: 24 x 18 RGB (wider than tall, so the fit centres it), a shape in a colour */
static void draw(int k, int i, unsigned char *px) {
    const int W = 24, H = 18;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = px + 3 * (y * W + x);
            int in = k == 0 ? (x - 12) * (x - 12) + (y - 9) * (y - 9) < 36 + 4 * i
                   : k == 1 ? x > 6 - i && x < 18 + i && y > 3 && y < 15
                            : (x / 3 + i) % 2 == 0;
            p[0] = (unsigned char)(in ? (k == 1 ? 230 : 40 + 20 * i) : 10);
            p[1] = (unsigned char)(in ? (k == 2 ? 210 : 60) : 10);
            p[2] = (unsigned char)(in ? (k == 0 ? 220 : 30 + 10 * i) : 20);
        }
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void make_folder(void) {
    char path[512];
    unsigned char px[24 * 18 * 3];
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", imgs, CLASSES[k]);
        mkdir(path, 0755);
        for (int i = 0; i < 4; i++) {
            draw(k, i, px);
            snprintf(path, sizeof path, "%s/%s/%d.png", imgs, CLASSES[k], i);
            CHECK(png_write_atomic(path, 24, 18, 3, px) == 0, "writing %s", path);
        }
    }
    snprintf(path, sizeof path, "%s/squares/broken.png", imgs);
    write_text(path, "\x89PNG\r\n\x1a\nthis is not a PNG after its signature");
    snprintf(path, sizeof path, "%s/circles/notes.txt", imgs);
    write_text(path, "not an image: ignored");
}

/* cmd_train(argc, argv) with stderr captured into log */
static int train_argv(int argc, char **argv, const char *out, char *log, size_t cap) {
    char logpath[300];
    snprintf(logpath, sizeof logpath, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    int rc = cmd_train(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n = 0;
    uint8_t *text = read_file(logpath, &n);
    snprintf(log, cap, "%s", text ? (char *)text : "");
    free(text);
    fprintf(stderr, "--- train %s (exit %d):\n%s", out, rc, log);
    return rc;
}

/* runs `diffuscope train` on the folder with the tiny-UNet flags, stderr captured into log */
static int train(const char *out, const char *ckpt, int steps, const char *extra, char *log, size_t cap) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "train --model unet --images %s --out %s/%s --checkpoint %s/%s --steps %d --threads 2 --batch 6 --shard 2 "
             "--base 8 --mult 1,2,2 --groups 4 --temb 16 --warmup 2 --lr 1e-3 --dtype f32 --seed 5 --log-every 1000 %s",
             imgs, dir, out, dir, ckpt, steps, extra ? extra : "");
    char *argv[64];
    int argc = 0;
    for (char *tok = strtok(cmd, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    return train_argv(argc, argv, out, log, cap);
}

/* the img- rows of docs/errors.md: each case tried here, the message the table quotes */
typedef struct {
    const char *id, *fragment;
    int seen; /* the test met the message */
} doc_row;

static doc_row ROWS[] = {
    {"img-bad-refuse", "(1 bad image in", 0},
    {"img-bad-skip", "1 bad image left out", 0},
    {"img-odd-channels", "g.png: greyscale, but most images are colour: give --channels 1 or 3 to convert them all", 0},
    {"img-empty", "empty.png: empty file (0 bytes)", 0},
    {"img-too-big", "huge.png: too big (9000 x 9000 pixels; at most 8192 x 8192)", 0},
    {"img-resume-changed", "differ from the checkpoint's (hash of the decoded set", 0},
    {"img-resume-without", "was trained on a folder of images: give --images DIR again (it is re-read and checked)", 0},
};
#define N_ROWS ((int)(sizeof ROWS / sizeof ROWS[0]))

/* text holds row id's message: noted, so the table check below knows it was tried */
static int quotes(const char *text, const char *id) {
    for (int i = 0; i < N_ROWS; i++)
        if (!strcmp(ROWS[i].id, id)) {
            int found = text && strstr(text, ROWS[i].fragment) != NULL;
            ROWS[i].seen |= found;
            return found;
        }
    return 0;
}

/* docs/errors.md has a row for each case here quoting its message, and no img- row untested */
static void check_doc_rows(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/errors.md", getenv("DS_SOURCE_DIR") ? getenv("DS_SOURCE_DIR") : ".");
    size_t n = 0;
    uint8_t *doc = read_file(path, &n);
    CHECK(doc != NULL, "reading %s", path);
    if (!doc) return;
    for (int i = 0; i < N_ROWS; i++) {
        char key[64];
        snprintf(key, sizeof key, "| `%s` |", ROWS[i].id);
        const char *at = strstr((char *)doc, key), *end = at ? strchr(at, '\n') : NULL;
        CHECK(ROWS[i].seen, "case %s was tried and gave its message", ROWS[i].id);
        int ok = at && end;
        if (ok) {
            char line[2048];
            snprintf(line, sizeof line, "%.*s", (int)(end - at), at);
            ok = strstr(line, ROWS[i].fragment) != NULL;
        }
        CHECK(ok, "docs/errors.md row %s quotes \"%s\"", ROWS[i].id, ROWS[i].fragment);
    }
    for (const char *p = (char *)doc; (p = strstr(p, "| `img-"));) {
        p += 3;
        int known = 0;
        for (int i = 0; i < N_ROWS; i++) known |= !strncmp(p, ROWS[i].id, strlen(ROWS[i].id)) && p[strlen(ROWS[i].id)] == '`';
        CHECK(known, "docs/errors.md row %.24s... has a test here", p);
    }
    free(doc);
}

static char *in_dir(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    uint8_t *x = read_file(in_dir(a), &na), *y = read_file(in_dir(b), &nb);
    int same = x && y && na == nb && na > 0 && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

static void check_fit(void) {
    /* a 4 x 2 white RGB image in a 4 x 4 square: rows 1-2 white, rows 0 and 3 black, grey = 255 */
    unsigned char white[4 * 2 * 3], out[3 * 16];
    memset(white, 255, sizeof white);
    image_folder_fit(white, 4, 2, 3, 3, 4, out);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) ok &= out[c * 16 + y * 4 + x] == (y == 1 || y == 2 ? 255 : 0);
    CHECK(ok, "fit: a 2:1 image is centred, aspect kept, the rest black");
    /* area filter: [0, 255] halves to 127.5 -> 128; 3 -> 2 pixels weighs 1 and 1/2 */
    unsigned char two[2] = {0, 255}, g[2];
    image_folder_fit(two, 2, 1, 1, 1, 1, g);
    CHECK(g[0] == 128, "fit: area average of 0 and 255 is 128 (got %d)", g[0]);
    unsigned char sq[9] = {30, 90, 150, 30, 90, 150, 30, 90, 150};
    unsigned char o2[4];
    image_folder_fit(sq, 3, 3, 1, 1, 2, o2);
    CHECK(o2[0] == 50 && o2[1] == 130, "fit: 3 -> 2 by area: (30 + 90/2) / 1.5 = 50, (90/2 + 150) / 1.5 = 130 (got %d %d)",
          o2[0], o2[1]);
    /* a JPEG Huffman table of more than 256 codes, which stb 2.27 would write past its arrays for */
    unsigned char dht[4 + 2 + 17 + 2] = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00, 0xff, 0xff};
    dht[sizeof dht - 2] = 0xff, dht[sizeof dht - 1] = 0xd9;
    int ch = 0;
    CHECK(image_folder_probe(dht, sizeof dht, &ch) == DS_ERR && strstr(ds_last_error(), "a Huffman table declares 510 codes"),
          "a JPEG Huffman table of 510 codes is refused before stb sees it: %s", ds_last_error());
    /* RGBA over black, to grey by luma */
    unsigned char rgba[4] = {200, 100, 0, 128}, grey;
    image_folder_fit(rgba, 1, 1, 4, 1, 1, &grey);
    const double want = (0.299 * 200 + 0.587 * 100) * 128 / 255;
    CHECK(abs(grey - (int)(want + 0.5)) <= 1, "fit: RGBA composited over black, then luma (got %d, want %.1f)", grey, want);
}

static void check_header(const char *name) {
    size_t n = 0;
    uint8_t *b = read_file(in_dir(name), &n);
    ds_weights_header h;
    CHECK(b && ds_weights_read_header(b, n, &h) == DS_OK, "%s: header reads (%s)", name, ds_last_error());
    if (!b) return;
    CHECK(h.kind == DS_MODEL_UNET && h.config[0] == 32 && h.config[1] == 3 && h.config[11] == 3,
          "%s: UNet of 32 x 32, 3 channels, 3 classes (got %d, %d, %d)", name, h.config[0], h.config[1], h.config[11]);
    CHECK(h.meta.n_class_names == 3, "%s: 3 class names (got %d)", name, h.meta.n_class_names);
    for (int k = 0; k < 3 && k < h.meta.n_class_names; k++)
        CHECK(!strcmp(h.meta.class_names[k], CLASSES[k]), "%s: class %d is '%s' (got '%s')", name, k, CLASSES[k],
              h.meta.class_names[k]);
    free(b);
}

/* the samplers' "no class" (10) is the 3-class UNet's own class 3, bit for bit; 5 is refused */
static void check_no_class(void) {
    ds_model *m = cli_load_model(in_dir("a.dsw"));
    CHECK(m != NULL, "loading a.dsw: %s", ds_last_error());
    if (!m) return;
    enum { B = 2, D = 3 * 32 * 32 };
    static float x[B * D], e1[B * D], e2[B * D];
    for (int i = 0; i < B * D; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    const float t[B] = {100, 700};
    const int own[B] = {3, 1}, spelled[B] = {DS_NO_CLASS, 1}, five[B] = {5, 0};
    CHECK(ds_model_forward(m, x, t, own, B, e1) == DS_OK && ds_model_forward_sampling(m, x, t, spelled, NULL, NULL, B, e2) == DS_OK,
          "forwards: %s", ds_last_error());
    CHECK(!memcmp(e1, e2, sizeof e1), "class 10 through the samplers' spelling = the UNet's own 3");
    CHECK(ds_model_forward_sampling(m, x, t, five, NULL, NULL, B, e2) == DS_ERR &&
              strstr(ds_last_error(), "class[0] = 5 but the model has classes 0..2"),
          "class 5 of a 3-class model is refused by name: %s", ds_last_error());
    ds_model_free(m);
}

/* `sample --classes all` on the folder's model: a grid of 3 rows of RGB 32 x 32 images */
static void check_sample(void) {
    char *argv[] = {"sample", "--weights", in_dir("a.dsw"), "--classes", "all", "--n", "6", "--steps", "3",
                    "--png", in_dir("grid.png"), "--quiet", NULL};
    CHECK(cmd_sample(12, argv) == 0, "sample --classes all on the RGB model");
    size_t n = 0;
    uint8_t *png = read_file(in_dir("grid.png"), &n);
    CHECK(png && n > 33 && !memcmp(png + 12, "IHDR", 4), "grid.png is a PNG");
    if (png && n > 33) {
        const unsigned w = (unsigned)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
        const unsigned h = (unsigned)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
        CHECK(png[25] == 2, "grid.png is RGB (colour type 2, got %d)", png[25]);
        CHECK(w == 2 * 34 + 2 && h == 3 * 34 + 2, "grid: 2 columns x 3 class rows of 32 px (got %u x %u)", w, h);
    }
    free(png);
    /* `edit --slerp` between two seeds and two classes: a row of 4 RGB 32 x 32 images */
    char *edit[] = {"edit", "--weights", in_dir("a.dsw"), "--slerp", "1,2", "--n", "4", "--class", "0", "--class-to", "2",
                    "--steps", "3", "--png", in_dir("row.png"), NULL};
    CHECK(cmd_edit(15, edit) == 0, "edit --slerp on the RGB model");
    png = read_file(in_dir("row.png"), &n);
    CHECK(png && n > 33 && png[25] == 2 && png[19] == 4 * 34 - 2 && png[23] == 32,
          "row.png: RGB, 4 images of 32 px with 2 px gaps (colour type %d, %d x %d)", png && n > 33 ? png[25] : -1,
          png && n > 33 ? png[19] : -1, png && n > 33 ? png[23] : -1);
    free(png);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ds_test_imgfolder_%ld", (long)getpid());
    snprintf(imgs, sizeof imgs, "%s/images", dir);
    mkdir(dir, 0755);
    mkdir(imgs, 0755);
    check_fit();
    make_folder();
    char log[8192];

    CHECK(train("r.dsw", "r.ckpt", 2, NULL, log, sizeof log) == 1, "a bad image, default refuse: exit 1");
    CHECK(strstr(log, "squares/broken.png") != NULL && quotes(log, "img-bad-refuse"), "refuse names the bad file");
    CHECK(access(in_dir("r.dsw"), F_OK) != 0 && access(in_dir("r.ckpt"), F_OK) != 0, "refuse writes nothing");

    CHECK(train("a.dsw", "a.ckpt", 4, "--bad-images skip", log, sizeof log) == 0, "skip: 4 steps");
    CHECK(strstr(log, "squares/broken.png") && quotes(log, "img-bad-skip"), "skip lists the bad file and says so");
    CHECK(strstr(log, "'circles', 'squares', 'stripes'") != NULL, "the classes are the sorted subfolders");
    check_header("a.dsw");
    CHECK(train("b.dsw", "b.ckpt", 2, "--bad-images skip", log, sizeof log) == 0, "skip: 2 steps");
    CHECK(!same_file("a.dsw", "b.dsw"), "2 steps differ from 4 (the comparison can fail)");
    CHECK(train("b.dsw", "b.ckpt", 4, "--resume", log, sizeof log) == 0, "resume to 4 (the folder re-read)");
    CHECK(same_file("a.dsw", "b.dsw"), "resumed weights are byte-identical to the uninterrupted run");
    check_header("b.dsw");

    /* the resumed run must see the same images */
    {
        char *argv[] = {"train", "--resume", "--out", in_dir("c.dsw"), "--checkpoint", in_dir("b.ckpt"), "--steps", "6", NULL};
        CHECK(train_argv(8, argv, "c.dsw", log, sizeof log) == 2 && quotes(log, "img-resume-without"),
              "resuming a folder run without --images: exit 2, and the message says so");
    }
    char path[512];
    unsigned char px[24 * 18 * 3];
    draw(2, 3, px);
    px[0] ^= 0x80; /* one pixel of one image */
    snprintf(path, sizeof path, "%s/circles/0.png", imgs);
    CHECK(png_write_atomic(path, 24, 18, 3, px) == 0, "changing an image");
    CHECK(train("b.dsw", "b.ckpt", 6, "--resume", log, sizeof log) == 1, "resume on a changed folder: exit 1");
    CHECK(quotes(log, "img-resume-changed"), "the message says the images changed");
    check_sample();
    check_no_class();

    /* no subfolders: one class named after the folder */
    {
        char one[300];
        snprintf(one, sizeof one, "%s/sprites", dir);
        mkdir(one, 0755);
        for (int i = 0; i < 3; i++) {
            draw(i, i, px);
            snprintf(path, sizeof path, "%s/s%d.png", one, i);
            png_write_atomic(path, 24, 18, 3, px);
        }
        size_t jn = 0; /* a JPEG, colour (committed: stb's JPEG writer trips UBSan) */
        uint8_t *jpeg = read_file(golden_path("sprite_24x18.jpg"), &jn);
        CHECK(jpeg && jn > 100, "reading tests/golden/sprite_24x18.jpg");
        snprintf(path, sizeof path, "%s/s3.jpg", one);
        FILE *jpg = fopen(path, "wb");
        if (jpg && jpeg) fwrite(jpeg, 1, jn, jpg);
        if (jpg) fclose(jpg);
        free(jpeg);
        unsigned char grey[24 * 18];
        for (int i = 0; i < 24 * 18; i++) grey[i] = (unsigned char)(i * 7);
        snprintf(path, sizeof path, "%s/g.png", one); /* one greyscale image among colour ones */
        png_write_atomic(path, 24, 18, 1, grey);
        image_folder set;
        const image_folder_opts mixed = {.size = 32, .quiet = 1};
        CHECK(image_folder_load(one, &mixed, &set) == DS_ERR && quotes(ds_last_error(), "img-odd-channels"),
              "channels from the data: the odd greyscale image is refused by name (%s)", ds_last_error());
        image_folder_free(&set);
        const image_folder_opts skip = {.size = 32, .skip_bad = 1, .quiet = 1};
        CHECK(image_folder_load(one, &skip, &set) == DS_OK && set.n == 4 && set.n_bad == 1 && set.channels == 3,
              "skip: 4 colour images (the JPEG read), 1 left out (got %d, %d bad, %d channels)", set.n, set.n_bad, set.channels);
        image_folder_free(&set);
        const image_folder_opts fo = {.size = 28, .channels = 1, .quiet = 1};
        CHECK(image_folder_load(one, &fo, &set) == DS_OK, "a folder without subfolders: %s", ds_last_error());
        CHECK(set.n == 5 && set.n_classes == 1 && !strcmp(set.class_names[0], "sprites") && set.item == 784,
              "--channels 1 converts them all: one class 'sprites', 5 greyscale 28 x 28 images (got %d, %d, '%s', %d)",
              set.n, set.n_classes, set.class_names[0], set.item);
        image_folder_free(&set);
        const image_folder_opts none = {.size = 32, .quiet = 1};
        CHECK(image_folder_load(in_dir("nonexistent"), &none, &set) == DS_ERR && strstr(ds_last_error(), "nonexistent"),
              "a missing folder is named: %s", ds_last_error());
        image_folder_free(&set);
    }

    /* an empty file and one too big are listed by name, each with its reason */
    {
        char bad[300];
        snprintf(bad, sizeof bad, "%s/bad", dir);
        mkdir(bad, 0755);
        draw(0, 0, px);
        snprintf(path, sizeof path, "%s/ok.png", bad);
        png_write_atomic(path, 24, 18, 3, px);
        snprintf(path, sizeof path, "%s/empty.png", bad);
        write_text(path, "");
        static const unsigned char huge[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                               0, 0, 0x23, 0x28, 0, 0, 0x23, 0x28, 8, 2, 0, 0, 0, 0x5c, 0x6d, 0x4e, 0x8a};
        snprintf(path, sizeof path, "%s/huge.png", bad); /* 9000 x 9000 by its header */
        FILE *f = fopen(path, "wb");
        fwrite(huge, 1, sizeof huge, f);
        fclose(f);
        image_folder set;
        const image_folder_opts refuse = {.size = 32, .quiet = 1};
        CHECK(image_folder_load(bad, &refuse, &set) == DS_ERR && quotes(ds_last_error(), "img-empty") &&
                  strstr(ds_last_error(), "2 bad images"),
              "an empty file is named first, 2 bad in all: %s", ds_last_error());
        image_folder_free(&set);
        const image_folder_opts skip = {.size = 32, .skip_bad = 1, .quiet = 1};
        CHECK(image_folder_load(bad, &skip, &set) == DS_OK && set.n == 1 && set.n_bad == 2, "skip keeps the one good image");
        image_folder_free(&set);
        snprintf(path, sizeof path, "%s/empty.png", bad);
        unlink(path);
        CHECK(image_folder_load(bad, &refuse, &set) == DS_ERR && quotes(ds_last_error(), "img-too-big"),
              "a 9000 x 9000 image is too big, by name: %s", ds_last_error());
        image_folder_free(&set);
    }

    check_doc_rows();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!getenv("DS_KEEP_TEST_DIR")) CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_image_folder_cli");
}
