// pool.test.mjs — the worker pool of web/pool.js in headless Chromium: a batch split across
// two workers (each its own module instance) and joined gives exactly the single-worker
// result, for an uneven split and for a batch smaller than the pool, and the pool never
// exceeds navigator.hardwareConcurrency. Speed is not asserted here (tools/bench_wasm.mjs
// measures it); the figures are printed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

test('a batch split over two workers equals the single-worker result, bit for bit', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url + 'examples/csp.html');
  const r = await page.evaluate(async () => {
    const { getEnginePool } = await import('/web/pool.js');
    const item = 784;
    const one = await getEnginePool(1), two = await getEnginePool(2), many = await getEnginePool(64);
    const load = async (pool) => (await pool.broadcast('model_random', ['unet', new Int32Array(12), 0, 9])).map((x) => x.ret);
    const h1 = await load(one), h2 = await load(two);
    const out = { size2: two.size, sizeMany: many.size, cores: navigator.hardwareConcurrency, cases: [] };
    for (const B of [5, 1]) {
      const x = Float32Array.from({ length: B * item }, (_, i) => Math.sin(0.011 * i));
      const t = Float32Array.from({ length: B }, (_, b) => 100 + 150 * b);
      const cls = Int32Array.from({ length: B }, (_, b) => (3 * b) % 11);
      let t0 = performance.now();
      const a = await one.forward(h1, x, t, cls, B, item);
      const ms1 = performance.now() - t0;
      t0 = performance.now();
      const b = await two.forward(h2, x, t, cls, B, item);
      const ms2 = performance.now() - t0;
      let same = a.length === b.length && a.length === B * item, differs = 0;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) same = false;
      // items must differ from each other, or a wrong join order would go unnoticed
      for (let i = 0; i < item && B > 1; i++) if (a[i] !== a[item + i]) differs++;
      out.cases.push({ B, same, differs, ms1, ms2, finite: a.every(Number.isFinite) });
    }
    return out;
  });
  console.log(`pool: ${r.cores} hardware threads; ` + r.cases.map((c) => `B=${c.B}: 1 worker ${c.ms1.toFixed(0)} ms, 2 workers ${c.ms2.toFixed(0)} ms`).join('; '));
  assert.equal(r.size2, Math.min(2, r.cores));
  assert.ok(r.sizeMany <= r.cores && r.sizeMany >= 1, `pool of ${r.sizeMany} for ${r.cores} threads`);
  for (const c of r.cases) {
    assert.ok(c.finite, `B=${c.B}: non-finite output`);
    assert.ok(c.same, `B=${c.B}: pooled output differs from single-worker output`);
    if (c.B > 1) assert.ok(c.differs > 100, 'the items of the batch should differ');
  }
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
