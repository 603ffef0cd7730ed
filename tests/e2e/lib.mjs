// Browser-side helpers for the SFU end-to-end suite: log in to the reference back end, fetch
// LiveKit tokens from it, make tone "microphones", measure what a client hears (FFT energy at
// each voice's frequency), and drive our SfuClient or LiveKit's own livekit-client.
const PKG = new URLSearchParams(location.search).get('pkg') ?? 'pkg';
// The shipped package is one module (index.js: `ready()` loads the wasm); a dev build of the crate
// (tests/e2e/pkg) is wasm-bindgen's glue, whose default export loads it.
const SHIPPED = (await fetch(`./${PKG}/index.js`, { method: 'HEAD' })).ok;
const wasmModule = await import(`./${PKG}/${SHIPPED ? 'index.js' : 'sohbet_rtc.js'}`);
const { SfuClient } = wasmModule;
const initWasm = SHIPPED ? wasmModule.ready : wasmModule.default;

let LK = null;
export async function init() {
  await initWasm();
  LK = await import('/node_modules/livekit-client/dist/livekit-client.esm.mjs');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, fn, timeoutMs = 15000, stepMs = 100) {
  const t0 = performance.now();
  for (;;) {
    const v = await fn();
    if (v) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

export async function login(name) {
  const r = await fetch('/api/dev/login', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name }),
  });
  if (!r.ok) throw new Error(`dev login ${r.status}: ${await r.text()}`);
  return r.json();
}

export async function sfuToken(userToken, channel) {
  const r = await fetch(`/api/voice/channels/${channel}/sfu-token`, {
    method: 'POST', headers: { authorization: `Bearer ${userToken}` },
  });
  if (!r.ok) throw new Error(`sfu-token ${r.status}: ${await r.text()}`);
  return r.json();
}

// One shared context for every tone "microphone" on the page.
let toneCtx = null;
export function tone(freq) {
  toneCtx ??= new AudioContext();
  toneCtx.resume();
  const osc = toneCtx.createOscillator();
  osc.frequency.value = freq;
  const gain = toneCtx.createGain();
  gain.gain.value = 0.5;
  const dest = toneCtx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  return { track: dest.stream.getAudioTracks()[0], stream: dest.stream, stop: () => { osc.stop(); osc.disconnect(); } };
}

// Test instrumentation of the page, not of the library: the e2e suite observes and disturbs our
// client only through browser objects it also uses, so nothing test-only ships in the package.
// - Output taps: every node connected to an AudioContext's destination is recorded (the client's
//   master gain, connected when its AudioGraph is built in the SfuClient constructor); an
//   analyser on that node measures exactly what the client plays.
// - Signal sockets: every WebSocket the page opens is recorded; a client's LiveKit signal socket
//   is the newest open one whose access_token names the client's identity (resumes and refreshed
//   tokens keep the identity). Closing it with 4000 is what a network drop looks like to the
//   page; dispatching a MessageEvent on it feeds a frame through the client's real onmessage path.
//   The frames each socket sent are kept (`socket.sentFrames`).
// - Peer connections: every RTCPeerConnection the page creates is recorded with the ICE
//   candidates it gathered, so a test can check that each one reached the server.
const destinationFeeds = [];
const connect = AudioNode.prototype.connect;
AudioNode.prototype.connect = function (target, ...rest) {
  if (target instanceof AudioDestinationNode) destinationFeeds.push(this);
  return connect.call(this, target, ...rest);
};
/** The original `AudioNode.prototype.connect` (connections made with it are not recorded). */
export const rawConnect = connect;
export const destinationFeedCount = () => destinationFeeds.length;
export const destinationFeed = (i) => destinationFeeds[i];
const sockets = [];
window.WebSocket = class extends WebSocket {
  constructor(...args) {
    super(...args);
    this.sentFrames = [];
    sockets.push(this);
  }
  send(data) {
    // A copy: the client may send a view into wasm memory, which is reused afterwards.
    this.sentFrames.push(typeof data === 'string' ? data : data.slice(0));
    return super.send(data);
  }
};
const peerConnections = [];
window.RTCPeerConnection = class extends RTCPeerConnection {
  constructor(...args) {
    super(...args);
    this.gathered = [];
    this.addEventListener('icecandidate', (e) => { if (e.candidate) this.gathered.push(e.candidate); });
    peerConnections.push(this);
  }
};
/** Every RTCPeerConnection the page has created, each with the candidates it `gathered`. */
export const pagePeerConnections = () => peerConnections;

/** The LiveKit identity (`sub`) in a signal URL's access_token, or null. */
export function tokenIdentity(url) {
  try {
    const jwt = new URL(url).searchParams.get('access_token');
    return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub;
  } catch {
    return null;
  }
}

