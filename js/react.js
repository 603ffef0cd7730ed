// sohbet-rtc/react — `useVoiceCall()`: the voice call's state and actions for React components,
// over the `webrtcService` singleton's events. Built on useSyncExternalStore, so it is correct
// under StrictMode's double mount and concurrent rendering, and the server render sees the idle
// state (nothing runs at import: no wasm, no browser globals). Every component that uses the
// hook shares one store; its listeners exist only while at least one component is mounted.
import { useSyncExternalStore } from 'react';
import { webrtcService as voice } from './index.js';

const EVENTS = ['participants', 'mode', 'status', 'connectionState', 'audioPlayback', 'error'];

const IDLE = Object.freeze({
  participants: Object.freeze([]),
  mode: 'p2p',
  status: '',
  connectionState: 'disconnected',
  muted: false,
  deafened: false,
  videoEnabled: false,
  canPlayAudio: true,
  error: null,
});

let snapshot = IDLE;
const subscribers = new Set();
let unsubscribers = [];

// A new snapshot object after any event or action (React compares by identity), read from
// the service; `patch` carries what only the events say (participants, status, error).
function refresh(patch = {}) {
  snapshot = Object.freeze({
    ...snapshot,
    mode: voice.getCurrentMode(),
    connectionState: voice.getConnectionState(),
    muted: voice.isMutedStatus(),
    deafened: voice.isDeafenedStatus(),
    videoEnabled: voice.isVideoEnabledStatus(),
    canPlayAudio: voice.canPlayAudio(),
    ...patch,
  });
  for (const notify of [...subscribers]) notify();
}

function subscribe(notify) {
  subscribers.add(notify);
  if (subscribers.size === 1) {
    unsubscribers = EVENTS.map((type) => voice.on(type, (value) => {
      if (type === 'participants') refresh({ participants: value });
      else if (type === 'status') refresh({ status: value });
      else if (type === 'error') refresh({ error: value });
      else refresh();
    }));
    refresh({ participants: voice.getParticipants() });
  }
  return () => {
    subscribers.delete(notify);
    if (subscribers.size === 0) {
      for (const off of unsubscribers) off();
      unsubscribers = [];
    }
  };
}

const getSnapshot = () => snapshot;
const getServerSnapshot = () => IDLE;

// The actions: stable functions (safe in dependency arrays) that refresh the snapshot after
// the toggles the service reports no event for.
const actions = Object.freeze({
  join: (channelId, userId, audioOnly = true) => voice.joinChannel(channelId, userId, audioOnly),
  leave: () => voice.leaveChannel(),
  toggleMute: () => { const muted = voice.toggleMute(); refresh(); return muted; },
  toggleDeafen: () => { const deafened = voice.toggleDeafen(); refresh(); return deafened; },
  toggleVideo: () => voice.toggleVideo().then((on) => { refresh(); return on; }),
  startAudio: () => voice.startAudio().then(() => refresh()),
  setParticipantVolume: (userId, volume) => voice.setParticipantVolume(userId, volume),
});

/** The call's state (participants, mode, status, connection, toggles, playback) and actions. */
export function useVoiceCall() {
  const state = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  return { ...state, ...actions };
}
