// fashion.js — what the Fashion-MNIST widgets (<diffuscope-sampler>, <diffuscope-noising>,
// <diffuscope-edit>, <diffuscope-blend>)
// share: the class names, the image size, the shipped test images and the trained network.
// Also what any UNet's images look like (imageLook): a weights file names its own classes,
// size and channels, and the widgets follow the file.
// Not here: drawing an image (plot.js greyTile, imageTile), the models (C, in the worker).
import { fetchBytes } from './core.js';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const SIDE = 28, D = SIDE * SIDE;

// What a UNet's images are, from its model_info record (core.js adds class_names): {names,
// side, channels, D (bytes per image)}. A file without names (format 1: the shipped Fashion
// UNet) of Fashion's ten classes gets Fashion's names, another "class 0", "class 1", ...
export function imageLook(info) {
  const K = info.n_classes, side = info.image_size, channels = info.channels;
  const names = info.class_names?.length ? info.class_names
    : K === CLASS_NAMES.length ? CLASS_NAMES : Array.from({ length: K }, (_, i) => `class ${i}`);
  return { names, side, channels, D: channels * side * side };
}
// the Fashion test images' (the exact mixture, the editing widget's starting images)
export const FASHION_LOOK = { names: CLASS_NAMES, side: SIDE, channels: 1, D };
// any UNet the widgets can draw: any size, grey or RGB (plot.js imageTile)
export const UNET_WANT = { kind: 'unet', channels: [1, 3] };

// The shipped test images, fetched once per URL; C reads the header (src/sampler_models.h,
// with its version check) and says where the labels and pixels are.
const sampleCache = new Map();
export function loadFashionSample(url, engine) {
  if (!sampleCache.has(url)) {
    sampleCache.set(url, fetchBytes(url, () => {}).then(async (bytes) => {
      const { outs } = await engine.call('fashion_sample', [bytes, bytes.length], [['rec', 'fashion_sample']]).catch((err) => {
        throw new Error(`${url}: ${err.message}`);
      });
      const head = outs[0];
      if (head.rows !== SIDE || head.cols !== SIDE) throw new Error(`${url}: images of ${head.rows}x${head.cols}, expected ${SIDE}x${SIDE}`);
      return {
        count: head.count,
        labels: bytes.slice(head.labels_offset, head.labels_offset + head.count),
        pixels: bytes.slice(head.pixels_offset, head.pixels_offset + head.count * D),
      };
    }));
  }
  return sampleCache.get(url);
}

// The trained UNet in the engine, loaded once per URL (the editing widgets share it):
// {handle, schedule, look} (the file names the schedule it was trained with, and its images:
// imageLook). want: what the header must say (Fashion's shape by default). A missing file
// rejects with err.status 404, as fetchBytes says.
export function loadNetwork(url, engine, onProgress = () => {}, want = FASHION_WANT) {
  // the engine's shared, reference-counted copy (core.js acquireModel: header checked first)
  return engine.acquireModel(url, want, onProgress).then((m) => ({ handle: m.handle, schedule: m.info.schedule, look: imageLook(m.info) }));
}
// what a Fashion network is: the weights file's header must say so before its body is read
export const FASHION_WANT = { kind: 'unet', image_size: SIDE, channels: 1 };
