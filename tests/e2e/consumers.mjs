// Consumer apps (issue 15): the packed tarball installed into a real Vite + React + TypeScript
// app (tests/consumers/vite), built for production, served from a plain static server on a free
// port, and two browser contexts holding a call through the reference server (SOHBET_HTTP_URL /
// SOHBET_WS_URL, started by scripts/test.sh): each page lists the other and hears it. The app's
// npm install is kept in ~/.cache/sohbet-rtc/consumers so reruns are quick. Needs pkg/
// (bash scripts/build_pkg.sh). Prints `e2e: N passed, M failed`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launch } from './harness.mjs';

const HTTP = (process.env.SOHBET_HTTP_URL ?? 'http://127.0.0.1:18080').replace(/\/+$/, '');
const WS = process.env.SOHBET_WS_URL ?? 'ws://127.0.0.1:18081';
const CACHE = path.join(process.env.HOME ?? os.tmpdir(), '.cache/sohbet-rtc/consumers');
const HEARD_DB = -50;
let passed = 0; let failed = 0;

function record(name, ok, note) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${note ? ` — ${note}` : ''}`);
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

/** Copies the app's sources into the cached work directory (keeping its node_modules). */
function prepare(app) {
  const src = path.join(ROOT, 'tests/consumers', app);
  const dir = path.join(CACHE, app);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, 'src'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  fs.cpSync(src, dir, { recursive: true });
  return dir;
}

// Each app's development server on a given port (loopback only, that port or fail).
const DEV = {
  vite: (port) => ['vite', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
};

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** A static server for `dist` on a free loopback port (SPA fallback to index.html). */
function serve(dist) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = path.join(dist, path.normalize(url.pathname));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, 'index.html');
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function login(name) {
  const r = await fetch(`${HTTP}/api/dev/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name }),
  });
  if (!r.ok) throw new Error(`dev login ${r.status}: ${await r.text()}`);
  return r.json();
}

// Counts what the page holds open: WebSockets to the voice socket (not, e.g., the dev server's
// HMR socket) and RTCPeerConnections.
const COUNT_OPEN = (voiceUrl) => {
  const sockets = []; const pcs = [];
  const NativeWs = window.WebSocket;
  window.WebSocket = class extends NativeWs { constructor(...a) { super(...a); sockets.push(this); } };
  const NativePc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc { constructor(...a) { super(...a); pcs.push(this); } };
  window.openCounts = () => ({
    sockets: sockets.filter((s) => s.url.startsWith(voiceUrl) && s.readyState <= 1).length,
    peerConnections: pcs.filter((pc) => pc.signalingState !== 'closed').length,
  });
};

/** Two browser contexts on `base` join one channel; each must list and hear the other. */
async function callIn(app, base, browser) {
  const channel = 70000 + Math.floor(Math.random() * 20000);
  const users = [await login(`${app}a${channel}`), await login(`${app}b${channel}`)];
  const pages = [];
  try {
    for (const { token, user } of users) {
      const context = await browser.newContext();
      await context.addInitScript(COUNT_OPEN, WS);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const q = new URLSearchParams({ ws: WS, token, user: String(user.id), channel: String(channel) });
      await page.goto(`${base}/?${q}`);
      pages.push({ page, context, errors, user });
    }
    const t0 = Date.now();
    for (const [i, { page, errors }] of pages.entries()) {
      const other = pages[1 - i].user.id;
      try {
        await page.waitForFunction(({ other, heard }) => (window.loudness?.()[other] ?? -200) > heard
          && document.querySelector(`#participants [data-user="${other}"]`) !== null, { other, heard: HEARD_DB }, { timeout: 30000 });
      } catch (e) {
        const state = await page.evaluate(() => ({ status: document.querySelector('#status')?.textContent, levels: window.loudness?.() })).catch(() => null);
        throw new Error(`page ${i} does not list and hear ${other}: ${JSON.stringify(state)}; page errors ${JSON.stringify(errors)}`);
      }
    }
    const ms = Date.now() - t0;
    const levels = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.loudness())));
    const open = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.openCounts())));
    // One voice socket and one peer connection (one remote user) per page, also after
    // StrictMode's double mount in development.
    if (open.some((o) => o.sockets !== 1 || o.peerConnections !== 1)) throw new Error(`open per page: ${JSON.stringify(open)}`);
    return `both list and hear each other after ${ms} ms (levels ${levels.map((l) => Object.values(l).map((d) => `${d.toFixed(0)} dBFS`)).join(', ')}); per page 1 socket, 1 peer connection`;
  } finally {
    for (const { context } of pages) await context.close().catch(() => {});
  }
}

/** Starts `cmd args` in `dir` (a dev server) and waits until `url` answers; returns the process. */
async function devServer(cmd, args, dir, url) {
  const proc = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 120000;
  for (;;) {
    try { if ((await fetch(url)).ok) return proc; } catch { /* not yet */ }
    if (proc.exitCode !== null || Date.now() > deadline) {
      stop(proc);
      throw new Error(`dev server did not start: ${out.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Stops a dev server and everything it started (its process group), by PID. */
function stop(proc) {
  try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* already gone */ }
}

async function freePort() {
  const srv = http.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function main() {
  const tarball = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sohbet-pack-')), 'x');
  const packed = run('npm', ['pack', '--silent', '--pack-destination', path.dirname(tarball)], path.join(ROOT, 'pkg')).trim().split('\n').at(-1);
  const tgz = path.join(path.dirname(tarball), packed);
  let browser = null;
  try {
    browser = await launch();
    for (const app of ['vite']) {
      let dir;
      try {
        dir = prepare(app);
        const t0 = Date.now();
        run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
        run('npm', ['install', '--no-audit', '--no-fund', '--no-save', tgz], dir);
        record(`${app}: the app installs the packed tarball`, fs.existsSync(path.join(dir, 'node_modules/sohbet-rtc/package.json')), `${Date.now() - t0} ms`);
        run('npx', ['tsc', '-p', '.'], dir);
        record(`${app}: tsc --strict (skipLibCheck false) accepts the app against the package's types`, true);
        const t1 = Date.now();
        run('npm', ['run', 'build'], dir);
        const assets = fs.readdirSync(path.join(dir, 'dist/assets'));
        record(`${app}: the production build emits the wasm`, assets.some((f) => f.endsWith('.wasm')), `${assets.join(', ')} in ${Date.now() - t1} ms`);
      } catch (e) {
        record(`${app}: install, type-check and build`, false, e.message.slice(0, 1500));
        continue;
      }
      const server = await serve(path.join(dir, 'dist'));
      try {
        record(`${app}: two browser contexts hold a call through the reference server (production build)`, true,
          await callIn(app, `http://127.0.0.1:${server.address().port}`, browser));
      } catch (e) {
        record(`${app}: two browser contexts hold a call through the reference server (production build)`, false, e.message.slice(0, 1500));
      } finally {
        server.close();
      }
      let dev = null;
      try {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        dev = await devServer('npx', DEV[app](port), dir, base);
        record(`${app}: the same call on the development server, under StrictMode's double mount`, true, await callIn(app, base, browser));
      } catch (e) {
        record(`${app}: the same call on the development server, under StrictMode's double mount`, false, e.message.slice(0, 1500));
      } finally {
        if (dev) stop(dev);
      }
    }
  } finally {
    await browser?.close();
    fs.rmSync(path.dirname(tarball), { recursive: true, force: true });
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