/** The open LiveKit signal socket of the participant `identity` (throws when there is none). */
/** Every WebSocket the page has opened. */
export const pageSockets = () => sockets;

/** The open LiveKit signal socket of the participant `identity` (throws when there is none). */
export function signalSocket(identity) {
  const ws = sockets.findLast((s) => s.readyState === WebSocket.OPEN && tokenIdentity(s.url) === String(identity));
  if (!ws) throw new Error(`no open signal socket for ${identity}`);
  return ws;
}

/** An analyser on everything `makeClient()` sends to its context's destination. */
function withOutputTap(makeClient, fftSize) {
  const mark = destinationFeeds.length;
  const client = makeClient();
  const feed = destinationFeeds[mark];
  if (!feed) throw new Error('the client connected nothing to an AudioContext destination');
  const analyser = feed.context.createAnalyser();
  analyser.fftSize = fftSize;
  connect.call(feed, analyser);
  return { client, analyser };
}

// FFT probe on an AnalyserNode: the peak level (dBFS) near `freq`. A tone at 0.5 amplitude
// arrives around -10..-20 dBFS; silence, codec noise and neighbouring voices stay below -60.
export const HEARD_DB = -45;
export function probe(analyser) {
  analyser.smoothingTimeConstant = 0;
  const bins = new Float32Array(analyser.frequencyBinCount);
  const binHz = analyser.context.sampleRate / analyser.fftSize;
  const level = (freq) => {
    analyser.getFloatFrequencyData(bins);
    const c = Math.round(freq / binHz);
    let peak = -200;
    for (let i = Math.max(0, c - 3); i <= Math.min(bins.length - 1, c + 3); i++) {
      if (Number.isFinite(bins[i])) peak = Math.max(peak, bins[i]);
    }
    return peak;
  };
  return { level, hears: (freq) => level(freq) > HEARD_DB };
}

// Analyses a remote MediaStream the way an app would play it (muted element + Web Audio).
export function streamProbe(stream, fftSize = 8192) {
  const ctx = new AudioContext();
  ctx.resume();
  const el = new Audio(); el.muted = true; el.srcObject = stream; el.play().catch(() => {});
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser(); an.fftSize = fftSize;
  src.connect(an);
  return { ...probe(an), close: () => { src.disconnect(); el.srcObject = null; ctx.close(); } };
}

export const VOICES = [440, 620, 800, 980, 1160, 1340, 1520, 1700];

// Our client: login, token from the back end, connect, publish a tone.
export async function ourClient(name, channel, freq, { url = null, events = null, singlePeerConnection = true, useServerIceServers = false } = {}) {
  const { token: userToken, user } = await login(name);
  const minted = await sfuToken(userToken, channel);
  const { client, analyser } = withOutputTap(() => new SfuClient({ useServerIceServers, singlePeerConnection }), 8192);
  const log = [];
  client.onEvent((e) => { log.push(e); events?.(e); });
  const mic = tone(freq);
  await client.connect(url ?? minted.url, minted.token);
  const trackSid = await client.publish(mic.track);
  const out = probe(analyser);
  // A network drop of the signal socket, and a frame arriving on it.
  const kill = () => signalSocket(user.id).close(4000);
  const inject = (bytes) => signalSocket(user.id).dispatchEvent(new MessageEvent('message', { data: Uint8Array.from(bytes).buffer }));
  return { client, user, freq, mic, out, log, trackSid, userToken, minted, kill, inject };
}

// LiveKit's official SDK as a participant that publishes a tone and listens.
export async function livekitClient(name, channel, freq, { url = null } = {}) {
  const { token: userToken, user } = await login(name);
  const minted = await sfuToken(userToken, channel);
  const room = new LK.Room();
  const probes = new Map();
  room.on(LK.RoomEvent.TrackSubscribed, (track, _pub, participant) => {
    if (track.kind === 'audio') probes.set(participant.identity, streamProbe(new MediaStream([track.mediaStreamTrack])));
  });
  await room.connect(url ?? minted.url, minted.token, { autoSubscribe: true });
  let mic = null;
  if (freq) {
    mic = tone(freq);
    await room.localParticipant.publishTrack(mic.track, { source: LK.Track.Source.Microphone });
  }
  const hears = (identity, f) => probes.get(String(identity))?.hears(f) ?? false;
  return { room, user, freq, mic, probes, hears, LK };
}

// The whole package module (WebRtcService, SignalingClient… for the hybrid suite).
export { SfuClient, LK, wasmModule as pkg };
