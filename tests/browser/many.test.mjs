// many.test.mjs — a page of many widgets in headless Chromium: six playing <diffuscope-sampler>
// elements share one worker (one WebAssembly instance) and one copy of the weights, all finish,
// and the module's memory stays bounded; the engine's queue takes calls round-robin over the
// widgets, on-screen ones first; a sampler scrolled out of view stops stepping and goes on when
// scrolled back; the module compiles by streaming, and by reading the whole file where the
// server sends another MIME type. Speed is printed, not asserted (goals in brackets): slider
// input to the next paint while the six play (≤ 100 ms), a cold load of the article to the first
// sampler image (≤ 1.5 s), the 20-step DDIM of one image (median ≤ 100 ms).
import test from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { openBrowser, routedPage, spread } from './browser.mjs';

const SAMPLERS = 6, STEPS = 40, MOVES = 10;
const ms = (v) => `${v.toFixed(0)} ms`;
const figure = (s) => `median ${ms(s.median)}, worst ${ms(s.max)}, best ${ms(s.min)} (${s.n} moves)`;
const load = () => `load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}, ${os.cpus().length} cores`;

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// Records, for every widget, when it first had data-ready and each data-step value (page ms).
function recordSteps() {
  window.__marks = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (!r.target.localName?.startsWith('diffuscope-')) continue;
      const value = r.target.getAttribute(r.attributeName);
      if (value !== null) window.__marks.push({ el: r.target.localName, attr: r.attributeName, value, at: performance.now() });
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready', 'data-step'] });
}

test('a cold load of the article: the module compiles by streaming, the weights download beside it; time to the first sampler image', async () => {
  const cold = await openBrowser(); // a fresh profile: nothing cached
  try {
    const page = await cold.newPage();
    await page.addInitScript(recordSteps);
    await page.goto(cold.url + '#sampler');
    const sampler = page.locator('#sampler diffuscope-sampler').first();
    await sampler.scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('#sampler diffuscope-sampler')?.dataset.step === '20', null, { timeout: 60000 });
    const r = await page.evaluate(async () => {
      const { sharedEngine } = await import('/web/core.js');
      const info = sharedEngine().info, diagnostics = await sharedEngine().post({ type: 'diagnostics' });
      const first = document.querySelector('#sampler diffuscope-sampler');
      const mine = window.__marks.filter((m) => m.el === 'diffuscope-sampler');
      const weights = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.dsw'));
      return {
        compiled: info.compiled, moduleReady: info.readyAt - performance.timeOrigin, engineCreated: sharedEngine().createdAt,
        worker: Object.fromEntries(Object.entries(info.timeline).map(([k, v]) => [k, v - performance.timeOrigin])),
        domReady: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        firstStep: mine.find((m) => m.attr === 'data-step' && m.value === '1')?.at,
        weightsStart: weights?.startTime, weightsEnd: weights?.responseEnd,
        firstFrame: mine.find((m) => m.attr === 'data-ready')?.at, finished: mine.find((m) => m.attr === 'data-step' && m.value === '20')?.at,
        warm: diagnostics.warm, pace: first.getAttribute('pace') ?? 60, steps: first.dataset.step, errors: first.shadowRoot.querySelectorAll('.ds-error').length,
        gaps: mine.filter((m) => m.attr === 'data-step').map((m, i, all) => (i ? m.at - all[i - 1].at : 0)).slice(1),
        others: [...new Set(window.__marks.filter((m) => m.el !== 'diffuscope-sampler' && m.at < (mine.at(-1)?.at ?? 0)).map((m) => m.el))],
      };
    });
    console.log(`cold load of the article (#sampler, empty cache), from navigation: DOMContentLoaded ${ms(r.domReady)}; ` +
      `engine created ${ms(r.engineCreated)}, weights requested ${ms(r.weightsStart)} (in by ${ms(r.weightsEnd)}), ` +
      `module compiled (${r.compiled}) and ready ${ms(r.moduleReady)} (in the worker: created ${ms(r.worker.created)}, ` +
      `its script run ${ms(r.worker.body)}, init ${ms(r.worker.init)}, glue ${ms(r.worker.glue)}, compiled ${ms(r.worker.compiled)}); first sampler image (step 0) ${ms(r.firstFrame)}, step 1 ${ms(r.firstStep)}, ` +
      `its 20-step sampling finished (played at ${r.pace} ms a step at least, the next step computing while one is shown) ${ms(r.finished)} [goal ≤ 1500 ms]; ` +
      `the worker's warm-up: ${r.warm?.forwards} forwards in ${r.warm?.ms.toFixed(0)} ms; step to step ${r.gaps.map((g) => g.toFixed(0)).join(' ')} ms; other widgets at work meanwhile: ${r.others.join(', ') || 'none'}; ${load()}`);
    assert.equal(r.compiled, 'streaming', 'our server sends application/wasm: the module compiles while it downloads');
    assert.equal(r.errors, 0);
    assert.deepEqual({ ...r.warm, ms: 0 }, { forwards: 3, ms: 0 }, 'the shared worker warmed the UNet kernels up: three forwards, no error');
    assert.ok(r.weightsStart !== undefined && r.firstFrame !== undefined && r.finished > r.firstFrame);
    assert.deepEqual(cold.pageErrors, []);
  } finally {
    await cold.close();
  }
});

