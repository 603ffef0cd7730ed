//! `PeerTransport`: one LiveKit RTCPeerConnection (publisher or subscriber) with its listener
//! closures, the remote-candidate buffer (candidates that arrive before the remote
//! description), and the offer/answer steps. The steps return the browser's promises: the
//! engine waits for them in one place (`Engine::run`) and continues synchronously, so no
//! async state machine lives here. Dropping it detaches listeners and closes the PC.

use js_sys::{Array, Promise, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    MediaStreamTrack, RtcBundlePolicy, RtcConfiguration, RtcIceCandidateInit, RtcIceServer,
    RtcOfferOptions, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState,
    RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescription,
    RtcSessionDescriptionInit, RtcTrackEvent,
};

use super::messages::IceServer;

use super::error::SfuError;
use super::session::{Inbox, Input};

/// What a transport reports. `subscriber` says which PC produced it.
pub enum PcEvent {
    Candidate {
        subscriber: bool,
        json: String,
    },
    Track(RtcTrackEvent),
    State {
        subscriber: bool,
        state: RtcPeerConnectionState,
    },
}

/// One peer connection and everything attached to it.
pub struct PeerTransport {
    pc: RtcPeerConnection,
    pending: Vec<RtcIceCandidateInit>,
    /// `FnMut(JsValue)`, the crate's one listener type (see `socket.rs`).
    _on_candidate: Closure<dyn FnMut(JsValue)>,
    _on_track: Closure<dyn FnMut(JsValue)>,
    _on_state: Closure<dyn FnMut(JsValue)>,
    closed: bool,
}

