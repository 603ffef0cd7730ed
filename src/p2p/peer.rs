//! One remote user's `RTCPeerConnection`: its browser event handlers, its timers and its
//! negotiation state. Every `Closure` the peer registers is owned here and released by
//! [`Peer::close`] (also run on drop): handlers are unset, timers cleared, the connection closed
//! (P15: `close()` fires no event, so cleanup is explicit).
//!
//! Signalling work for a peer (remote offers, answers, candidates, our own offers) runs one
//! operation at a time through the queue in `ops.rs`, so concurrent offers never interleave
//! their awaits. Events are delivered to the mesh's sink from a microtask, never from inside
//! a browser callback, so the receiver may freely close this very peer.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcBundlePolicy, RtcConfiguration, RtcIceConnectionState,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcRtpSender, RtcTrackEvent,
};

use super::error::P2pError;
use super::mesh::MeshEvent;
use super::negotiation::{
    is_polite, next_ice_check_ms, on_ice_trouble, RestartDecision, DISCONNECTED_GRACE_MS,
    ICE_PROGRESS_MS,
};
use super::ops::{self, Op};
use crate::browser::Timeout;
use crate::signal::{ChannelId, IceCandidate, IceCandidateMsg, Message, UserId};

/// Where a peer's events go (the mesh's sink) and how it asks the mesh for a rebuild.
pub type EventSink = Rc<dyn Fn(MeshEvent)>;
/// Rebuild request: (remote user, an offer to replay on the fresh connection).
pub type RebuildRequest = Rc<dyn Fn(UserId, Option<String>)>;

/// What a peer needs to know at creation.
#[derive(Clone)]
pub struct PeerSettings {
    pub own_id: UserId,
    pub remote_id: UserId,
    pub channel_id: ChannelId,
    /// `RTCIceServer[]` (or undefined for none — loopback needs none).
    pub ice_servers: JsValue,
    /// `RTCCertificate[]` shared by the call's connections (or undefined).
    pub certificates: JsValue,
    pub offer_timeout_ms: u32,
}

/// Mutable negotiation state of one peer.
#[derive(Default)]
pub(crate) struct PeerState {
    pub making_offer: bool,
    pub ignore_offer: bool,
    pub pending_candidates: Vec<IceCandidate>,
    pub restarts: u32,
    pub offer_retries: u32,
    pub offer_timer: Option<Timeout>,
    pub ice_timer: Option<Timeout>,
    /// Queued operations, oldest first (a `Vec`: it holds one or two, and a `VecDeque`
    /// instantiation costs more wasm than the occasional shift).
    pub ops: Vec<Op>,
    pub running: bool,
    pub closed: bool,
    pub local_stream: Option<MediaStream>,
    pub was_connected: bool,
    /// Senders carrying our microphone, and whether they currently send nothing (muted).
    pub audio_senders: Vec<RtcRtpSender>,
    pub audio_muted: bool,
}

/// Shared by the peer's closures (through `Weak`) and its operation runner.
pub(crate) struct PeerInner {
    pub settings: PeerSettings,
    pub polite: bool,
    pub pc: RtcPeerConnection,
    pub state: RefCell<PeerState>,
    pub sink: EventSink,
    pub rebuild: RebuildRequest,
}

impl PeerInner {
    /// Delivers an event from a fresh microtask (never inside a browser callback).
    pub fn emit(&self, event: MeshEvent) {
        let sink = self.sink.clone();
        crate::browser::defer(move || sink(event));
    }

