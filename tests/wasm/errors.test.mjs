// errors.test.mjs — every bad input listed in docs/errors.md, tried for real: the native CLI
// (exit status and message on stderr, no output file left behind) and the WebAssembly entry
// points (DS_ERR with ds_api_last_error(), or web/api.js's own check of the arguments, as the
// worker turns either into a rejected promise).
// Each row has an id that docs/errors.md lists, and the message fragment the table quotes; a
// test checks that the table and these rows name the same cases with the same words.
// Widget rows (ids "ui-...") are in tests/browser/errors.test.mjs.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadModule, call, CLI, ROOT } from './wasm.mjs';

const SAMPLE = path.join(ROOT, 'web', 'data', 'fashion-sample.bin');
const MLP = path.join(ROOT, 'tests', 'golden', 'mlp_tiny.dsw');
const UNET = path.join(ROOT, 'tests', 'golden', 'unet_tiny.dsw');
const POINTS_EPS = path.join(ROOT, 'weights', 'points-moons.dsw');
const POINTS_FLOW = path.join(ROOT, 'weights', 'points-moons-flow.dsw');
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-errors-'));
const F = {
  missing: path.join(DIR, 'no-such-file'),
  garbage: path.join(DIR, 'garbage.dsw'),
  truncated: path.join(DIR, 'truncated.dsw'),
  nanPoints: path.join(DIR, 'nan.txt'),
  empty: path.join(DIR, 'empty.txt'),
  notPng: path.join(DIR, 'not.png'),
  outDir: path.join(DIR, 'an-existing-directory'),
  out: path.join(DIR, 'out.png'),
  ckpt: path.join(DIR, 'run.ckpt'),
};
fs.writeFileSync(F.garbage, 'this is not a weights file');
fs.writeFileSync(F.truncated, fs.readFileSync(MLP).subarray(0, 300));
fs.writeFileSync(F.nanPoints, '0 0\n1 1\nnan 2\n');
fs.writeFileSync(F.empty, '');
fs.writeFileSync(F.notPng, 'hello, I am text');
fs.mkdirSync(F.outDir);

// A checkpoint whose checksum is right but whose model blob (offset 256: kind, n_config,
// config[32] as int32) describes a smaller MLP than its parameter arrays: resuming must
// refuse it rather than copy the arrays past the smaller network's blob.
function fnv1a64(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}
function forgeCheckpoint() {
  const train = (hidden, ckpt) => spawnSync(CLI, ['train', '--model', 'mlp', '--points', 'moons', '--points-n', '64',
    '--steps', '1', '--batch', '16', '--hidden', String(hidden), '--layers', '1', '--out', path.join(DIR, `w${hidden}.dsw`),
    '--checkpoint', ckpt, '--threads', '1'], { encoding: 'utf8' });
  const big = path.join(DIR, 'big.ckpt'), small = path.join(DIR, 'small.ckpt');
  for (const [hidden, file] of [[16, big], [8, small]]) assert.equal(train(hidden, file).status, 0, `training a ${hidden}-wide MLP`);
  const bytes = new Uint8Array(fs.readFileSync(big));
  bytes.set(fs.readFileSync(small).subarray(256, 256 + 4 * 34), 256);
  new DataView(bytes.buffer).setBigUint64(bytes.length - 8, fnv1a64(bytes.subarray(0, bytes.length - 8)), true);
  fs.writeFileSync(F.forged, bytes);
  for (const f of [big, small, path.join(DIR, 'w16.dsw'), path.join(DIR, 'w8.dsw')]) fs.rmSync(f);
}
F.forged = path.join(DIR, 'forged.ckpt');
// a real PNG cut short in its image data
F.cutPng = path.join(DIR, 'cut.png');
function cutPng() {
  const whole = path.join(DIR, 'whole.png');
  assert.equal(spawnSync(CLI, ['points', 'shape', '--shape', 'cow', '-n', '200', '--png', whole]).status, 0);
  fs.writeFileSync(F.cutPng, fs.readFileSync(whole).subarray(0, 100));
  fs.rmSync(whole);
}