test('a server that sends the module as another type: it is compiled from the whole file and works', async () => {
  const page = await browser.newPage();
  await page.route(/\/web\/wasm\/diffuscope_\w+\.wasm$/, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-type': 'application/octet-stream' } });
  });
  await routedPage(browser, 'many-mime', '<diffuscope-sampler steps="3" batch="1"></diffuscope-sampler>', ['diffuscope-sampler'], page);
  await page.locator('diffuscope-sampler[data-ready]').waitFor({ timeout: 60000 });
  const compiled = await page.evaluate(async () => (await import('/web/core.js')).sharedEngine().info.compiled);
  assert.equal(compiled, 'whole');
  assert.equal(await page.locator('diffuscope-sampler .ds-error').count(), 0);
  await page.close();
});

test('the queue serves the widget served least recently, and one on screen before one scrolled away', async () => {
  const page = await routedPage(browser, 'many-queue',
    '<div id="near">on screen</div><div id="other">on screen too</div><div style="height: 5000px"></div><div id="far">out of view</div>', ['diffuscope-sampler']);
  const r = await page.evaluate(async () => {
    const { getEngine } = await import('/web/core.js');
    const engine = await getEngine();
    const rows = engine.description.records.schedule_table.length;
    const [near, other, far] = ['near', 'other', 'far'].map((id) => engine.lane(document.getElementById(id)));
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 100))); // the observer's first report
    const run = async (calls) => {
      const order = [];
      await Promise.all(calls.map(([lane, name]) =>
        lane.call('schedule_table', ['linear', 1000, rows], [['rows', 'schedule_table', 1000]]).then(() => order.push(name))));
      return order;
    };
    const n = (lane, name, k) => Array.from({ length: k }, (_, i) => [lane, `${name}${i}`]);
    return {
      // the out-of-view widget queues six calls first (the first goes to the worker at once), then the on-screen one two
      screen: await run([...n(far, 'far', 6), ...n(near, 'near', 2)]),
      // one widget queues six, then another (idle) one: it goes next, not after the six
      turns: await run([...n(near, 'a', 6), ...n(other, 'b', 1)]),
    };
  });
  console.log(`queue order: ${r.screen.join(' ')}; ${r.turns.join(' ')}`);
  assert.deepEqual(r.screen.slice(0, 3), ['far0', 'near0', 'near1'], 'the on-screen widget is served before the out-of-view one');
  assert.deepEqual(r.turns.slice(0, 2), ['a0', 'b0'], 'the idle widget waits only for the call in the worker');
  await page.close();
});

