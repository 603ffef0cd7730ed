//! The call's SFU backend: one LiveKit session engine publishing its own copy of the call's
//! microphone (and the call's camera, once opened) and playing through the call's
//! `AudioGraph` on the SFU bus (one AudioContext per call, H6). The copy is the link's own:
//! the engine mutes it and the link stops it when it ends, never touching the microphone the
//! mesh sends. Its [`SfuEvent`]s reach the call
//! service as Rust values; dropping the link leaves the room (LeaveRequest, sockets and peer
//! connections closed, SFU-bus voices detached), stops the copy and leaves the graph to the
//! call.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::MediaStreamTrack;

use crate::media::AudioGraph;
use crate::sfu::events::{Emitter, SfuSink, Shared};
use crate::sfu::session::{Engine, Inbox, Input, Reply, SessionConfig};
use crate::sfu::SfuError;

/// A live SFU session of the call.
pub(crate) struct SfuLink {
    inbox: Inbox,
    emitter: Emitter,
    mic: Option<MediaStreamTrack>,
}

/// What a call's SFU session is started with.
pub(crate) struct SfuLinkParams<'a> {
    /// LiveKit's URL and this user's token (from voice:mode-change).
    pub url: String,
    pub token: String,
    /// The call's microphone; the session publishes its own copy.
    pub mic: Option<&'a MediaStreamTrack>,
    /// The call's camera, if it was opened: published as it is (on or off with the call's
    /// video), never stopped by the link.
    pub camera: Option<MediaStreamTrack>,
    /// The copy is silent while the user is muted.
    pub muted: bool,
    /// Participants already in the call: one receive slot each.
    pub peers: usize,
    /// The app's `RTCIceServer[]` (or undefined), and whether LiveKit's own are added.
    pub ice_servers: wasm_bindgen::JsValue,
    pub use_server_ice: bool,
}

/// Receive slots beyond the current peers in the first offer: voices that arrive later (the
/// joiners who take a pre-warmed channel to eight, joiners on the SFU) then play without a
/// renegotiation first, which took 0.8–1.9 s under the load of an 8-person switch.
const SPARE_AUDIO_SLOTS: u32 = 4;

impl SfuLink {
    /// Connects and publishes a copy of the microphone in the join (single peer connection),
    /// playing through `graph` and reporting to `sink`.
    pub fn start(
        params: SfuLinkParams<'_>,
        graph: Rc<RefCell<AudioGraph>>,
        sink: SfuSink,
    ) -> Result<SfuLink, SfuError> {
        let SfuLinkParams {
            url,
            token,
            mic,
            camera,
            muted,
            peers,
            ice_servers,
            use_server_ice,
        } = params;
        // The JS `clone()`: an independent track on the same source, so muting or stopping the
        // SFU side never silences what the mesh sends.
        #[allow(clippy::disallowed_methods)]
        let mic = mic.map(MediaStreamTrack::clone);
        if let Some(track) = &mic {
            track.set_enabled(!muted);
        }
        let emitter = Emitter::default();
        emitter.set(Some(sink));
        let shared = Rc::new(RefCell::new(Shared::default()));
        let config = SessionConfig {
            url,
            token,
            ice_servers,
            use_server_ice,
            single_pc: true,
            owns_graph: false,
            mic: mic.clone(),
            camera,
            audio_slots: u32::try_from(peers)
                .unwrap_or(u32::MAX)
                .saturating_add(SPARE_AUDIO_SLOTS)
                .clamp(3, 64),
        };
        let inbox = Engine::start(config, graph, emitter.clone(), shared, None)?;
        Ok(SfuLink {
            inbox,
            emitter,
            mic,
        })
    }

    /// The user muted or unmuted the call: track.enabled + MuteTrackRequest, through the
    /// engine.
    pub fn set_muted(&self, muted: bool) {
        let _ = self.inbox.send(Input::SetMuted(muted));
    }

    /// The call opened its camera: the session publishes it too (once).
    pub fn add_camera(&self, camera: &MediaStreamTrack) {
        let _ = self.inbox.send(Input::Camera(Clone::clone(camera)));
    }
}

impl Drop for SfuLink {
    fn drop(&mut self) {
        // No event reaches the call after this; the engine tears everything down.
        self.emitter.set(None);
        let (_promise, done) = Reply::new();
        if let Err(Input::Leave(done)) = self.inbox.send(Input::Leave(done)) {
            done.resolve(&wasm_bindgen::JsValue::UNDEFINED);
        }
        if let Some(track) = self.mic.take() {
            track.stop();
        }
    }
}
