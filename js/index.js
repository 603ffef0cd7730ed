// sohbet-rtc — npm entry point: drop-in `webrtcService` / `websocketService` singletons for the
// Sohbet app (compat-spec §1.2 and §2.1) over the Rust/wasm classes of ./sohbet_rtc.js.
//
// SSR/HMR (P19): importing this module touches no window, navigator, document or AudioContext and
// does not instantiate wasm. The wasm module is initialised lazily, once, on first need
// (joinChannel, connect, or an explicit `ready()`). The state behind both singletons lives in one
// core object that is created on first use and kept on globalThis under a registry symbol, so a
// module re-evaluated by HMR reuses the same socket, service and callback slots (no duplicate
// handlers, one socket per tab — P17). Callback registration is single-slot replace.
//
// Sync methods called before the wasm service exists behave like the original outside a call.

import init, { WebRtcService, SignalingClient, setLogLevel as wasmLogLevel } from './sohbet_rtc.js';

export { WebRtcService, SignalingClient };

// The chat helpers of the app's websocketService shape, over `this.send`: installed on
// SignalingClient's prototype (so an app may re-export the class; a line of JS each instead of
// two wasm exports) and on the websocketService singleton below.
const chatHelpers = {
  sendChatMessage(conversationId, content) {
    return this.send('chat:send', { conversation_id: conversationId, content });
  },
  sendTypingIndicator(conversationId) {
    return this.send('chat:typing', { conversation_id: conversationId });
  },
};
Object.assign(SignalingClient.prototype, chatHelpers);

const CORE_KEY = Symbol.for('sohbet-rtc.core.v1');
const DEFAULT_WS_PORT = 8081;

let initPromise = null;
let initialised = false;

// The console filter ('debug' | 'info' | 'warn' | 'error' | 'off'); quiet by default.
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'off'];
let logLevel = 'warn';

/**
 * How much the library logs to the console: 'debug', 'info', 'warn' (default: warnings and
 * errors only), 'error' or 'off'. Applies to the wasm core too (now, or once it is loaded).
 */
export function setLogLevel(level) {
  if (!LOG_LEVELS.includes(level)) {
    throw withCode(new TypeError(`setLogLevel: expected one of ${LOG_LEVELS.join(', ')}`), 'service/invalid-argument');
  }
  logLevel = level;
  if (initialised) wasmLogLevel(level);
}

/**
 * Initialises the wasm module (once; concurrent callers share the promise). `moduleOrPath` is
 * optional: a URL/path, a Response, bytes or a WebAssembly.Module; by default the .wasm file
 * next to the glue is fetched.
 */
export function ready(moduleOrPath) {
  if (!initPromise) {
    const arg = moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath };
    initPromise = init(arg).then(() => {
      initialised = true;
      wasmLogLevel(logLevel);
    });
    initPromise.catch(() => {
      initPromise = null; // a failed load (offline, 404) may be retried
    });
  }
  return initPromise;
}

/** console.debug/info/warn/error (LOG_LEVELS[level]) when `level` is shown. */
function log(level, ...args) {
  if (typeof console !== 'undefined' && LOG_LEVELS.indexOf(logLevel) <= level) console[LOG_LEVELS[level]]('sohbet-rtc:', ...args);
}

function warn(message, error) {
  log(3, message, error);
}

function withCode(error, code) {
  const e = error instanceof Error ? error : new Error(String(error?.message ?? error));
  if (e.code === undefined) {
    try { e.code = code; } catch { /* frozen */ }
  }
  return e;
}

function envWsUrl() {
  try {
    // Bundlers inline NEXT_PUBLIC_* at build time; `process` may not exist in the browser.
    return (typeof process !== 'undefined' && process.env && process.env.NEXT_PUBLIC_WS_URL) || null;
  } catch {
    return null;
  }
}

