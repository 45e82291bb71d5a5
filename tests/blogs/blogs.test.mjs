// blogs.test.mjs — the embedding kit in real sites: `npm pack`, then Hugo, Jekyll, Hexo and a
// Vite project, each built under `/` and under `/blog/` by following docs/embedding.md word for
// word (sites.mjs), served on localhost and opened in headless Chromium: every widget defined
// and ready with no error, its output drawn (the VI readout follows the slider, the sampler's
// images are not blank), the kit's version on every widget, nothing fetched from another origin
// by the kit, and a hostile theme (table/td/input/canvas/img rules) not reaching inside while
// --ds-panel still themes the widgets. Screenshots: tests/artifacts/blog-ENGINE-{root,blog}.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, ENGINE_NAMES, THEMED_PANEL, buildSite, docSteps, packKit } from './sites.mjs';
import { serveSite, pageReport, assertReport } from './check.mjs';

const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const TAGS = ['vi', 'schedule', 'forward', 'noising', 'points', 'sampler'].map((n) => `diffuscope-${n}`);

let context, userDataDir;
test.before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuscope-blogs-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
    viewport: { width: 1000, height: 800 },
  });
});
test.after(async () => {
  await context?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
});

test('the package: npm pack holds the kit and no more; the doc unpacks this version', () => {
  const tgz = packKit();
  assert.equal(path.basename(tgz), `diffuscope-${VERSION}.tgz`);
  const size = fs.statSync(tgz).size;
  console.log(`${path.basename(tgz)}: ${(size / 1024).toFixed(0)} KB`);
  assert.ok(size < 2.5 * 1024 * 1024, `tarball ${size} bytes`);
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'embedding.md'), 'utf8');
  const named = [...doc.matchAll(/diffuscope-(\d+\.\d+\.\d+)\.tgz/g)].map((m) => m[1]);
  assert.ok(named.length > 0 && named.every((v) => v === VERSION), `docs/embedding.md names diffuscope-${VERSION}.tgz (found ${[...new Set(named)]})`);
  for (const engine of ENGINE_NAMES) assert.ok(docSteps().some((s) => s.engine === engine), `docs/embedding.md has steps for ${engine}`);
});

for (const engine of ENGINE_NAMES) {
  for (const base of ['/', '/blog/']) {
    test(`${engine} site under ${base}: built from the doc, every widget works`, async () => {
      const site = buildSite(engine, base);
      const server = await serveSite(site.out, base);
      const page = await context.newPage();
      const pageErrors = [], foreign = [], failed = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      // a theme may link a CDN (Hexo's landscape does); nothing leaves the machine
      await page.route((url) => !url.href.startsWith(server.origin) && !/^(data|blob):/.test(url.protocol), (route) => {
        foreign.push(route.request().url());
        route.abort();
      });
      page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
      try {
        const url = server.url + site.page;
        await page.goto(url);
        const html = await (await fetch(url)).text();
        const report = await page.evaluate(pageReport, { timeoutMs: 120000, themedPanel: THEMED_PANEL });
        const label = `${engine} ${base}`;
        await page.screenshot({ path: path.join(ARTIFACTS, `blog-${engine}-${base === '/' ? 'root' : 'blog'}.png`), fullPage: true });
        assertReport(report, { label, tags: TAGS, version: VERSION });
        // the only other-origin requests are links written in the theme's own markup
        for (const u of foreign) assert.ok(html.includes(u.replace(/^https?:/, '')) && !/diffuscope/.test(u), `${label}: ${u} requested from another origin`);
        assert.deepEqual(failed.filter((f) => /diffuscope|\.dsw|\.wasm|\.bin/.test(f)), [], `${label}: every kit file found`);
        assert.deepEqual(pageErrors, [], `${label}: no uncaught errors`);
        console.log(`${label}: built in ${site.seconds.toFixed(1)} s; VI ${report.vi.before} -> ${report.vi.after}; sampler std ${report.sampler.std.toFixed(0)}${foreign.length ? `; theme's own other-origin links: ${foreign.length}` : ''}`);
      } finally {
        await page.close();
        await server.close();
        fs.rmSync(site.dir, { recursive: true, force: true });
      }
    });
  }
}

