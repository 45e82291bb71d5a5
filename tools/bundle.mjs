// bundle.mjs — builds dist/, the embedding kit: everything a blog needs to host the widgets
// as static files (ES module, worker, wasm, weights, css, KaTeX for the article), and prints
// the size of each part raw and gzipped. Run by tools/demo.sh after the build.
//   node tools/bundle.mjs [--quiet]
//   node tools/bundle.mjs --check-package   (npm's prepack: the build outputs the package ships
//                                            are there and carry package.json's version)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

function copyTree(src, dst, filter = () => true) {
  if (!fs.existsSync(src)) return;
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name), d = path.join(dst, entry.name);
    if (!filter(s, entry)) continue;
    if (entry.isDirectory()) copyTree(s, d, filter);
    else {
      fs.mkdirSync(dst, { recursive: true });
      fs.copyFileSync(s, d);
    }
  }
}

export function vendorKatex(webDir = path.join(ROOT, 'web')) {
  const src = path.join(ROOT, 'node_modules', 'katex', 'dist');
  const dst = path.join(webDir, 'vendor', 'katex');
  if (!fs.existsSync(src)) throw new Error('node_modules/katex is missing: run tools/setup.sh');
  fs.mkdirSync(path.join(dst, 'fonts'), { recursive: true });
  for (const f of ['katex.mjs', 'katex.min.css']) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  for (const f of fs.readdirSync(path.join(src, 'fonts'))) if (f.endsWith('.woff2')) fs.copyFileSync(path.join(src, 'fonts', f), path.join(dst, 'fonts', f));
}

export function gzipSize(file) {
  return zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

export function buildDist() {
  fs.rmSync(DIST, { recursive: true, force: true });
  vendorKatex();
  // dist/ mirrors the repository's served layout, so relative URLs stay the same:
  //   dist/web/... (page, module, worker, wasm, widgets, vendor) and dist/weights/*.dsw
  copyTree(path.join(ROOT, 'web'), path.join(DIST, 'web'));
  copyTree(path.join(ROOT, 'weights'), path.join(DIST, 'weights'), (p, e) => e.isDirectory() ? !p.endsWith('checkpoints') : p.endsWith('.dsw') || p.endsWith('.bin'));
  const files = walk(DIST).map((f) => ({ file: path.relative(DIST, f), raw: fs.statSync(f).size, gz: gzipSize(f) }));
  return files;
}

const kb = (n) => (n / 1024).toFixed(1).padStart(8) + ' KB';

// What `npm pack` needs that the build makes (web/wasm/ is not in git): an error naming what is
// missing or stale, and the command that makes it.
export function checkPackage() {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  const wasm = path.join(ROOT, 'web', 'wasm');
  const missing = ['diffuscope_simd.js', 'diffuscope_simd.wasm', 'diffuscope_scalar.js', 'diffuscope_scalar.wasm', 'version.js']
    .filter((f) => !fs.existsSync(path.join(wasm, f)));
  if (missing.length) throw new Error(`web/wasm/ lacks ${missing.join(', ')}: build the WebAssembly modules first (tools/setup.sh, or emcmake cmake -S . -B build-wasm && cmake --build build-wasm)`);
  const built = fs.readFileSync(path.join(wasm, 'version.js'), 'utf8').match(/VERSION = '([^']*)'/)?.[1];
  if (built !== version) throw new Error(`web/wasm/version.js says ${built}, package.json ${version}: rebuild (cmake --build build-wasm) so the kit carries the package's version`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--check-package')) {
  try {
    checkPackage();
  } catch (err) {
    console.error('bundle: ' + err.message);
    process.exit(1);
  }
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = buildDist();
  const groups = new Map();
  for (const f of files) {
    const group = f.file.startsWith('weights/') ? 'weights (*.dsw)' : f.file.includes('/wasm/') ? 'wasm modules' : f.file.includes('/vendor/katex/') ? 'KaTeX (js, css, woff2)' : 'page, widgets, worker, css';
    const g = groups.get(group) ?? { raw: 0, gz: 0, n: 0 };
    g.raw += f.raw; g.gz += f.gz; g.n++;
    groups.set(group, g);
  }
  console.log(`dist/ built: ${files.length} files`);
  console.log(`  ${'part'.padEnd(28)} ${'raw'.padStart(11)} ${'gzip'.padStart(11)}`);
  let raw = 0, gz = 0;
  for (const [name, g] of groups) {
    console.log(`  ${name.padEnd(28)} ${kb(g.raw)} ${kb(g.gz)}`);
    raw += g.raw; gz += g.gz;
  }
  console.log(`  ${'total (everything in dist/)'.padEnd(28)} ${kb(raw)} ${kb(gz)}`);
  console.log('  (the browser test measures what the article page actually transfers)');
}
