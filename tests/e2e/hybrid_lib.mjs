// Browser-side helpers for the hybrid suite: whole calls through the package's WebRtcService
// (one SignalingClient socket per user, a tone as each microphone), an AudioWorklet on each
// client's output that measures every voice's energy every 5.3 ms (so the longest silence of
// any voice at any receiver is known to that resolution), and counters of what the page holds
// open (peer connections, intervals, audio elements, sockets) for leak checks.
import * as E from './lib.mjs';

export const { login, waitFor, sleep } = E;

// Voices 400 Hz apart: each is a clean Goertzel bin in a 512-sample window.
export const VOICES = [400, 800, 1200, 1600, 2000, 2400, 2800, 3200, 3600, 4000];
const HEARD_DB = -45;

// --- what the page holds open ----------------------------------------------------------------
const pcs = [];
const NativePc = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePc {
  constructor(...args) { super(...args); pcs.push(this); }
};
// The longest the page's main thread went without running a 100 ms timer (a frozen page
// explains a test that timed out with nothing moving). A timeout chain: no interval to count.
const stall = { maxMs: 0, atMs: 0 };
(function beat(last) {
  setTimeout(() => {
    const now = performance.now();
    if (now - last - 100 > stall.maxMs) { stall.maxMs = Math.round(now - last - 100); stall.atMs = Math.round(now); }
    beat(now);
  }, 100);
}(performance.now()));
export const stalls = () => ({ ...stall, nowMs: Math.round(performance.now()) });
const intervals = new Set();
const nativeSetInterval = window.setInterval.bind(window);
const nativeClearInterval = window.clearInterval.bind(window);
window.setInterval = (...args) => { const id = nativeSetInterval(...args); intervals.add(id); return id; };
window.clearInterval = (id) => { intervals.delete(id); nativeClearInterval(id); };
const NativeWs = window.WebSocket; // lib.mjs's recording subclass
window.WebSocket = class extends NativeWs {
  constructor(url, ...rest) {
    const failing = url.includes('access_token') && failSfu.has(Number(E.tokenIdentity(url)));
    super(failing ? 'ws://127.0.0.1:9/refused' : url, ...rest);
  }
};
// Users whose LiveKit connections are made to fail (a refused port), to drive negative acks.
const failSfu = new Set();
export function failSfuFor(userId, on = true) { if (on) failSfu.add(userId); else failSfu.delete(userId); }

// Route cross-fades, read from the ramps the library schedules on its gain nodes: for each
// pair of opposite ramps started at the same audio time in one context (one voice leaving a
// bus while its copy enters the other), how long both copies were above 10 % gain.
const paramContext = new WeakMap();
const nativeCreateGain = BaseAudioContext.prototype.createGain;
BaseAudioContext.prototype.createGain = function (...args) {
  const node = nativeCreateGain.apply(this, args);
  paramContext.set(node.gain, this);
  return node;
};
const ramps = [];
const nativeRamp = AudioParam.prototype.linearRampToValueAtTime;
AudioParam.prototype.linearRampToValueAtTime = function (value, endTime) {
  const ctx = paramContext.get(this);
  if (ctx) ramps.push({ ctx, start: ctx.currentTime, end: endTime, from: this.value, to: value });
  return nativeRamp.call(this, value, endTime);
};
export function resetRamps() { ramps.length = 0; }
/** The longest time (ms) any voice was routed on both buses at once since `resetRamps`. */
export function doubledMs() {
  const cross = (r, level) => r.start + (level - r.from) / (r.to - r.from) * (r.end - r.start);
  let worst = 0;
  const ups = ramps.filter((r) => r.to > r.from && r.to >= 0.99 && r.from <= 0.01);
  const downs = ramps.filter((r) => r.to < r.from && r.to <= 0.01 && r.from >= 0.99);
  for (const up of ups) {
    for (const down of downs) {
      if (down.ctx !== up.ctx || Math.abs(down.start - up.start) > 0.001) continue;
      const overlap = cross(down, 0.1) - cross(up, 0.1);
      worst = Math.max(worst, overlap * 1000);
    }
  }
  return worst;
}

