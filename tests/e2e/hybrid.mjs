// Hybrid end-to-end suite (run by scripts/test.sh): whole calls through the package's
// WebRtcService in real headless Chromium, against this suite's own reference server and its own
// livekit-server (both on free loopback ports, stopped by PID at the end), moving between the P2P
// mesh and the SFU as the server decides. "Hears" is energy at each voice's frequency at each
// receiver's output, measured every 5.3 ms by an AudioWorklet. Prints `e2e: N passed, M failed`
// and merges the migration numbers into bench/results.json (`HYBRID_BENCH=1` adds repetitions).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, launch, PrivateLivekit, freeLivekitPort } from './harness.mjs';

const COOLDOWN_MS = 3000;
const TIMEOUT_MS = 8000;
const results = {};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

class RefServer {
  constructor(livekitUrl) { this.livekitUrl = livekitUrl; this.proc = null; }
  async start() {
    this.http = await freePort();
    this.ws = await freePort();
    const bin = process.env.SERVER_BIN ?? path.join(ROOT, 'target/debug/sohbet-server');
    const logPath = path.join(ROOT, '.artifacts', `e2e-hybrid-server-${this.http}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const log = fs.openSync(logPath, 'a');
    this.proc = spawn(bin, [], {
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        RUST_LOG: 'info',
        SOHBET_HTTP_PORT: String(this.http), SOHBET_WS_PORT: String(this.ws), SOHBET_STATIC_DIR: ROOT,
        SOHBET_DEV_ENDPOINTS: '1', LIVEKIT_URL: this.livekitUrl,
        SOHBET_MODE_COOLDOWN_MS: String(COOLDOWN_MS), SOHBET_MIGRATION_TIMEOUT_MS: String(TIMEOUT_MS),
        SOHBET_MODE_CHANGE_RESEND_MS: '1500', SOHBET_MIGRATION_STRATEGY: 'hard',
        SOHBET_SFU_PROBE_MS: '500', SOHBET_TICK_MS: '200',
      },
    });
    fs.closeSync(log);
    let exited = null;
    this.proc.once('exit', (code, signal) => { exited = `exit ${code ?? signal}`; });
    const deadline = Date.now() + 30000;
    for (;;) {
      try { if ((await fetch(`${this.httpUrl}/api/voice/channels`)).ok) return; } catch { /* not yet */ }
      if (exited || Date.now() > deadline) throw new Error(`reference server did not start (${exited ?? 'timeout'}); see ${logPath}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  get httpUrl() { return `http://127.0.0.1:${this.http}`; }
  get wsUrl() { return `ws://127.0.0.1:${this.ws}`; }
  stop() { if (this.proc) { this.proc.kill('SIGKILL'); this.proc = null; } }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };
let nextChannel = 1000 + Math.floor(Math.random() * 50000);
const channel = () => nextChannel++;

// Runs in the page: n clients join in order; returns when each joined.
const JOIN = async ({ ch, n, offset, ws }) => {
  const H = window.H;
  window.calls ??= {};
  const list = (window.calls[ch] ??= []);
  for (let i = 0; i < n; i++) {
    const k = offset + i;
    list.push(await H.voiceClient(`u${ch}_${k}`, ch, H.VOICES[k % 8], ws));
  }
  return list.length;
};

const tests = [
  ['eight clients: the 8th joiner moves everyone to the SFU (all 56 pairs hear), three leave and all return to the mesh; nothing left over', async (page, env) => {
    const ch = channel();
    await page.evaluate(JOIN, { ch, n: 7, offset: 0, ws: env.ws });
    const note = await page.evaluate(async ({ ch }) => {
      const H = window.H; const c = window.calls[ch];
      await H.everyoneHearsEveryone(c, 'the 7-person mesh');
      if (c.some((x) => x.mode() !== 'p2p')) throw new Error(`modes at 7: ${c.map((x) => x.mode())}`);
      await H.resetGaps(c);
      return 'mesh of 7 up';
    }, { ch });
    const t0 = Date.now();
    await page.evaluate(JOIN, { ch, n: 1, offset: 7, ws: env.ws });
    const up = await page.evaluate(async ({ ch }) => {
      const H = window.H; const c = window.calls[ch];
      await H.waitFor('everyone in sfu mode', () => c.every((x) => x.mode() === 'sfu'), 30000);
      await H.everyoneHearsEveryone(c, 'all 56 pairs over the SFU');
      const gap = await H.maxGap(c.slice(0, 7));
      if (window.DEBUG_GAPS) console.log(`up gaps ${JSON.stringify(await H.gapMatrix(c))}`);
      if (window.DEBUG_GAPS) for (const x of c.slice(0, 3)) console.log(`timeline ${x.name} ${JSON.stringify(x.log.timeline.slice(-12))}`);
      const lists = c.map((x) => x.participants().length);
      if (lists.some((n) => n !== 7)) throw new Error(`participant lists ${lists}`);
      const m = c[0].log.migrations.at(-1);
      if (!m || m.outcome !== 'completed' || m.direction !== 'p2p-to-sfu' || m.strategy !== 'hard') throw new Error(`migration event ${JSON.stringify(m)}`);
      if (!c[0].log.statuses.includes('Upgrading connection...')) throw new Error(`statuses ${c[0].log.statuses}`);
      const sfuPcs = H.openCounts().peerConnections;
      return { gap, sfuPcs, durations: c.slice(0, 7).map((x) => x.log.migrations.at(-1).durationMs) };
    }, { ch });
    const migrations = (await (await fetch(`${env.http}/api/voice/channels/${ch}/migrations`)).json());
    const upRecord = (migrations.migrations ?? migrations).find?.((m) => m.target_mode === 'sfu' && m.outcome === 'completed');
    if (!upRecord) throw new Error(`server has no completed sfu migration: ${JSON.stringify(migrations)}`);
    if (up.sfuPcs > 8) throw new Error(`${up.sfuPcs} peer connections open in SFU mode (the mesh was not closed)`);
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 200));
    const down = await page.evaluate(async ({ ch }) => {
      const H = window.H; const c = window.calls[ch];
      await H.resetGaps(c);
      for (const x of c.splice(5, 3)) await x.leave();
      await H.waitFor('everyone back in p2p mode', () => c.every((x) => x.mode() === 'p2p'), 30000);
      await H.everyoneHearsEveryone(c, 'all 20 pairs over the mesh again');
      const gap = await H.maxGap(c);
      if (window.DEBUG_GAPS) console.log(`down gaps ${JSON.stringify(await H.gapMatrix(c))}`);
      const lists = c.map((x) => x.participants().length);
      if (lists.some((n) => n !== 4)) throw new Error(`participant lists after the return ${lists}`);
      for (const x of c) await x.leave();
      await H.sleep(500);
      return { gap, left: H.openCounts() };
    }, { ch });
    const l = down.left;
    if (l.peerConnections || l.audioElements || l.sockets) throw new Error(`left over after everyone left: ${JSON.stringify(l)}`);
    (results.migration_gap_ms_hard_up ??= []).push(up.gap);
    (results.migration_gap_ms_hard_down ??= []).push(down.gap);
    (results.migration_duration_ms_hard_up ??= []).push(upRecord.duration_ms);
    return `${note}; up: gap ${up.gap.toFixed(0)} ms, server duration ${upRecord.duration_ms} ms, client durations ${up.durations}; down: gap ${down.gap.toFixed(0)} ms; ${Date.now() - t0} ms`;
  }],
];