/** The socket base URL, computed when first needed (never at import). */
function resolveWsUrl(configured) {
  const explicit = configured || envWsUrl();
  if (explicit) return String(explicit).replace(/^https:\/\//, 'wss://').replace(/^http:\/\//, 'ws://').replace(/\/+$/, '');
  const loc = typeof location !== 'undefined' ? location : null;
  const secure = loc && loc.protocol === 'https:';
  const host = (loc && loc.hostname) || '0.0.0.0';
  return `${secure ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${DEFAULT_WS_PORT}`;
}

function isSecurePage() {
  return typeof location !== 'undefined' && location.protocol === 'https:';
}

// ---------------------------------------------------------------------------------------------
// websocketService: the app's API (§2.1) over the built-in wasm SignalingClient.

function createSocketCore(core) {
  // type -> Set<handler>: outlives the wasm client (handlers may be registered before it exists
  // and are re-registered on a new client). The client keeps the live registry and calls each
  // handler on its own, catching its exceptions.
  const handlers = new Map();
  const connectionListeners = new Set();
  let client = null;
  let clientUrl = null;
  let clientPromise = null;
  let token = null;

  const notifyConnection = (open) => {
    log(1, 'signalling socket', open ? 'open' : 'closed');
    for (const listener of [...connectionListeners]) {
      try { listener(open); } catch (e) { warn('error in connection listener', e); }
    }
  };

  // One client for the core's lifetime (a call made over it keeps working after a URL change):
  // a new URL closes the socket and applies from the next connect().
  const moveClient = (url) => {
    try { client.disconnect(); } catch (e) { warn('disconnect failed', e); }
    client.setUrl(url);
    clientUrl = url;
  };

  const ensureClient = () => {
    const url = resolveWsUrl(core.options.wsUrl);
    if (client && clientUrl !== url) moveClient(url);
    if (client) return Promise.resolve(client);
    if (!clientPromise) {
      clientPromise = ready().then(() => {
        if (client) return client;
        const c = new SignalingClient(url);
        c.onConnectionChange(notifyConnection);
        client = c;
        clientUrl = url;
        handlers.forEach((set, type) => set.forEach((handler) => c.on(type, handler)));
        return c;
      });
      clientPromise.catch(() => { clientPromise = null; });
    }
    return clientPromise;
  };

  const api = {
    /** Opens `<url>/?token=<JWT>`; resolves on open (at once if open or in flight). */
    connect(jwt) {
      if (jwt) token = jwt;
      const useToken = token || core.options.token;
      if (!useToken) return Promise.reject(withCode(new Error('websocketService.connect needs a token'), 'signal/no-token'));
      const url = resolveWsUrl(core.options.wsUrl);
      if (isSecurePage() && url.startsWith('ws://')) {
        return Promise.reject(withCode(new Error(
          'an https:// page cannot open a ws:// socket: set NEXT_PUBLIC_WS_URL to a wss:// URL',
        ), 'signal/insecure-url'));
      }
      token = useToken;
      return ensureClient().then((c) => c.connect(useToken)).then(() => undefined);
    },
    /** `{type, payload}` out; false (message dropped) when the socket is not open. */
    send(type, payload) {
      if (!client) return false;
      try { return client.send(type, payload) === true; } catch (e) { warn('send failed', e); return false; }
    },
    on(type, handler) {
      if (typeof handler !== 'function') return;
      let set = handlers.get(type);
      if (!set) handlers.set(type, (set = new Set()));
      set.add(handler);
      client?.on(type, handler);
    },
    off(type, handler) {
      const set = handlers.get(type);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) handlers.delete(type);
      try { client?.off(type, handler); } catch { /* client gone */ }
    },
    /** listener(true) on open, listener(false) on close; returns the unsubscribe function. */
    onConnectionChange(listener) {
      if (typeof listener === 'function') connectionListeners.add(listener);
      return () => { connectionListeners.delete(listener); };
    },
    isConnected() {
      try { return client ? client.isConnected() : false; } catch { return false; }
    },
    /** Closes the socket and stops reconnecting. */
    disconnect() {
      if (!client) return;
      try { client.disconnect(); } catch (e) { warn('disconnect failed', e); }
    },
    // sendChatMessage, sendTypingIndicator: called as `api.…(…)` by the facade, so `this.send`
    // is `api.send`.
    ...chatHelpers,
    /** Internal: whether connect() has a token to use. */
    _hasToken() {
      return Boolean(token || core.options.token);
    },
    /** Internal: the wasm SignalingClient (created on first need; wasm loaded). */
    _client() {
      return ensureClient();
    },
    /** Internal: the URL change hook used by configure(). */
    _urlChanged() {
      const url = resolveWsUrl(core.options.wsUrl);
      if (client && clientUrl !== url) {
        moveClient(url);
        notifyConnection(false);
      }
    },
  };
  return api;
}

// ---------------------------------------------------------------------------------------------
// webrtcService: §1.2 over the wasm WebRtcService, created on the first joinChannel.