const contexts = [];
const NativeCtx = window.AudioContext;
window.AudioContext = class extends NativeCtx {
  constructor(...args) { super(...args); contexts.push(this); }
};

/**
 * Bytes sent and received so far by the open peer connections, split by where each one's
 * selected candidate pair goes: to livekit-server (remote port in `sfuPorts`) or elsewhere
 * (the mesh). The transport's counts (media, RTCP and STUN included), which survive ICE
 * picking another pair; a pair's own counts start again from zero, which made the warm
 * downlink read anything from 0 to 250 kbps.
 */
export async function traffic(sfuPorts) {
  const out = { sfu: { sent: 0, received: 0, pcs: 0 }, mesh: { sent: 0, received: 0, pcs: 0 } };
  for (const pc of pcs) {
    if (pc.signalingState === 'closed') continue;
    const stats = await pc.getStats();
    for (const t of stats.values()) {
      const s = t.type === 'transport' && stats.get(t.selectedCandidatePairId);
      if (!s) continue;
      const remote = stats.get(s.remoteCandidateId);
      const side = sfuPorts.includes(remote?.port) ? out.sfu : out.mesh;
      side.sent += t.bytesSent; side.received += t.bytesReceived; side.pcs++;
    }
  }
  return out;
}

/** Per open SFU connection (remote port in `sfuPorts`): how many remote audio streams have
 * delivered packets. */
export async function sfuVoicesReceived(sfuPorts) {
  const counts = [];
  for (const pc of pcs) {
    if (pc.signalingState === 'closed') continue;
    const stats = await pc.getStats();
    let sfu = false; let voices = 0;
    for (const t of stats.values()) {
      if (t.type === 'candidate-pair' && t.nominated && sfuPorts.includes(stats.get(t.remoteCandidateId)?.port)) sfu = true;
      if (t.type === 'inbound-rtp' && t.kind === 'audio' && t.packetsReceived > 0) voices++;
    }
    if (sfu) counts.push(voices);
  }
  return counts;
}

/** The ICE server URLs each open peer connection was configured with. */
export function openIceServers() {
  return pcs.filter((pc) => pc.signalingState !== 'closed')
    .map((pc) => (pc.getConfiguration().iceServers ?? []).flatMap((s) => [].concat(s.urls)));
}

export function openCounts() {
  return {
    audioContexts: contexts.filter((c) => c.state !== 'closed').length,
    peerConnections: pcs.filter((pc) => pc.signalingState !== 'closed').length,
    intervals: intervals.size,
    audioElements: document.querySelectorAll('audio').length,
    sockets: E.pageSockets().filter((s) => s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING).length,
  };
}

