// sites.mjs — builds real sites with the embedding kit by following docs/embedding.md: the
// package tarball from `npm pack`, then for each engine (Hugo, Jekyll, Hexo, Vite) a fresh site
// skeleton (what the engine's own `new`/`init` gives, or the nearest offline equivalent), then
// every block of the doc marked `<!-- test ENGINE[ BASE]: ACTION ARG -->`, as written: `run`
// (a shell block, run in the site), `write FILE`, `set FILE KEY` (replace the line that sets
// KEY). Blocks with a BASE (`/blog/`) apply only to the site built under that base path.
// Each site's theme carries HOSTILE_CSS, the rules the widgets must not feel.
// Not here: checking the pages (check.mjs), driving browsers (*.test.mjs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

// A theme at its worst: global element rules, and one --ds-* property the widgets must follow.
export const THEMED_PANEL = 'rgb(250, 240, 200)';
export const HOSTILE_CSS = `table, td, th { border: 3px solid rgb(255, 0, 0) !important; }
input { width: 7px !important; margin: 9px !important; }
canvas { border: 5px solid rgb(255, 0, 0); width: 13px !important; }
img { display: none !important; }
:root { --ds-panel: ${THEMED_PANEL}; }
`;

// The marked blocks of docs/embedding.md, in order: {engine, base, action, arg, key, body}.
export function docSteps(docPath = path.join(ROOT, 'docs', 'embedding.md')) {
  const text = fs.readFileSync(docPath, 'utf8');
  const re = /<!-- test ([\w-]+)( \/[\w/]*\/)?: (run|write|set)([^>]*?) -->\n```[^\n]*\n([\s\S]*?)```/g;
  const steps = [];
  for (const m of text.matchAll(re)) {
    const [file, key] = m[4].trim().split(/\s+/);
    steps.push({ engine: m[1], base: m[2] ? m[2].trim() : null, action: m[3], file, key, body: m[5] });
  }
  return steps;
}

const sh = (cmd, cwd, env = {}) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, ...env } }).toString();

export function applyStep(step, dir) {
  if (step.action === 'run') return sh(step.body, dir);
  const file = path.join(dir, step.file);
  if (step.action === 'write') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.writeFileSync(file, step.body);
  }
  // set: the doc's line replaces the line that sets KEY (the file must have one)
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => new RegExp(`^${step.key}\\s*[:=]`).test(l));
  if (at < 0) throw new Error(`${step.file} has no ${step.key} line to set`);
  lines[at] = step.body.trim();
  fs.writeFileSync(file, lines.join('\n'));
}

// `npm pack` of this checkout, once per process: the tarball's path.
let tarball = null;
export function packKit() {
  if (tarball) return tarball;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuscope-pack-'));
  const name = sh(`npm pack --silent --pack-destination ${JSON.stringify(dir)}`, ROOT).trim().split('\n').pop();
  return (tarball = path.join(dir, name));
}

// Per engine: make the skeleton in `dir`; build it (after the doc's steps) and return the
// folder to serve. Skeletons are what `hugo new site`, `jekyll new` and `hexo init` give, plus
// a theme that carries HOSTILE_CSS.
const ENGINES = {
  hugo: {
    skeleton(dir) {
      sh('hugo new site --force . >/dev/null', dir);
      fs.mkdirSync(path.join(dir, 'layouts', '_default'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'layouts', '_default', 'single.html'),
        `<!doctype html><html><head><meta charset="utf-8"><title>{{ .Title }}</title><style>${HOSTILE_CSS}</style></head><body><main>{{ .Content }}</main></body></html>\n`);
    },
    build(dir) {
      sh('hugo --quiet', dir);
      return { out: path.join(dir, 'public'), page: 'posts/diffusion/' };
    },
  },
  jekyll: {
    skeleton(dir) {
      sh('jekyll new --skip-bundle --force . >/dev/null', dir);
      // minima's stylesheet, with the hostile rules appended
      fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'assets', 'main.scss'), `---\n---\n@import "minima";\n${HOSTILE_CSS}`);
    },
    build(dir) {
      sh('jekyll build --quiet', dir);
      return { out: path.join(dir, '_site'), page: '2026/01/01/diffusion.html' };
    },
  },
  hexo: {
    skeleton(dir) {
      // hexo init clones a starter from GitHub; offline, the same config lines and packages
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
        name: 'site', private: true, hexo: { version: readVersion('hexo') },
        dependencies: Object.fromEntries(['hexo', 'hexo-renderer-ejs', 'hexo-renderer-marked', 'hexo-renderer-stylus', 'hexo-theme-landscape'].map((p) => [p, readVersion(p)])),
      }, null, 2));
      fs.writeFileSync(path.join(dir, '_config.yml'), 'title: Hexo\nurl: http://example.com\nroot: /\nsource_dir: source\npublic_dir: public\nskip_render:\ntheme: landscape\n');
      fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'scripts', 'hostile-theme.js'), `hexo.extend.injector.register('head_end', ${JSON.stringify(`<style>${HOSTILE_CSS}</style>`)});\n`);
    },
    build(dir) {
      sh('hexo generate --silent', dir);
      return { out: path.join(dir, 'public'), page: '2026/01/01/diffusion/' };
    },
  },
  vite: {
    skeleton(dir) {
      // what `npm create vite@latest -- --template vanilla` gives, minus the demo files; vite
      // itself is this checkout's (package-lock.json), found on PATH by `npm run`
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
        name: 'app', private: true, version: '0.0.0', type: 'module',
        scripts: { dev: 'vite', build: 'vite build', preview: 'vite preview' },
      }, null, 2));
      fs.writeFileSync(path.join(dir, 'style.css'), HOSTILE_CSS);
    },
    // the doc writes index.html and main.js; the theme's stylesheet joins main.js
    beforeBuild(dir) {
      fs.appendFileSync(path.join(dir, 'main.js'), "import './style.css';\n");
    },
    build(dir) {
      return { out: path.join(dir, 'dist'), page: '' };
    },
  },
};
export const ENGINE_NAMES = Object.keys(ENGINES);

function readVersion(pkg) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

// Builds `engine`'s site for base '/' or '/blog/' in a fresh folder, following the doc.
// Returns {dir, out, page, seconds}: serve `out` at `base`, open base + page.
export function buildSite(engine, base, steps = docSteps()) {
  const t0 = Date.now();
  const e = ENGINES[engine];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `diffuscope-${engine}-`));
  e.skeleton(dir);
  fs.copyFileSync(packKit(), path.join(dir, path.basename(packKit())));
  const mine = steps.filter((s) => s.engine === engine && (s.base === null || s.base === base));
  if (!mine.length) throw new Error(`docs/embedding.md has no steps for ${engine}`);
  let buildRan = false;
  for (const step of mine) {
    if (engine === 'vite' && step.action === 'run' && /npm run build/.test(step.body)) {
      // the base-path variant replaces the plain build
      if (base !== '/' && step.base === null) continue;
      e.beforeBuild(dir);
      buildRan = true;
    }
    applyStep(step, dir);
  }
  if (engine === 'vite' && !buildRan) throw new Error('docs/embedding.md: no vite build step');
  return { dir, ...e.build(dir), seconds: (Date.now() - t0) / 1000 };
}