function createVoiceCore(core) {
  // The app's single-slot callbacks (on…), keyed by the wasm service's event types (onEvent's
  // first argument), and the `on(type, handler)` listeners of every event type.
  const slots = { participants: null, remoteStream: null, quality: null, status: null, mode: null, migration: null, error: null };
  const listeners = new Map();
  const volumes = new Map();
  let connectionState = 'disconnected';
  let canPlay = true;
  let deafened = false;
  let localStream; // undefined = never set; null = cleared
  let service = null;
  let serviceSocket = null;
  let servicePromise = null;
  let joinGeneration = 0;

  // Single-slot registration: a function replaces the previous one, anything else clears it.
  const setSlot = (slot) => (cb) => { slots[slot] = typeof cb === 'function' ? cb : null; };

  const call = (type, ...args) => {
    // Only changes are reported (the wasm side may repeat a value).
    if (type === 'connectionState') {
      if (args[0] === connectionState) return;
      connectionState = args[0];
    } else if (type === 'audioPlayback') {
      if (args[0] === canPlay) return;
      canPlay = args[0];
    }
    // The call's events are its log: the frequent ones at debug, the rest at info.
    log(['participants', 'quality', 'remoteStream'].includes(type) ? 0 : 1, type, ...args);
    for (const cb of [slots[type], ...(listeners.get(type) ?? [])]) {
      if (!cb) continue;
      try { cb(...args); } catch (e) { warn(`error in ${type} callback`, e); }
    }
  };

  const wasmConfig = () => {
    const config = {};
    if (Array.isArray(core.options.iceServers)) config.iceServers = core.options.iceServers;
    if (core.options.livekitUrl) config.livekitUrl = core.options.livekitUrl;
    return config;
  };

  const socketForService = () => core.options.socket || core.websocket;

  const dropService = () => {
    if (!service) return;
    const old = service;
    service = null;
    serviceSocket = null;
    servicePromise = null;
    // free() leaves the call and drops the listener (the socket stays: it is the app's).
    try { old.free(); } catch { /* already freed */ }
    call('connectionState', 'disconnected');
  };

  const ensureService = () => {
    const socket = socketForService();
    if (service && serviceSocket === socket) return Promise.resolve(service);
    if (service) dropService();
    if (!servicePromise) {
      // Over the package's own socket the call is made on its client directly (typed messages,
      // no JSON in between); over the app's socket, through that socket's on/off/send.
      const client = socket === core.websocket ? core.websocket._client() : null;
      servicePromise = ready().then(() => client).then((c) => {
        if (service) return service;
        const s = c ? WebRtcService.overClient(c, wasmConfig()) : new WebRtcService(socket, wasmConfig());
        // One listener for every event: (type, ...args) goes to the slot of that type.
        s.onEvent(call);
        if (localStream !== undefined) s.setLocalStream(localStream);
        if (deafened && !s.state().deafened) s.toggleDeafen();
        for (const [id, v] of volumes) s.setParticipantVolume(id, v);
        service = s;
        serviceSocket = socket;
        return s;
      });
      servicePromise.catch(() => { servicePromise = null; });
    }
    return servicePromise;
  };

  const join = async (channelId, userId, audioOnly) => {
    const generation = ++joinGeneration;
    let s = service && serviceSocket === socketForService() ? service : null;
    if (!s) {
      try {
        s = await ensureService();
      } catch (e) {
        throw withCode(e, 'wasm/init-failed');
      }
      if (generation !== joinGeneration) {
        throw withCode(new Error('the join was cancelled by leaveChannel() or a newer joinChannel()'), 'service/join-aborted');
      }
    }
    // With the package's own socket, open it if the app has not (joinChannel waits for it).
    if (!core.options.socket && !core.websocket.isConnected() && core.websocket._hasToken()) {
      core.websocket.connect().catch((e) => call('error', { code: e?.code || 'signal/connect-failed', message: String(e?.message || e) }));
    }
    return s.joinChannel(channelId, userId, audioOnly);
  };
  // The join in flight: a repeated joinChannel with the same arguments (a double click)
  // resolves with it instead of cancelling it.
  let pendingJoin = null;

  const api = {
    joinChannel(channelId, userId, audioOnly = true) {
      const key = `${channelId}/${userId}/${audioOnly}`;
      if (pendingJoin?.key !== key) {
        const entry = (pendingJoin = { key, promise: join(channelId, userId, audioOnly) });
        entry.promise.finally(() => { if (pendingJoin === entry) pendingJoin = null; }).catch(() => {});
      }
      return pendingJoin.promise;
    },
    leaveChannel() {
      pendingJoin = null;
      joinGeneration++;
      if (service) service.leaveChannel();
    },
    getLocalStream() {
      return service ? (service.getLocalStream() ?? null) : null;
    },
    toggleMute() {
      return service ? service.toggleMute() : false;
    },
    toggleVideo() {
      return service ? service.toggleVideo() : Promise.resolve(false);
    },
    toggleDeafen() {
      if (service) {
        deafened = service.toggleDeafen();
      } else {
        deafened = !deafened;
      }
      return deafened;
    },
    isMutedStatus() {
      return service ? service.state().muted : false;
    },
    isVideoEnabledStatus() {
      return service ? service.state().videoEnabled : false;
    },
    isDeafenedStatus() {
      return service ? service.state().deafened : deafened;
    },
    setParticipantVolume(userId, volume) {
      const v = Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : 1;
      volumes.set(userId, v);
      if (service) {
        service.setParticipantVolume(userId, v);
      } else {
        call('participants', []);
      }
    },
    getParticipantVolume(userId) {
      if (service) return service.getParticipantVolume(userId);
      return volumes.has(userId) ? volumes.get(userId) : 1;
    },
    getParticipants() {
      return service ? service.getParticipants() : [];
    },
    onParticipantUpdate: setSlot('participants'),
    onRemoteStream: setSlot('remoteStream'),
    onConnectionQuality: setSlot('quality'),
    onStatus: setSlot('status'),
    /** The call's mode changed: 'p2p' | 'migrating' | 'sfu'. */
    onModeChange: setSlot('mode'),
    /** A migration between the mesh and the SFU finished (strategy, direction, outcome, durationMs). */
    onMigration: setSlot('migration'),
    onError: setSlot('error'),
    getCurrentMode() {
      return service ? service.state().mode : 'p2p';
    },
    /**
     * Several listeners per event (beside the single-slot on… setters): 'participants',
     * 'remoteStream', 'quality', 'status', 'mode', 'migration', 'error', 'connectionState',
     * 'audioPlayback'. Returns the unsubscribe function.
     */
    on(type, handler) {
      if (typeof handler !== 'function') return () => {};
      let set = listeners.get(type);
      if (!set) listeners.set(type, (set = new Set()));
      // A wrapper per registration: the same function registered twice is two listeners,
      // each removed by its own unsubscribe.
      const entry = (...args) => handler(...args);
      set.add(entry);
      return () => { set.delete(entry); };
    },
    /** 'connecting' | 'connected' | 'reconnecting' | 'migrating' | 'disconnected'. */
    getConnectionState() {
      return service ? service.state().connectionState : 'disconnected';
    },
    /** False while the browser's autoplay policy keeps the call silent: call startAudio() from a click. */
    canPlayAudio() {
      return service ? service.state().canPlayAudio : true;
    },
    /** Starts the call's audio; call it from a user gesture (a click). */
    startAudio() {
      return service ? service.startAudio() : Promise.resolve();
    },
    /** Use this MediaStream instead of getUserMedia for later joins (null: capture again). */
    setLocalStream(stream) {
      localStream = stream ?? null;
      if (service) service.setLocalStream(localStream);
    },
    /** Leaves the call and releases the wasm service (the socket stays, it is the app's). */
    dispose() {
      joinGeneration++;
      dropService();
    },
    /** Internal: configuration changed (ICE servers now; socket on the next join). */
    _configChanged() {
      if (service) service.setConfig(wasmConfig());
    },
  };
  return api;
}

