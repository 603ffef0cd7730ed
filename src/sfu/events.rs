//! What the SFU engine tells its owner: [`SfuEvent`]s, delivered through the [`Emitter`] to one
//! Rust sink (the call service, or the JS adapter `SfuClient`, which turns them into `{type, …}`
//! objects), and [`Shared`], the snapshot read synchronously (participants, state, reconnect
//! statistics, what is still open).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen::JsValue;
use web_sys::MediaStream;

use super::error::SfuError;
use super::roster::Participant;
use crate::browser::object::voice_participant;
use crate::media::AudioGraph;

/// Everything the engine reports, in the order it happened.
#[derive(Debug, Clone)]
pub enum SfuEvent {
    /// The JoinResponse arrived: the session is up.
    Connected,
    /// The server confirmed our microphone track.
    Published,
    /// The remote roster changed (read it from [`Shared`]).
    Participants,
    /// A remote audio track is playing on the SFU bus of the audio graph.
    Track { user_id: u64, stream: MediaStream },
    /// A remote participant's audio left the SFU bus.
    TrackRemoved { user_id: u64 },
    /// Our own connection quality as the server sees it: "good", "medium" or "poor".
    Quality(&'static str),
    /// The signal or a transport was lost; recovery attempt `attempt` ("resume" or "rejoin").
    Reconnecting { mode: &'static str, attempt: u32 },
    /// Usable again after an outage.
    Reconnected {
        mode: &'static str,
        attempts: u32,
        ms: f64,
    },
    /// The session ended: "client" after a leave, else the code of the error that ended it.
    Disconnected { reason: &'static str },
    /// Something went wrong; the session goes on unless a `Disconnected` follows.
    Error(SfuError),
}

/// Where the engine's events go.
pub type SfuSink = Rc<dyn Fn(SfuEvent)>;

/// The single sink slot (a new registration replaces the old one).
#[derive(Clone, Default)]
pub struct Emitter {
    sink: Rc<RefCell<Option<SfuSink>>>,
}

impl Emitter {
    /// Replaces the sink (`None` removes it).
    pub fn set(&self, sink: Option<SfuSink>) {
        *self.sink.borrow_mut() = sink;
    }

    /// Hands `event` to the sink (no borrow is held while it runs).
    pub fn emit(&self, event: SfuEvent) {
        let sink = self.sink.borrow().clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }

    /// Reports an error event.
    pub fn error(&self, error: SfuError) {
        self.emit(SfuEvent::Error(error));
    }
}

/// `obj[key] = value` through the crate's one `Reflect.set` call site.
fn set(obj: &Object, key: &str, value: JsValue) {
    crate::browser::object::set(obj, key, &value);
}

/// The snapshot the JS wrapper reads.
#[derive(Default)]
pub struct Shared {
    pub state: &'static str,
    pub participants: Vec<Participant>,
    pub streams: Vec<(crate::signal::UserId, MediaStream)>,
    pub own_sid: String,
    pub own_identity: String,
    pub reconnect_attempts: u32,
    pub resumes: u32,
    pub rejoins: u32,
    pub last_recovery_ms: f64,
    pub socket_open: bool,
    pub open_peer_connections: u32,
    pub published_track_sid: Option<String>,
    pub rtt_ms: i64,
}

impl Shared {
    /// The participants as `VoiceParticipant` JS objects (with `stream` when known).
    pub fn participants_js(&self) -> JsValue {
        let out = js_sys::Array::new();
        for p in &self.participants {
            let stream = self.streams.iter().find(|(id, _)| *id == p.user_id);
            out.push(&voice_participant(p, stream.map(|(_, s)| s)));
        }
        out.into()
    }

    /// Statistics and leak indicators (with those of the audio `graph`) as a plain JS object.
    pub fn stats_js(&self, graph: &AudioGraph) -> JsValue {
        let obj = Object::new();
        let set = |k: &str, v: JsValue| set(&obj, k, v);
        set("state", self.state.into());
        set("ownSid", self.own_sid.as_str().into());
        set("ownIdentity", self.own_identity.as_str().into());
        set("reconnectAttempts", self.reconnect_attempts.into());
        set("resumes", self.resumes.into());
        set("rejoins", self.rejoins.into());
        set("lastRecoveryMs", self.last_recovery_ms.into());
        set("socketOpen", self.socket_open.into());
        set("openPeerConnections", self.open_peer_connections.into());
        set("remoteStreams", (self.streams.len() as u32).into());
        set("rttMs", (self.rtt_ms as f64).into());
        set(
            "publishedTrackSid",
            self.published_track_sid
                .as_deref()
                .map(JsValue::from_str)
                .unwrap_or(JsValue::NULL),
        );
        set("graphElements", (graph.element_count() as u32).into());
        set("graphNodes", (graph.node_count() as u32).into());
        set("graphClosed", graph.is_closed().into());
        obj.into()
    }
}