    pub fn error(&self, error: P2pError) {
        self.emit(MeshEvent::Error(error));
    }

    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Adds every local track no sender carries yet, WITH the local stream (old clients read
    /// `event.streams[0]`).
    pub fn ensure_local_tracks(&self) {
        let Some(stream) = self.state.borrow().local_stream.clone() else {
            return;
        };
        let senders = self.pc.get_senders();
        // getTracks() holds only tracks and getSenders() only senders: unchecked casts.
        for track in stream.get_tracks().iter() {
            let track: MediaStreamTrack = track.unchecked_into();
            let carried = senders.iter().any(|s| {
                s.unchecked_into::<RtcRtpSender>()
                    .track()
                    .is_some_and(|t| t == track)
            }) || (track.kind() == "audio"
                && !self.state.borrow().audio_senders.is_empty());
            if !carried {
                let sender = self.pc.add_track_0(&track, &stream);
                if track.kind() == "audio" {
                    self.state.borrow_mut().audio_senders.push(sender);
                }
            }
        }
        let muted = self.state.borrow().audio_muted;
        if muted {
            self.apply_audio_muted(true);
        }
    }

    /// Mute without renegotiation: while muted the microphone senders carry no track at all
    /// (nothing is encoded or sent), on top of the service disabling the local track.
    pub fn apply_audio_muted(&self, muted: bool) {
        let (senders, stream) = {
            let mut st = self.state.borrow_mut();
            st.audio_muted = muted;
            (st.audio_senders.clone(), st.local_stream.clone())
        };
        let track = stream
            .map(|s| s.get_audio_tracks().get(0))
            .filter(|t| !t.is_undefined())
            .map(JsCast::unchecked_into::<MediaStreamTrack>);
        for sender in senders {
            let next = if muted { None } else { track.as_ref() };
            crate::browser::detach(sender.replace_track(next));
        }
    }
}

/// One peer connection and everything it registered with the browser.
pub struct Peer {
    inner: Rc<PeerInner>,
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Peer {
    /// Creates the connection (bundlePolicy max-bundle, ICE servers from the settings). With
    /// `initiate`, the local tracks are added at once, so `negotiationneeded` sends our offer;
    /// otherwise they are added when the remote offer is answered.
    pub fn new(
        settings: PeerSettings,
        local_stream: Option<MediaStream>,
        initiate: bool,
        sink: EventSink,
        rebuild: RebuildRequest,
    ) -> Result<Peer, P2pError> {
        let config = RtcConfiguration::new();
        config.set_bundle_policy(RtcBundlePolicy::MaxBundle);
        if !settings.ice_servers.is_undefined() && !settings.ice_servers.is_null() {
            config.set_ice_servers(&settings.ice_servers);
        }
        if js_sys::Array::is_array(&settings.certificates) {
            config.set_certificates(&settings.certificates);
        }
        let pc = RtcPeerConnection::new_with_configuration(&config)
            .map_err(|e| P2pError::PeerConnection(crate::error::describe_js(&e)))?;
        let polite = is_polite(settings.own_id, settings.remote_id);
        let state = PeerState {
            local_stream,
            ..PeerState::default()
        };
        let inner = Rc::new(PeerInner {
            settings,
            polite,
            pc,
            state: RefCell::new(state),
            sink,
            rebuild,
        });
        let mut peer = Peer {
            inner,
            handlers: Vec::new(),
        };
        peer.install_handlers();
        arm_ice_watchdog(&peer.inner, ICE_PROGRESS_MS);
        if initiate {
            peer.inner.ensure_local_tracks();
        }
        Ok(peer)
    }

    /// Wraps a browser event handler. `f` is a plain function pointer, so the five handlers
    /// share one `Closure` type (and one wrapper) instead of one each.
    fn handler(&mut self, f: fn(&Rc<PeerInner>, JsValue)) -> js_sys::Function {
        let weak = Rc::downgrade(&self.inner);
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            if let Some(inner) = weak.upgrade() {
                if !inner.is_closed() {
                    f(&inner, event);
                }
            }
        });
        let function = closure.as_ref().unchecked_ref::<js_sys::Function>().clone();
        self.handlers.push(closure);
        function
    }

    fn install_handlers(&mut self) {
        let on_negotiation = self.handler(|inner, _| ops::enqueue(inner, Op::Negotiate));
        let on_candidate = self.handler(on_ice_candidate);
        let on_track = self.handler(on_remote_track);
        let on_ice_state = self.handler(|inner, _| on_ice_state_change(inner));
        let on_state = self.handler(|inner, _| {
            let state = inner.pc.connection_state();
            inner.emit(MeshEvent::PeerState { state });
        });
        let pc = &self.inner.pc;
        pc.set_onnegotiationneeded(Some(&on_negotiation));
        pc.set_onicecandidate(Some(&on_candidate));
        pc.set_ontrack(Some(&on_track));
        pc.set_oniceconnectionstatechange(Some(&on_ice_state));
        pc.set_onconnectionstatechange(Some(&on_state));
    }

    /// The browser connection (for stats polling and tests).
    pub fn connection(&self) -> &RtcPeerConnection {
        &self.inner.pc
    }

    /// Queues an operation (remote offer/answer/candidate) for this peer.
    pub fn enqueue(&self, op: Op) {
        ops::enqueue(&self.inner, op);
    }

    /// Replaces the local stream and adds any new tracks (video added later renegotiates).
    pub fn set_local_stream(&self, stream: Option<MediaStream>) {
        self.inner.state.borrow_mut().local_stream = stream;
        self.inner.ensure_local_tracks();
    }

    /// Sends our microphone or nothing (mute), without renegotiating.
    pub fn set_audio_muted(&self, muted: bool) {
        self.inner.apply_audio_muted(muted);
    }

