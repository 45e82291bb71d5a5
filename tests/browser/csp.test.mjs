// csp.test.mjs — the widgets under a strict Content-Security-Policy (no unsafe-eval, no inline
// code), with no request leaving the page's own origin, and attributes treated as data.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

test('widgets work under a strict CSP and request only their own assets', async () => {
  const page = await browser.newPage();
  const requests = [], violations = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
  await page.goto(new URL('examples/csp.html', browser.url).href);
  await page.locator('diffuscope-schedule[data-ready]').waitFor({ timeout: 20000 });
  const value = await page.locator('diffuscope-schedule td[data-value="linear.alpha_bar"]').textContent();
  assert.match(value, /^\d\.\d{3}/, `a computed value is displayed (${value})`);
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