// --- the output meter (an AudioWorklet per client context) ------------------------------------
const METER = `
class Meter extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.freqs = options.processorOptions.freqs;
    this.threshold = Math.pow(10, options.processorOptions.heardDb / 10);
    this.n = 512; this.hop = 256;
    this.buf = new Float32Array(this.n); this.pos = 0; this.filled = 0; this.sinceHop = 0;
    this.win = new Float32Array(this.n);
    for (let i = 0; i < this.n; i++) this.win[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (this.n - 1));
    this.winSum = this.win.reduce((a, b) => a + b, 0);
    this.frames = 0;
    this.lastHeard = this.freqs.map(() => -1);
    this.maxGap = this.freqs.map(() => 0);
    this.heard = this.freqs.map(() => false);
    this.db = this.freqs.map(() => -200);
    this.tracked = this.freqs.map(() => true);
    this.port.onmessage = (e) => {
      // Only voices heard at the reset are tracked: a voice that arrives later (a joiner) or
      // was turned down has no gap to measure.
      if (e.data === 'reset') { this.maxGap = this.freqs.map(() => 0); this.tracked = this.heard.slice(); this.lastHeard = this.heard.map((h) => h ? this.frames : -1); }
      const ms = (f) => f / sampleRate * 1000;
      this.port.postMessage({
        heard: this.heard, db: this.db,
        maxGapMs: this.maxGap.map((g, i) => Math.max(ms(g), this.tracked[i] && this.lastHeard[i] >= 0 && !this.heard[i] ? ms(this.frames - this.lastHeard[i]) : 0)),
      });
    };
  }
  power(freq) {
    const w = 2 * Math.PI * freq / sampleRate; const c = 2 * Math.cos(w);
    let s1 = 0, s2 = 0;
    for (let i = 0; i < this.n; i++) {
      const x = this.buf[(this.pos + i) % this.n] * this.win[i];
      const s = x + c * s1 - s2; s2 = s1; s1 = s;
    }
    const re = s1 - s2 * Math.cos(w), im = s2 * Math.sin(w);
    const amp = 2 * Math.sqrt(re * re + im * im) / this.winSum;
    return amp * amp;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    const len = ch ? ch.length : 128;
    for (let i = 0; i < len; i++) { this.buf[this.pos] = ch ? ch[i] : 0; this.pos = (this.pos + 1) % this.n; }
    this.frames += len; this.filled = Math.min(this.n, this.filled + len); this.sinceHop += len;
    if (this.filled === this.n && this.sinceHop >= this.hop) {
      this.sinceHop = 0;
      for (let k = 0; k < this.freqs.length; k++) {
        const p = this.power(this.freqs[k]);
        this.db[k] = 10 * Math.log10(p + 1e-20);
        const heard = p > this.threshold;
        this.heard[k] = heard;
        if (heard && this.tracked[k]) {
          if (this.lastHeard[k] >= 0) this.maxGap[k] = Math.max(this.maxGap[k], this.frames - this.lastHeard[k] - this.hop);
          this.lastHeard[k] = this.frames;
        }
      }
    }
    return true;
  }
}
registerProcessor('sohbet-meter', Meter);
`;
const meterUrl = URL.createObjectURL(new Blob([METER], { type: 'text/javascript' }));
const nativeConnect = E.rawConnect;

async function meter(feed) {
  const ctx = feed.context;
  await ctx.audioWorklet.addModule(meterUrl);
  const node = new AudioWorkletNode(ctx, 'sohbet-meter', { processorOptions: { freqs: VOICES, heardDb: HEARD_DB } });
  const sink = ctx.createGain(); sink.gain.value = 0;
  nativeConnect.call(feed, node);
  nativeConnect.call(node, sink);
  nativeConnect.call(sink, ctx.destination);
  // A meter whose context was closed never answers: fail instead of waiting for ever.
  const ask = (msg) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the output meter did not answer (its AudioContext is gone)')), 3000);
    node.port.onmessage = (e) => { clearTimeout(timer); resolve(e.data); };
    node.port.postMessage(msg);
  });
  return {
    report: () => ask('report'),
    reset: () => ask('reset'),
    hears: async (freq) => (await ask('report')).heard[VOICES.indexOf(freq)],
  };
}

