// fashion.js — what the Fashion-MNIST widgets (<diffuscope-sampler>, <diffuscope-noising>)
// share: the class names, the image size, and the shipped test images.
// Not here: drawing an image (plot.js greyTile), the models (C, in the worker).
import { fetchBytes } from './core.js';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const SIDE = 28, D = SIDE * SIDE;

// The shipped test images (format in src/sampler_models.h), fetched once per URL.
const sampleCache = new Map();
export function loadFashionSample(url) {
  if (!sampleCache.has(url)) {
    sampleCache.set(url, fetchBytes(url, () => {}).then((bytes) => {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.length < 20 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'DSFS') throw new Error(`${url} is not a Fashion sample file`);
      const count = dv.getUint32(8, true), rows = dv.getUint32(12, true), cols = dv.getUint32(16, true);
      if (rows !== SIDE || cols !== SIDE || bytes.length !== 20 + count + count * D) throw new Error(`${url}: unexpected size`);
      return { count, labels: bytes.slice(20, 20 + count), pixels: bytes.slice(20 + count) };
    }));
  }
  return sampleCache.get(url);
}