impl PeerTransport {
    /// Creates the PC with the app's ICE servers (`RTCIceServer[]` or undefined) followed by
    /// the server's (from the JoinResponse).
    pub fn new(
        subscriber: bool,
        app_ice: &JsValue,
        ice_servers: &[IceServer],
        inbox: &Inbox,
    ) -> Result<PeerTransport, SfuError> {
        let config = ice_configuration(app_ice, ice_servers);
        let pc =
            RtcPeerConnection::new_with_configuration(&config).map_err(|e| SfuError::js(&e))?;
        let tx = inbox.clone();
        let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Some(candidate) = ev.unchecked_into::<RtcPeerConnectionIceEvent>().candidate() {
                let json = JSON::stringify(&candidate.to_json())
                    .ok()
                    .and_then(|s| s.as_string());
                if let Some(json) = json {
                    let _ = tx.send(Input::Pc(PcEvent::Candidate { subscriber, json }));
                }
            }
        });
        let tx = inbox.clone();
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let _ = tx.send(Input::Pc(PcEvent::Track(
                ev.unchecked_into::<RtcTrackEvent>(),
            )));
        });
        let tx = inbox.clone();
        let pc_for_state = pc.clone();
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let state = pc_for_state.connection_state();
            let _ = tx.send(Input::Pc(PcEvent::State { subscriber, state }));
        });
        // Server-created data channels (subscriber PC) open without us and carry nothing the
        // client reads: no `ondatachannel` listener.
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        Ok(PeerTransport {
            pc,
            pending: Vec::new(),
            _on_candidate: on_candidate,
            _on_track: on_track,
            _on_state: on_state,
            closed: false,
        })
    }

    /// The current connection state.
    pub fn state(&self) -> RtcPeerConnectionState {
        self.pc.connection_state()
    }

    /// True until closed.
    pub fn is_open(&self) -> bool {
        !self.closed && self.pc.connection_state() != RtcPeerConnectionState::Closed
    }

    /// Adds a remote candidate from a trickle message (the promise to wait for), or buffers it
    /// until the remote description is set (`None`). A malformed candidate is reported, never
    /// thrown.
    pub fn add_remote_candidate(&mut self, json: &str) -> Result<Option<Promise>, SfuError> {
        let value = JSON::parse(json).map_err(|e| SfuError::js(&e))?;
        if !value.is_object() {
            return Err(SfuError::Browser(
                "trickle candidate is not an object".into(),
            ));
        }
        let init: RtcIceCandidateInit = value.unchecked_into();
        if self.pc.remote_description().is_none() {
            self.pending.push(init);
            return Ok(None);
        }
        Ok(Some(add_candidate(&self.pc, &init)))
    }

    /// Applies the candidates buffered before the remote description was set; the promise
    /// settles when all of them did (`None` when none were buffered). A stale candidate (e.g.
    /// from before an ICE restart) is harmless, so failures are ignored. The PC's operation
    /// chain applies them in order. The subscriber side calls this after its answer is on the
    /// wire, so the answer is not delayed.
    pub fn flush_candidates(&mut self) -> Option<Promise> {
        if self.pending.is_empty() {
            return None;
        }
        let all = Array::new();
        for init in std::mem::take(&mut self.pending) {
            all.push(&add_candidate(&self.pc, &init));
        }
        Some(Promise::all_settled(&all))
    }

    /// `createOffer` (an ICE restart when asked); the engine then calls
    /// [`PeerTransport::set_local`] with what it resolves to.
    pub fn create_offer(&self, ice_restart: bool) -> Promise {
        let options = RtcOfferOptions::new();
        if ice_restart {
            options.set_ice_restart(true);
        }
        self.pc.create_offer_with_rtc_offer_options(&options)
    }

    /// `createAnswer` (subscriber side, after the server's offer is set).
    #[cfg(feature = "sfu-client")]
    pub fn create_answer(&self) -> Promise {
        self.pc.create_answer()
    }

    /// `setLocalDescription` with the description `createOffer`/`createAnswer` resolved to;
    /// also returns its SDP (to send).
    pub fn set_local(&self, description: &JsValue) -> (Promise, String) {
        let description: &RtcSessionDescription = description.unchecked_ref();
        let set = self.pc.set_local_description(description.unchecked_ref());
        (set, description.sdp())
    }

    /// `setRemoteDescription` with the server's offer or answer.
    pub fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Promise {
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(sdp);
        self.pc.set_remote_description(&description)
    }

    /// Adds a send-only transceiver for `track`.
    pub fn add_send_track(&self, track: &MediaStreamTrack) {
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendonly);
        self.pc
            .add_transceiver_with_media_stream_track_and_init(track, &init);
    }

    /// Adds `count` receive-only transceivers of `kind` ("audio" / "video").
    pub fn add_receive_slots(&self, kind: &str, count: u32) {
        for _ in 0..count {
            let init = RtcRtpTransceiverInit::new();
            init.set_direction(RtcRtpTransceiverDirection::Recvonly);
            self.pc.add_transceiver_with_str_and_init(kind, &init);
        }
    }

    /// Replaces the ICE servers (they apply from the next ICE restart).
    pub fn set_ice_servers(
        &self,
        app_ice: &JsValue,
        ice_servers: &[IceServer],
    ) -> Result<(), SfuError> {
        self.pc
            .set_configuration_with_configuration(&ice_configuration(app_ice, ice_servers))
            .map_err(|e| SfuError::js(&e))
    }

    /// True while an offer of ours awaits its answer.
    pub fn has_local_offer(&self) -> bool {
        self.pc.signaling_state() == web_sys::RtcSignalingState::HaveLocalOffer
    }

    /// Detaches listeners and closes the PC. Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.pc.set_onicecandidate(None);
        self.pc.set_ontrack(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// An `RTCConfiguration` with the app's ICE servers (a JS `RTCIceServer[]`, or anything else
/// for none) followed by the server's.
fn ice_configuration(app_ice: &JsValue, ice_servers: &[IceServer]) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    // One ICE transport for every m-line from the start. Without it Chromium gathers and
    // trickles candidates for each transceiver until the answer bundles them (with a call's
    // receive slots: 13 transports, ~100 candidate frames, a socket and STUN checks each).
    config.set_bundle_policy(RtcBundlePolicy::MaxBundle);
    // `Array.from`: a copy, so the server's entries never land in the app's own array.
    let servers = if Array::is_array(app_ice) {
        Array::from(app_ice)
    } else {
        Array::new()
    };
    for IceServer {
        urls,
        username,
        credential,
    } in ice_servers
    {
        let server = RtcIceServer::new();
        let list = Array::new();
        for url in urls {
            list.push(&JsValue::from_str(url));
        }
        server.set_urls(&list);
        if !username.is_empty() {
            server.set_username(username);
            server.set_credential(credential);
        }
        servers.push(&server);
    }
    config.set_ice_servers(&servers);
    config
}

fn add_candidate(pc: &RtcPeerConnection, init: &RtcIceCandidateInit) -> Promise {
    pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init))
}