// --- one user of the call --------------------------------------------------------------------
export async function voiceClient(name, channel, freq, wsUrl, { mic: ownMic = null, config = {} } = {}) {
  const { pkg } = E;
  const { token, user } = await login(name);
  const socket = new pkg.SignalingClient(wsUrl);
  await socket.connect(token);
  const service = new pkg.WebRtcService(socket, config);
  const mic = ownMic ?? E.tone(freq);
  service.setLocalStream(mic.stream);
  const log = { modes: [], migrations: [], statuses: [], errors: [], timeline: [] };
  let participants = [];
  // The last remote stream the app was given for each user (what it would show in a <video>).
  const streams = new Map();
  service.onEvent((type, a, b) => {
    if (type === 'remoteStream') streams.set(a, b);
    if (type !== 'participants') log.timeline.push([Math.round(performance.now()), type, type === 'remoteStream' ? a : (a?.outcome ?? a?.code ?? a)]);
    if (type === 'mode') log.modes.push(a);
    else if (type === 'migration') log.migrations.push(a);
    else if (type === 'status') log.statuses.push(a);
    else if (type === 'error') log.errors.push(a);
    else if (type === 'participants') participants = a;
  });
  const feeds = E.destinationFeedCount();
  await service.joinChannel(channel, user.id, true);
  const feed = E.destinationFeed(feeds);
  const out = await meter(feed);
  const client = {
    name, user, freq, service, socket, mic, out, log, token, streams,
    mode: () => service.state().mode,
    participants: () => participants,
    /** Leaves and joins the same channel again (the same service, socket and microphone; a
     * new call, so a new AudioContext and a new output meter). */
    async rejoin() {
      service.leaveChannel();
      const mark = E.destinationFeedCount();
      await service.joinChannel(channel, user.id, true);
      client.out = await meter(E.destinationFeed(mark));
    },
    leaveCall: () => service.leaveChannel(),
    async leave() {
      service.leaveChannel();
      service.free();
      socket.disconnect();
      socket.free();
      mic.stop();
    },
  };
  return client;
}

/**
 * The video frames a <video> element showing `stream` renders in `ms` (requestVideoFrameCallback,
 * so frames actually decoded and presented) and the frame width it saw.
 */
export async function videoFrames(stream, ms = 1500) {
  if (!stream || stream.getVideoTracks().length === 0) return { frames: 0, width: 0 };
  const v = document.createElement('video');
  v.muted = true; v.playsInline = true; v.srcObject = stream;
  document.body.appendChild(v);
  let frames = 0; let width = 0;
  const count = () => { frames++; width = v.videoWidth; v.requestVideoFrameCallback(count); };
  v.requestVideoFrameCallback(count);
  await v.play().catch(() => {});
  await sleep(ms);
  v.pause(); v.srcObject = null; v.remove();
  return { frames, width };
}

/** Waits until `receiver` shows `sender`'s video (frames rendered from its last remote stream). */
export async function seesVideo(receiver, sender, what, timeoutMs = 20000) {
  let last = null;
  await waitFor(`${receiver.name} sees ${sender.name}'s video ${what}`, async () => {
    last = await videoFrames(receiver.streams.get(sender.user.id), 1000);
    return last.frames >= 5 && last.width > 0;
  }, timeoutMs, 100).catch((e) => { throw new Error(`${e.message} (last: ${JSON.stringify(last)})`); });
  return last;
}

/**
 * A microphone that talks in syllables: a tone at `freq` switched on for `onMs` and off for
 * `offMs`, repeated for `totalMs`, then silent. `end` is when the last syllable ends
 * (performance.now() time).
 */
export async function syllables(freq, onMs, offMs, totalMs) {
  const ctx = new AudioContext();
  await ctx.resume();
  const osc = ctx.createOscillator();
  osc.frequency.value = freq;
  const gate = ctx.createGain();
  gate.gain.value = 0;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gate).connect(dest);
  osc.start();
  const t0 = ctx.currentTime + 0.05;
  let t = t0;
  while ((t - t0) * 1000 + onMs <= totalMs) {
    gate.gain.setValueAtTime(0.5, t);
    gate.gain.setValueAtTime(0, t + onMs / 1000);
    t += (onMs + offMs) / 1000;
  }
  const lastOff = t - offMs / 1000;
  return {
    stream: dest.stream,
    track: dest.stream.getAudioTracks()[0],
    end: performance.now() + (lastOff - ctx.currentTime) * 1000,
    stop: () => { osc.stop(); ctx.close(); },
  };
}

