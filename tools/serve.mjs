// serve.mjs — a plain static file server for the demo: no special headers (no COOP/COEP),
// exactly what a blog host gives. Serves web/ and weights/ from the repository root so the
// page's relative URLs work the same here as on any static host.
//   node tools/serve.mjs [--port 8000] [--host 127.0.0.1]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVED = ['web', 'weights', 'dist', 'node_modules/katex/dist'];
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.bin': 'application/octet-stream', '.dsw': 'application/octet-stream',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.txt': 'text/plain; charset=utf-8',
};

export function startServer({ port = 8000, host = '127.0.0.1', quiet = false } = {}) {
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (rel === '/') {
      res.writeHead(302, { Location: '/web/' }).end();
      return;
    }
    if (rel.endsWith('/')) rel += 'index.html';
    let file = path.resolve(ROOT, '.' + rel);
    let allowed = SERVED.some((d) => file.startsWith(path.join(ROOT, d) + path.sep));
    // DS_WASM_DIR: serve the modules from another build folder (tests of parallel checkouts)
    if (process.env.DS_WASM_DIR && rel.startsWith('/web/wasm/')) {
      const dir = path.resolve(process.env.DS_WASM_DIR);
      file = path.resolve(dir, '.' + rel.slice('/web/wasm'.length));
      allowed = file.startsWith(dir + path.sep);
    }
    fs.stat(file, (err, st) => {
      if (!allowed || err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': st.size, 'Cache-Control': 'no-cache' });
      fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const url = `http://${host}:${server.address().port}/web/`;
      if (!quiet) console.log(`Diffuscope is being served at ${url}  (Ctrl-C stops it)`);
      resolve({ server, url });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const port = Number(arg('--port', process.env.PORT || 8000));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer between 0 and 65535 (got ${arg('--port')})`);
    process.exit(2);
  }
  startServer({ port, host: arg('--host', '127.0.0.1') }).catch((err) => {
    console.error(`serve: cannot listen on port ${port}: ${err.message}`);
    process.exit(1);
  });
}
