// lifecycle2.test.mjs — the page rules of issue 19 for the two newest widgets, <diffuscope-score>
// and <diffuscope-flow>: an attribute changed after connect takes effect with the same checks
// as at build (score t, flow steps); a widget removed mid-work (Langevin playback, sampling,
// training) makes no engine call while detached and frees every handle it made (models through
// the shared, reference-counted loader, mixtures, samplers, trainers); put back, it works again.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, emptyPage as emptyPageOf } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// A page with nothing but the library on it, whose shared engine logs the handles made and
// freed (window.handles: the live ones) and counts its calls (engine.calls, core.js).
async function emptyPage() {
  const page = await emptyPageOf(browser, 'lifecycle2', ['diffuscope-score', 'diffuscope-flow']);
  await page.evaluate(async () => {
    const engine = (await import('../core.js')).sharedEngine();
    const call = engine.call.bind(engine);
    const makers = new Set(['model_load', 'points_mixture', 'sampler_new', 'trainer_new', 'trainer_objective_new']);
    window.handles = new Map(); // handle -> the function that made it
    engine.call = async (fn, args = [], outs = []) => {
      const r = await call(fn, args, outs);
      if (makers.has(fn)) window.handles.set(r.ret, fn);
      if (fn === 'free') window.handles.delete(args[0]);
      return r;
    };
  });
  return page;
}

async function add(page, tag, attrs, id) {
  await page.evaluate(([tag, attrs, id]) => {
    const el = document.createElement(tag);
    el.id = id;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    document.body.append(el);
    el.scrollIntoView();
  }, [tag, attrs, id]);
  return page.locator(`#${id}`);
}

const calls = (page) => page.evaluate(async () => (await import('../core.js')).sharedEngine().calls);
const live = (page) => page.evaluate(() => [...window.handles.values()]);
const sharedModels = (page) => page.evaluate(async () => (await import('../core.js')).sharedEngine().models.size);

// Removes the element, lets the call in flight finish, and checks that nothing more reaches the
// engine and that every handle is freed; then puts it back.
async function detachQuietly(page, widget, what) {
  await widget.evaluate((el) => { window.parked = el; el.remove(); });
  await page.waitForTimeout(1500); // the call in flight and the frees
  const before = await calls(page);
  await page.waitForTimeout(1500);
  assert.equal(await calls(page), before, `${what}: no engine call while detached`);
  assert.deepEqual(await live(page), [], `${what}: every handle it made is freed`);
  assert.equal(await sharedModels(page), 0, `${what}: the shared models are released`);
  await page.evaluate(() => document.body.append(window.parked));
}

