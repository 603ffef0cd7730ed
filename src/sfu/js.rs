//! `SfuClient`: the JS-facing LiveKit client (wasm-bindgen), an advanced export beside the
//! hybrid call. It owns an `AudioGraph` for remote playback and drives one session engine;
//! every method is a message to the engine, and the engine's [`SfuEvent`]s are turned into
//! `{type, …}` objects for the one JS listener here.
//!
//! ```js
//! const sfu = new SfuClient({ useServerIceServers: false });
//! sfu.onEvent(e => console.log(e.type, e));
//! await sfu.connect(url, token);          // resolves on JoinResponse
//! await sfu.publish(micTrack);            // resolves with the server track sid
//! sfu.setMuted(true); await sfu.leave();
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::MediaStreamTrack;

use super::error::SfuError;
use super::events::{Emitter, SfuEvent, Shared};
use super::session::{left, Engine, Inbox, Input, Reply, SessionConfig};
use crate::browser::object::voice_participant;
use crate::media::AudioGraph;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `new SfuClient(options)`. */
export interface SfuClientOptions {
  /** ICE servers for every SFU connection (e.g. your TURN). */
  iceServers?: RTCIceServer[];
  /** Also use the ICE servers LiveKit sends in its JoinResponse (false). */
  useServerIceServers?: boolean;
  /** `/rtc/v1` single peer connection (true); false selects the dual-PC `/rtc` path. */
  singlePeerConnection?: boolean;
}

/** `SfuClient.stats()`: state, recovery counters and what is still open. */
export interface SfuClientStats {
  state: string;
  ownSid: string;
  ownIdentity: string;
  reconnectAttempts: number;
  resumes: number;
  rejoins: number;
  lastRecoveryMs: number;
  socketOpen: boolean;
  openPeerConnections: number;
  remoteStreams: number;
  rttMs: number;
  publishedTrackSid: string | null;
  graphElements: number;
  graphNodes: number;
  graphClosed: boolean;
}
"#;

/// A LiveKit SFU voice client for one room.
#[wasm_bindgen]
pub struct SfuClient {
    graph: Rc<RefCell<AudioGraph>>,
    emitter: Emitter,
    shared: Rc<RefCell<Shared>>,
    /// The running session's input queue (`None` before connect and after leave). A cell,
    /// so every method takes `&self`.
    commands: RefCell<Option<Inbox>>,
    /// `options.iceServers` (`RTCIceServer[]`), or undefined.
    ice_servers: JsValue,
    use_server_ice: bool,
    single_pc: bool,
}

#[wasm_bindgen]
impl SfuClient {
    /// `options.iceServers`: the app's `RTCIceServer[]` for every SFU connection.
    /// `options.useServerIceServers` (default false): also use the JoinResponse's ICE servers.
    /// `options.singlePeerConnection` (default true): `/rtc/v1` single-PC signalling; false
    /// selects the classic dual-PC `/rtc` path.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SfuClientOptions")] options: JsValue,
    ) -> Result<SfuClient, JsValue> {
        let use_server_ice = flag(&options, "useServerIceServers", false);
        let single_pc = flag(&options, "singlePeerConnection", true);
        let ice_servers = Reflect::get(&options, &"iceServers".into())
            .ok()
            .filter(js_sys::Array::is_array)
            .unwrap_or(JsValue::UNDEFINED);
        let graph = AudioGraph::new()?;
        graph.resume();
        Ok(SfuClient {
            graph: Rc::new(RefCell::new(graph)),
            emitter: Emitter::default(),
            shared: Rc::new(RefCell::new(Shared {
                state: "idle",
                ..Shared::default()
            })),
            commands: RefCell::new(None),
            ice_servers,
            use_server_ice,
            single_pc,
        })
    }

    /// Registers the single event listener (`{type, ...}` objects); `null` removes it.
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(&self, listener: Option<Function>) {
        let Some(listener) = listener else {
            self.emitter.set(None);
            return;
        };
        let shared = Rc::downgrade(&self.shared);
        self.emitter.set(Some(Rc::new(move |event| {
            let Some(object) = event_object(&event, &shared) else {
                return;
            };
            // A throwing listener is the app's problem, not the engine's.
            let _ = listener.call1(&JsValue::NULL, &object);
        })));
    }

    /// Joins the room of `token` on the LiveKit server at `url`. Resolves once the
    /// JoinResponse arrived; rejects with `{code}` on failure.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn connect(&self, url: String, token: String) -> Result<Promise, JsValue> {
        if self.commands.borrow().is_some() {
            return Err(SfuError::Browser("already connected; leave first".into()).into());
        }
        let config = SessionConfig {
            url,
            token,
            ice_servers: self.ice_servers.clone(),
            use_server_ice: self.use_server_ice,
            single_pc: self.single_pc,
            owns_graph: true,
            mic: None,
            camera: None,
            audio_slots: 3,
        };
        let (promise, joined) = Reply::new();
        let tx = Engine::start(
            config,
            self.graph.clone(),
            self.emitter.clone(),
            self.shared.clone(),
            Some(joined),
        )?;
        *self.commands.borrow_mut() = Some(tx);
        Ok(promise)
    }

    /// Publishes a microphone track. Resolves with the server track sid.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn publish(&self, track: MediaStreamTrack) -> Promise {
        let (promise, reply) = Reply::new();
        if let Err(Input::Publish(_, reply)) = self.try_send(Input::Publish(track, reply)) {
            reply.reject(SfuError::NotConnected);
        }
        promise
    }

    /// Mutes or unmutes the published microphone (track.enabled + MuteTrackRequest).
    #[wasm_bindgen(js_name = setMuted)]
    pub fn set_muted(&self, muted: bool) {
        let _ = self.try_send(Input::SetMuted(muted));
    }

    /// Per-participant playback volume (0..=1 and above for boost).
    #[wasm_bindgen(js_name = setVolume)]
    pub fn set_volume(&self, user_id: f64, volume: f32) {
        if user_id >= 0.0 {
            self.graph.borrow_mut().set_volume(user_id as u64, volume);
        }
    }

    /// Deafen: silence every remote participant.
    #[wasm_bindgen(js_name = setDeafened)]
    pub fn set_deafened(&self, deafened: bool) {
        self.graph.borrow_mut().set_deafened(deafened);
    }

    /// Leaves the room: LeaveRequest, close 1000, both PCs closed, remote audio released.
    /// Idempotent; resolves when everything is released.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn leave(&self) -> Promise {
        let (promise, done) = Reply::new();
        // Without a session (never connected, left, or ended) only the graph is left to close.
        if let Err(Input::Leave(done)) = self.try_send(Input::Leave(done)) {
            left(&self.graph, true, done);
        }
        self.commands.take();
        promise
    }

    /// The remote participants as `VoiceParticipant` objects (never the local user).
    #[wasm_bindgen(unchecked_return_type = "VoiceParticipant[]")]
    pub fn participants(&self) -> JsValue {
        self.shared.borrow().participants_js()
    }

    /// State, reconnect statistics and what is still open (for tests and diagnostics).
    #[wasm_bindgen(unchecked_return_type = "SfuClientStats")]
    pub fn stats(&self) -> JsValue {
        self.shared.borrow().stats_js(&self.graph.borrow())
    }

    /// Hands `input` to the engine, or back when there is no session.
    fn try_send(&self, input: Input) -> Result<(), Input> {
        match &*self.commands.borrow() {
            Some(inbox) => inbox.send(input),
            None => Err(input),
        }
    }
}

