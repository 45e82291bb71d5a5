// blogs.test.mjs — the embedding kit in real sites: `npm pack`, then Hugo, Jekyll, Hexo and a
// Vite project, each built under `/` and under `/blog/` by following docs/embedding.md word for
// word (sites.mjs), served on localhost and opened in headless Chromium: every widget defined
// and ready with no error, its output drawn (the VI readout follows the slider, the sampler's
// images are not blank), the kit's version on every widget, nothing fetched from another origin
// by the kit, and a hostile theme (table/td/input/canvas/img rules) not reaching inside while
// --ds-panel still themes the widgets; then the Vite dev server with the doc's vite.config.js.
// Screenshots: tests/artifacts/blog-ENGINE-{root,blog}.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { ROOT, ENGINE_NAMES, THEMED_PANEL, buildSite, docSteps, packKit, applyStep } from './sites.mjs';
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
  const files = execFileSync('tar', ['-tzf', tgz]).toString().trim().split('\n').map((f) => f.replace(/^package\//, ''));
  for (const f of ['web/diffuscope.js', 'web/worker.js', 'web/assets.js', 'web/wasm/diffuscope_simd.wasm', 'web/wasm/diffuscope_scalar.wasm', 'web/wasm/version.js',
    'web/data/fashion-sample.bin', 'weights/fashion-unet.dsw', 'weights/points-cow.dsw', 'web/kit/hugo/diffuscope.html', 'web/kit/jekyll/diffuscope.html', 'web/kit/hexo/diffuscope.js', 'CHANGELOG.md'])
    assert.ok(files.includes(f), `the tarball holds ${f}`);
  const extra = files.filter((f) => /^web\/(examples|vendor)\/|^web\/(index\.html|article\.js|page\.css)$|^weights\/checkpoints|^(src|tools|tests|docs)\//.test(f));
  assert.deepEqual(extra, [], 'the tarball holds nothing but the kit');
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'embedding.md'), 'utf8');
  const named = [...doc.matchAll(/diffuscope-(\d+\.\d+\.\d+)\.tgz/g)].map((m) => m[1]);
  assert.ok(named.length > 0 && named.every((v) => v === VERSION), `docs/embedding.md names diffuscope-${VERSION}.tgz (found ${[...new Set(named)]})`);
  for (const engine of ENGINE_NAMES) assert.ok(docSteps().some((s) => s.engine === engine), `docs/embedding.md has steps for ${engine}`);
  assert.equal(docSteps().length, (doc.match(/^<!-- test /gm) || []).length, 'every <!-- test --> marker of docs/embedding.md is read (none malformed)');
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


function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('vite dev server, with the doc\'s vite.config.js: every widget works', async () => {
  const site = buildSite('vite', '/');
  const devSteps = docSteps().filter((s) => s.engine === 'vite-dev');
  assert.ok(devSteps.length > 0, 'docs/embedding.md has the dev server step');
  for (const step of devSteps) applyStep(step, site.dir);
  const port = await freePort();
  const dev = spawn('npm', ['run', 'dev', '--', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: site.dir, stdio: 'ignore', detached: true, env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; ; i++) {
      if (await fetch(url).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error('the vite dev server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.goto(url);
    const report = await page.evaluate(pageReport, { timeoutMs: 120000, themedPanel: THEMED_PANEL });
    assertReport(report, { label: 'vite dev', tags: TAGS, version: VERSION });
    assert.deepEqual(pageErrors, [], 'vite dev: no uncaught errors');
  } finally {
    await page.close();
    process.kill(-dev.pid, 'SIGTERM'); // npm and vite: the group we started
    fs.rmSync(site.dir, { recursive: true, force: true });
  }
});