test('several calls in one round trip: {ret: i} passes an earlier call\'s handle; a failure names the call and returns the handles made before it', async () => {
  const page = await routedPage(browser, 'many-batch', '<p>engine only</p>', ['diffuscope-sampler']);
  const r = await page.evaluate(async () => {
    const { getEngine } = await import('/web/core.js');
    const engine = await getEngine();
    const cls = new Int32Array([10]); // no class: the points are unlabelled
    const pts = (await engine.call('shape_points', ['moons', 200, 1], [['f32', 400]])).outs[0];
    const steps = (sampler) => [
      ['sampler_new', [sampler, 'linear', 'ddim', 4, 0, 1, 1, 5, 1, cls]],
    ];
    const made = await engine.callAll([
      ['points_mixture', [pts, 200, 0.01, 'linear']],
      ...steps({ ret: 0 }),
      ['sampler_step', [{ ret: 1 }, 4]],
      ['sampler_read', [{ ret: 1 }, 'x_t'], [['f32', 2]]],
    ]).catch((err) => ({ error: err.message }));
    if (made.error) return made;
    // the same four one at a time: the same point
    const m = (await engine.call('points_mixture', [pts, 200, 0.01, 'linear'])).ret;
    const s = (await engine.call(...steps(m)[0])).ret;
    await engine.call('sampler_step', [s, 4]);
    const single = (await engine.call('sampler_read', [s, 'x_t'], [['f32', 2]])).outs;
    const failed = await engine.callAll([
      ['points_mixture', [pts, 200, 0.01, 'linear']],
      ['sampler_new', [{ ret: 0 }, 'linear', 'ddim', 0, 0, 1, 1, 5, 1, cls]],
    ]).then(() => null, (err) => ({ message: err.message, handles: err.results.map((x) => x.ret) }));
    const badRef = await engine.callAll([['points_mixture', [pts, 200, 0.01, 'linear']], ['sampler_step', [{ ret: 3 }, 1]]])
      .then(() => null, (err) => ({ message: err.message, handles: err.results.map((x) => x.ret) }));
    const named = await engine.callAll([['sampler_step', [s, 1.5]]]).then(() => null, (err) => err.message);
    // makeAll: the same failure, but the handle call 0 made is freed for the caller
    const freed = await engine.makeAll([
      ['points_mixture', [pts, 200, 0.01, 'linear']],
      ['sampler_new', [{ ret: 0 }, 'linear', 'ddim', 0, 0, 1, 1, 5, 1, cls]],
    ]).then(() => null, async (err) => {
      const h = err.results[0].ret;
      return { message: err.message, again: await engine.call('free', [h]).then(() => 'freed twice', (e) => e.message) };
    });
    for (const h of [made[1].ret, made[0].ret, s, m, ...(failed?.handles ?? []), ...(badRef?.handles ?? [])]) await engine.call('free', [h]);
    return { batched: [...made[3].outs[0]], single: [...single[0]], step: made[2].ret, failed, badRef, named, freed };
  });
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.step, 4);
  assert.deepEqual(r.batched, r.single, 'one round trip computes what four do');
  assert.match(r.failed.message, /^sampler_new: /, 'the failing call is named');
  assert.equal(r.failed.handles.length, 1, 'the handle made before the failure comes back to be freed');
  assert.match(r.badRef.message, /^sampler_step: \{ret: 3\} names no earlier call/);
  assert.equal(r.badRef.handles.length, 1, 'a bad reference also returns the handles made before it');
  assert.match(r.named, /^sampler_step: argument 2 must be a whole number/, 'a message that names its call is not named twice');
  assert.match(r.freed.message, /^sampler_new: /, 'makeAll rejects with the same named message');
  assert.doesNotMatch(r.freed.again, /freed twice/, 'makeAll already freed the handle call 0 made');
  console.log(`makeAll after a failure: freeing its handle again says "${r.freed.again}"`);
  await page.close();
});