// [id, argv, exit status, fragment of stderr]
export const CLI_ROWS = [
  ['cli-steps-0', ['sample', '--analytic', SAMPLE, '--steps', '0', '--png', F.out], 2, '--steps must be between 1 and 1000, got 0'],
  ['cli-steps-1001', ['sample', '--analytic', SAMPLE, '--steps', '1001', '--png', F.out], 2, '--steps must be between 1 and 1000, got 1001'],
  ['cli-steps-text', ['schedule', '--steps', 'ten'], 2, "--steps expects an integer, got 'ten'"],
  ['cli-eta-neg', ['sample', '--analytic', SAMPLE, '--eta', '-0.1', '--png', F.out], 2, '--eta must be between 0 and 1, got -0.1'],
  ['cli-eta-big', ['sample', '--analytic', SAMPLE, '--eta', '1.5', '--png', F.out], 2, '--eta must be between 0 and 1, got 1.5'],
  ['cli-eta-nan', ['sample', '--analytic', SAMPLE, '--eta', 'nan', '--png', F.out], 2, "--eta expects a finite number, got 'nan'"],
  ['cli-eval-eta', ['eval', '--weights', F.missing, '--eta', '2'], 2, '--eta must be between 0 and 1, got 2'],
  ['cli-guidance-inf', ['sample', '--analytic', SAMPLE, '--guidance', 'inf', '--png', F.out], 2, "--guidance expects a finite number, got 'inf'"],
  ['cli-class-11', ['sample', '--analytic', SAMPLE, '--class', '11', '--png', F.out], 2, '--class must be between 0 and 10, got 11'],
  ['cli-class-neg', ['sample', '--analytic', SAMPLE, '--class', '-1', '--png', F.out], 2, '--class must be between 0 and 10, got -1'],
  ['cli-n-0', ['sample', '--analytic', SAMPLE, '--n', '0', '--png', F.out], 2, '--n must be between 1 and 100000, got 0'],
  ['cli-batch-0', ['sample', '--analytic', SAMPLE, '--batch', '0', '--png', F.out], 2, '--batch must be between 1 and 1024, got 0'],
  ['cli-batch-big', ['sample', '--analytic', SAMPLE, '--batch', '100000', '--png', F.out], 2, '--batch must be between 1 and 1024, got 100000'],
  ['cli-seed-frac', ['sample', '--analytic', SAMPLE, '--seed', '1.5', '--png', F.out], 2, "--seed expects an integer, got '1.5'"],
  ['cli-gif-delay', ['sample', '--analytic', SAMPLE, '--gif', F.out, '--gif-delay', '5'], 2, '--gif-delay must be between 10 and 10000, got 5'],
  ['cli-gif-scale', ['sample', '--analytic', SAMPLE, '--gif', F.out, '--gif-scale', '17'], 2, '--gif-scale must be between 1 and 16, got 17'],
  ['cli-classify-size', ['classify', '--images', F.garbage], 1, "has 26 bytes, not a whole number of 28 x 28 images"],
  ['cli-edit-both', ['edit', '--weights', path.join(ROOT, 'weights/fashion-unet.dsw'), '--image', '3', '--slerp', '1,2', '--png', F.out], 2, "edit: give exactly one of --image K or --slerp A,B"],
  ['cli-edit-mask', ['edit', '--weights', path.join(ROOT, 'weights/fashion-unet.dsw'), '--image', '3', '--mask', 'middle', '--png', F.out], 2, "--mask expects top, bottom, left or right, got 'middle'"],
  ['cli-schedule-contradicts', ['sample', '--weights', path.join(ROOT, 'weights/fashion-unet.dsw'), '--schedule', 'cosine', '--png', F.out], 2, '(trained with the linear schedule, T = 1000): drop --schedule'],
  ['cli-train-check-out', ['train-check', '--batch', '4'], 2, 'train-check: --out DIR is required (see --help)'],
  ['cli-train-attention-mlp', ['train', '--model', 'mlp', '--points', 'moons', '--attention', '--out', F.out, '--checkpoint', F.out + '.ckpt'], 2, 'train: --attention is for --model unet'],
  ['cli-sampler', ['sample', '--analytic', SAMPLE, '--sampler', 'euler', '--png', F.out], 2, "--sampler: unknown sampler 'euler' (expected one of ddpm, ddim, dpmpp2m)"],
  ['cli-spacing', ['sample', '--analytic', SAMPLE, '--spacing', '5', '--png', F.out], 2, "--spacing must be 0 (the sampler's own placement) or between 1 and 4, got 5"],
  ['cli-schedule', ['schedule', '--kind', 'quadratic'], 2, "--kind: unknown schedule 'quadratic' (expected linear or cosine)"],
  ['cli-weights-missing', ['sample', '--weights', F.missing, '--png', F.out], 1, `cannot open ${F.missing}`],
  ['cli-weights-garbage', ['info', F.garbage], 1, 'bad magic: a Diffuscope weights file (.dsw) starts with "DSCW"'],
  ['cli-weights-truncated', ['info', F.truncated], 1, 'truncated: the header says the file has 3524 bytes but only 300 are here'],
  ['cli-weights-kind', ['sample', '--weights', MLP, '--png', F.out], 1, 'holds a mlp, not a Fashion UNet'],
  ['cli-convert-dtype', ['convert', '--weights', UNET, '--out', F.out, '--dtype', 'int4'], 2, "--dtype: unknown dtype 'int4' (f32, f16 or q8)"],
  ['cli-points-weights-kind', ['points', 'sample', '--weights', UNET, '-o', F.out], 1, 'is a unet model; points sample needs an MLP'],
  ['cli-sample-file', ['sample', '--analytic', F.garbage, '--png', F.out], 1, 'fashion sample: not a sample file (bad magic; expected "DSFS")'],
  ['cli-sigma-0', ['vi', '--sigma', '0'], 2, '--sigma must be between 0.01 and 100, got 0'],
  ['cli-sigma-neg', ['vi', '--sigma', '-1'], 2, '--sigma must be between 0.01 and 100, got -1'],
  ['cli-mu-nan', ['vi', '--mu', 'nan'], 2, "--mu expects a finite number, got 'nan'"],
  ['cli-target-std-0', ['vi', '--target', '1:0:0'], 2, 'target component 1: std must be between 0.01 and 100 (got 0)'],
  ['cli-target-syntax', ['vi', '--target', '1:0:1,x'], 2, 'expected the weight of component 2 as a number at character 7'],
  ['cli-fit-direction', ['vi', '--fit', 'sideways'], 2, "unknown fit direction 'sideways'"],
  ['cli-shape', ['points', 'shape', '--shape', 'unicorn', '-o', F.out], 1, "'unicorn' is neither a shape (cow, moons, spiral, rings, letter) nor a readable point file"],
  ['cli-points-nan', ['points', 'quality', '--shape', 'cow', '--samples', F.nanPoints], 1, 'line 3: expected two finite numbers'],
  ['cli-points-empty', ['png2points', '--drawing', F.empty, '-o', F.out], 1, 'no points found'],
  ['cli-png-missing', ['png2points', F.missing, '-o', F.out], 1, `cannot open ${F.missing}`],
  ['cli-png-garbage', ['png2points', F.notPng, '-o', F.out], 1, 'not a readable PNG'],
  ['cli-png-truncated', ['png2points', F.cutPng, '-o', F.out], 1, 'not a readable PNG (truncated: the chunk at byte 33 announces'],
  ['cli-threshold-0', ['png2points', F.notPng, '--threshold', '0', '-o', F.out], 2, '--threshold must be between 1 and 255, got 0'],
  ['cli-train-lr', ['train', '--model', 'mlp', '--points', 'moons', '--lr', '-1', '--out', F.out, '--checkpoint', F.ckpt], 2, '--lr must be in [1e-12, 10], got -1'],
  ['cli-resume-missing', ['train', '--model', 'mlp', '--points', 'moons', '--out', F.out, '--checkpoint', F.missing, '--resume'], 1, `cannot read checkpoint ${F.missing}`],
  ['cli-resume-garbage', ['train', '--model', 'mlp', '--points', 'moons', '--out', F.out, '--checkpoint', F.garbage, '--resume'], 1, 'is too short for a checkpoint'],
  ['cli-resume-forged', ['train', '--model', 'mlp', '--points', 'moons', '--points-n', '64', '--out', F.out, '--checkpoint', F.forged, '--resume', '--threads', '1'], 1, 'holds 594 parameters but the model it describes has 298 (corrupt checkpoint)'],
  ['cli-data-missing', ['fashion-sample', '--data', F.missing, '--out', F.out], 1, `cannot open ${F.missing}/t10k-images-idx3-ubyte.gz`],
  ['cli-output-dir', ['sample', '--analytic', SAMPLE, '--n', '1', '--steps', '2', '--png', F.outDir, '--quiet'], 1, `--png ${F.outDir} is a folder: give the name of a file to write`],
  ['cli-command', ['unicorn'], 2, "unknown command 'unicorn'"],
  // scores, Langevin, SDE / ODE and flow matching (issue 16)
  ['cli-points-objective', ['points', 'train', '--points', 'moons', '--objective', 'score', '-o', F.out], 2, "--objective: unknown training objective 'score' (expected diffusion or flow)"],
  ['cli-train-objective-unet', ['train', '--model', 'unet', '--objective', 'flow', '--out', F.out, '--checkpoint', F.ckpt], 2, 'train: --objective flow is for --model mlp (the UNet trains the diffusion objective)'],
  ['cli-points-sampler', ['points', 'sample', '--weights', POINTS_EPS, '--sampler', 'euler', '-o', F.out], 2, "--sampler: unknown sampler 'euler' (expected ddpm, ddim, dpmpp2m, sde, ode-heun, langevin, flow-euler or flow-heun)"],
  ['cli-points-flow-model', ['points', 'sample', '--weights', POINTS_FLOW, '--sampler', 'ddim', '-o', F.out], 1, 'points-moons-flow.dsw predicts the flow velocity: --sampler ddim needs an eps-model (sample this one with flow-euler or flow-heun)'],
  ['cli-points-eps-model', ['points', 'sample', '--weights', POINTS_EPS, '--sampler', 'flow-euler', '-o', F.out], 1, 'points-moons.dsw predicts the noise (eps): --sampler flow-euler needs a flow-matching model (points train --objective flow)'],
  ['cli-points-mesh-langevin', ['points', 'sample', '--weights', POINTS_EPS, '--sampler', 'langevin', '--mesh', '8', '--mesh-png', F.out], 2, 'points sample: --mesh needs sde, ode-heun, flow-euler or flow-heun'],
  ['cli-points-step-size', ['points', 'sample', '--weights', POINTS_EPS, '--sampler', 'langevin', '--step-size', '0', '-o', F.out], 2, "--step-size must be between 1e-09 and 10, got 0"],
  ['cli-points-raw-ddim', ['points', 'sample', '--weights', POINTS_EPS, '--sampler', 'ddim', '--raw', F.out], 2, 'points sample: --paths-png and --raw need a path sampler (sde, ode-heun, langevin, flow-euler, flow-heun), not ddim'],
];

