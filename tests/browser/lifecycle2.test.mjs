// lifecycle2.test.mjs — the page rules of issue 19 for the newest widgets, <diffuscope-score>,
// <diffuscope-flow>, <diffuscope-edit> and <diffuscope-blend>: an attribute changed after connect
// takes effect with the same checks as at build (score t, flow steps, edit strength, blend u); a
// widget removed mid-work (Langevin playback, sampling, training, an edit, an interpolation)
// makes no engine call while detached and frees every handle it made (models through the
// shared, reference-counted loader, mixtures, samplers, trainers); put back, it works again.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, emptyPage as emptyPageOf } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// A page with nothing but the library on it, whose shared engine logs the handles made and
// freed (window.handles: the live ones) and counts its calls (engine.calls, core.js).
async function emptyPage() {
  const page = await emptyPageOf(browser, 'lifecycle2', ['diffuscope-score', 'diffuscope-flow', 'diffuscope-edit', 'diffuscope-blend']);
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
    const callAll = engine.callAll.bind(engine); // several calls in one round trip (model_load + model_info)
    engine.callAll = async (list) => {
      const r = await callAll(list);
      list.forEach(([fn], i) => makers.has(fn) && window.handles.set(r[i].ret, fn));
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

test('edit widget: live attributes; removed mid-edit it stops and gives the network back, put back it edits again', async () => {
  const page = await emptyPage();
  const edit = await add(page, 'diffuscope-edit', { steps: '10', strength: '600', class: '3' }, 'ed');
  await edit.and(page.locator('[data-ready]')).waitFor({ timeout: 120000 });
  assert.equal(await sharedModels(page), 1, 'the network is held (shared)');
  assert.equal(await edit.locator('select[aria-label="class"]').inputValue(), '3');
  await edit.locator('button.ds-edit-run').click();
  await page.waitForFunction(() => document.querySelector('#ed').dataset.edits === '1', null, { timeout: 60000 });
  const firstT = () => edit.evaluate((el) => el.run[0].info.t);
  assert.ok((await firstT()) <= 600, `the edit starts at t0 <= 600 (${await firstT()})`);

  // strength and class after connect, with the build's checks; an edit on show runs again
  await edit.evaluate((el) => { el.setAttribute('strength', '300'); el.setAttribute('class', '5'); });
  await page.waitForFunction(() => { const el = document.querySelector('#ed'); return Number(el.dataset.edits) >= 3 && !el.busy; }, null, { timeout: 60000 });
  assert.equal(await edit.locator('input[name="strength"]').inputValue(), '300');
  assert.equal(await edit.locator('.ds-edit-strength output').textContent(), '300');
  assert.equal(await edit.locator('select[aria-label="class"]').inputValue(), '5');
  assert.ok((await firstT()) <= 300, `the new strength is used (${await firstT()})`);
  await edit.evaluate((el) => el.setAttribute('steps', '5000'));
  await edit.locator('.ds-attr-error[data-attr="steps"]').waitFor({ timeout: 10000 });
  assert.equal(await edit.locator('.ds-attr-error[data-attr="steps"]').textContent(), 'attribute steps="5000" must be a number between 1 and 1000; using 20');
  assert.equal(await edit.locator('input[name="steps"]').inputValue(), '20');
  await page.waitForFunction(() => !document.querySelector('#ed').busy, null, { timeout: 60000 });

  // removed while an edit runs (a short one: the call in flight must end within detachQuietly's wait)
  await edit.evaluate((el) => el.setAttribute('steps', '4'));
  await page.waitForFunction(() => !document.querySelector('#ed').busy, null, { timeout: 60000 });
  const edits = Number(await edit.getAttribute('data-edits'));
  await edit.locator('button.ds-edit-run').click();
  await detachQuietly(page, edit, 'edit');
  await page.waitForFunction(() => document.querySelector('#ed')?.isConnected);
  await page.waitForFunction(async () => (await import('../core.js')).sharedEngine().models.size === 1, null, { timeout: 60000 });
  await edit.locator('button.ds-edit-run').click();
  await page.waitForFunction((n) => Number(document.querySelector('#ed').dataset.edits) > n && !document.querySelector('#ed').busy, edits, { timeout: 60000 });
  assert.deepEqual(await live(page), ['model_load'], 'only the shared network is held');
  assert.deepEqual(await edit.locator('.ds-error:not(.ds-attr-error)').allTextContents(), []);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('blend widget: live attributes; removed mid-interpolation it stops and gives the network back, put back it works', async () => {
  const page = await emptyPage();
  const blend = await add(page, 'diffuscope-blend', { steps: '5', 'seed-a': '1', 'seed-b': '2' }, 'bl');
  await blend.and(page.locator('[data-ready]')).waitFor({ timeout: 120000 });
  const idle = () => page.waitForFunction(() => { const el = document.querySelector('#bl'); return !el.running && el.path; }, null, { timeout: 60000 });
  await idle();
  assert.equal(await sharedModels(page), 1, 'the network is held (shared)');

  // u moves the pair only; class-b recomputes the row; a bad u is refused with the build's message
  const row = () => blend.evaluate((el) => Array.from(el.path.subarray(8 * 784, 8 * 784 + 64)));
  const rowBefore = await row();
  await blend.evaluate((el) => el.setAttribute('u', '0.25'));
  await page.waitForFunction(() => { const el = document.querySelector('#bl'); return el.shown?.u === 0.25 && !el.running; }, null, { timeout: 60000 });
  assert.equal(await blend.locator('input.ds-blend-u').inputValue(), '0.25');
  assert.deepEqual(await row(), rowBefore, 'u alone keeps the row');
  await blend.evaluate((el) => el.setAttribute('class-b', '3'));
  await page.waitForFunction(() => document.querySelector('#bl').querySelector('select[aria-label="class-b"]').value === '3');
  await page.waitForFunction((before) => { const el = document.querySelector('#bl'); return !el.running && el.path && Array.from(el.path.subarray(8 * 784, 8 * 784 + 64)).some((v, i) => v !== before[i]); }, rowBefore, { timeout: 60000 });
  await blend.evaluate((el) => el.setAttribute('u', '2'));
  await blend.locator('.ds-attr-error[data-attr="u"]').waitFor({ timeout: 10000 });
  assert.equal(await blend.locator('.ds-attr-error[data-attr="u"]').textContent(), 'attribute u="2" must be a number between 0 and 1; using 0.5');
  await idle();
  assert.equal(await blend.evaluate((el) => el.shown.u), 0.5);

  // removed while the row is computed
  await blend.evaluate((el) => el.setAttribute('seed-b', '5'));
  await page.waitForFunction(() => document.querySelector('#bl').running);
  await blend.evaluate((el) => { el.path = null; }); // set again only by a row computed after the removal
  await detachQuietly(page, blend, 'blend');
  await idle();
  assert.equal(await sharedModels(page), 1, 'the network is acquired again');
  assert.equal(await blend.locator('input[aria-label="seed B"]').inputValue(), '5');
  assert.deepEqual(await live(page), ['model_load'], 'only the shared network is held');
  assert.deepEqual(await blend.locator('.ds-error:not(.ds-attr-error)').allTextContents(), []);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
