// csp.test.mjs — the widgets under a strict Content-Security-Policy (no unsafe-eval, no inline
// code), with no request leaving the page's own origin, and attributes treated as data.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser } from './browser.mjs';
import { ROOT } from '../wasm/wasm.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// every widget in web/widgets/ is on web/examples/csp.html; each must get to data-ready
const WIDGETS = ['schedule', 'vi', 'forward', 'noising', 'sampler', 'points', 'score', 'flow', 'edit', 'blend'];

test('the CSP page covers every widget the project defines', () => {
  const dir = path.join(ROOT, 'web', 'widgets');
  const defined = fs.readdirSync(dir).filter((f) => f.endsWith('.js'))
    .flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/(?:customElements\.define|defineElement)\('diffuscope-([a-z-]+)'/g)].map((m) => m[1]));
  assert.deepEqual([...defined].sort(), [...WIDGETS].sort());
  const html = fs.readFileSync(path.join(ROOT, 'web', 'examples', 'csp.html'), 'utf8');
  for (const name of WIDGETS) assert.ok(html.includes(`<diffuscope-${name}`), `csp.html has no <diffuscope-${name}>`);
});

test('one file per element: web/widgets/NAME.js defines <diffuscope-NAME> and imports no other widget', () => {
  const dir = path.join(ROOT, 'web', 'widgets');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    const defined = [...src.matchAll(/(?:customElements\.define|defineElement)\('([a-z-]+)'/g)].map((m) => m[1]);
    assert.deepEqual(defined, [`diffuscope-${f.slice(0, -3)}`], `${f} defines ${JSON.stringify(defined)}`);
    const imports = [...src.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    assert.ok(imports.every((m) => m.startsWith('../')), `${f} imports a widget file: ${JSON.stringify(imports)}`);
  }
});

test('widgets work under a strict CSP and request only their own assets', async () => {
  const page = await browser.newPage();
  const requests = [], violations = [], errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(new URL('examples/csp.html', browser.url).href);
  for (const name of WIDGETS) {
    const widget = page.locator(`diffuscope-${name}`);
    await widget.scrollIntoViewIfNeeded(); // the sampler starts when it comes into view
    await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
    assert.equal(await widget.locator('.ds-error').count(), 0, `${name}: ${await widget.locator('.ds-error').allTextContents()}`);
  }
  const defined = await page.evaluate(() => [...document.querySelectorAll('*')].filter((e) => e.localName.startsWith('diffuscope-') && !customElements.get(e.localName)).map((e) => e.localName));
  assert.deepEqual(defined, [], 'every widget on the page is defined');
  const value = await page.locator('diffuscope-schedule td[data-value="linear.alpha_bar"]').textContent();
  assert.match(value, /^\d\.\d{3}/, `a computed value is displayed (${value})`);
  assert.deepEqual(errors, [], 'no uncaught errors');
  assert.deepEqual(violations, [], 'no CSP violations');
  const foreign = requests.filter((u) => !u.startsWith(browser.origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'no requests outside the page origin');
  await page.close();
});

test('attribute values are data, never markup', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/csp.html', browser.url).href);
  await page.evaluate(() => {
    window.__pwned = false;
    const el = document.createElement('diffuscope-schedule');
    el.setAttribute('steps', '<img src=x onerror="window.__pwned=true">');
    document.body.append(el);
  });
  const status = page.locator('diffuscope-schedule').last().locator('.ds-attr-error');
  await status.waitFor();
  assert.match(await status.textContent(), /attribute steps=.*must be a number/);
  assert.equal(await page.locator('img').count(), 0, 'no element was created from the attribute');
  assert.equal(await page.evaluate(() => window.__pwned), false);
  await page.close();
});
