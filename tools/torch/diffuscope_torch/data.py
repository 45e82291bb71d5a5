# data.py — training sets for the twin as float arrays in the engine's ranges: Fashion-MNIST
# (tools/fashion.c's idx files, pixels p / 127.5 − 1, ten named classes), a folder of images
# with one class per subfolder (or none), and 2-D point files ("x y" lines, as the C CLI reads).
# PNG is decoded here with zlib and numpy (Debian's python3-torch brings no image library);
# JPEG and other formats need Pillow (python3-pil) and are used when it is installed.
# Not here: the noising of a batch (train.py).
import gzip
import os
import struct
import zlib

import numpy as np

FASHION_DIR = os.environ.get("DS_FASHION_DIR", "/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")  # what the C trainer reads


class Dataset:
    """x (N, C, S, S) float32 in [-1, 1] (or (N, 2) points), labels (N) int64, class names."""

    def __init__(self, x, labels, class_names):
        self.x, self.labels, self.class_names = x, labels, class_names


def _idx(path, magic):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or struct.unpack_from(">I", data, 0)[0] != magic:
        raise ValueError(f"{path}: not an idx file (magic {magic:#x})")
    return data


def load_fashion(folder=FASHION_DIR, split="train"):
    """The idx files of tools/fashion.c: {split}-images-idx3-ubyte(.gz) and its labels."""
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        raise FileNotFoundError(f"{folder}: no {stem}(.gz): install dataset-fashion-mnist or pass --data DIR")
    images = _idx(find(f"{split}-images-idx3-ubyte"), 0x803)
    labels = _idx(find(f"{split}-labels-idx1-ubyte"), 0x801)
    n, rows, cols = struct.unpack_from(">3I", images, 4)
    if (rows, cols) != (28, 28) or struct.unpack_from(">I", labels, 4)[0] != n or len(images) != 16 + n * 784:
        raise ValueError(f"{folder}: the {split} files are not 28x28 images with one label each")
    pixels = np.frombuffer(images, np.uint8, n * 784, 16).reshape(n, 1, 28, 28)
    x = pixels.astype(np.float32) / np.float32(127.5) - np.float32(1)  # fashion_to_float's arithmetic
    y = np.frombuffer(labels, np.uint8, n, 8).astype(np.int64)
    if y.max() > 9:
        raise ValueError(f"{folder}: a label is {y.max()}, not 0..9")
    return Dataset(x, y, list(FASHION_CLASSES))


def _unfilter(raw, width, height, bpp):
    """PNG filters 0..4 undone row by row; Sub, Average and Paeth run byte by byte."""
    stride = width * bpp
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    at = 0
    for y in range(height):
        kind, line = raw[at], np.frombuffer(raw, np.uint8, stride, at + 1).astype(np.int32)
        at += 1 + stride
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 255
        elif kind in (1, 3, 4):
            cur = line.copy()
            for i in range(stride):
                a = int(cur[i - bpp]) if i >= bpp else 0
                b = int(prev[i])
                c = int(prev[i - bpp]) if i >= bpp else 0
                if kind == 1:
                    p = a
                elif kind == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[i] = (cur[i] + p) & 255
        else:
            raise ValueError(f"unknown PNG filter {kind} in row {y}")
        out[y] = cur
        prev = cur
    return out


