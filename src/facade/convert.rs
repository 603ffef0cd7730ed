//! Conversions at the JS boundary: ids arriving as JS numbers, participants leaving as plain
//! objects with exactly the `VoiceParticipant` field names (compat-spec §1.1), and the
//! TypeScript declarations the package ships.

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;
use web_sys::MediaStream;

use crate::browser::object::{set, voice_participant};
use crate::mode::controller::Migration;
use crate::service::{Participant, ServiceError};
use crate::signal::{UserId, MAX_CHANNEL_ID, MAX_USER_ID};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** One remote participant of the voice call (compat-spec §1.1). */
export interface VoiceParticipant {
  userId: number;
  username: string;
  /** '' when the server sent none. */
  university: string;
  isMuted: boolean;
  isVideoEnabled: boolean;
  isSpeaking: boolean;
  /** 0..1: mean FFT byte value / 255. */
  audioLevel: number;
  /** The remote stream (event.streams[0] of the last ontrack). */
  stream?: MediaStream;
}

/** ICE configuration; take the servers from your backend at runtime (H-P4). */
export interface WebRTCConfig {
  iceServers: RTCIceServer[];
  /** Optional: how long an offer may stay unanswered before rollback and retry (10000). */
  offerTimeoutMs?: number;
  /** Optional: how long joinChannel waits for the signalling socket to open (10000). */
  socketWaitMs?: number;
  /** Optional: the SFU connection, which uses `iceServers` like the mesh, also uses the ICE
   * servers LiveKit sends (its TURN/STUN); costs an ICE restart per switch (false). */
  useServerIceServers?: boolean;
}

/**
 * Every error code the library sets (`error.code` of a rejected promise, `VoiceError.code`),
 * one scheme: `<layer>/<what>`. `server/<code>` relays a voice:error from the server.
 */
export type VoiceErrorCode =
  | 'media/audio-node' | 'media/capture-failed' | 'media/device-busy' | 'media/dom'
  | 'media/graph-closed' | 'media/no-audio-context' | 'media/not-found'
  | 'media/permission-denied' | 'media/stats' | 'media/unsupported'
  | 'signal/bad-socket' | 'signal/bad-type' | 'signal/closed' | 'signal/connect-failed'
  | 'signal/encode' | 'signal/frame-too-large' | 'signal/insecure-url' | 'signal/invalid-json'
  | 'signal/invalid-payload' | 'signal/missing-field' | 'signal/no-object' | 'signal/no-token'
  | 'signal/not-open' | 'signal/send-failed' | 'signal/unknown-type'
  | 'p2p/bad-candidate' | 'p2p/bad-sdp' | 'p2p/frame-too-large' | 'p2p/ice-failed'
  | 'p2p/negotiation' | 'p2p/offer-timeout' | 'p2p/peer-connection' | 'p2p/unexpected-answer'
  | 'p2p/unknown-peer' | 'p2p/wrong-channel' | 'p2p/wrong-target'
  | 'sfu/browser' | 'sfu/closed' | 'sfu/disconnected' | 'sfu/empty-frame'
  | 'sfu/frame-too-large' | 'sfu/join-timeout' | 'sfu/malformed-frame' | 'sfu/not-connected'
  | 'sfu/publish-timeout' | 'sfu/reconnect-failed' | 'sfu/signal-closed' | 'sfu/text-frame'
  | 'sfu/unexpected-message' | 'sfu/unreachable'
  | 'service/invalid-argument' | 'service/join-aborted' | 'service/not-connected'
  | 'mode/down-not-below-up' | 'mode/prewarm-out-of-range' | 'mode/zero-up-threshold'
  | 'wasm/init-failed'
  | `server/${string}`;

/** The `code`/`message` pair passed to onError callbacks and set on rejected Errors. */
export interface VoiceError {
  code: VoiceErrorCode;
  message: string;
}

/** Where the call stands, for a UI (beside the free-text status). */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'migrating' | 'disconnected';

