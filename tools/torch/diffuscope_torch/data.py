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
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


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
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        img = decode_png(data, path)
    else:
        try:
            from PIL import Image
        except ImportError:
            raise ValueError(f"{path}: only PNG is decoded without Pillow (apt-get install python3-pil)") from None
        import io
        try:
            with Image.open(io.BytesIO(data)) as im:
                img = np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB"))
        except Exception as e:  # Pillow raises several kinds for a bad file
            raise ValueError(f"{path}: not an image Pillow can decode ({type(e).__name__})") from None
    if img.shape[2] in (2, 4):  # alpha: composite on white, the usual page background
        alpha = img[:, :, -1:].astype(np.float32) / 255
        img = (img[:, :, :-1].astype(np.float32) * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return img


def fit_square(img, size):
    """Centre-crop to a square, then an area (box) filter down, or nearest up, to size × size."""
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s].astype(np.float64)
    if s == size:
        return img
    if s < size:
        idx = np.arange(size) * s // size
        return img[idx][:, idx]
    edges = np.arange(size + 1) * s / size  # each output pixel averages its share of input pixels
    weight = np.clip(np.minimum(edges[1:, None], np.arange(1, s + 1)[None, :]) -
                     np.maximum(edges[:-1, None], np.arange(s)[None, :]), 0, None) / (s / size)
    return np.einsum("ij,jkc,lk->ilc", weight, img, weight)


def load_image_folder(folder, size, channels=0, on_bad="refuse"):
    """One class per subfolder (sorted names), or the images of the folder itself and no class.
    channels: 1 (grey), 3 (RGB), 0 = 3 if any image has colour. on_bad: refuse (raise, naming
    every bad file) or skip (list them and go on)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: not a folder")
    subdirs = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    groups = [(i, os.path.join(folder, d)) for i, d in enumerate(subdirs)] or [(0, folder)]
    images, labels, bad = [], [], []
    for label, path in groups:
        for name in sorted(os.listdir(path)):
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            file = os.path.join(path, name)
            try:
                images.append(_read_image(file))
                labels.append(label)
            except (ValueError, OSError, zlib.error) as e:
                bad.append(str(e) if file in str(e) else f"{file}: {e}")
    if bad and on_bad != "skip":
        raise ValueError("bad images (pass --bad-images skip to leave them out):\n  " + "\n  ".join(bad))
    for b in bad:
        print(f"skipped: {b}")
    if not images:
        raise ValueError(f"{folder}: no decodable images ({', '.join(IMAGE_EXTENSIONS)}) found")
    colour = any(img.shape[2] == 3 and not (np.array_equal(img[..., 0], img[..., 1]) and
                                           np.array_equal(img[..., 0], img[..., 2])) for img in images)
    channels = channels or (3 if colour else 1)
    out = np.empty((len(images), channels, size, size), np.float32)
    for i, img in enumerate(images):
        if channels == 1 and img.shape[2] == 3:  # ITU-R BT.601 luma
            img = img.astype(np.float64) @ np.array([[0.299], [0.587], [0.114]])
        elif channels == 3 and img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        out[i] = np.moveaxis(fit_square(img, size), 2, 0) / 127.5 - 1
    names = subdirs if subdirs else []
    if len(names) > 256 or any(not 1 <= len(n.encode()) <= 31 for n in names):
        raise ValueError(f"{folder}: class (subfolder) names must be 1..31 bytes, at most 256 classes")
    return Dataset(out, np.array(labels, np.int64), names)


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
