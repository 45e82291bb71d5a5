// browser.mjs — shared set-up for the browser tests: our static server on a free port and
// Debian's Chromium, headless, driven by playwright-core. Screenshots go to tests/artifacts/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../tools/serve.mjs';
import { ROOT } from '../wasm/wasm.mjs';

export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

export async function openBrowser() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const { server, url } = await startServer({ port: 0, quiet: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuscope-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1000, height: 800 },
  });
  const pageErrors = [];
  context.on('page', (p) => p.on('pageerror', (e) => pageErrors.push(e.message)));
  const origin = new URL(url).origin;
  return {
    url, origin, context, pageErrors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      return page;
    },
    async close() {
      await context.close();
      server.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Counts canvas pixels close to an [r, g, b] colour (within tol per channel).
export async function countPixels(locator, rgb, tol = 40) {
  return locator.evaluate((canvas, [rgb, tol]) => {
    const ctx = canvas.getContext('2d');
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - rgb[0]) <= tol && Math.abs(d[i + 1] - rgb[1]) <= tol && Math.abs(d[i + 2] - rgb[2]) <= tol && d[i + 3] > 200) n++;
    return n;
  }, [rgb, tol]);
}

// Draws a heart on a drawing pad (a canvas locator) with mouse events, one stroke of 80 moves;
// returns at(u, v), the page coordinates of a point of the pad (v upwards), for more strokes.
export async function drawHeart(page, pad) {
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  const at = (u, v) => [box.x + u * box.width, box.y + (1 - v) * box.height];
  const heart = (i) => {
    const a = (2 * Math.PI * i) / 80;
    const x = 16 * Math.sin(a) ** 3, y = 13 * Math.cos(a) - 5 * Math.cos(2 * a) - 2 * Math.cos(3 * a) - Math.cos(4 * a);
    return at(0.5 + x / 40, 0.55 + y / 40);
  };
  await page.mouse.move(...heart(0));
  await page.mouse.down();
  for (let i = 1; i <= 80; i++) await page.mouse.move(...heart(i));
  await page.mouse.up();
  return at;
}

// A page with nothing but the library on it, routed at web/examples/NAME-empty.html, once the
// given elements are defined.
export async function emptyPage(browser, name, tags) {
  return routedPage(browser, `${name}-empty`, '', tags);
}

// A page of the library and the given body (HTML), routed at web/examples/NAME.html (so the
// kit's relative URLs resolve as on the example pages), once the given elements are defined.
export async function routedPage(browser, name, body, tags, page = null) {
  page ??= await browser.newPage();
  const url = new URL(`examples/${name}.html`, browser.url).href;
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${name}</title>` +
      `<script type="module" src="../diffuscope.js"></script></head><body>${body}</body></html>`,
  }));
  await page.goto(url);
  await page.waitForFunction((names) => names.every((t) => customElements.get(t)), tags);
  return page;
}

// A page (emptyPage) holding one `tag` element, #under-test, with `attrs` and its weights file:
// `bytes` served at `weights` (a path beside the page). Resolves {page, widget} once it is ready.
export async function widgetPage(browser, name, tag, attrs, weights, bytes) {
  const page = await emptyPage(browser, name, [tag]);
  await page.route(new URL(weights, page.url()).href, (route) => route.fulfill({ contentType: 'application/octet-stream', body: bytes }));
  await page.evaluate(([tag, attrs]) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.id = 'under-test';
    document.body.prepend(el);
  }, [tag, { ...attrs, weights }]);
  const widget = page.locator('#under-test');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  return { page, widget };
}

// Median, smallest and largest of an array of numbers.
export function spread(values) {
  const v = [...values].sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)], min: v[0], max: v[v.length - 1], n: v.length };
}