test('CLI: each bad input exits non-zero with a message naming it, and writes nothing', () => {
  forgeCheckpoint();
  cutPng();
  for (const [id, argv, status, fragment] of CLI_ROWS) {
    const r = spawnSync(CLI, argv, { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, status, `${id}: exit status ${r.status} (stderr: ${r.stderr})`);
    assert.ok(r.stderr.includes(fragment), `${id}: stderr lacks "${fragment}":\n${r.stderr}`);
    assert.ok(!fs.existsSync(F.out), `${id}: wrote ${F.out} although it failed`);
  }
  // the failed write into a directory's name left no temporary file beside it
  const leftovers = fs.readdirSync(DIR).filter((f) => f.includes('.tmp.'));
  assert.deepEqual(leftovers, [], 'no half-written temporary files remain');
});

// [id, function of the face (src/wasm_api.h), args(ctx) -> [...], outs, fragment of the message]
const P = new Float64Array([0.5, -2, 1, 0.5, 2, 1]);
const f32 = (...v) => new Float32Array(v);
export const WASM_ROWS = [
  ['wasm-load-short', 'model_load', () => [new Uint8Array([1, 2, 3]), 3], [], 'truncated: 3 bytes is too short for a weights file'],
  ['wasm-load-magic', 'model_load', (c) => { const b = c.mlp.slice(); b[0] = 88; return [b, b.length]; }, [], 'bad magic'],
  ['wasm-load-checksum', 'model_load', (c) => { const b = c.mlp.slice(); b[400] ^= 1; return [b, b.length]; }, [], 'checksum mismatch'],
  ['wasm-load-attention', 'model_load', (c) => { // a UNet header with a 13th config int that is not 1 (checksum resealed)
    const b = c.unet.slice(), v = new DataView(b.buffer);
    v.setUint32(12, 13, true), v.setInt32(16 + 4 * 12, 2, true);
    v.setBigUint64(b.length - 8, fnv1a64(b.subarray(0, b.length - 8)), true);
    return [b, b.length];
  }, [], 'unet config: a 13th int (attention) must be 1, not 2 (files without attention have 12)'],
  ['wasm-handle', 'model_forward', () => [31, f32(0, 0), f32(5), new Int32Array(1), 1], [['f32', 2]], 'model handle 31 was freed already (or never made)'],
  ['wasm-handle-0', 'model_forward', () => [0, f32(0, 0), f32(5), new Int32Array(1), 1], [['f32', 2]], '0 is not a model handle (handles are > 0; 0 means none)'],
  ['wasm-handle-kind', 'model_forward', (c) => [c.gmm, f32(0, 0), f32(5), new Int32Array(1), 1], [['f32', 2]], 'is a mixture, expected a model'],
  ['wasm-handle-freed', 'sampler_step', (c) => [c.freed, 1], [], 'sampler handle 260 was freed already (or never made)'],
  ['wasm-spacing-range', 'sampler_spacing', (c) => [c.sampler, 0.5], [], 'step spacing power must be 0 (the sampler\'s own placement) or between 1 and 4 (got 0.5)'],
  ['wasm-int-frac', 'sampler_step', (c) => [c.sampler, 1.5], [], 'sampler_step: argument 2 must be a whole number (an int), got 1.5'],
  ['wasm-arg-count', 'sampler_step', (c) => [c.sampler], [], 'sampler_step takes 2 arguments (h, i), got 1 + 0 outputs'],
  ['wasm-batch-0', 'model_forward', (c) => [c.model, f32(0, 0), f32(5), new Int32Array(1), 0], [['f32', 2]], 'batch 0 must be at least 1'],
  ['wasm-x-nan', 'model_forward', (c) => [c.model, f32(NaN, 0), f32(5), new Int32Array(1), 1], [['f32', 2]], 'x[0] is not finite'],
  ['wasm-t-range', 'model_forward', (c) => [c.model, f32(0, 0), f32(2000), new Int32Array(1), 1], [['f32', 2]], 't[0] = 2000 must be in [0, 1000]'],
  ['wasm-seed-nan', 'model_random', () => ['mlp', new Int32Array(1), 0, NaN], [], 'model_random: argument 4 is NaN, not a finite number'],
  ['wasm-seed-neg', 'model_random', () => ['mlp', new Int32Array(1), 0, -1], [], 'seed must be a whole number between 0 and 2^53 (got -1)'],
  ['wasm-schedule-t', 'schedule_table', () => ['linear', 1001, 1], [['f64', 5]], 'number of diffusion steps T must be between 1 and 1000 (got 1001)'],
  ['wasm-schedule-kind', 'schedule_table', () => ['quadratic', 10, 5], [['f64', 50]], '"quadratic" is not a schedule: one of linear, cosine'],
  ['wasm-sigma-0', 'vi_evaluate', () => [2, P, 0, 0, 0], [['f64', 12]], 'sigma must be between 0.01 and 100 (got 0)'],
  ['wasm-sigma-neg', 'vi_evaluate', () => [2, P, 0, -1, 0], [['f64', 12]], 'sigma must be between 0.01 and 100 (got -1)'],
  ['wasm-mu-inf', 'vi_evaluate', () => [2, P, Infinity, 1, 0], [['f64', 12]], 'vi_evaluate: argument 3 is Infinity, not a finite number'],
  ['wasm-target-spec', 'vi_parse_target', () => [new TextEncoder().encode('1:0:1,x'), 7], [['f64', 25]], 'expected the weight of component 2'],
  ['wasm-target-k', 'vi_evaluate', () => [9, new Float64Array(27).fill(1), 0, 1, 0], [['f64', 12]], 'target must have between 1 and 8 components (got 9)'],
  ['wasm-fit-direction', 'vi_fit_path', () => [2, P, 'sideways', 0, 1, 10], [['f64', 33]], '"sideways" is not a vi_direction: one of reverse, forward'],
  ['wasm-steps-0', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 0, 0, 1, 0, 1, 1, new Int32Array([10])], [], 'steps must be between 1 and 1000 (got 0)'],
  ['wasm-steps-1001', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 1001, 0, 1, 0, 1, 1, new Int32Array([10])], [], 'steps must be between 1 and 1000 (got 1001)'],
  ['wasm-eta-neg', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, -0.1, 1, 0, 1, 1, new Int32Array([10])], [], 'eta must be between 0 and 1 (got -0.1)'],
  ['wasm-eta-big', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, 1.5, 1, 0, 1, 1, new Int32Array([10])], [], 'eta must be between 0 and 1 (got 1.5)'],
  ['wasm-eta-nan', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, NaN, 1, 0, 1, 1, new Int32Array([10])], [], 'sampler_new: argument 5 is NaN, not a finite number'],
  ['wasm-guidance-inf', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, 0, Infinity, 0, 1, 1, new Int32Array([10])], [], 'sampler_new: argument 6 is Infinity, not a finite number'],
  ['wasm-class-11', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, 0, 1, 0, 1, 1, new Int32Array([11])], [], 'must be between 0 and 10 (got 11)'],
  ['wasm-batch-big', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, 0, 1, 0, 1, 100000, new Int32Array([10])], [], 'batch must be between 1 and 4096 (got 100000)'],
  ['wasm-sampler-kind', 'sampler_new', (c) => [c.gmm, 'linear', 'euler', 5, 0, 1, 0, 1, 1, new Int32Array([10])], [], '"euler" is not a sampler_kind: one of ddpm, ddim, dpmpp2m'],
  ['wasm-sampler-schedule', 'sampler_new', (c) => [c.gmm, 'cosine', 'ddim', 5, 0, 1, 0, 1, 1, new Int32Array([10])], [], 'the mixture was made with the linear schedule, not cosine'],
  ['wasm-seed-frac', 'sampler_new', (c) => [c.gmm, 'linear', 'ddim', 5, 0, 1, 0, 1.5, 1, new Int32Array([10])], [], 'seed must be a whole number between 0 and 2^53 (got 1.5)'],
  ['wasm-gmm-x-nan', 'mixture_predict', (c) => [c.gmm, 'x0', f32(NaN, 0), f32(5), new Int32Array([10]), 1], [['f32', 2]], 'gmm predict: x[0] is not finite'],
  ['wasm-gmm-what', 'mixture_predict', (c) => [c.gmm, 'x_t', f32(0, 0), f32(5), new Int32Array([10]), 1], [['f32', 2]], 'gmm predict: what must be x0 or eps (got x_t)'],
  ['wasm-gmm-weight', 'mixture_new', () => [1, 2, new Float64Array([0]), f32(0, 0), f32(1, 1), new Int32Array([-1]), 'linear'], [], 'gmm: weight 0 must be positive (got 0)'],
  ['wasm-sample-file', 'mixture_images', () => [new Uint8Array(4), new Uint8Array(1), 0, 4, 0, 'linear'], [], 'image count must be between 1 and 65536 (got 0)'],
  ['wasm-sample-version', 'fashion_sample', (c) => [c.sampleV2, c.sampleV2.length], [['rec', 'fashion_sample']], 'fashion sample: version 2, this build reads version 1 (regenerate it with `diffuscope fashion-sample`)'],
  ['wasm-shape-kind', 'shape_points', () => ['blob', 10, 1], [['f32', 20]], '"blob" is not a shape: one of cow, moons, spiral, rings, letter'],
  ['wasm-points-nan', 'trainer_new', () => [f32(NaN, 0, 1, 1), 2, 16, 2, 8, 1e-3, 100, 1], [], 'training point 0 is not finite'],
  ['wasm-lr', 'trainer_new', () => [f32(0, 0, 1, 1), 2, 16, 2, 8, -1, 100, 1], [], 'learning rate must be between 1e-06 and 1 (got -1)'],
  ['wasm-drawing-area', 'drawing_points', () => [f32(0, 0, 1, 1, 2, 2), new Int32Array([3]), 1, 'filled', 0.1, 10, 1], [['f32', 20]], 'the polygon encloses (almost) no area'],
  ['wasm-image-ink', 'image_points', () => [new Uint8Array([255, 255, 255, 255]), 2, 2, 100, 10, 1], [['f32', 20]], 'no pixel is darker than the threshold 100'],
  ['wasm-noise-t', 'forward_noise', () => [new Uint8Array(4), 4, 1001, 'linear', 1], [['u8', 4], ['f64', 4]], 'must be between 0 and 1000 (got 1001)'],
  // scores, Langevin, SDE / ODE and flow matching (issue 16)
  ['wasm-path-kind', 'paths', (c) => [c.gmm, 'euler', 5, 0, 0, 0, 0, 1, f32(0, 0), 1], [['f32', 12], ['f64', 6]], '"euler" is not a path_kind: one of langevin, sde, ode-heun, flow-euler, flow-heun'],
  ['wasm-path-eps-model', 'paths', (c) => [c.model, 'flow-euler', 5, 0, 0, 0, 0, 1, f32(0, 0), 1], [['f32', 12], ['f64', 6]], 'this model predicts the noise ε, not a flow velocity: flow-euler needs a flow-matching model'],
  ['wasm-path-flow-model', 'paths', (c) => [c.flow, 'sde', 5, 0, 0, 0, 0, 1, f32(0, 0), 1], [['f32', 12], ['f64', 6]], 'this model predicts the flow velocity, not the noise: sde needs an ε-model'],
  ['wasm-sampler-flow-model', 'sampler_new', (c) => [c.flow, 'linear', 'ddim', 5, 0, 1, 0, 1, 1, new Int32Array([10])], [], 'sampler: the model predicts the flow velocity, not the noise: ddpm, ddim and dpmpp2m need an ε- or v-model'],
  ['wasm-path-start', 'paths', (c) => [c.gmm, 'ode-heun', 5, 2.5, 0, 0, 0, 1, f32(0, 0), 1], [['f32', 12], ['f64', 6]], 'start timestep must be a whole number in 1..1000 (got 2.5)'],
  ['wasm-score-t', 'score', (c) => [c.gmm, 0, f32(0, 0), 1], [['f32', 2]], 'score timestep t must be between 1 and 1000 (got 0)'],
  ['wasm-velocity-t', 'velocity', (c) => [c.gmm, 1.5, f32(0, 0), 1], [['f32', 2]], 'flow time t must be between 0 and 1 (got 1.5)'],
  ['wasm-grid-size', 'score_grid', (c) => [c.gmm, 10, -3, 3, 65], [['f32', 2 * 65 * 65]], 'field grid size must be between 2 and 64 (got 65)'],
  ['wasm-langevin-step', 'langevin', (c) => [c.gmm, 10, 0, 5, 1, f32(0, 0), 1], [['f32', 12]], 'Langevin step size must be between 1e-09 and 10 (got 0)'],
  ['wasm-mixture-var', 'points_mixture', () => [f32(0, 0), 1, -1, 'linear'], [], 'mixture variance must be between 0 and 100 (got -1)'],
  ['wasm-objective', 'trainer_objective_new', () => ['score', f32(0, 0, 1, 1), 2, 16, 2, 8, 1e-3, 100, 1], [], '"score" is not a training_objective: one of diffusion, flow'],
  // arrays sized for another model: refused before C reads or writes them (ds_api_bounds)
  ['wasm-shape-forward', 'model_forward', (c) => [c.model, new Float32Array(784), f32(5), new Int32Array(1), 1], [['f32', 784]],
    'model_forward: x holds 784 values, but 1 item of 2 values (an mlp of 2-D points) take: exactly 2'],
  ['wasm-shape-read', 'sampler_read_u8', (c) => [c.sampler, 'x0'], [['u8', 784]],
    'sampler_read_u8: out holds 784 values, but 1 item of 2 values (a mixture of 2-value items) take: exactly 2'],
  ['wasm-shape-run', 'sampler_run', (c) => [c.sampler], [['f32', 10], ['recs', 'sampler_info', 4]], 'sampler_run: frames holds 10 values, but'],
  ['wasm-peek-size', 'weights_peek', (c) => { const b = c.mlp.slice(0, 256); new DataView(b.buffer).setBigUint64(152, 1500000000n, true); return [b, 256]; },
    [['rec', 'weights_peek']], 'header: the file announces 1500000000 bytes, but an mlp of this config takes'],
  ['wasm-peek-short', 'weights_peek', (c) => [c.mlp.slice(0, 100), 100], [['rec', 'weights_peek']], 'truncated: 100 bytes, but the header alone takes 256'],
  ['wasm-sdedit-t0', 'sampler_sdedit', (c) => [c.sampler, 1001, new Uint8Array(2)], [['rec', 'sampler_info']], 'sdedit strength t0 must be between 0 and 1000 (got 1001)'],
  ['wasm-inpaint-mask', 'sampler_inpaint', (c) => [c.sampler, new Uint8Array(2), new Uint8Array([0, 2]), 1, 1], [], 'inpaint: mask value 1 is 2 (expected 0 = keep, 1 = regenerate)'],
  ['wasm-blend-mixture', 'sampler_blend', (c) => [c.sampler, new Int32Array([1]), f32(0.5)], [], '(class interpolation needs a network)'],
  ['wasm-guidance-map', 'sampler_guidance_map', (c) => [c.sampler], [['f32', 2]], 'guidance map: the sampler is not guided (guidance 1 runs no unconditional half)'],
  ['wasm-gif-scale', 'gif_encode', () => [new Uint8Array(4), 1, 2, 2, 17, 8, 0, 0, null], [], 'gif scale must be between 1 and 16 (got 17)'],
];