async function main() {
  const only = process.argv[2];
  const lk = new PrivateLivekit(await freeLivekitPort());
  const server = new RefServer(lk.url);
  let browser = null; let passed = 0; let failed = 0;
  try {
    await lk.start();
    await server.start();
    browser = await launch();
    const env = { http: server.httpUrl, ws: server.wsUrl, lk, server };
    for (const [name, fn] of tests) {
      if (only && !name.includes(only)) continue;
      const t0 = Date.now();
      const context = await browser.newContext();
      const page = await context.newPage();
      const logs = [];
      page.on('console', (m) => { logs.push(`[${m.type()}] ${m.text()}`); if (process.env.HYBRID_DEBUG) console.log(`  [page] ${m.text()}`); });
      if (process.env.HYBRID_DEBUG) await page.addInitScript(() => { window.DEBUG_GAPS = true; });
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      try {
        await page.goto(`${server.httpUrl}/tests/e2e/hybrid.html?pkg=${process.env.SFU_E2E_PKG ?? 'pkg'}`);
        await page.waitForFunction(() => window.E2E_READY === true, null, { timeout: 30000 });
        const note = await fn(page, env);
        passed++;
        console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ` — ${note}` : ''}`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e.message.split('\n')[0]}`);
        console.log(logs.slice(-15).map((l) => `     ${l}`).join('\n'));
      } finally {
        await context.close().catch(() => {});
      }
    }
  } finally {
    await browser?.close();
    server.stop();
    await lk.kill();
  }
  const out = {};
  for (const [k, v] of Object.entries(results)) out[k] = Math.round(median(v));
  if (Object.keys(out).length) {
    console.log(`hybrid numbers: ${JSON.stringify(out)}`);
    fs.writeFileSync(path.join(ROOT, '.artifacts', 'hybrid-bench.json'), JSON.stringify({ ...out, samples: results }, null, 1));
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
