// assets.js — the files the widgets load when no attribute names another: the Fashion UNet,
// the point models and the shipped test images. Each is a literal new URL('...', import.meta.url),
// the form bundlers (Vite, webpack, Parcel) follow and emit, so `npm install diffuscope` finds
// them; on a static host they resolve against this file, i.e. the kit's web/ folder, with
// weights/ beside it.
// Not here: attributes that override them (resolved against the page: core.js urlAttr).
export const FASHION_WEIGHTS = new URL('../weights/fashion-unet.dsw', import.meta.url).href;
export const FASHION_SAMPLE = new URL('./data/fashion-sample.bin', import.meta.url).href;
export const pointsWeights = (shape) => new URL(`../weights/points-${shape}.dsw`, import.meta.url).href;