test(`${SAMPLERS} playing samplers: one worker, one copy of the weights, all finish; slider latency and memory printed`, async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1800, height: 1400 });
  const requests = [];
  browser.context.on('request', (r) => requests.push(r.url()));
  await page.addInitScript(recordSteps);
  if (process.env.DS_DEBUG) page.on('console', (m) => console.error('page: ' + m.text()));
  const samplers = Array.from({ length: SAMPLERS }, (_, i) =>
    `<diffuscope-sampler autoplay sampler="ddim" steps="${STEPS}" batch="4" seed="${i + 1}" class="mixed"></diffuscope-sampler>`).join('');
  await routedPage(browser, 'many-samplers',
    `<diffuscope-noising t="100"></diffuscope-noising><div style="display: grid; grid-template-columns: repeat(3, minmax(0, 1fr))">${samplers}</div>`,
    ['diffuscope-sampler', 'diffuscope-noising'], page);
  await page.locator('diffuscope-noising[data-ready]').waitFor({ timeout: 60000 });
  // every sampler is playing (a step past the first) before the slider moves
  await page.waitForFunction((n) => [...document.querySelectorAll('diffuscope-sampler')].filter((s) => Number(s.dataset.step) >= 2).length === n,
    SAMPLERS, { timeout: 60000 });

  // input event -> the widget's visible update -> the frame after it: the rAF callback, then a
  // task (after the paint)
  const moveAndMeasure = async (slider, updated, keys) => {
    await page.evaluate(([slider, updated]) => {
      window.__latency = [];
      const host = document.querySelector(slider[0]), input = host.shadowRoot.querySelector(slider[1]);
      input.addEventListener('input', (e) => {
        const t0 = e.timeStamp, value = input.value;
        const painted = () => requestAnimationFrame(() => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => window.__latency.push(performance.now() - t0);
          ch.port2.postMessage(0);
        });
        if (!updated) return painted();
        const out = host.shadowRoot.querySelector(updated);
        const check = () => (out.textContent === `${value} / 1000` ? painted() : requestAnimationFrame(check));
        check();
      });
    }, [slider, updated]);
    await page.locator(`${slider[0]} ${slider[1]}`).first().focus();
    for (let i = 0; i < MOVES; i++) { // one move at a time: a newer move would replace the one still being drawn
      await page.keyboard.press(keys[i % keys.length]);
      await page.waitForFunction((n) => window.__latency.length > n, i, { timeout: 30000 });
      await page.waitForTimeout(100);
    }
    return spread(await page.evaluate(() => window.__latency));
  };
  // the noising slider's update is a call to the shared worker the six samplers keep busy
  const worker = await moveAndMeasure(['diffuscope-noising', 'input[type=range]'], 'label output', ['ArrowLeft', 'ArrowRight']);
  // a sampler's scrub slider redraws on the main thread only (back one step: playing, it is at the end)
  const main = await moveAndMeasure(['diffuscope-sampler', 'input.ds-scrub'], null, ['ArrowLeft']);
  const stillPlaying = await page.evaluate((steps) => [...document.querySelectorAll('diffuscope-sampler')].filter((s) => s.dataset.step !== String(steps)).length, STEPS);

  // on a timeout: each sampler's step / playing / on screen / its left..right edge
  const steps = () => page.evaluate(async () => {
    const { isOnScreen } = await import('/web/core.js');
    return [...document.querySelectorAll('diffuscope-sampler')].map((s) => {
      const r = s.getBoundingClientRect();
      return `${s.dataset.step}/${s.playing ? 'playing' : 'stopped'}/${isOnScreen(s) ? 'on screen' : 'off screen'}/${r.left.toFixed(0)}..${r.right.toFixed(0)}`;
    }).join(', ');
  });
  await page.waitForFunction((steps) => [...document.querySelectorAll('diffuscope-sampler')].every((s) => s.dataset.step === String(steps)), STEPS, { timeout: 300000 })
    .catch(async (err) => assert.fail(`not every sampler finished its ${STEPS} steps: ${await steps()} (${err.message})`));
  const r = await page.evaluate(async () => {
    const { sharedEngine } = await import('/web/core.js');
    const engine = sharedEngine();
    const models = [...engine.models.values()].map((m) => m.refs);
    const memory = engine.memory;
    const errors = [...document.querySelectorAll('diffuscope-sampler')].flatMap((s) => [...s.shadowRoot.querySelectorAll('.ds-error')].map((e) => e.textContent));
    const marks = window.__marks.filter((m) => m.attr === 'data-step');
    for (const s of document.querySelectorAll('diffuscope-sampler')) s.remove(); // each frees its sampler and releases the weights
    await new Promise((resolve) => setTimeout(resolve, 500));
    await engine.call('model_info', [0], [['rec', 'model_info']]).catch(() => {}); // a round trip after the frees
    return { models, memory, errors, modelsAfter: engine.models.size, memoryAfter: engine.memory, playedFor: marks.at(-1).at - marks[0].at };
  });
  const wasm = requests.filter((u) => u.endsWith('.wasm')), weights = requests.filter((u) => u.endsWith('.dsw')), workers = requests.filter((u) => u.endsWith('/worker.js'));
  console.log(`${SAMPLERS} samplers playing (DDIM ${STEPS} steps, batch 4; ${stillPlaying} still playing after the moves), slider input to the next paint: ` +
    `noising t (a call to the busy worker): ${figure(worker)}; sampler scrub (main thread): ${figure(main)} [goal ≤ 100 ms]; ${load()}`);
  console.log(`${SAMPLERS} samplers: ${workers.length} worker, ${wasm.length} module fetched, ${weights.length} weights fetch, models held ${JSON.stringify(r.models)}; ` +
    `played for ${(r.playedFor / 1000).toFixed(1)} s; WebAssembly memory ${(r.memory / 2 ** 20).toFixed(1)} MiB when all finished, ` +
    `${(r.memoryAfter / 2 ** 20).toFixed(1)} MiB after they were removed (models left: ${r.modelsAfter})`);
  assert.deepEqual(r.errors, []);
  assert.equal(workers.length, 1, 'one engine worker');
  assert.equal(wasm.length, 1, 'one WebAssembly module fetched');
  assert.equal(weights.length, 1, 'the weights fetched once');
  assert.deepEqual(r.models, [SAMPLERS], 'one model, held by every sampler');
  assert.equal(r.modelsAfter, 0, 'the removed samplers released the model');
  assert.ok(r.memory > 0 && r.memory <= 64 * 2 ** 20, `WebAssembly memory ${r.memory} B is over 64 MiB`);
  assert.equal(worker.n, MOVES);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('a playing sampler scrolled out of view stops stepping, and goes on when scrolled back', async () => {
  const page = await routedPage(browser, 'many-pause',
    '<diffuscope-sampler autoplay steps="1000" batch="1"></diffuscope-sampler><div style="height: 6000px"></div><p id="end">end</p>', ['diffuscope-sampler']);
  const step = () => page.evaluate(() => Number(document.querySelector('diffuscope-sampler').dataset.step || 0));
  await page.waitForFunction(() => Number(document.querySelector('diffuscope-sampler').dataset.step) >= 3, null, { timeout: 60000 });
  await page.evaluate(() => document.getElementById('end').scrollIntoView());
  await page.waitForTimeout(400); // the step in flight lands
  const away = await step();
  await page.waitForTimeout(1500);
  const later = await step();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForFunction((s) => Number(document.querySelector('diffuscope-sampler').dataset.step) > s + 2, later, { timeout: 10000 });
  const back = await step();
  console.log(`pause: step ${away} when scrolled away, ${later} 1.5 s later, ${back} after scrolling back`);
  assert.equal(later, away, 'no steps while out of view');
  assert.ok(back > later);
  assert.equal(await page.evaluate(() => document.querySelector('diffuscope-sampler').shadowRoot.querySelector('.ds-play').textContent), 'Pause', 'still playing');
  await page.close();
});

