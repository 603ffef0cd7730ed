//! The call's SFU backend: one LiveKit session engine started with the call's microphone and
//! playing through the call's own `AudioGraph` on the SFU bus (one AudioContext per call, H6).
//! Its [`SfuEvent`]s reach the call service as Rust values; dropping the link leaves the room
//! (LeaveRequest, sockets and peer connections closed, SFU-bus voices detached) and leaves the
//! graph to the call.

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
}

impl SfuLink {
    /// Connects to `url` with `token`, publishing `mic` in the join (single peer connection),
    /// with a receive slot for each of the `peers` already in the call.
    pub fn start(
        url: String,
        token: String,
        mic: Option<MediaStreamTrack>,
        peers: usize,
        graph: Rc<RefCell<AudioGraph>>,
        sink: SfuSink,
    ) -> Result<SfuLink, SfuError> {
        let emitter = Emitter::default();
        emitter.set(Some(sink));
        let shared = Rc::new(RefCell::new(Shared::default()));
        let config = SessionConfig {
            url,
            token,
            use_server_ice: false,
            single_pc: true,
            owns_graph: false,
            mic,
            audio_slots: u32::try_from(peers).unwrap_or(u32::MAX).clamp(3, 64),
        };
        let inbox = Engine::start(config, graph, emitter.clone(), shared, None)?;
        Ok(SfuLink { inbox, emitter })
    }

    /// Mutes or unmutes the published microphone (track.enabled + MuteTrackRequest).
    pub fn set_muted(&self, muted: bool) {
        let _ = self.inbox.send(Input::SetMuted(muted));
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
    }
}