/** How much the library logs to the console (`setLogLevel`; default 'warn'). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

export type ConnectionQuality = 'good' | 'medium' | 'poor';

/** Where the call's media runs: the P2P mesh, the SFU, or moving between them. */
export type CallMode = 'p2p' | 'sfu' | 'migrating';

/** A snapshot of the call's toggles and mode (`WebRtcService.state()`). */
export interface CallState {
  muted: boolean;
  videoEnabled: boolean;
  deafened: boolean;
  mode: CallMode;
  connectionState: ConnectionState;
  /** False while the browser's autoplay policy keeps the call silent (until `startAudio()`). */
  canPlayAudio: boolean;
}

/** One finished migration between the mesh and the SFU (feeds H-M1 metrics). */
export interface MigrationEvent {
  strategy: 'hard' | 'gradual' | 'opportunistic';
  direction: 'p2p-to-sfu' | 'sfu-to-p2p';
  outcome: 'completed' | 'failed' | 'rolled-back';
  /** Why it failed or was rolled back. */
  reason?: string;
  /** From the server's mode-change to the end, in ms. */
  durationMs: number;
  /** SFU connection attempts made. */
  attempts: number;
  /** Gradual switches: [userId, ms after the mode-change] as each voice crossed. */
  voiceSwitchMs: Array<[number, number]>;
}
"#;

// The range messages below spell the limits out (no integer formatting is linked for them).
const _: () = assert!(MAX_CHANNEL_ID == 1_000_000 && MAX_USER_ID == 100_000_000);

/// A JS number as a channel id (1..=1_000_000, H-T2).
pub fn channel_id(value: f64) -> Result<u64, ServiceError> {
    whole(
        value,
        MAX_CHANNEL_ID,
        "channelId must be a whole number in 1..=1000000, got ",
    )
}

/// A JS number as a user id (1..=100_000_000, H-T2).
pub fn user_id(value: f64) -> Result<UserId, ServiceError> {
    whole(
        value,
        MAX_USER_ID,
        "userId must be a whole number in 1..=100000000, got ",
    )
}

fn whole(value: f64, max: u64, message: &str) -> Result<u64, ServiceError> {
    if value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= max as f64 {
        Ok(value as u64)
    } else {
        // The number is shown the way JS prints it (String(value)).
        let shown = js_sys::Number::from(value)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
        Err(ServiceError::InvalidArgument(message.to_string() + &shown))
    }
}

/// A NEW array of fresh participant objects (P7: React state identity).
pub fn participant_array(list: &[(Participant, Option<MediaStream>)]) -> Array {
    list.iter()
        .map(|(p, stream)| JsValue::from(voice_participant(p, stream.as_ref())))
        .collect()
}

/// The `MigrationEvent` object of a finished migration.
pub fn migration_object(m: &Migration) -> Object {
    let obj = Object::new();
    set(&obj, "strategy", &m.strategy.as_str().into());
    set(&obj, "direction", &m.direction.as_str().into());
    set(&obj, "outcome", &m.outcome.as_str().into());
    if let Some(reason) = m.outcome.reason() {
        set(&obj, "reason", &reason.into());
    }
    set(&obj, "durationMs", &(m.duration_ms as f64).into());
    set(&obj, "attempts", &m.attempts.into());
    let switches = Array::new();
    for (user_id, ms) in &m.voice_switch_ms {
        let pair = Array::of2(&(*user_id as f64).into(), &(*ms as f64).into());
        switches.push(&pair);
    }
    set(&obj, "voiceSwitchMs", &switches.into());
    obj
}

/// `{code, message}` for onError callbacks.
pub fn error_object(code: &str, message: &str) -> Object {
    let obj = Object::new();
    set(&obj, "code", &JsValue::from_str(code));
    set(&obj, "message", &JsValue::from_str(message));
    obj
}

/// The function in `value`, or `None` for anything else (null/undefined unregister nothing:
/// the slot keeps single-slot replace semantics for functions only).
pub fn function(value: &JsValue) -> Option<Function> {
    value.dyn_ref::<Function>().cloned()
}
