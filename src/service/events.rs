//! What the call service says upwards ([`ServiceEvent`]), how its commands fail
//! ([`ServiceError`], each with a stable code and the exact messages of compat-spec §1.2 for
//! capture failures) and how it is configured ([`ServiceConfig`]).

use wasm_bindgen::JsValue;
use web_sys::MediaStream;

use crate::error::JsErrorCode;
use crate::media::quality::Quality;
use crate::media::{MediaError, CAMERA_FAILED_MESSAGE, CAPTURE_FAILED_MESSAGE};
use crate::mode::controller::Migration;
use crate::p2p::P2pError;
use crate::signal::transport::TransportError;
use crate::signal::{CallMode, UserId};

/// Events from the service to its owner (the JS facade). Delivered from a microtask, never
/// while the service is busy, so the receiver may call back into the service.
#[derive(Debug, Clone)]
pub enum ServiceEvent {
    /// The participant list changed (read it with `CallService::participants`).
    ParticipantsChanged,
    /// A remote track arrived (`ontrack`: once per audio and per video track).
    RemoteStream {
        user_id: UserId,
        stream: MediaStream,
    },
    /// The overall connection quality changed.
    Quality(Quality),
    /// A status line for the UI (compat-spec H7).
    Status(String),
    /// The call's mode changed ('p2p', 'migrating', 'sfu').
    Mode(CallMode),
    /// A migration between the mesh and the SFU finished (H-M1: strategy, direction, outcome,
    /// duration).
    Migration(Migration),
    /// Whether the call's audio can play now (false: the browser's autoplay policy holds the
    /// AudioContext until a user gesture; `startAudio()` from a click releases it).
    AudioPlayback(bool),
    /// The call's connection state may have changed (the facade reads it and reports changes).
    Connection,
    /// Something went wrong but the call continues (malformed signalling, a send failure…).
    Error { code: String, message: String },
}

impl ServiceEvent {
    pub fn error(code: &str, message: impl Into<String>) -> ServiceEvent {
        ServiceEvent::Error {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The error event of any layer error (one function for every error type).
    pub fn coded(error: &dyn JsErrorCode) -> ServiceEvent {
        ServiceEvent::error(error.code(), error.to_string())
    }

    pub fn from_p2p(error: &P2pError) -> ServiceEvent {
        ServiceEvent::coded(error)
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// getUserMedia (or the app's stream) failed: the message is the original client's.
    #[error("{}", CAPTURE_FAILED_MESSAGE)]
    Capture(MediaError),
    /// The camera could not be opened (toggleVideo).
    #[error("{}", CAMERA_FAILED_MESSAGE)]
    Camera(MediaError),
    /// The AudioContext could not be created.
    #[error("could not set up audio playback: {0}")]
    Audio(MediaError),
    /// The signalling socket did not open in time (P18).
    #[error("the signalling connection is not open; could not join the voice channel")]
    NotConnected,
    /// Sending voice:join failed.
    #[error("could not send voice:join: {0}")]
    Transport(#[from] TransportError),
    /// leaveChannel() (or a newer joinChannel()) was called while this join was pending (P11).
    #[error("the join was cancelled by leaveChannel() or a newer joinChannel()")]
    Aborted,
    /// Bad arguments (ids out of range, H-T2).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl JsErrorCode for ServiceError {
    fn code(&self) -> &'static str {
        match self {
            ServiceError::Capture(e) | ServiceError::Camera(e) | ServiceError::Audio(e) => e.code(),
            ServiceError::NotConnected => "service/not-connected",
            ServiceError::Transport(e) => e.code(),
            ServiceError::Aborted => "service/join-aborted",
            ServiceError::InvalidArgument(_) => "service/invalid-argument",
        }
    }
}

impl ServiceError {
    /// The JS `Error` (message + `code`).
    pub fn to_js(&self) -> JsValue {
        crate::error::js_error(self)
    }
}

/// How a call is set up.
#[derive(Clone)]
pub struct ServiceConfig {
    /// `RTCIceServer[]` (WebRTCConfig.iceServers); undefined = none (loopback, LAN).
    pub ice_servers: JsValue,
    /// Sent in voice:join as `client_version` (H9).
    pub client_version: String,
    /// How long joinChannel waits for the signalling socket to open (P18).
    pub socket_wait_ms: u32,
    /// How long an offer may stay unanswered before it is rolled back and retried (P5).
    pub offer_timeout_ms: u32,
    /// The SFU connection also uses the ICE servers LiveKit sends in its JoinResponse (its
    /// TURN/STUN) after `ice_servers`; WebRTCConfig.useServerIceServers, default false: the
    /// single SFU connection is built before the JoinResponse, so taking them costs an ICE
    /// restart (one more offer/answer) in every switch, and the app's own `iceServers` (its
    /// TURN) already serve the SFU connection.
    pub use_server_ice: bool,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            ice_servers: JsValue::UNDEFINED,
            client_version: concat!("sohbet-rtc/", env!("CARGO_PKG_VERSION")).to_string(),
            socket_wait_ms: 10_000,
            offer_timeout_ms: crate::p2p::negotiation::OFFER_TIMEOUT_MS,
            use_server_ice: false,
        }
    }
}

impl ServiceConfig {
    /// Reads `{ iceServers }` (WebRTCConfig) from a JS value, plus the optional extras
    /// `offerTimeoutMs`, `socketWaitMs` and `useServerIceServers`; anything missing keeps the
    /// defaults.
    pub fn from_js(value: &JsValue) -> ServiceConfig {
        let mut config = ServiceConfig::default();
        if !value.is_object() {
            return config;
        }
        let get = |key: &str| js_sys::Reflect::get(value, &JsValue::from_str(key)).ok();
        if let Some(servers) = get("iceServers").filter(js_sys::Array::is_array) {
            config.ice_servers = servers;
        }
        let millis = |v: Option<JsValue>| {
            v.and_then(|v| v.as_f64())
                .filter(|ms| ms.is_finite() && *ms >= 1.0)
                .map(|ms| ms.min(f64::from(u32::MAX)) as u32)
        };
        if let Some(ms) = millis(get("offerTimeoutMs")) {
            config.offer_timeout_ms = ms;
        }
        if let Some(ms) = millis(get("socketWaitMs")) {
            config.socket_wait_ms = ms;
        }
        if let Some(on) = get("useServerIceServers").and_then(|v| v.as_bool()) {
            config.use_server_ice = on;
        }
        config
    }
}