test('score widget: live attributes; removed during Langevin playback it stops and frees, put back it works', async () => {
  const page = await emptyPage();
  const score = await add(page, 'diffuscope-score', { t: '300', score: 'learned' }, 'sc');
  await score.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  assert.equal(await score.getAttribute('data-t'), '300');
  assert.equal(await score.evaluate((el) => el.shownKind), 'learned');
  assert.ok((await live(page)).includes('points_mixture'), 'the exact score\'s mixture is held');
  assert.equal(await sharedModels(page), 1, 'the learned score\'s model is held (shared)');

  // score, t and paths after connect, with the build's checks
  await score.evaluate((el) => { el.setAttribute('score', 'exact'); el.setAttribute('t', '40'); el.setAttribute('paths', '3'); });
  await page.waitForFunction(() => { const el = document.querySelector('#sc'); return el.shownT === 40 && el.shownKind === 'exact' && el.pathData.K === 3 && !el.busy; }, null, { timeout: 30000 });
  assert.equal(await score.locator('output.ds-t').textContent(), '40 / 1000');
  assert.equal(await score.locator('select[aria-label="score"]').inputValue(), 'exact');
  await score.evaluate((el) => el.setAttribute('t', '0'));
  await score.locator('.ds-attr-error[data-attr="t"]').waitFor({ timeout: 10000 });
  assert.equal(await score.locator('.ds-attr-error[data-attr="t"]').textContent(), 'attribute t="0" must be a number between 1 and 1000; using 150');
  await page.waitForFunction(() => { const el = document.querySelector('#sc'); return el.shownT === 150 && !el.busy; }, null, { timeout: 30000 });

  // removed while the chains play back (and a restart recomputes them)
  await score.evaluate((el) => el.setAttribute('score', 'learned'));
  await page.waitForFunction(() => { const el = document.querySelector('#sc'); return el.shownKind === 'learned' && !el.busy; }, null, { timeout: 30000 });
  const runs = await score.evaluate((el) => el.langevinRun);
  await score.locator('button.ds-score-restart').click();
  await detachQuietly(page, score, 'score');
  assert.equal(await score.evaluate((el) => el.dataset.langevinDone === String(el.langevinRun)), false, 'the playback stopped before its end');
  // an attribute changed while detached is taken, and applied when put back
  await page.waitForFunction(() => document.querySelector('#sc')?.isConnected);
  await score.evaluate((el) => el.setAttribute('t', '500'));
  await page.waitForFunction((runs) => {
    const el = document.querySelector('#sc');
    return el.shownT === 500 && !el.busy && el.dataset.langevinDone === String(runs + 1);
  }, runs, { timeout: 60000 });
  assert.equal(await sharedModels(page), 1, 'the model is acquired again');
  assert.deepEqual(await score.locator('.ds-error:not(.ds-attr-error)').allTextContents(), []);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('flow widget: live attributes; removed while sampling or training it stops and frees, put back it works', async () => {
  const page = await emptyPage();
  const flow = await add(page, 'diffuscope-flow', { steps: '4', n: '200', 'train-steps': '200000' }, 'fl');
  await flow.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  assert.equal(await flow.getAttribute('data-steps'), '4');
  assert.equal(await sharedModels(page), 2, 'both shipped models are held (shared)');

  // steps, view, n after connect
  await flow.evaluate((el) => { el.setAttribute('steps', '7'); el.setAttribute('view', 'mesh'); el.setAttribute('n', '300'); });
  await page.waitForFunction(() => {
    const el = document.querySelector('#fl');
    return el.dataset.steps === '7' && el.dataset.sampled !== undefined && !el.busy && el.results.flow.mesh != null &&
      el.results.flow.frames.length === 8 * 2 * 300;
  }, null, { timeout: 60000 });
  assert.equal(await flow.locator('input[aria-label="sampling steps"]').inputValue(), '7');
  assert.equal(await flow.locator('select[aria-label="view"]').inputValue(), 'mesh');
  await flow.evaluate((el) => el.setAttribute('steps', '500'));
  await flow.locator('.ds-attr-error[data-attr="steps"]').waitFor({ timeout: 10000 });
  assert.equal(await flow.locator('.ds-attr-error[data-attr="steps"]').textContent(), 'attribute steps="500" must be a number between 1 and 100; using 10');
  await page.waitForFunction(() => { const el = document.querySelector('#fl'); return el.dataset.steps === '10' && el.dataset.sampled !== undefined && !el.busy; }, null, { timeout: 60000 });

  // removed mid-sampling (100 steps of 300 points, both sides)
  await flow.evaluate((el) => el.setAttribute('steps', '100'));
  await page.waitForFunction(() => document.querySelector('#fl').busy);
  await detachQuietly(page, flow, 'flow while sampling');
  await page.waitForFunction(() => { const el = document.querySelector('#fl'); return el.dataset.steps === '100' && el.dataset.sampled !== undefined && !el.busy; }, null, { timeout: 60000 });
  assert.equal(await sharedModels(page), 2, 'both models acquired again');

  // removed mid-training: the loop stops, the trainer is freed
  await flow.locator('select[aria-label="training objective"]').selectOption('flow');
  await flow.evaluate((el) => el.setAttribute('steps', '5'));
  await page.waitForFunction(() => { const el = document.querySelector('#fl'); return el.dataset.steps === '5' && !el.busy; }, null, { timeout: 60000 });
  await flow.locator('select[aria-label="or start from a shape"]').selectOption('rings');
  await flow.locator('button.ds-flow-train').click();
  await page.waitForFunction(() => Number(document.querySelector('#fl').querySelector('progress[aria-label="training progress"]').value) >= 500, null, { timeout: 60000 });
  await detachQuietly(page, flow, 'flow while training');
  assert.match(await flow.locator('.ds-flow-train-info').textContent(), /Training stopped: the widget left the page/);
  assert.equal(await flow.locator('button.ds-flow-train').isDisabled(), false);
  await page.waitForFunction(() => { const el = document.querySelector('#fl'); return el.dataset.sampled !== undefined && !el.busy; }, null, { timeout: 60000 });
  assert.equal(await sharedModels(page), 2);
  assert.deepEqual(await flow.locator('.ds-error:not(.ds-attr-error):not(.ds-flow-train-info)').allTextContents(), []);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('flow widget: a model trained here survives a removal (its bytes are loaded again)', async () => {
  const page = await emptyPage();
  const flow = await add(page, 'diffuscope-flow', { steps: '5', n: '200', 'train-steps': '300' }, 'tr');
  await flow.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await flow.locator('select[aria-label="or start from a shape"]').selectOption('moons');
  await flow.locator('button.ds-flow-train').click();
  await page.waitForFunction(() => document.querySelector('#tr').dataset.trained !== undefined, null, { timeout: 120000 });
  assert.equal(await flow.locator('select[aria-label="model"]').inputValue(), 'drawing');
  const before = await flow.evaluate((el) => Array.from(el.results.flow.frames.subarray(0, 40)));
  await detachQuietly(page, flow, 'flow with a trained model');
  await page.waitForFunction(() => { const el = document.querySelector('#tr'); return el.dataset.sampled !== undefined && !el.busy; }, null, { timeout: 60000 });
  assert.deepEqual(await flow.evaluate((el) => Array.from(el.results.flow.frames.subarray(0, 40))), before, 'the same model samples the same points');
  assert.match(await flow.locator('.ds-flow-quality[data-side="diffusion"]').textContent(), /Train the diffusion objective/);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