    /// Unsets every handler, clears timers and closes the connection. Idempotent.
    pub fn close(&mut self) {
        {
            let mut st = self.inner.state.borrow_mut();
            if st.closed {
                return;
            }
            st.closed = true;
            st.offer_timer = None;
            st.ice_timer = None;
            st.ops.clear();
            st.pending_candidates.clear();
            st.local_stream = None;
            st.audio_senders.clear();
        }
        let pc = &self.inner.pc;
        pc.set_onnegotiationneeded(None);
        pc.set_onicecandidate(None);
        pc.set_ontrack(None);
        pc.set_oniceconnectionstatechange(None);
        pc.set_onconnectionstatechange(None);
        pc.close();
        self.handlers.clear();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.close();
    }
}

/// The `icecandidate` listener (the event is always an `RTCPeerConnectionIceEvent`).
fn on_ice_candidate(inner: &Rc<PeerInner>, event: JsValue) {
    let event: RtcPeerConnectionIceEvent = event.unchecked_into();
    let Some(candidate) = event.candidate() else {
        return; // end of gathering: the old clients ignore the null candidate too
    };
    let text = candidate.candidate();
    if text.is_empty() {
        return;
    }
    let ufrag = js_sys::Reflect::get(&candidate, &JsValue::from_str("usernameFragment"))
        .ok()
        .and_then(|v| v.as_string());
    let s = &inner.settings;
    inner.emit(MeshEvent::Signal(Message::IceCandidate(IceCandidateMsg {
        channel_id: s.channel_id,
        target_user_id: s.remote_id,
        from_user_id: s.own_id,
        candidate: IceCandidate {
            candidate: text,
            sdp_mid: candidate.sdp_mid(),
            sdp_m_line_index: candidate.sdp_m_line_index(),
            username_fragment: ufrag,
        },
    })));
}

/// The `track` listener (the event is always an `RTCTrackEvent`).
fn on_remote_track(inner: &Rc<PeerInner>, event: JsValue) {
    let event: RtcTrackEvent = event.unchecked_into();
    let track = event.track();
    let first = event.streams().get(0);
    let stream = (!first.is_undefined())
        .then(|| first.unchecked_into::<MediaStream>())
        .or_else(|| {
            let tracks = js_sys::Array::of1(&track);
            MediaStream::new_with_tracks(&tracks).ok()
        });
    if let Some(stream) = stream {
        inner.emit(MeshEvent::RemoteTrack {
            user_id: inner.settings.remote_id,
            stream,
            track,
        });
    }
}

fn on_ice_state_change(inner: &Rc<PeerInner>) {
    match inner.pc.ice_connection_state() {
        RtcIceConnectionState::Connected | RtcIceConnectionState::Completed => {
            let mut st = inner.state.borrow_mut();
            st.restarts = 0;
            st.ice_timer = None;
            st.was_connected = true;
        }
        RtcIceConnectionState::Disconnected => arm_ice_watchdog(inner, DISCONNECTED_GRACE_MS),
        RtcIceConnectionState::Failed => {
            inner.state.borrow_mut().ice_timer = None;
            ice_trouble(inner);
        }
        _ => {}
    }
}

/// The ICE watchdog: unless ICE is connected `ms` after it was armed (5 s after
/// `disconnected`; [`ICE_PROGRESS_MS`] after the connection was created), it is ICE trouble
/// (restart, or rebuild after the restarts). A connection whose candidates were all lost
/// stays `new`/`checking` for ever otherwise (issue 16).
fn arm_ice_watchdog(inner: &Rc<PeerInner>, ms: u32) {
    let weak = Rc::downgrade(inner);
    let timer = Timeout::new(ms, move || {
        if let Some(inner) = weak.upgrade() {
            if !matches!(
                inner.pc.ice_connection_state(),
                RtcIceConnectionState::Connected | RtcIceConnectionState::Completed
            ) {
                ice_trouble(&inner);
            }
        }
    })
    .ok();
    inner.state.borrow_mut().ice_timer = timer;
}

/// ICE stayed disconnected or failed: restart (impolite side only), or rebuild (P4).
fn ice_trouble(inner: &Rc<PeerInner>) {
    if inner.is_closed() {
        return;
    }
    let restarts = inner.state.borrow().restarts;
    let decision = on_ice_trouble(inner.polite, restarts);
    if let Some(ms) = next_ice_check_ms(decision) {
        // The remote's turns count as ours, so both ends agree on when to rebuild.
        inner.state.borrow_mut().restarts = restarts + 1;
        arm_ice_watchdog(inner, ms);
    }
    match decision {
        RestartDecision::Restart => ops::enqueue(inner, Op::IceRestart),
        RestartDecision::LeaveToRemote => {}
        RestartDecision::Rebuild => {
            inner.error(P2pError::IceFailed {
                user_id: inner.settings.remote_id,
                restarts,
            });
            (inner.rebuild)(inner.settings.remote_id, None);
        }
    }
}
