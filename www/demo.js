// sohbet-rtc demo page: dev login, channel list, join/leave exactly like khave.tsx (REST join, then
// webrtcService.joinChannel; leaveChannel, then REST leave), mute/deafen/video, the participant list
// with khave's accessibility hooks, speaking and level meters, quality, status, the call's mode
// (onModeChange: p2p | migrating | sfu) and each migration between the mesh and the SFU as it
// finishes (onMigration), with its duration.
//
// Query parameters: ?ws=<socket base URL> (default ws(s)://<this host>/ws: the reference server's
// voice socket on its HTTP port, so the page works on whatever port it is served from; or the
// dedicated voice port scripts/demo.sh prints), ?api=<REST base> (default this origin), ?tone=<Hz>
// (use an oscillator instead of the microphone; 0 = silence), ?socket=app (the page brings its
// own websocketService and hands it over with configure({socket}), P17).
import { webrtcService, websocketService } from '/pkg/index.js';
import { createAppSocket } from './app_socket.js';

const params = new URLSearchParams(location.search);
const API = (params.get('api') || location.origin).replace(/\/+$/, '');
const WS = params.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const TONE = params.has('tone') ? Number(params.get('tone')) : null;
const SPEAKING_LEVEL = 0.02;
const APP_SOCKET = params.get('socket') === 'app';
// One socket per tab either way: the package's websocketService, or the "app's" own one.
const socket = APP_SOCKET ? createAppSocket(WS) : websocketService;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('call-status'), loginForm: $('login-form'), username: $('username'), university: $('university'),
  whoami: $('whoami'), socketState: $('socket-state'), refresh: $('refresh-button'), channels: $('channel-list'),
  callPanel: $('call-panel'), callTitle: $('call-title'), mode: $('mode'), quality: $('quality'),
  qualityText: $('quality-text'), mute: $('mute-button'), deafen: $('deafen-button'), video: $('video-button'),
  leave: $('leave-button'), participants: $('participants'), localVideo: $('local-video'), error: $('error'),
  announcer: $('announcer'), migrations: $('migrations'),
};

const state = {
  token: null, user: null, channels: [], channel: null, joining: false,
  isMuted: false, isDeafened: false, isVideoEnabled: false, participants: [], selfLevel: 0,
  // The channel whose REST session this page holds (from the REST join to the REST leave).
  sessionChannelId: null,
  // The call's mode, every mode it was told (onModeChange) and the migrations of this call.
  mode: 'p2p', modes: [], migrations: [],
};
let toneSource = null; // { ctx, stream }
let selfMeter = null; // { ctx, analyser, timer }

// ---------------------------------------------------------------------------------------------
// helpers

function showError(message) {
  ui.error.textContent = message || '';
}

function announce(text) {
  const line = document.createElement('div');
  line.textContent = text;
  ui.announcer.append(line);
  while (ui.announcer.childElementCount > 6) ui.announcer.firstElementChild.remove();
}

