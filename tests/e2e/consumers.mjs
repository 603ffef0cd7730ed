// Consumer apps (issue 15): the packed tarball installed into a real Vite + React + TypeScript
// app (tests/consumers/vite) and a real Next.js App Router app (tests/consumers/next), each
// type-checked (tsc --strict, skipLibCheck false), built for production and served (static
// files / `next start`), then on its development server (StrictMode's double mount), with two
// browser contexts holding a call through the reference server (SOHBET_HTTP_URL /
// SOHBET_WS_URL, started by scripts/test.sh): each page lists and hears the other and holds one
// voice socket and one peer connection. Servers run on free loopback ports and are stopped by
// PID. npm installs are kept in ~/.cache/sohbet-rtc/consumers so reruns are quick. Needs pkg/
// (bash scripts/build_pkg.sh). Prints `e2e: N passed, M failed`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launch, freePort, run } from './harness.mjs';

const HTTP = (process.env.SOHBET_HTTP_URL ?? 'http://127.0.0.1:18080').replace(/\/+$/, '');
const WS = process.env.SOHBET_WS_URL ?? 'ws://127.0.0.1:18081';
const CACHE = path.join(process.env.HOME ?? os.tmpdir(), '.cache/sohbet-rtc/consumers');
const HEARD_DB = -50;
let passed = 0; let failed = 0;

