// A small stand-in for the Sohbet app's OWN websocketService (compat-spec §2.1), used by the demo
// with ?socket=app to show the P17 set-up: the app keeps its single socket and hands it to the
// package with webrtcService.configure({ socket }). Not part of the package.

export function createAppSocket(baseUrl) {
  let ws = null;
  let token = null;
  let connecting = null;
  let closedByUser = false;
  let attempts = 0;
  const handlers = new Map();
  const listeners = new Set();

  const notify = (open) => listeners.forEach((l) => { try { l(open); } catch (e) { console.error(e); } });

  const dispatch = (message) => {
    const set = handlers.get(message?.type);
    if (!set) return;
    for (const h of [...set]) {
      try { h(message); } catch (e) { console.error(`handler for ${message.type}`, e); }
    }
  };

  // Relayed frames from the C++ server can carry an extra trailing brace: take the first object.
  const parse = (text) => {
    try { return [JSON.parse(text)]; } catch { /* fall through */ }
    let depth = 0; let inString = false; let escaped = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) { if (escaped) escaped = false; else if (c === '\\') escaped = true; else if (c === '"') inString = false; continue; }
      if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try { return [JSON.parse(text.slice(0, i + 1))]; } catch { return []; }
      }
    }
    return [];
  };

  const api = {
    connect(jwt) {
      if (ws?.readyState === WebSocket.OPEN) return Promise.resolve();
      if (connecting) return connecting;
      token = jwt;
      closedByUser = false;
      connecting = new Promise((resolve, reject) => {
        const socket = new WebSocket(`${baseUrl}/?token=${encodeURIComponent(jwt)}`);
        ws = socket;
        socket.onopen = () => { connecting = null; attempts = 0; notify(true); resolve(); };
        socket.onerror = (e) => { connecting = null; reject(new Error('socket error')); console.warn(e); };
        socket.onmessage = (event) => { for (const m of parse(String(event.data))) dispatch(m); };
        socket.onclose = () => {
          connecting = null;
          if (ws === socket) ws = null;
          notify(false);
          if (!closedByUser && token && attempts < 5) {
            attempts += 1;
            setTimeout(() => api.connect(token).catch(() => {}), 1000 * 2 ** (attempts - 1));
          }
        };
      });
      return connecting;
    },
    send(type, payload) {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify({ type, payload }));
      return true;
    },
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(handler);
    },
    off(type, handler) {
      const set = handlers.get(type);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) handlers.delete(type);
    },
    onConnectionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isConnected() {
      return ws?.readyState === WebSocket.OPEN;
    },
    disconnect() {
      closedByUser = true;
      ws?.close();
      ws = null;
      notify(false);
    },
    /** How many handlers are registered (the demo shows it; one per voice type is expected). */
    handlerCount() {
      let n = 0;
      for (const set of handlers.values()) n += set.size;
      return n;
    },
  };
  return api;
}
