// article.test.mjs — the explainer article and the embedding kit: every widget embedded alone in
// a minimal page works; the article at 360×740 and at desktop size renders its math and every
// widget with no horizontal overflow on the phone; every control has a label; the page's total
// transfer (gzip) stays within 2 MB including weights; a page with only <diffuscope-vi> loads no
// weights at all. Screenshots: tests/artifacts/article-desktop.png, article-360.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { openBrowser, ARTIFACTS } from './browser.mjs';
import { ROOT, WASM_DIR } from '../wasm/wasm.mjs';

const WIDGETS = ['schedule', 'vi', 'forward', 'noising', 'points', 'sampler', 'score', 'flow'];

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// gzip size of what a URL of our server maps to on disk
function servedFile(url) {
  const rel = decodeURIComponent(new URL(url).pathname);
  if (rel.startsWith('/web/wasm/')) return path.join(WASM_DIR, rel.slice('/web/wasm/'.length));
  return path.join(ROOT, rel.endsWith('/') ? rel + 'index.html' : rel);
}
const gz = (file) => zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;

async function allReady(page, names) {
  for (const name of names) {
    for (const widget of await page.locator(`diffuscope-${name}`).all()) {
      await widget.scrollIntoViewIfNeeded(); // widgets with weights load them when seen
      await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 90000 });
      const errors = await widget.locator('.ds-error').allTextContents();
      assert.deepEqual(errors, [], `${name}: no error shown`);
    }
  }
}

for (const name of WIDGETS) {
  test(`<diffuscope-${name}> works alone on a minimal page`, async () => {
    const page = await browser.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(new URL(`examples/${name}.html`, browser.url).href);
    await allReady(page, [name]);
    const weights = requests.filter((u) => u.endsWith('.dsw'));
    if (name === 'vi' || name === 'schedule' || name === 'forward') assert.deepEqual(weights, [], `${name} loads no weights`);
    await page.close();
  });
}

for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['360', { width: 360, height: 740 }]]) {
  test(`the article at ${label} size: math, every widget, labels, payload`, async () => {
    const page = await browser.newPage();
    await page.setViewportSize(viewport);
    const responses = [];
    page.on('response', (r) => r.status() === 200 && r.url().startsWith(browser.origin) && responses.push(r.url()));
    await page.goto(browser.url);
    await page.locator('html[data-math-ready]').waitFor({ timeout: 20000 });
    const katexCount = await page.locator('.katex').count();
    assert.ok(katexCount >= 40, `equations typeset by KaTeX: ${katexCount}`);
    assert.equal(await page.locator('.katex-error').count(), 0, 'no TeX errors');
    await allReady(page, WIDGETS);

    // every control inside a widget has an accessible name
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('*')].filter((el) => el.localName.startsWith('diffuscope-') && el.shadowRoot)
        .flatMap((w) => [...w.shadowRoot.querySelectorAll('input, select, button, canvas[tabindex]')].map((el) => [w, el]))
        .filter(([, el]) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim() || el.getAttribute('title')))
        .map(([w, el]) => `${w.localName} ${el.outerHTML.slice(0, 80)}`));
    assert.deepEqual(unlabelled, [], 'controls without a label');

    if (label === '360') {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `page is ${overflow}px wider than a 360px screen`);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, `article-${label}.png`), fullPage: true });

    const unique = [...new Set(responses)];
    const total = unique.reduce((sum, u) => sum + gz(servedFile(u)), 0);
    const weights = unique.filter((u) => u.endsWith('.dsw')).reduce((sum, u) => sum + gz(servedFile(u)), 0);
    console.log(`article (${label}): ${unique.length} files, ${(total / 1024).toFixed(0)} KB gzip in all, of which weights ${(weights / 1024).toFixed(0)} KB`);
    assert.ok(total <= 2 * 1024 * 1024, `article payload ${total} bytes gzip exceeds 2 MB`);
    assert.deepEqual(browser.pageErrors, [], 'no uncaught errors');
    await page.close();
  });
}