impl SfuClient {
    /// An analyser on what this client plays, for Rust tests and benchmarks (not a JS method:
    /// the JS suites tap the page's audio output themselves, so nothing test-only ships).
    pub fn output_analyser(&self, fft_size: u32) -> Result<web_sys::AnalyserNode, JsValue> {
        self.graph
            .borrow_mut()
            .tap_output(fft_size)
            .map_err(JsValue::from)
    }
}

/// The `{type, …}` object of one event (`None` for events this API does not surface).
fn event_object(event: &SfuEvent, shared: &std::rc::Weak<RefCell<Shared>>) -> Option<JsValue> {
    let object = js_sys::Object::new();
    let set = |key: &str, value: JsValue| crate::browser::object::set(&object, key, &value);
    let kind = match event {
        SfuEvent::Connected | SfuEvent::Published => return None,
        SfuEvent::Participants => {
            let list = shared.upgrade()?.borrow().participants_js();
            set("participants", list);
            "participants"
        }
        SfuEvent::Track { user_id, stream } => {
            set("userId", (*user_id as f64).into());
            set("stream", stream.into());
            "track"
        }
        SfuEvent::TrackRemoved { user_id } => {
            set("userId", (*user_id as f64).into());
            "track-removed"
        }
        SfuEvent::Quality(label) => {
            set("quality", (*label).into());
            "quality"
        }
        SfuEvent::Reconnecting { mode, attempt } => {
            set("mode", (*mode).into());
            set("attempt", (*attempt).into());
            "reconnecting"
        }
        SfuEvent::Reconnected { mode, attempts, ms } => {
            set("mode", (*mode).into());
            set("attempts", (*attempts).into());
            set("ms", (*ms).into());
            "reconnected"
        }
        SfuEvent::Disconnected { reason } => {
            set("reason", (*reason).into());
            "disconnected"
        }
        SfuEvent::Error(error) => {
            use crate::error::JsErrorCode;
            set("code", error.code().into());
            set("message", error.to_string().into());
            "error"
        }
    };
    set("type", kind.into());
    Some(object.into())
}

/// The boolean option `key` of `options`, or `default` when absent or not a boolean.
#[inline(never)]
fn flag(options: &JsValue, key: &str, default: bool) -> bool {
    Reflect::get(options, &key.into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(default)
}

impl Drop for SfuClient {
    fn drop(&mut self) {
        // Our handle on the session's queue goes; the remote audio stops with the graph.
        self.commands.take();
        self.graph.borrow_mut().close();
    }
}

/// What the class reads of the engine's snapshot.
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
        let set = |k: &str, v: JsValue| crate::browser::object::set(&obj, k, &v);
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