test('20-step DDIM of one image with the shipped UNet in the page\'s worker: median and spread printed', async () => {
  const page = await routedPage(browser, 'many-ddim', '', ['diffuscope-sampler']);
  const times = await page.evaluate(async () => {
    const { getEngine, fetchBytes } = await import('/web/core.js');
    const engine = await getEngine();
    const bytes = await fetchBytes('/weights/fashion-unet.dsw');
    const model = (await engine.call('model_load', [bytes, bytes.length])).ret;
    const ddim = async (seed) => {
      const t0 = performance.now();
      const s = (await engine.call('sampler_new', [model, 'linear', 'ddim', 20, 0, 1, 1, seed, 1, new Int32Array([0])])).ret;
      await engine.call('sampler_step', [s, 20]);
      await engine.call('sampler_read_u8', [s, 'x_t'], [['u8', 784]]);
      await engine.call('free', [s]);
      return performance.now() - t0;
    };
    // warm-up: the engine optimises hot functions in the background after their first runs
    for (let t0 = performance.now(), i = 0; i < 2 || performance.now() - t0 < 1500; i++) await ddim(100 + i);
    const times = [];
    for (let i = 0; i < 11; i++) times.push(await ddim(1 + i));
    await engine.call('free', [model]);
    return times;
  });
  const s = spread(times);
  console.log(`20-step DDIM, 1 image, Chromium, one worker: median ${s.median.toFixed(1)} ms, range ${s.min.toFixed(1)}–${s.max.toFixed(1)} ms ` +
    `over ${s.n} runs [goal: median ≤ 100 ms]; ${load()}`);
  assert.ok(times.every((t) => t > 0 && Number.isFinite(t)));
  await page.close();
});
