// Packed-package smoke test: `npm pack` the built pkg/, install the tarball into a temporary
// project and import 'sohbet-rtc' in plain Node (no window). Proves P19 — the import touches no
// browser globals (every one is trapped by a getter that records access) and instantiates no wasm
// (WebAssembly and fetch are spied on) — and that the drop-in singletons expose every method of
// compat-spec §1.2 / §2.1 and answer their sync methods without a browser. Prints
// `e2e: N passed, M failed`; exits non-zero on failure. Needs pkg/ (bash scripts/build_pkg.sh).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, run } from './harness.mjs';

const PKG = path.join(ROOT, 'pkg');
const results = [];

function record(name, ok, note) {
  results.push([name, ok]);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${note ? ` — ${note}` : ''}`);
}

// The probe runs in a fresh Node process inside the temp project. It prints one JSON line.
const PROBE = String.raw`
const touched = [];
const TRAPPED = ['window', 'document', 'navigator', 'location', 'self', 'AudioContext', 'webkitAudioContext',
  'RTCPeerConnection', 'WebSocket', 'MediaStream', 'localStorage', 'sessionStorage', 'requestAnimationFrame'];
for (const name of TRAPPED) {
  Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name); return undefined; } });
}
const wasmCalls = [];
for (const fn of ['instantiate', 'instantiateStreaming', 'compile', 'compileStreaming']) {
  const orig = WebAssembly[fn];
  // Only calls made by the package count (Node's own fetch instantiates its HTTP parser lazily).
  WebAssembly[fn] = function (...a) {
    const caller = (new Error().stack || '').split('\n')[2] || '';
    if (!caller.includes('node:internal')) wasmCalls.push(fn);
    return orig.apply(this, a);
  };
}
const origFetch = globalThis.fetch;
globalThis.fetch = (...a) => { wasmCalls.push('fetch'); return origFetch(...a); };

const out = { checks: [] };
const check = (name, ok, note) => out.checks.push({ name, ok: Boolean(ok), note });
let m;
try {
  m = await import('sohbet-rtc');
} catch (e) {
  check('import sohbet-rtc in plain node', false, String(e && e.stack || e));
  console.log(JSON.stringify(out));
  process.exit(0);
}
const touchedAtImport = [...touched];
check('import sohbet-rtc in plain node', true, 'exports: ' + Object.keys(m).sort().join(', '));
const probes = touchedAtImport.filter((n) => n === 'AudioContext' || n === 'webkitAudioContext');
const used = touchedAtImport.filter((n) => !probes.includes(n));
check('import touches no browser global (P19)', used.length === 0,
  used.length ? 'accessed: ' + used.join(', ')
  : (probes.length ? 'only the glue\'s typeof feature probe of ' + [...new Set(probes)].join('/') + ' (the trap returned undefined and the import still succeeded, so nothing was constructed)' : 'none accessed'));
check('import instantiates no wasm and fetches nothing', wasmCalls.length === 0, wasmCalls.join(', ') || 'no WebAssembly/fetch calls');

const { webrtcService: w, websocketService: ws } = m;
const V = ['joinChannel', 'leaveChannel', 'getLocalStream', 'toggleMute', 'toggleVideo', 'toggleDeafen',
  'isMutedStatus', 'isVideoEnabledStatus', 'isDeafenedStatus', 'setParticipantVolume', 'getParticipantVolume',
  'getParticipants', 'onParticipantUpdate', 'onRemoteStream', 'onConnectionQuality'];
const X = ['getCurrentMode', 'onStatus', 'onError', 'setLocalStream', 'configure', 'dispose', 'on', 'getConnectionState',
  'canPlayAudio', 'startAudio'];
const S = ['connect', 'send', 'on', 'off', 'onConnectionChange', 'isConnected', 'disconnect', 'sendChatMessage', 'sendTypingIndicator'];
const missing = (o, names) => names.filter((n) => typeof o?.[n] !== 'function');
check('webrtcService has every compat-spec §1.2 method', w && missing(w, V).length === 0, 'missing: ' + (missing(w, V).join(', ') || 'none'));
check('webrtcService has the extras (mode, status, errors, events, connection state, audio playback)', missing(w, X).length === 0, 'missing: ' + (missing(w, X).join(', ') || 'none'));
check('websocketService has every §2.1 method', ws && missing(ws, S).length === 0, 'missing: ' + (missing(ws, S).join(', ') || 'none'));
check('default export is webrtcService; ready(), configure(), setLogLevel() and the classes are exported',
  m.default === w && typeof m.ready === 'function' && typeof m.configure === 'function' && typeof m.setLogLevel === 'function'
  && ['WebRtcService', 'SignalingClient'].every((c) => typeof m[c] === 'function'));
check('the subpath sohbet-rtc/react resolves through the exports map (loading it needs React)',
  import.meta.resolve('sohbet-rtc/react').endsWith('/node_modules/sohbet-rtc/react.js'));