/** Every client hears every other (per the meters); returns the missing pairs. */
export async function missingPairs(clients) {
  const missing = [];
  for (const c of clients) {
    const r = await c.out.report();
    for (const o of clients) {
      if (o !== c && !r.heard[VOICES.indexOf(o.freq)]) missing.push(`${c.name}<-${o.name}`);
    }
  }
  return missing;
}

export async function everyoneHearsEveryone(clients, what, timeoutMs = 30000) {
  let last = [];
  try {
    return await waitFor(what, async () => { last = await missingPairs(clients); return last.length === 0; }, timeoutMs, 100);
  } catch (e) {
    throw new Error(`${e.message}; missing ${last.length} pairs: ${last.slice(0, 12).join(' ')}`);
  }
}

/**
 * Whether `freq` is steadily audible at `client`: read 7 times 40 ms apart, audible in at least
 * 4. A single 10.7 ms window can catch broadband energy from another voice's glitch (a
 * concealed packet or a cut under CPU load) in any bin; a voice that is really heard is there in
 * every read. Returns the verdict and the levels (dB) seen.
 */
export async function steadilyHeard(client, freq) {
  const levels = [];
  let hits = 0;
  for (let i = 0; i < 7; i++) {
    const r = await client.out.report();
    const k = VOICES.indexOf(freq);
    levels.push(Math.round(r.db[k]));
    if (r.heard[k]) hits++;
    await sleep(40);
  }
  return { heard: hits >= 4, hits, levels };
}

/** Resets every meter's gap record (only voices heard right now are tracked). */
export async function resetGaps(clients) { for (const c of clients) await c.out.reset(); }

/** Every receiver's longest silence (ms) per other voice since the last reset. */
export async function gapMatrix(clients) {
  const rows = [];
  for (const c of clients) {
    const r = await c.out.report();
    rows.push(clients.map((o) => (o === c ? null : Math.round(r.maxGapMs[VOICES.indexOf(o.freq)]))));
  }
  return rows;
}

/** The longest silence (ms) of any other voice at any receiver since the last reset. */
export async function maxGap(clients) {
  let max = 0;
  for (const c of clients) {
    const r = await c.out.report();
    for (const o of clients) if (o !== c) max = Math.max(max, r.maxGapMs[VOICES.indexOf(o.freq)]);
  }
  return max;
}

/**
 * A bare voice:* socket standing in for another app's user (not our client): it joins with or
 * without `supports_sfu` (a legacy client has none) and, if `ack`, acknowledges mode-changes
 * without doing anything; else it ignores them (a stuck member).
 */
export async function rawMember(name, channel, wsUrl, { supportsSfu = true, ack = false } = {}) {
  const { token, user } = await login(name);
  const ws = new WebSocket(`${wsUrl}/?token=${encodeURIComponent(token)}`);
  const seen = [];
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('raw socket failed')); });
  ws.onmessage = (e) => {
    let msg = null;
    try { msg = JSON.parse(e.data); } catch { return; }
    seen.push(msg.type);
    if (ack && msg.type === 'voice:mode-change') {
      ws.send(JSON.stringify({ type: 'voice:mode-change-ack', payload: { channel_id: channel, user_id: user.id, success: true } }));
    }
  };
  const join = supportsSfu ? { channel_id: channel, supports_sfu: true } : { channel_id: channel };
  const send = (type, payload) => ws.send(JSON.stringify({ type, payload }));
  send('voice:join', join);
  return {
    user, seen,
    join: () => send('voice:join', join),
    leave: () => send('voice:leave', { channel_id: channel }),
    close: () => ws.close(),
  };
}

export async function rest(path, init = {}) {
  const r = await fetch(path, init);
  const text = await r.text();
  try { return { status: r.status, body: JSON.parse(text) }; } catch { return { status: r.status, body: text }; }
}
