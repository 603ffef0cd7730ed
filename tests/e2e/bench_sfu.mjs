// SFU benchmarks (not tests): join → first audible remote audio for our Rust/wasm client and
// for LiveKit's livekit-client, side by side against the same livekit-server and the same
// publisher, alternating, median over N joins each (SFU_BENCH_JOINS, default 20); plus resume
// after a killed signal socket. Prints `BENCH name=value` and merges into bench/results.json.
// Usage: SOHBET_HTTP_URL=… node tests/e2e/bench_sfu.mjs   (SFU_E2E_PKG=pkg-release for a release build)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildPkg, launch, openPage, ROOT } from './harness.mjs';

const JOINS = Number(process.env.SFU_BENCH_JOINS ?? 20);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

buildPkg();
const browser = await launch();
const { page, context } = await openPage(browser);
const lines = [];
const bench = (name, value) => { const l = `BENCH ${name}=${value}`; lines.push(l); console.log(l); };
try {
  const ch = 900 + Math.floor(Math.random() * 90);
  await page.evaluate(async (ch) => {
    const E = window.E2E;
    window.speaker = await E.ourClient('speaker', ch, 700);
    window.ch = ch;
  }, ch);
  const ours = []; const theirs = [];
  for (let i = 0; i < JOINS; i++) {
    for (const kind of i % 2 ? ['lk', 'ours'] : ['ours', 'lk']) {
      const ms = await page.evaluate(async (kind) => {
        const E = window.E2E;
        const { token: userToken } = await E.login(`joiner_${kind}`);
        const minted = await E.sfuToken(userToken, window.ch);
        let heard;
        const audible = new Promise((r) => { heard = r; });
        const watch = (stream) => {
          const p = E.streamProbe(stream, 2048);
          const tick = () => (p.hears(700) ? (p.close(), heard(performance.now())) : setTimeout(tick, 5));
          tick();
        };
        const t0 = performance.now();
        let done;
        if (kind === 'ours') {
          const c = new E.SfuClient({});
          c.onEvent((e) => { if (e.type === 'track') watch(e.stream); });
          await c.connect(minted.url, minted.token);
          done = async () => { await c.leave(); c.free(); };
        } else {
          const room = new E.LK.Room();
          room.on(E.LK.RoomEvent.TrackSubscribed, (t) => { if (t.kind === 'audio') watch(new MediaStream([t.mediaStreamTrack])); });
          await room.connect(minted.url, minted.token);
          done = () => room.disconnect();
        }
        const t1 = await Promise.race([audible, E.sleep(20000).then(() => NaN)]);
        await done();
        return t1 - t0;
      }, kind);
      if (!Number.isFinite(ms)) throw new Error(`${kind} join ${i} never heard the speaker`);
      (kind === 'ours' ? ours : theirs).push(ms);
      console.log(`join ${i} ${kind}: ${ms.toFixed(1)} ms`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const a = median(ours); const b = median(theirs);
  // The server races its fast-start subscription against the join answer, so both clients'
  // joins are bimodal (track in the first answer, or ~150 ms later): show the distribution.
  const fmt = (xs) => [...xs].sort((x, y) => x - y).map((x) => x.toFixed(0)).join(' ');
  console.log(`ours sorted: ${fmt(ours)}`);
  console.log(`livekit-client sorted: ${fmt(theirs)}`);
  bench('sfu_first_audio_ms_median', a.toFixed(1));
  bench('livekit_client_first_audio_ms_median', b.toFixed(1));
  bench('sfu_vs_livekit_first_audio_ratio', (a / b).toFixed(3));

  const resume = await page.evaluate(async () => {
    const E = window.E2E;
    const c = await E.ourClient('resumer', window.ch, 1500);
    await E.waitFor('audio', () => c.out.hears(700), 20000);
    const out = [];
    for (let i = 0; i < 5; i++) {
      const before = c.client.stats().resumes;
      const t0 = performance.now();
      c.kill();
      await E.waitFor('resumed', () => c.client.stats().resumes > before, 15000, 5);
      await E.waitFor('audio after resume', () => c.out.hears(700), 15000, 5);
      out.push(performance.now() - t0);
      await E.sleep(500);
    }
    await c.client.leave();
    return out;
  });
  bench('sfu_resume_to_audio_ms', median(resume).toFixed(1));
  await page.evaluate(() => window.speaker.client.leave());
} finally {
  await context.close();
  await browser.close();
}
const merge = spawnSync('node', [path.join(ROOT, 'scripts/bench_merge.mjs'), '--stdin'], { input: lines.join('\n') });
process.stdout.write(merge.stdout);
