// Node-side harness for the SFU end-to-end suite: builds the wasm package for the test page,
// launches system Chromium through playwright-core with the project's WebRTC test flags, runs
// named tests in fresh pages, and manages a private livekit-server for fault injection.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const HTTP = process.env.SOHBET_HTTP_URL ?? 'http://127.0.0.1:18080';
export const LIVEKIT = process.env.SOHBET_LIVEKIT_URL ?? 'ws://127.0.0.1:17880';

// A build of the crate with its default features (the standalone SfuClient class, which the npm
// package leaves out): tests/e2e/pkg (dev), or tests/e2e/pkg-release with SFU_E2E_PKG=pkg-release
// (the SFU benchmark).
export function buildPkg() {
  if (process.env.SFU_E2E_SKIP_BUILD === '1') return;
  const release = process.env.SFU_E2E_PKG === 'pkg-release';
  const r = spawnSync('wasm-pack', ['build', release ? '--release' : '--dev', '--target', 'web', '--out-dir',
    `tests/e2e/${release ? 'pkg-release' : 'pkg'}`, '--out-name', 'sohbet_rtc', '--no-pack'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('wasm-pack build failed');
}

/** System Chromium with the project's test flags; `{ autoplayPolicy: true }` drops the
 * autoplay override, so the browser's real policy (a user gesture before audio plays) applies. */
export async function launch({ autoplayPolicy = false } = {}) {
  const flags = JSON.parse(fs.readFileSync(path.join(ROOT, 'webdriver.json'), 'utf8'))['goog:chromeOptions'];
  const args = flags.args.filter((a) => !a.startsWith('--headless') && !(autoplayPolicy && a.startsWith('--autoplay-policy')));
  return chromium.launch({ executablePath: flags.binary ?? '/usr/bin/chromium', headless: true, args });
}

export async function openPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.goto(`${HTTP}/tests/e2e/sfu.html?pkg=${process.env.SFU_E2E_PKG ?? 'pkg'}`);
  await page.waitForFunction(() => window.E2E_READY === true, null, { timeout: 30000 });
  return { page, context, logs };
}

// Runs tests sequentially; prints one line each and the closing summary line.
export async function runAll(tests, only) {
  buildPkg();
  const browser = await launch();
  let passed = 0; let failed = 0;
  try {
    for (const [name, fn] of tests) {
      if (only && !name.includes(only)) continue;
      const t0 = Date.now();
      let ctx = null;
      try {
        ctx = await openPage(browser);
        const note = await fn(ctx.page, ctx);
        passed++;
        console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ` — ${note}` : ''}`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e.message.split('\n')[0]}`);
        if (ctx) console.log(ctx.logs.slice(-15).map((l) => `     ${l}`).join('\n'));
      } finally {
        await ctx?.context.close().catch(() => {});
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Runs a command to completion; throws with its output's tail unless it exits 0. */
export function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

const tcpFree = (port) => new Promise((resolve) => {
  const srv = net.createServer();
  srv.once('error', () => resolve(false));
  srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
});
const udpFree = (port) => new Promise((resolve) => {
  const sock = dgram.createSocket('udp4');
  sock.once('error', () => { sock.close(); resolve(false); });
  sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
});

// A base port P with P, P+1 (TCP) and P+2 (UDP) free, so parallel runs do not collide.
export async function freeLivekitPort() {
  for (let i = 0; i < 50; i++) {
    const p = 21000 + 4 * Math.floor(Math.random() * 2000);
    if (await tcpFree(p) && await tcpFree(p + 1) && await udpFree(p + 2)) return p;
  }
  throw new Error('no free port range for a private livekit-server');
}

// A private livekit-server (same settings as scripts/servers.sh) that tests may kill/restart.
// LK_LOG=debug (or info) makes it log each participant's signalling to .artifacts/.
export class PrivateLivekit {
  constructor(port) { this.port = port; this.proc = null; }
  get url() { return `ws://127.0.0.1:${this.port}`; }
  async start() {
    const p = this.port;
    const cfg = `port: ${p}\nrtc:\n  tcp_port: ${p + 1}\n  udp_port: ${p + 2}\n  use_external_ip: false\n`
      + `  enable_loopback_candidate: true\n  stun_servers: ["127.0.0.1:3478"]\nlogging:\n  level: ${process.env.LK_LOG ?? "warn"}\n`;
    const bin = process.env.LIVEKIT_SERVER_BIN
      ?? path.join(process.env.HOME, '.cache/sohbet-rtc/bin/livekit-server-v1.13.5');
    const logPath = path.join(ROOT, '.artifacts', `e2e-private-livekit-${p}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const log = fs.openSync(logPath, 'a');
    this.proc = spawn(bin, ['--dev', '--bind', '127.0.0.1', '--node-ip', '127.0.0.1', '--config-body', cfg],
      { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    let exited = null;
    this.proc.once('exit', (code, signal) => { exited = `exit ${code ?? signal}`; });
    const deadline = Date.now() + 30000;
    let last = 'no answer';
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${p}/`);
        if (r.ok) return;
        last = `HTTP ${r.status}`;
      } catch (e) { last = e.cause?.code ?? e.message; }
      if (exited || Date.now() > deadline) {
        const tail = fs.readFileSync(logPath, 'utf8').split('\n').slice(-5).join(' | ');
        throw new Error(`private livekit-server on ${p} did not start (${exited ?? last}): ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async kill() {
    if (!this.proc) return;
    const proc = this.proc; this.proc = null;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
}