for (const variant of ['simd', 'scalar']) {
  test(`WebAssembly (${variant}): each bad input returns DS_ERR with a message naming it`, async () => {
    const M = await loadModule(variant);
    const mlp = new Uint8Array(fs.readFileSync(MLP));
    const sampleV2 = new Uint8Array(fs.readFileSync(SAMPLE));
    sampleV2[4] = 2;
    const ctx = {
      mlp,
      unet: new Uint8Array(fs.readFileSync(UNET)),
      sampleV2,
      model: call(M, 'model_load', [mlp, mlp.length]).ret,
      gmm: call(M, 'mixture_new', [1, 2, new Float64Array([1]), f32(0, 0), f32(1, 1), new Int32Array([-1]), 'linear']).ret,
    };
    ctx.sampler = call(M, 'sampler_new', [ctx.gmm, 'linear', 'ddim', 3, 0, 1, 0, 1, 1, new Int32Array([10])]).ret;
    // a freed sampler handle: the 4th object of a fresh module (slot 4, generation 1: 1 * 256 + 4)
    ctx.freed = call(M, 'sampler_new', [ctx.gmm, 'linear', 'ddim', 3, 0, 1, 0, 1, 1, new Int32Array([10])]).ret;
    call(M, 'free', [ctx.freed]);
    const flowBytes = new Uint8Array(fs.readFileSync(POINTS_FLOW)); // a flow-matching model (after the freed handle's slot)
    ctx.flow = call(M, 'model_load', [flowBytes, flowBytes.length]).ret;
    const wrong = [];
    for (const [id, fn, args, outs, fragment] of WASM_ROWS) {
      assert.equal(typeof M['_ds_api_' + fn], 'function', `${id}: ${fn} is exported`);
      M._ds_api_clear_error();
      try {
        call(M, fn, args(ctx), outs);
        wrong.push(`${id}: ${fn} accepted a bad input`);
      } catch (err) {
        if (!err.message.includes(fragment)) wrong.push(`${id}: "${err.message}" lacks "${fragment}"`);
      }
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
    // the failures leaked nothing and corrupted nothing: a good call still works
    const h = call(M, 'sampler_new', [ctx.gmm, 'linear', 'ddim', 3, 0, 1, 0, 1, 1, new Int32Array([10])]).ret;
    assert.equal(call(M, 'sampler_step', [h, 3]).ret, 3);
    call(M, 'free', [h]);
  });
}

// docs/errors.md's table rows: | `id` | input | what the user sees |
function docRows() {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^\|\s*`([a-z0-9-]+)`\s*\|(.*)\|\s*$/);
    if (m) rows.set(m[1], m[2]);
  }
  return rows;
}

test('docs/errors.md lists exactly the CLI and WebAssembly rows tested here, with their messages', () => {
  const doc = docRows();
  const tested = new Map([...CLI_ROWS.map((r) => [r[0], r[3]]), ...WASM_ROWS.map((r) => [r[0], r[4]])]);
  for (const [id, fragment] of tested) {
    assert.ok(doc.has(id), `docs/errors.md has no row ${id}`);
    // the table quotes the message without the temporary paths the test uses
    const quoted = fragment.replaceAll(DIR + '/', '').replaceAll(ROOT + '/', '');
    assert.ok(doc.get(id).includes(quoted), `docs/errors.md row ${id} does not quote "${quoted}"`);
  }
  // ui- rows: tests/browser/errors.test.mjs; page- rows: tests/browser/hardening2.test.mjs; run- rows: tests/test_outputs_cli.c (ctest)
  for (const id of doc.keys()) if (!/^(ui|page|run|img)-/.test(id)) assert.ok(tested.has(id), `docs/errors.md row ${id} has no test`);
});

test.after(() => fs.rmSync(DIR, { recursive: true, force: true }));