async function api(method, path, body, { keepalive = false } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(`${API}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined, keepalive });
  } catch (e) {
    return { status: 0, error: `Network error: ${e.message}` };
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (!res.ok) return { status: res.status, error: data?.error || `HTTP ${res.status}` };
  return { status: res.status, data };
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && k !== 'list') node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function setPressed(button, on) {
  button.setAttribute('aria-pressed', String(Boolean(on)));
}

// ---------------------------------------------------------------------------------------------
// login, socket and channels

ui.loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  const username = ui.username.value.trim();
  if (!username) return;
  const r = await api('POST', '/api/dev/login', { username, university: ui.university.value.trim() || undefined });
  if (r.error) { showError(`Login failed: ${r.error}`); return; }
  state.token = r.data.token;
  state.user = r.data.user;
  ui.whoami.hidden = false;
  ui.whoami.textContent = `Logged in as ${state.user.username} (id ${state.user.id})`;
  ui.loginForm.hidden = true;
  if (APP_SOCKET) webrtcService.configure({ socket });
  else webrtcService.configure({ wsUrl: WS, token: state.token });
  try {
    await socket.connect(state.token);
  } catch (e) {
    showError(`Socket: ${e.message || e}`);
  }
  await loadChannels();
});

socket.onConnectionChange((open) => {
  ui.socketState.textContent = `Socket: ${open ? 'open' : 'closed'}${APP_SOCKET ? ' (the app\'s own socket)' : ''}`;
  ui.socketState.classList.toggle('ok', open);
});

// Like khave: refresh the channel list (debounced) on joins/leaves (khave only does it outside a
// call; the demo also keeps the counts fresh while in one).
let refreshTimer = null;
const scheduleRefresh = () => {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadChannels, 500);
};
socket.on('voice:user-joined', scheduleRefresh);
socket.on('voice:user-left', scheduleRefresh);

ui.refresh.addEventListener('click', loadChannels);

async function loadChannels() {
  const r = await api('GET', '/api/voice/channels');
  if (r.error) { showError(`Channels: ${r.error}`); return; }
  state.channels = r.data.channels || [];
  renderChannels();
}

function renderChannels() {
  ui.channels.replaceChildren(...state.channels.map((c) => {
    const inThis = state.channel?.id === c.id;
    const live = Number(c.participants ?? 0);
    return el('li', { class: inThis ? 'current' : '', 'data-channel-id': String(c.id) },
      el('span', { class: 'name' }, c.name),
      el('span', { class: 'badge', title: 'Mode' }, c.mode || 'p2p'),
      el('span', { class: 'count', 'aria-label': `${live} in voice, ${c.active_users} sessions` },
        `${live} in voice · ${c.active_users} sessions`),
      el('button', {
        type: 'button', 'aria-label': `Join ${c.name}`, disabled: !state.user || Boolean(state.channel) || state.joining,
        onclick: () => join(c),
      }, inThis ? 'Joined' : 'Join'));
  }));
}

// ---------------------------------------------------------------------------------------------
// join / leave (the khave sequence)

function toneStream(hz) {
  const ctx = new AudioContext();
  const dest = ctx.createMediaStreamDestination();
  const gain = ctx.createGain();
  gain.gain.value = hz > 0 ? 0.5 : 0;
  const osc = ctx.createOscillator();
  osc.frequency.value = hz > 0 ? hz : 440;
  osc.connect(gain).connect(dest);
  osc.start();
  ctx.resume().catch(() => {});
  return { ctx, stream: dest.stream };
}

async function join(channel) {
  if (!state.user || state.channel || state.joining) return;
  showError('');
  state.joining = true;
  renderChannels();
  try {
    if (TONE !== null && Number.isFinite(TONE)) {
      toneSource?.ctx.close().catch(() => {});
      toneSource = toneStream(TONE);
      webrtcService.setLocalStream(toneSource.stream);
    }
    clearMigrations();
    const r = await api('POST', `/api/voice/channels/${channel.id}/join`);
    if (!r.data) { showError(`Join failed: ${r.error}`); return; }
    state.sessionChannelId = channel.id;
    try {
      await webrtcService.joinChannel(channel.id, state.user.id, true);
    } catch (e) {
      await endSession(); // no call, no session: it would count as a user in the channel
      throw e;
    }
    state.channel = channel;
    state.isMuted = false;
    state.isVideoEnabled = false;
    state.isDeafened = webrtcService.isDeafenedStatus();
    ui.callPanel.hidden = false;
    ui.callTitle.textContent = `In call: ${channel.name}`;
    renderMode(webrtcService.getCurrentMode());
    startSelfMeter();
    renderControls();
    renderParticipants(webrtcService.getParticipants());
    scheduleRefresh();
  } catch (e) {
    showError(e?.message || String(e));
  } finally {
    state.joining = false;
    renderChannels();
  }
}

// Ends this page's REST session (one per user: the server replaces a user's session on a new
// join, and this ends it on leave, on a failed join and when the page goes away).
async function endSession({ keepalive = false } = {}) {
  const id = state.sessionChannelId;
  if (id === null) return;
  state.sessionChannelId = null;
  const r = await api('DELETE', `/api/voice/channels/${id}/leave`, undefined, { keepalive });
  if (r.error && r.status !== 404) showError(`Leave: ${r.error}`);
}

async function leave() {
  webrtcService.leaveChannel();
  await endSession();
  stopSelfMeter();
  toneSource?.ctx.close().catch(() => {});
  toneSource = null;
  state.channel = null;
  state.isMuted = false;
  state.isVideoEnabled = false;
  state.participants = [];
  ui.callPanel.hidden = true;
  ui.localVideo.hidden = true;
  ui.localVideo.srcObject = null;
  ui.status.textContent = 'Not in a call';
  renderParticipants([]);
  await loadChannels();
}

ui.leave.addEventListener('click', leave);

ui.mute.addEventListener('click', () => {
  state.isMuted = webrtcService.toggleMute();
  renderControls();
  renderSelf();
});

ui.deafen.addEventListener('click', () => {
  state.isDeafened = webrtcService.toggleDeafen();
  if (state.isDeafened) state.isMuted = true;
  renderControls();
  renderSelf();
});

ui.video.addEventListener('click', async () => {
  try {
    state.isVideoEnabled = await webrtcService.toggleVideo();
    const stream = webrtcService.getLocalStream();
    ui.localVideo.hidden = !state.isVideoEnabled;
    if (state.isVideoEnabled && stream && ui.localVideo.srcObject !== stream) ui.localVideo.srcObject = stream;
  } catch (e) {
    showError(e?.message || String(e));
  }
  renderControls();
});

function renderControls() {
  setPressed(ui.mute, state.isMuted);
  ui.mute.textContent = state.isMuted ? 'Unmute' : 'Mute';
  ui.mute.disabled = state.isDeafened;
  setPressed(ui.deafen, state.isDeafened);
  ui.deafen.textContent = state.isDeafened ? 'Undeafen' : 'Deafen';
  setPressed(ui.video, state.isVideoEnabled);
  ui.video.textContent = state.isVideoEnabled ? 'Stop video' : 'Video';
}

// ---------------------------------------------------------------------------------------------
// participants (khave's hooks: list label, per-peer aria-labels, self entry, slider labels)

const rows = new Map(); // userId -> { li, label, meter, slider, name }

function meterBar() {
  const fill = el('span', { class: 'fill' });
  const bar = el('span', { class: 'meter', 'aria-hidden': 'true' }, fill);
  return { bar, set: (level) => { fill.style.width = `${Math.min(100, Math.round(level * 400))}%`; } };
}

let selfRow = null;
function renderSelf() {
  if (!state.user || !state.channel) { selfRow?.li.remove(); selfRow = null; return; }
  if (!selfRow) {
    const meter = meterBar();
    const name = el('span', { class: 'name' });
    const avatar = el('span', { class: 'avatar', 'aria-hidden': 'true' });
    const li = el('li', { class: 'self' }, avatar, name, meter.bar);
    selfRow = { li, meter, name, avatar };
  }
  const speaking = !state.isMuted && state.selfLevel > SPEAKING_LEVEL;
  selfRow.li.setAttribute('aria-label', `You: ${state.user.username}, ${state.isMuted ? 'muted' : 'unmuted'}`);
  selfRow.li.classList.toggle('speaking', speaking);
  selfRow.li.classList.toggle('is-muted', state.isMuted);
  selfRow.avatar.textContent = state.user.username.substring(0, 2).toUpperCase();
  selfRow.name.textContent = `${state.user.username} (you)${state.isMuted ? ' · muted' : ''}`;
  selfRow.meter.set(state.isMuted ? 0 : state.selfLevel);
  if (ui.participants.firstElementChild !== selfRow.li) ui.participants.prepend(selfRow.li);
}

function renderParticipants(list) {
  const previous = state.participants;
  // join/leave announcements (like khave's callback)
  if (state.channel) {
    const before = new Set(previous.map((p) => p.userId));
    const now = new Set(list.map((p) => p.userId));
    let changed = false;
    for (const p of list) if (!before.has(p.userId)) { announce(`${p.username} joined the voice channel`); changed = true; }
    for (const p of previous) if (!now.has(p.userId)) { announce(`${p.username} left the voice channel`); changed = true; }
    if (changed) scheduleRefresh();
  }
  state.participants = list;
  renderSelf();
  const seen = new Set();
  for (const p of list) {
    seen.add(p.userId);
    let row = rows.get(p.userId);
    if (!row) {
      const meter = meterBar();
      const name = el('span', { class: 'name' });
      const avatar = el('span', { class: 'avatar', 'aria-hidden': 'true' });
      const slider = el('input', {
        type: 'range', min: '0', max: '100', step: '1',
        oninput: (e) => webrtcService.setParticipantVolume(p.userId, Number(e.target.value) / 100),
      });
      const li = el('li', { 'data-user-id': String(p.userId) }, avatar, name, meter.bar, slider);
      row = { li, meter, name, avatar, slider };
      rows.set(p.userId, row);
      ui.participants.append(row.li);
    }
    row.li.setAttribute('aria-label',
      `${p.username}, ${p.isMuted ? 'muted' : 'unmuted'}, ${p.isSpeaking ? 'speaking' : 'not speaking'}`);
    row.li.classList.toggle('speaking', p.isSpeaking);
    row.li.classList.toggle('is-muted', p.isMuted);
    row.avatar.textContent = p.username.substring(0, 2).toUpperCase();
    row.name.textContent = `${p.username}${p.university ? ` · ${p.university}` : ''}${p.isMuted ? ' · muted' : ''}`;
    row.meter.set(p.audioLevel || 0);
    row.slider.setAttribute('aria-label', `Volume control for ${p.username}`);
    const volume = String(Math.round(webrtcService.getParticipantVolume(p.userId) * 100));
    if (document.activeElement !== row.slider && row.slider.value !== volume) row.slider.value = volume;
  }
  for (const [id, row] of rows) {
    if (!seen.has(id)) { row.li.remove(); rows.delete(id); }
  }
}

// ---------------------------------------------------------------------------------------------
// the call's mode and its migrations between the mesh and the SFU

const DIRECTIONS = { 'p2p-to-sfu': 'p2p → sfu', 'sfu-to-p2p': 'sfu → p2p' };

function renderMode(mode) {
  state.mode = mode;
  ui.mode.textContent = mode;
  ui.mode.className = `badge mode-${mode}`;
  ui.mode.setAttribute('aria-label', `Call mode: ${mode}`);
}

function clearMigrations() {
  state.migrations = [];
  state.modes = [];
  ui.migrations.replaceChildren(el('li', { class: 'none muted-text' }, 'none yet'));
}

// A migration under way: shown until onMigration reports how it ended.
function showPendingMigration(from) {
  if (from === 'migrating') return; // a correction of the one under way: still pending
  ui.migrations.querySelector('.none')?.remove();
  ui.migrations.querySelector('.pending')?.remove();
  const to = from === 'sfu' ? 'p2p' : 'sfu';
  ui.migrations.append(el('li', { class: 'pending', 'aria-busy': 'true' }, `${from} → ${to}: migrating…`));
}

function migrationText(m) {
  const attempts = m.attempts > 1 ? ` · ${m.attempts} SFU attempts` : '';
  return `${DIRECTIONS[m.direction] ?? m.direction} · ${m.strategy} · ${m.outcome}`
    + `${m.reason ? ` (${m.reason})` : ''} in ${Math.round(m.durationMs)} ms${attempts}`;
}

function showMigration(m) {
  state.migrations.push(m);
  ui.migrations.querySelector('.none')?.remove();
  ui.migrations.querySelector('.pending')?.remove();
  ui.migrations.append(el('li', {
    class: m.outcome === 'completed' ? 'done' : 'failed',
    'data-direction': m.direction, 'data-outcome': m.outcome, 'data-duration-ms': String(m.durationMs),
  }, migrationText(m)));
}

// ---------------------------------------------------------------------------------------------
// local level meter (the service analyses remote peers only)

function startSelfMeter() {
  stopSelfMeter();
  const stream = webrtcService.getLocalStream();
  if (!stream || stream.getAudioTracks().length === 0) return;
  try {
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 256;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const bins = new Uint8Array(analyser.frequencyBinCount);
    const timer = setInterval(() => {
      analyser.getByteFrequencyData(bins);
      let sum = 0;
      for (const b of bins) sum += b;
      const level = sum / bins.length / 255;
      if (Math.abs(level - state.selfLevel) > 0.005) {
        state.selfLevel = level;
        renderSelf();
      }
    }, 100);
    selfMeter = { ctx, timer };
  } catch (e) {
    console.warn('self meter unavailable', e);
  }
}

function stopSelfMeter() {
  if (!selfMeter) return;
  clearInterval(selfMeter.timer);
  selfMeter.ctx.close().catch(() => {});
  selfMeter = null;
  state.selfLevel = 0;
}

// ---------------------------------------------------------------------------------------------
// service callbacks (single slot each; registered once)

webrtcService.onParticipantUpdate((list) => renderParticipants(list));
webrtcService.onRemoteStream((userId, stream) => {
  console.debug(`remote ${stream.getVideoTracks().length ? 'video' : 'audio'} stream from ${userId}`);
});
webrtcService.onConnectionQuality((q) => {
  ui.quality.className = `quality q-${q}`;
  ui.qualityText.textContent = q;
});
webrtcService.onStatus((text) => {
  ui.status.textContent = text;
});
webrtcService.onModeChange((mode) => {
  const from = state.mode;
  state.modes.push(mode);
  renderMode(mode);
  if (mode === 'migrating') showPendingMigration(from);
  announce(`Call mode: ${mode}`);
  scheduleRefresh(); // the channel list shows each channel's mode
});
webrtcService.onMigration((m) => {
  showMigration(m);
  announce(`Migration ${migrationText(m)}`);
});
webrtcService.onError((err) => {
  showError(`${err.message}${err.code ? ` (${err.code})` : ''}`);
});

// A reload or a closed tab ends the call and the REST session too: otherwise each reload left a
// session behind until it expired (the next login is a new dev user), and 3 users showed
// "6 sessions". keepalive lets the request outlive the page.
window.addEventListener('pagehide', () => {
  if (state.channel) webrtcService.leaveChannel();
  endSession({ keepalive: true });
});

// for tests and the console
window.sohbetDemo = { webrtcService, websocketService, socket, state };

loadChannels();
