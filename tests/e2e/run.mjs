// SFU end-to-end suite (run by scripts/test.sh): our Rust/wasm LiveKit client in real headless
// Chromium against a real livekit-server, with tokens from the reference back end; interop with
// LiveKit's own livekit-client; fault injection. Prints `e2e: N passed, M failed`.
import { runAll, PrivateLivekit, freeLivekitPort } from './harness.mjs';

const base = 100 + Math.floor(Math.random() * 800); // fresh rooms on every run
let next = 0;
const channel = () => base + next++;

function fail(msg) { throw new Error(msg); }

const tests = [
  ['two clients join via back-end tokens and hear each other', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    const a = await E.ourClient('alice', ch, E.VOICES[0]);
    const b = await E.ourClient('bob', ch, E.VOICES[1]);
    const ta = await E.waitFor('alice hears bob', () => a.out.hears(b.freq), 20000);
    const tb = await E.waitFor('bob hears alice', () => b.out.hears(a.freq), 20000);
    await E.waitFor('participant lists', () => a.client.participants().some((p) => p.userId === b.user.id)
      && b.client.participants().some((p) => p.userId === a.user.id));
    const seen = a.client.participants().find((p) => p.userId === b.user.id);
    if (seen.username !== 'bob' || seen.university !== '' || seen.isMuted) fail(`bad participant ${JSON.stringify(seen)}`);
    if (!(seen.stream instanceof MediaStream)) fail('participant has no stream');
    if (a.out.hears(a.freq) || b.out.hears(b.freq)) fail(`a client hears its own voice: ${[a.freq, b.freq, 300, 1000].map((f) => `${f}: ${a.out.level(f).toFixed(0)}/${b.out.level(f).toFixed(0)}`).join(' ')}`);
    await a.client.leave(); await b.client.leave();
    function fail(m) { throw new Error(m); }
    return `alice heard bob after ${ta.toFixed(0)} ms, bob heard alice after ${tb.toFixed(0)} ms`;
  }, channel())],

  ['every ICE candidate our client gathers reaches the server, on one bundled transport', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    // In single-PC mode the join offer is made before the signal socket opens: candidates
    // gathered meanwhile must be held and sent, not dropped.
    const pcsBefore = E.pagePeerConnections().length;
    const a = await E.ourClient('alice', ch, E.VOICES[0]);
    const b = await E.ourClient('bob', ch, E.VOICES[1]);
    await E.waitFor('alice hears bob', () => a.out.hears(b.freq), 20000);
    await E.sleep(500);
    const pcs = E.pagePeerConnections().slice(pcsBefore);
    const sent = E.pageSockets().filter((s) => E.tokenIdentity(s.url) === String(a.user.id) || E.tokenIdentity(s.url) === String(b.user.id))
      .flatMap((s) => s.sentFrames).map((f) => (typeof f === 'string' ? f : new TextDecoder('latin1').decode(f))).join('\n');
    const gathered = pcs.flatMap((pc) => pc.gathered);
    if (gathered.length === 0) fail('no candidates gathered');
    const lost = gathered.filter((c) => !sent.includes(c.candidate));
    if (lost.length) fail(`${lost.length} of ${gathered.length} candidates never sent: ${lost[0].candidate}`);
    const unbundled = pcs.filter((pc) => new Set(pc.gathered.map((c) => c.sdpMid)).size > 1);
    if (unbundled.length) fail(`a connection gathered candidates for ${new Set(unbundled[0].gathered.map((c) => c.sdpMid)).size} transports`);
    await a.client.leave(); await b.client.leave();
    return `${gathered.length} candidates over ${pcs.length} connections, all sent, one transport each`;
  }, channel())],

  ['speaking, mute, unmute and leave propagate; after leave nothing is left open', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const a = await E.ourClient('alice', ch, E.VOICES[2]);
    const b = await E.ourClient('bob', ch, E.VOICES[3]);
    await E.waitFor('bob hears alice', () => b.out.hears(a.freq), 20000);
    const bSees = () => b.client.participants().find((p) => p.userId === a.user.id);
    const tSpeak = await E.waitFor('bob sees alice speaking', () => bSees()?.isSpeaking === true && bSees()?.audioLevel > 0, 10000);
    a.client.setMuted(true);
    const tMute = await E.waitFor('bob sees alice muted', () => bSees()?.isMuted === true);
    await E.waitFor('bob stops hearing alice', () => !b.out.hears(a.freq), 5000);
    await E.waitFor('alice no longer speaking for bob', () => bSees()?.isSpeaking === false, 10000);
    a.client.setMuted(false);
    await E.waitFor('bob sees alice unmuted', () => bSees()?.isMuted === false);
    await E.waitFor('bob hears alice again', () => b.out.hears(a.freq), 10000);
    if (document.querySelectorAll('audio').length !== 2) fail(`expected one playing element per client, found ${document.querySelectorAll('audio').length}`);
    const leftEvent = new Promise((r) => b.client.onEvent((e) => { if (e.type === 'track-removed') r(e); }));
    await a.client.leave();
    await a.client.leave(); // idempotent
    const tLeave = await E.waitFor('alice gone from bob\'s list', () => !bSees(), 10000);
    const removed = await leftEvent;
    if (removed.userId !== a.user.id) fail(`track-removed for ${removed.userId}`);
    await E.waitFor('bob no longer hears alice', () => !b.out.hears(a.freq), 5000);
    const s = a.client.stats();
    if (s.state !== 'closed' || s.socketOpen || s.openPeerConnections !== 0 || s.remoteStreams !== 0
      || s.graphElements !== 0 || !s.graphClosed) fail(`alice left something open: ${JSON.stringify(s)}`);
    if (a.client.participants().length !== 0) fail('alice still lists participants after leave');
    if (document.querySelectorAll('audio').length !== 0) fail(`${document.querySelectorAll('audio').length} audio elements left in the page after alice left`);
    await b.client.leave();
    const sb = b.client.stats();
    if (sb.openPeerConnections !== 0 || sb.graphElements !== 0) fail(`bob left something open: ${JSON.stringify(sb)}`);
    if (document.querySelectorAll('audio').length !== 0) fail('audio elements left in the page');
    return `speaking seen after ${tSpeak.toFixed(0)} ms, mute seen after ${tMute.toFixed(0)} ms, leave seen after ${tLeave.toFixed(0)} ms`;
  }, channel())],

  ['eight clients in one room each hear all seven others', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const clients = [];
    for (let i = 0; i < 8; i++) clients.push(await E.ourClient(`user${i}`, ch, E.VOICES[i]));
    const t0 = performance.now();
    await E.waitFor('everyone hears everyone', () => clients.every((c) => clients.every((o) => o === c || c.out.hears(o.freq))), 45000, 250)
      .catch((e) => {
        const missing = clients.map((c, i) => `${i}:[${clients.filter((o) => o !== c && !c.out.hears(o.freq)).map((o) => o.freq)}]`).join(' ');
        fail(`${e.message}; missing ${missing}`);
      });
    const full = clients.every((c) => c.client.participants().length === 7);
    if (!full) fail(`participant counts ${clients.map((c) => c.client.participants().length)}`);
    if (clients.some((c) => c.out.hears(c.freq))) fail('a client hears itself');
    const ms = performance.now() - t0;
    for (const c of clients) await c.client.leave();
    if (clients.some((c) => c.client.stats().openPeerConnections !== 0)) fail('peer connections left open');
    return `all 56 directed pairs audible ${ms.toFixed(0)} ms after the last join`;
  }, channel())],

  ['livekit-client hears our tone and we hear its tone', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const lk = await E.livekitClient('lkjs', ch, E.VOICES[4]);
    const ours = await E.ourClient('ours', ch, E.VOICES[5]);
    const t1 = await E.waitFor('our client hears livekit-client', () => ours.out.hears(lk.freq), 20000);
    const t2 = await E.waitFor('livekit-client hears our client', () => lk.hears(ours.user.id, ours.freq), 20000);
    const seen = ours.client.participants().find((p) => p.userId === lk.user.id);
    if (!seen) fail('livekit-client participant missing from our list');
    const remote = lk.room.remoteParticipants.get(String(ours.user.id));
    if (!remote) fail('our client missing from livekit-client remoteParticipants');
    ours.client.setMuted(true);
    await E.waitFor('livekit-client sees our mute', () => [...remote.audioTrackPublications.values()].some((p) => p.isMuted));
    ours.client.setMuted(false);
    await E.waitFor('livekit-client sees our unmute', () => [...remote.audioTrackPublications.values()].every((p) => !p.isMuted));
    await ours.client.leave();
    await E.waitFor('livekit-client sees us leave', () => !lk.room.remoteParticipants.has(String(ours.user.id)), 10000);
    await lk.room.disconnect();
    return `we heard livekit-client after ${t1.toFixed(0)} ms, it heard us after ${t2.toFixed(0)} ms`;
  }, channel())],

  ['killing the signal socket resumes the session and audio continues', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const a = await E.ourClient('alice', ch, E.VOICES[6]);
    const b = await E.ourClient('bob', ch, E.VOICES[7]);
    await E.waitFor('initial audio', () => a.out.hears(b.freq) && b.out.hears(a.freq), 20000);
    const before = a.client.stats();
    a.kill();
    await E.waitFor('resume recorded', () => a.client.stats().resumes + a.client.stats().rejoins > before.resumes + before.rejoins, 15000);
    const s = a.client.stats();
    await E.waitFor('audio both ways after resume', () => a.out.hears(b.freq) && b.out.hears(a.freq), 15000);
    // The resumed session still carries signalling: mute must reach bob.
    a.client.setMuted(true);
    await E.waitFor('bob sees alice muted after resume', () => b.client.participants().find((p) => p.userId === a.user.id)?.isMuted === true, 10000);
    if (s.state !== 'connected') fail(`state ${s.state}`);
    await a.client.leave(); await b.client.leave();
    return `${s.resumes ? 'resumed' : 'rejoined'} after ${s.reconnectAttempts - before.reconnectAttempts} attempt(s) in ${s.lastRecoveryMs.toFixed(0)} ms`;
  }, channel())],

  ['restarting livekit-server: our client rejoins and audio returns', async (page) => {
    const lk = new PrivateLivekit(Number(process.env.SFU_E2E_PRIVATE_PORT ?? await freeLivekitPort()));
    await lk.start();
    try {
      const ch = channel();
      await page.evaluate(async ({ ch, url }) => {
        const E = window.E2E;
        window.pair = [await E.ourClient('alice', ch, E.VOICES[0], { url }), await E.ourClient('bob', ch, E.VOICES[3], { url })];
        const [a, b] = window.pair;
        await E.waitFor('initial audio', () => a.out.hears(b.freq) && b.out.hears(a.freq), 20000);
      }, { ch, url: lk.url });
      await lk.kill();
      const killedAt = Date.now();
      await page.evaluate(async () => {
        const [a, b] = window.pair;
        await window.E2E.waitFor('audio to stop with the server', () => !a.out.hears(b.freq) && !b.out.hears(a.freq), 5000, 50);
      });
      await new Promise((r) => setTimeout(r, 1000));
      await lk.start();
      const restartMs = Date.now() - killedAt;
      const res = await page.evaluate(async () => {
        const E = window.E2E;
        const [a, b] = window.pair;
        const t0 = performance.now();
        await E.waitFor('audio both ways after restart', () => a.out.hears(b.freq) && b.out.hears(a.freq), 40000, 50);
        const waited = performance.now() - t0;
        const s = a.client.stats();
        await a.client.leave(); await b.client.leave();
        return { waited, attempts: s.reconnectAttempts, rejoins: s.rejoins, recovery: s.lastRecoveryMs };
      });
      const toAudio = restartMs + res.waited;
      console.log(`BENCH sfu_restart_to_audio_ms=${toAudio.toFixed(0)}`);
      return `server down ${restartMs} ms; audio back ${toAudio.toFixed(0)} ms after the kill; alice: ${res.attempts} reconnect attempts, ${res.rejoins} rejoin(s)`;
    } finally {
      await lk.kill();
    }
  }],

  ['malformed and unexpected signal frames are typed error events and the call goes on', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const errors = [];
    const a = await E.ourClient('alice', ch, E.VOICES[1], { events: (e) => { if (e.type === 'error') errors.push(e); } });
    const b = await E.ourClient('bob', ch, E.VOICES[2]);
    await E.waitFor('audio both ways', () => a.out.hears(b.freq) && b.out.hears(a.freq), 20000);
    a.inject(new Uint8Array([0xff, 0xff, 0xff, 0xff]));      // not protobuf
    a.inject(new Uint8Array([0x0a, 0x05, 0x01]));            // truncated join
    a.inject(new Uint8Array([0x0a, 0x00]));                  // a join mid-call
    a.inject(new Uint8Array([0x98, 0x06, 0x01]));            // unknown message: ignored
    await E.waitFor('three error events', () => errors.length >= 3, 5000);
    const codes = errors.map((e) => e.code);
    const want = ['sfu/malformed-frame', 'sfu/malformed-frame', 'sfu/unexpected-message'];
    if (JSON.stringify(codes) !== JSON.stringify(want)) fail(`codes ${codes}`);
    await E.sleep(500);
    if (errors.length !== 3) fail(`unknown message produced an error: ${JSON.stringify(errors)}`);
    if (a.client.stats().state !== 'connected') fail(`state ${a.client.stats().state}`);
    a.client.setMuted(true);
    await E.waitFor('bob still gets alice\'s signalling', () => b.client.participants().find((p) => p.userId === a.user.id)?.isMuted === true);
    if (!a.out.hears(b.freq)) fail('alice stopped hearing bob');
    await a.client.leave(); await b.client.leave();
    return `errors: ${codes.join(', ')}`;
  }, channel())],

  ['classic dual-PC mode: clients hear each other, resume after a killed socket, leave cleanly', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    function fail(m) { throw new Error(m); }
    const opts = { singlePeerConnection: false };
    const a = await E.ourClient('dual-a', ch, E.VOICES[3], opts);
    const b = await E.ourClient('dual-b', ch, E.VOICES[4], opts);
    await E.waitFor('audio both ways', () => a.out.hears(b.freq) && b.out.hears(a.freq), 20000);
    a.kill();
    await E.waitFor('resumed', () => a.client.stats().resumes === 1, 15000);
    await E.waitFor('audio both ways after resume', () => a.out.hears(b.freq) && b.out.hears(a.freq), 15000);
    a.client.setMuted(true);
    await E.waitFor('bob sees alice muted', () => b.client.participants().find((p) => p.userId === a.user.id)?.isMuted === true, 10000);
    await a.client.leave(); await b.client.leave();
    const s = a.client.stats();
    if (s.openPeerConnections !== 0 || s.socketOpen || s.graphElements !== 0) fail(`left open: ${JSON.stringify(s)}`);
    return `resume took ${s.lastRecoveryMs.toFixed(0)} ms`;
  }, channel())],

  ['with the server\'s ICE servers applied (ICE restart after join) clients still hear each other', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    const opts = { useServerIceServers: true };
    const a = await E.ourClient('ice-a', ch, E.VOICES[5], opts);
    const b = await E.ourClient('ice-b', ch, E.VOICES[6], opts);
    await E.waitFor('audio both ways', () => a.out.hears(b.freq) && b.out.hears(a.freq), 20000);
    await E.sleep(1500); // past the ICE restart
    await E.waitFor('audio both ways after the ICE restart', () => a.out.hears(b.freq) && b.out.hears(a.freq), 5000);
    const errors = [...a.log, ...b.log].filter((e) => e.type === 'error');
    if (errors.length) throw new Error(`errors: ${JSON.stringify(errors)}`);
    await a.client.leave(); await b.client.leave();
  }, channel())],
];

const failed = await runAll(tests, process.argv[2]);
process.exit(failed ? 1 : 0);
