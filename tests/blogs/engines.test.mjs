// engines.test.mjs — the article and every per-widget example page in the two engines besides
// Chromium that readers use: Debian's Firefox ESR (puppeteer-core over WebDriver BiDi) and
// WebKitGTK, Safari's engine (Debian's WebKitWebDriver under xvfb-run, selenium-webdriver).
// Each page must produce its output, not just define its elements (check.mjs pageReport: every
// widget ready with no error and a drawing, the VI readout follows its slider, the autoplaying
// sampler run to its last step). Screenshots (Firefox: the whole page; WebKit: the viewport at
// the sampler, or the top): tests/artifacts/engine-{firefox,webkit}-PAGE.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import puppeteer from 'puppeteer-core';
import { Builder, Capabilities } from 'selenium-webdriver';
import { startServer } from '../../tools/serve.mjs';
import { ROOT } from './sites.mjs';
import { pageReport, assertReport } from './check.mjs';

const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

// the pages: the article, and one minimal page per widget; the tags each must hold
const PAGES = [['article', 'web/index.html'], ...fs.readdirSync(path.join(ROOT, 'web', 'examples'))
  .filter((f) => fs.existsSync(path.join(ROOT, 'web', 'widgets', f.replace(/\.html$/, '.js'))))
  .map((f) => [f.replace(/\.html$/, ''), `web/examples/${f}`])];
const tagsOf = (file) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/<(diffuscope-[a-z]+)[\s>]/g)].map((m) => m[1]);

let server, base; // base: the server's root (its url is that of web/)
test.before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let url;
  ({ server, url } = await startServer({ port: 0, quiet: true }));
  base = new URL('/', url).href;
});
test.after(() => server.close());

const REPORT_OPTS = { timeoutMs: 150000 };

test('Firefox ESR (WebDriver BiDi): the article and every example page produce their output', async () => {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, protocol: 'webDriverBiDi', headless: true });
  try {
    for (const [name, file] of PAGES) {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.setViewport({ width: 1000, height: 800 });
      await page.goto(new URL(file, base).href);
      const report = await page.evaluate(pageReport, REPORT_OPTS);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(ARTIFACTS, `engine-firefox-${name}.png`), fullPage: true });
      assertReport(report, { label: `firefox ${name}`, tags: tagsOf(file), version: VERSION, themed: false });
      assert.deepEqual(errors, [], `firefox ${name}: no uncaught errors`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
});

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForDriver(url, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited (${child.exitCode})`);
    try {
      if ((await fetch(url + '/status')).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('WebKitWebDriver did not start');
}

test('WebKitGTK (WebKitWebDriver under xvfb-run): the article and every example page produce their output', async () => {
  const port = await freePort();
  const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', WEBKIT_DRIVER, `--port=${port}`], { stdio: 'ignore', detached: true });
  const driverUrl = `http://127.0.0.1:${port}`;
  let driver;
  try {
    await waitForDriver(driverUrl, child);
    const caps = new Capabilities();
    caps.set('browserName', 'MiniBrowser');
    caps.set('webkitgtk:browserOptions', { binary: MINIBROWSER, args: ['--automation'] });
    driver = await new Builder().usingServer(driverUrl).withCapabilities(caps).build();
    await driver.manage().setTimeouts({ script: REPORT_OPTS.timeoutMs + 30000, pageLoad: 60000 });
    await driver.manage().window().setRect({ width: 1000, height: 800 });
    for (const [name, file] of PAGES) {
      await driver.get(new URL(file, base).href);
      // the report comes back as JSON text: WebKitWebDriver once failed to serialise the object
      // itself ("Could not parse script result", 1 run in 4 on a loaded 2-core machine)
      const report = JSON.parse(await driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         (${pageReport.toString()})(arguments[0]).then((r) => done(JSON.stringify(r)), (e) => done(JSON.stringify({ failed: String(e && e.message || e) })));`, REPORT_OPTS));
      assert.equal(report.failed, undefined, `webkit ${name}: ${report.failed}`);
      // WebDriver screenshots the viewport: the sampler's images where the page has one
      await driver.executeScript("(document.querySelector('diffuscope-sampler') || document.body).scrollIntoView()");
      fs.writeFileSync(path.join(ARTIFACTS, `engine-webkit-${name}.png`), Buffer.from(await driver.takeScreenshot(), 'base64'));
      assertReport(report, { label: `webkit ${name}`, tags: tagsOf(file), version: VERSION, themed: false });
    }
  } finally {
    await driver?.quit();
    process.kill(-child.pid, 'SIGTERM'); // xvfb-run, the driver and Xvfb: the group we started
  }
});