function record(name, ok, note) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${note ? ` — ${note}` : ''}`);
}

/** Copies the app's sources and the shared call component into the cached work directory
 * (keeping its node_modules). */
function prepare(app) {
  const src = path.join(ROOT, 'tests/consumers', APPS[app].src ?? app);
  const dir = path.join(CACHE, APPS[app].src ?? app);
  fs.mkdirSync(dir, { recursive: true });
  for (const old of ['src', 'app', 'shared', 'dist', '.next']) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  fs.cpSync(src, dir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'tests/consumers/shared'), path.join(dir, 'shared'), { recursive: true });
  return dir;
}

// Each app: its build output, its production server (null: `out` served as static files) and
// its development server, on a given loopback port (that port or fail).
const APPS = {
  vite: {
    out: 'dist',
    prod: null,
    dev: (port) => ['vite', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
  },
  next: {
    out: '.next',
    skipLibCheck: true,
    prod: (port) => ['next', 'start', '-H', '127.0.0.1', '-p', String(port)],
    dev: (port) => ['next', 'dev', '-H', '127.0.0.1', '-p', String(port)],
  },
  // The same Next.js app through webpack instead of Turbopack.
  'next-webpack': {
    src: 'next',
    build: ['run', 'build', '--', '--webpack'],
    out: '.next',
    skipLibCheck: true,
    prod: (port) => ['next', 'start', '-H', '127.0.0.1', '-p', String(port)],
    dev: (port) => ['next', 'dev', '--webpack', '-H', '127.0.0.1', '-p', String(port)],
  },
};
process.env.NEXT_TELEMETRY_DISABLED = '1';

/** Every file under `dir` whose name ends with `ext`. */
function filesEnding(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith(ext)).map(String);
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** A static server for `dist` on a loopback `port` (SPA fallback to index.html). */
function serve(dist, port) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = path.join(dist, path.normalize(url.pathname));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, 'index.html');
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
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

// What the page's calls play: an analyser on every node connected to an AudioContext's
// destination, and every context's state on the console (read without evaluating in the page).
const TAP_OUTPUT = () => {
  const feeds = [];
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    if (target instanceof AudioDestinationNode && !feeds.some((f) => f.node === this)) {
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 2048;
      connect.call(this, analyser);
      feeds.push({ node: this, analyser });
      const ctx = this.context;
      console.log(`sohbet-ctx ${ctx.state}`);
      ctx.addEventListener('statechange', () => console.log(`sohbet-ctx ${ctx.state}`));
    }
    return connect.call(this, target, ...rest);
  };
  window.callOutputDb = () => {
    const buf = new Float32Array(2048);
    let best = -200;
    for (const { analyser } of feeds) {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      best = Math.max(best, 10 * Math.log10(sum / buf.length + 1e-12));
    }
    return best;
  };
};

/**
 * The browser's real autoplay policy: a page that joins on load (no user gesture) with a stream
 * of its own (no microphone capture, which would lift Chromium's hold) is told its audio is
 * blocked, plays nothing, and a click on its "enable audio" button (startAudio) makes the other
 * user audible. Nothing is evaluated in the blocked page before the click: an evaluation counts
 * as a user gesture.
 */
async function autoplayIn(app, base, browser) {
  const channel = 70000 + Math.floor(Math.random() * 20000);
  const [a, b] = [await login(`${app}p${channel}`), await login(`${app}q${channel}`)];
  const strict = await launch({ autoplayPolicy: true });
  const contexts = [];
  try {
    const url = ({ token, user }, extra = {}) => `${base}/?${new URLSearchParams({ ws: WS, token, user: String(user.id), channel: String(channel), ...extra })}`;
    const partner = await browser.newContext();
    contexts.push(partner);
    await (await partner.newPage()).goto(url(b));
    const blocked = await strict.newContext();
    contexts.push(blocked);
    await blocked.addInitScript(TAP_OUTPUT);
    const page = await blocked.newPage();
    const lines = [];
    page.on('console', (m) => lines.push(m.text()));
    const states = () => lines.filter((l) => l.startsWith('sohbet-state ')).map((l) => JSON.parse(l.slice(13)));
    // Without a microphone capture (which lifts Chromium's hold): a stream of the page's own.
    await page.goto(url(a, { mic: 'none' }));
    const until = async (what, ok, ms) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`${what} not seen within ${ms} ms; console: ${lines.slice(-12).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const t0 = Date.now();
    await until('the call connected, listing the partner, with playback blocked', () => states().some((s) =>
      s.connectionState === 'connected' && !s.canPlayAudio && s.participants.includes(b.user.id)), 30000);
    const blockedMs = Date.now() - t0;
    // Still blocked a second later: nothing resumes the context without a gesture.
    await new Promise((r) => setTimeout(r, 1000));
    const ctxStates = lines.filter((l) => l.startsWith('sohbet-ctx ')).map((l) => l.slice(11));
    if (ctxStates.length === 0 || ctxStates.includes('running')) throw new Error(`the call's AudioContext ran before any gesture: ${ctxStates}`);
    const last = states().at(-1);
    if (last.canPlayAudio) throw new Error(`playback became allowed without a gesture: ${JSON.stringify(last)}`);
    const t1 = Date.now();
    await page.click('#start-audio');
    await until('playback allowed after the click', () => states().at(-1)?.canPlayAudio === true, 10000);
    let db = -200;
    const deadline = Date.now() + 15000;
    while ((db = await page.evaluate(() => window.callOutputDb())) <= HEARD_DB) {
      if (Date.now() > deadline) throw new Error(`the partner is not audible after the click (${db.toFixed(1)} dBFS)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const audibleMs = Date.now() - t1;
    if (await page.$('#start-audio')) throw new Error('the "enable audio" button is still shown');
    return `blocked (AudioContext ${ctxStates.join(' → ')}) ${blockedMs} ms after load; the partner audible at ${db.toFixed(0)} dBFS ${audibleMs} ms after the click`;
  } finally {
    for (const c of contexts) await c.close().catch(() => {});
    await strict.close();
  }
}

/** Starts `cmd args` in `dir` (an app's server) and waits until `url` answers; returns it. */
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
      throw new Error(`${args.slice(0, 2).join(' ')} did not start: ${out.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Stops a dev server and everything it started (its process group), by PID. */
function stop(proc) {
  try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* already gone */ }
}

async function main() {
  const tarball = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sohbet-pack-')), 'x');
  const packed = run('npm', ['pack', '--silent', '--pack-destination', path.dirname(tarball)], path.join(ROOT, 'pkg')).trim().split('\n').at(-1);
  const tgz = path.join(path.dirname(tarball), packed);
  let browser = null;
  try {
    browser = await launch();
    // CONSUMERS_ONLY=vite (a comma list) runs some of the apps (development runs).
    const only = process.env.CONSUMERS_ONLY?.split(',');
    for (const app of Object.keys(APPS).filter((a) => !only || only.includes(a))) {
      let dir;
      try {
        dir = prepare(app);
        const t0 = Date.now();
        run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
        run('npm', ['install', '--no-audit', '--no-fund', '--no-save', tgz], dir);
        record(`${app}: the app installs the packed tarball`, fs.existsSync(path.join(dir, 'node_modules/sohbet-rtc/package.json')), `${Date.now() - t0} ms`);
        run('npx', ['tsc', '-p', '.'], dir);
        // Next.js's own typings need a newer DOM lib than TypeScript 5.9 has (URLPattern), so that
        // app keeps Next's default skipLibCheck; the Vite app checks the package's typings.
        record(`${app}: tsc --strict${APPS[app].skipLibCheck ? '' : ' (skipLibCheck false)'} accepts the app against the package's types`, true);
        const t1 = Date.now();
        run('npm', APPS[app].build ?? ['run', 'build'], dir);
        const wasm = filesEnding(path.join(dir, APPS[app].out), '.wasm').filter((f) => !f.includes('cache'));
        record(`${app}: the production build emits the wasm`, wasm.length > 0, `${wasm.join(', ')}; built in ${Date.now() - t1} ms`);
      } catch (e) {
        record(`${app}: install, type-check and build`, false, e.message.slice(0, 1500));
        continue;
      }
      let prod = null; let statics = null;
      try {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        if (APPS[app].prod) {
          prod = await devServer('npx', APPS[app].prod(port), dir, base);
          // The server render ran the page, whose client component imports the package.
          const html = await (await fetch(base)).text();
          if (!html.includes('id="status"')) throw new Error(`the server render is missing the call: ${html.slice(0, 300)}`);
        } else {
          statics = await serve(path.join(dir, APPS[app].out), port);
        }
        record(`${app}: two browser contexts hold a call through the reference server (production build)`, true, await callIn(app, base, browser));
        if (app === 'vite') {
          const what = `${app}: the browser's real autoplay policy: blocked on a join without a gesture, audible after a click on startAudio`;
          try { record(what, true, await autoplayIn(app, base, browser)); } catch (e) { record(what, false, e.message.slice(0, 1500)); }
        }
      } catch (e) {
        record(`${app}: two browser contexts hold a call through the reference server (production build)`, false, e.message.slice(0, 1500));
      } finally {
        if (prod) stop(prod);
        statics?.close();
      }
      let dev = null;
      try {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        dev = await devServer('npx', APPS[app].dev(port), dir, base);
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