def decode_png(data, name="image"):
    """(H, W, C) uint8 of an 8-bit, non-interlaced PNG: grey, grey+alpha, RGB, RGBA or palette."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{name}: not a PNG file")
    at, idat, palette, head = 8, [], None, None
    while at + 8 <= len(data):
        n, kind = struct.unpack_from(">I4s", data, at)
        chunk = data[at + 8: at + 8 + n]
        at += 12 + n
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"PLTE":
            palette = np.frombuffer(chunk, np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    if head is None or not idat:
        raise ValueError(f"{name}: a PNG without IHDR or IDAT (truncated?)")
    width, height, depth, colour, _, _, interlace = head
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if width == 0 or height == 0:
        raise ValueError(f"{name}: zero-size image ({width}x{height})")
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{name}: PNG with bit depth {depth}, colour type {colour}, interlace {interlace}; "
                         "this decoder reads 8-bit non-interlaced PNGs (install python3-pil for the others)")
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (1 + width * channels):
        raise ValueError(f"{name}: the image data has {len(raw)} bytes, {height * (1 + width * channels)} expected")
    img = _unfilter(raw, width, height, channels).reshape(height, width, channels)
    if colour == 3:
        if palette is None:
            raise ValueError(f"{name}: a palette PNG without a palette")
        img = palette[img[:, :, 0]]
    return img


def _read_image(path):
    """(H, W, comp) uint8 as stored: comp 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError(f"{path}: an empty file")
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return decode_png(data, path)
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: only PNG is decoded without Pillow (apt-get install python3-pil)") from None
    import io
    try:
        with Image.open(io.BytesIO(data)) as im:
            mode = {"L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "P": "RGBA"}.get(im.mode, "RGB")
            img = np.asarray(im.convert(mode))
    except Exception as e:  # Pillow raises several kinds for a bad file
        raise ValueError(f"{path}: not an image Pillow can decode ({type(e).__name__})") from None
    return img.reshape(img.shape[0], img.shape[1], -1)


def _convert(img, channels):
    """tools/image_folder.c's convert_row: alpha composited over black, grey = 0.299 R + 0.587 G +
    0.114 B, grey copied to RGB, all in float32 in C's order. (channels, H, W) float32."""
    comp = img.shape[2]
    px = img.astype(np.float32)
    a = px[:, :, comp - 1] / np.float32(255) if comp in (2, 4) else np.float32(1)
    r = px[:, :, 0] * a
    g, b = (px[:, :, 1] * a, px[:, :, 2] * a) if comp >= 3 else (r, r)
    if channels == 1:
        return ((np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b) if comp >= 3 else r)[None]
    return np.stack([r, g, b])


def _area(src, n_out, axis):
    """image_folder.c's area_1d along axis: output i averages source [i, i+1)·n_in/n_out weighted
    by overlap, summed in double in increasing source order (so the bytes equal C's), stored as float32."""
    n_in = src.shape[axis]
    scale = n_in / n_out
    taps = []  # per output: [(j, weight)] in increasing j
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        row, j = [], int(a)
        while j < n_in and j < b:
            row.append((j, min(j + 1, b) - max(j, a)))
            j += 1
        taps.append(row)
    K = max(len(t) for t in taps)
    J = np.array([[t[min(k, len(t) - 1)][0] for k in range(K)] for t in taps])
    W = np.array([[t[k][1] if k < len(t) else 0.0 for k in range(K)] for t in taps])
    shape = [1] * src.ndim
    shape[axis] = n_out
    total = np.zeros(src.shape[:axis] + (n_out,) + src.shape[axis + 1:], np.float64)
    for k in range(K):
        total += W[:, k].reshape(shape) * np.take(src, J[:, k], axis=axis).astype(np.float64)
    return (total / scale).astype(np.float32)


def fit_image(img, channels, size):
    """The C trainer's image_folder_fit: resized with an area filter so that the longer side is
    size (aspect kept), centred on a black size × size square, rounded to bytes. (channels, size, size) uint8."""
    h, w = img.shape[:2]
    longer = max(w, h)
    bw = max(1, int(np.floor(w * size / longer + 0.5)))
    bh = max(1, int(np.floor(h * size / longer + 0.5)))
    ox, oy = (size - bw) // 2, (size - bh) // 2
    fitted = _area(_area(_convert(img, channels), bw, 2), bh, 1)
    out = np.zeros((channels, size, size), np.uint8)
    out[:, oy:oy + bh, ox:ox + bw] = np.clip(np.floor(fitted.astype(np.float64) + 0.5), 0, 255).astype(np.uint8)
    return out


def load_image_folder(folder, size, channels=0, on_bad="refuse"):
    """What `diffuscope train --images` reads (tools/image_folder.h), with the same bytes for PNG
    files (JPEG goes through Pillow, whose decoder may differ from stb_image's by a few levels):
    one class per subfolder (sorted names, at most 10), or the images of the folder itself as one
    class named after the folder; names starting with '.' skipped. channels: 1 (grey), 3 (RGB), or
    0 = the images' own (the majority; an odd one is a bad image). on_bad: refuse (raise, naming
    every bad file) or skip (list them and go on)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: not a folder")
    subdirs = sorted((d for d in os.listdir(folder) if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))),
                     key=os.fsencode)
    if len(subdirs) > 10:
        raise ValueError(f"{folder}: {len(subdirs)} class folders, at most 10")
    groups = [(i, os.path.join(folder, d)) for i, d in enumerate(subdirs)] or [(0, folder)]
    names = subdirs or [os.path.basename(os.path.normpath(os.path.abspath(folder)))[:31] or "images"]
    files, bad = [], []
    for label, path in groups:
        for name in sorted(os.listdir(path), key=os.fsencode):
            file = os.path.join(path, name)
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS) or not os.path.isfile(file):
                continue
            try:
                files.append((_read_image(file), label, file))
            except (ValueError, OSError, zlib.error) as e:
                bad.append(str(e) if file in str(e) else f"{file}: {e}")
    stored = [3 if img.shape[2] >= 3 else 1 for img, _, _ in files]
    if not channels:
        channels = 1 if stored.count(1) > stored.count(3) else 3
        kind = {1: "greyscale", 3: "colour"}
        for (img, _, file), c in zip(files, stored):
            if c != channels:
                bad.append(f"{file}: {kind[c]}, but most images are {kind[channels]}: give --channels 1 or 3 to convert them all")
        files = [f for f, c in zip(files, stored) if c == channels]
    if bad and on_bad != "skip":
        raise ValueError("bad images (pass --bad-images skip to leave them out):\n  " + "\n  ".join(bad))
    for b in bad:
        print(f"skipped: {b}")
    if not files:
        raise ValueError(f"{folder}: no decodable images ({', '.join(IMAGE_EXTENSIONS)}) found")
    if any(not 1 <= len(n.encode()) <= 31 for n in names):
        raise ValueError(f"{folder}: class (subfolder) names must be 1..31 bytes")
    pixels = np.stack([fit_image(img, channels, size) for img, _, _ in files])
    labels = np.array([label for _, label, _ in files], np.int64)
    return Dataset(pixels.astype(np.float32) / np.float32(127.5) - np.float32(1), labels, names)


def load_points(path):
    """An 'x y' point file (blank lines and # comments allowed) -> (N, 2) float32."""
    rows = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            try:
                x, y = (float(v) for v in parts)
            except ValueError:
                raise ValueError(f"{path}:{i}: expected two numbers 'x y', got {line!r}") from None
            if not (np.isfinite(x) and np.isfinite(y)):
                raise ValueError(f"{path}:{i}: a point is not finite")
            rows.append((x, y))
    if not rows:
        raise ValueError(f"{path}: no points")
    return Dataset(np.array(rows, np.float32), np.zeros(len(rows), np.int64), [])