try {
  const a = w.getParticipants(); const b = w.getParticipants();
  check('getParticipants() → a new empty array each call', Array.isArray(a) && a.length === 0 && a !== b);
  check('toggleMute() outside a call → false, isMutedStatus() false', w.toggleMute() === false && w.isMutedStatus() === false);
  check('isVideoEnabledStatus() false, getLocalStream() null, getCurrentMode() p2p',
    w.isVideoEnabledStatus() === false && w.getLocalStream() === null && w.getCurrentMode() === 'p2p');
  const d1 = w.toggleDeafen(); const s1 = w.isDeafenedStatus(); const d2 = w.toggleDeafen();
  check('toggleDeafen() flips outside a call', d1 === true && s1 === true && d2 === false && w.isDeafenedStatus() === false);
  const v0 = w.getParticipantVolume(42);
  let calls = []; let first = 0;
  w.onParticipantUpdate(() => { first++; });
  w.onParticipantUpdate((list) => calls.push(list)); // single slot: replaces the first
  w.setParticipantVolume(42, 0);
  const vz = w.getParticipantVolume(42);
  w.setParticipantVolume(42, 7);
  const vc = w.getParticipantVolume(42);
  check('volumes: default 1, a stored 0 reads 0 (P9), clamped to 1', v0 === 1 && vz === 0 && vc === 1, [v0, vz, vc].join(' / '));
  check('setParticipantVolume fires the (single-slot) participant callback with a new []',
    first === 0 && calls.length === 2 && calls.every((l) => Array.isArray(l) && l.length === 0) && calls[0] !== calls[1]);
  // on(type, handler): any number of listeners beside the single slot, each with its own
  // unsubscribe (the same function twice is two listeners).
  const heard = [];
  const listener = (list) => heard.push(list);
  const off1 = w.on('participants', listener);
  const off2 = w.on('participants', listener);
  w.setParticipantVolume(43, 0.5);
  off1();
  w.setParticipantVolume(43, 0.6);
  off2();
  w.setParticipantVolume(43, 0.7);
  const offBad = w.on('participants', 'not a function');
  check('on(type, handler) adds listeners beside the slot and returns their unsubscribe',
    heard.length === 3 && calls.length === 5 && typeof offBad === 'function', 'listener calls ' + heard.length + ', slot calls ' + calls.length);
  check('outside a call: getConnectionState() disconnected, canPlayAudio() true',
    w.getConnectionState() === 'disconnected' && w.canPlayAudio() === true);
  await w.startAudio();
  check('startAudio() resolves outside a call', true);
  let levelError = null;
  try { m.setLogLevel('loud'); } catch (e) { levelError = e; }
  m.setLogLevel('warn');
  check('setLogLevel refuses an unknown level with a coded error', levelError?.code === 'service/invalid-argument', levelError?.message);
  w.leaveChannel(); w.leaveChannel();
  const tv = await w.toggleVideo();
  check('leaveChannel() is a no-op outside a call; toggleVideo() resolves false', tv === false);
  const sent = ws.send('voice:join', { channel_id: 1 });
  const h = () => {}; ws.on('voice:user-joined', h); ws.off('voice:user-joined', h);
  const unsub = ws.onConnectionChange(() => {});
  check('websocketService before connect: isConnected() false, send() false, on/off ok, onConnectionChange → unsubscribe',
    ws.isConnected() === false && sent === false && typeof unsub === 'function');
  unsub();
  check('sync calls still instantiate no wasm (lazy init)', wasmCalls.length === 0, wasmCalls.join(', ') || 'none');
  const usedNow = touched.filter((n) => n !== 'AudioContext' && n !== 'webkitAudioContext');
  check('sync calls touch no browser global', usedNow.length === 0, usedNow.join(', ') || 'none');

  // A second evaluation of the module (what HMR does) shares the singletons' state.
  const url = import.meta.resolve('sohbet-rtc');
  const m2 = await import(url + '?hmr=1');
  w.toggleDeafen();
  const shared = m2 !== m && m2.webrtcService.isDeafenedStatus() === true;
  w.toggleDeafen();
  check('a re-evaluated module (HMR) shares the same core state', shared && m2.webrtcService.isDeafenedStatus() === false);

  // Explicit init from bytes works in Node and happens once.
  const fs = await import('node:fs');
  const wasmPath = new URL('./sohbet_rtc_bg.wasm', url);
  const bytes = fs.readFileSync(wasmPath);
  await Promise.all([m.ready(bytes), m.ready(bytes)]);
  await m.ready();
  const inst = wasmCalls.filter((c) => c.startsWith('instantiate')).length;
  check('ready(bytes) instantiates the wasm once in Node', inst === 1, 'instantiate calls: ' + inst);

  // SignalingClient's chat helpers are defined by index.js over send(): false while not open.
  const sc = new m.SignalingClient('ws://127.0.0.1:9');
  check('SignalingClient.sendChatMessage/sendTypingIndicator (index.js) → false before connect',
    sc.sendChatMessage(1, 'hi') === false && sc.sendTypingIndicator(1) === false);
  sc.free();

  // Without a browser joinChannel rejects with a coded Error (no crash, no unhandled panic).
  let err = null;
  try { await w.joinChannel(1, 1, true); } catch (e) { err = e; }
  check('joinChannel() without a browser rejects with a coded Error', err instanceof Error && typeof err.code === 'string',
    err ? err.code + ': ' + err.message : 'resolved');
  check('after the failed join: getParticipants() [] and isMutedStatus() false',
    w.getParticipants().length === 0 && w.isMutedStatus() === false);
} catch (e) {
  check('sync API without a browser', false, String(e && e.stack || e));
}
console.log(JSON.stringify(out));
`;

function main() {
  if (!fs.existsSync(path.join(PKG, 'package.json')) || !fs.existsSync(path.join(PKG, 'index.js'))) {
    record('pkg/ is built with the JS entry', false, 'run bash scripts/build_pkg.sh first');
    return;
  }
  const pkgJson = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  record('pkg/package.json points main/module/types at the JS entry',
    pkgJson.main === 'index.js' && pkgJson.module === 'index.js' && pkgJson.types === 'index.d.ts' && pkgJson.type === 'module',
    `main=${pkgJson.main} module=${pkgJson.module} types=${pkgJson.types} type=${pkgJson.type} sideEffects=${pkgJson.sideEffects}`);

  const exp = pkgJson.exports ?? {};
  record('package.json has an exports map: the entry and the React hook with their types, the wasm, package.json',
    exp['.']?.types === './index.d.ts' && exp['.']?.default === './index.js'
      && exp['./react']?.types === './react.d.ts' && exp['./react']?.default === './react.js'
      && exp['./sohbet_rtc_bg.wasm'] === './sohbet_rtc_bg.wasm' && exp['./package.json'] === './package.json',
    JSON.stringify(exp));
  record('React is an optional peer dependency (only the hook needs it)',
    pkgJson.peerDependencies?.react !== undefined && pkgJson.peerDependenciesMeta?.react?.optional === true,
    JSON.stringify([pkgJson.peerDependencies, pkgJson.peerDependenciesMeta]));

  // Source maps: each shipped script names its map, and the map leads back to the readable sources.
  const maps = ['index.js', 'react.js'].map((f) => {
    const js = fs.readFileSync(path.join(PKG, f), 'utf8');
    const map = fs.existsSync(path.join(PKG, `${f}.map`)) ? JSON.parse(fs.readFileSync(path.join(PKG, `${f}.map`), 'utf8')) : null;
    return { f, linked: js.trimEnd().endsWith(`//# sourceMappingURL=${f}.map`), sources: map?.sources ?? [], content: (map?.sourcesContent ?? []).filter(Boolean).length };
  });
  record('index.js and react.js ship source maps back to js/ (with the sources inside)',
    maps.every((m) => m.linked && m.content === m.sources.length && m.sources.some((s) => s.endsWith(m.f))),
    maps.map((m) => `${m.f}: ${m.sources.join(', ')}`).join('; '));

  // No `any` in the shipped typings (comments aside): every parameter and result is typed.
  const anys = [];
  for (const f of fs.readdirSync(PKG).filter((n) => n.endsWith('.d.ts'))) {
    fs.readFileSync(path.join(PKG, f), 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$|\/\*.*?\*\/|^\s*\*.*$/g, '');
      if (/\bany\b/.test(code)) anys.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  record('the shipped typings contain no `any`', anys.length === 0, anys.slice(0, 8).join(' | ') || 'none');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sohbet-rtc-smoke-'));
  try {
    const packed = JSON.parse(run('npm', ['pack', PKG, '--pack-destination', tmp, '--json', '--silent'], ROOT));
    const info = packed[0];
    const files = info.files.map((f) => f.path);
    // index.js holds the entry and wasm-bindgen's glue in one module (bundled by esbuild).
    const need = ['package.json', 'index.js', 'index.d.ts', 'sohbet_rtc.d.ts', 'sohbet_rtc_bg.wasm', 'LICENSE', 'README.md',
      'react.js', 'react.d.ts', 'index.js.map', 'react.js.map'];
    const lacking = need.filter((f) => !files.includes(f));
    record('npm pack includes the entry (with the glue), the types and the wasm', lacking.length === 0,
      lacking.length ? `missing ${lacking.join(', ')}` : `${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked`);

    const project = path.join(tmp, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true, type: 'module' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', '--silent', path.join(tmp, info.filename)], project);
    record('the tarball installs into a fresh project', fs.existsSync(path.join(project, 'node_modules/sohbet-rtc/index.js')));

    fs.writeFileSync(path.join(project, 'probe.mjs'), PROBE);
    const r = spawnSync(process.execPath, ['probe.mjs'], { cwd: project, encoding: 'utf8', timeout: 60000 });
    const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) {
      record('probe process ran', false, `exit ${r.status}: ${(r.stderr || r.stdout || '').slice(0, 600)}`);
      return;
    }
    for (const c of JSON.parse(line).checks) record(c.name, c.ok, c.note);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  record('pkg smoke harness', false, String(e?.message ?? e).split('\n')[0]);
}
const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