// ---------------------------------------------------------------------------------------------
// The shared core (created on first use, kept across HMR re-evaluations) and the facades.

function createCore() {
  const core = {
    options: { socket: null, wsUrl: null, token: null, iceServers: undefined, livekitUrl: undefined },
  };
  core.websocket = createSocketCore(core);
  core.voice = createVoiceCore(core);
  return core;
}

function getCore() {
  const g = globalThis;
  if (!g[CORE_KEY]) {
    Object.defineProperty(g, CORE_KEY, { value: createCore(), configurable: true });
  }
  return g[CORE_KEY];
}

// The facades' method names are the public keys of a core's parts (internal ones start with
// `_`), read from a throwaway core built at import: it only allocates closures, maps and sets
// (no browser API is touched, no wasm is loaded), and the name lists need not be kept in step.
function facade(part) {
  const obj = {};
  for (const name of Object.keys(createCore()[part])) {
    if (name[0] !== '_') obj[name] = (...args) => getCore()[part][name](...args);
  }
  return Object.freeze(obj);
}

/**
 * Options: `socket` (the app's own websocketService: on/off/send — keeps ONE socket per tab),
 * `wsUrl` (base URL of the package's own socket), `token` (JWT for it), `iceServers`
 * (RTCIceServer[]), `livekitUrl`. Only the keys given are changed.
 */
function configure(options = {}) {
  const core = getCore();
  const o = core.options;
  if ('socket' in options) {
    const s = options.socket;
    if (s != null && (typeof s.on !== 'function' || typeof s.off !== 'function' || typeof s.send !== 'function')) {
      throw withCode(new TypeError('configure({socket}): the socket needs on, off and send methods'), 'service/invalid-argument');
    }
    o.socket = s ?? null;
  }
  if ('token' in options) o.token = options.token ?? null;
  if ('iceServers' in options) o.iceServers = options.iceServers;
  if ('livekitUrl' in options) o.livekitUrl = options.livekitUrl;
  if ('wsUrl' in options) {
    o.wsUrl = options.wsUrl ?? null;
    core.websocket._urlChanged();
  }
  core.voice._configChanged();
}

export const websocketService = facade('websocket');

export const webrtcService = Object.freeze({ ...facade('voice'), configure });

export { configure };

export default webrtcService;
