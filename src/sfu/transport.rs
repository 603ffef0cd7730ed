//! `PeerTransport`: one LiveKit RTCPeerConnection (publisher or subscriber) with its listener
//! closures, the remote-candidate buffer (candidates that arrive before the remote
//! description), and the offer/answer steps. Dropping it detaches listeners and closes the PC.

use futures::channel::mpsc::UnboundedSender;
use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, MediaStreamTrack, RtcConfiguration, RtcDataChannelEvent, RtcIceCandidateInit,
    RtcIceServer, RtcOfferOptions, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType,
    RtcSessionDescriptionInit, RtcTrackEvent,
};

use super::error::SfuError;

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
    subscriber: bool,
    pending: Vec<RtcIceCandidateInit>,
    _on_candidate: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
    _on_state: Closure<dyn FnMut(Event)>,
    _on_channel: Closure<dyn FnMut(RtcDataChannelEvent)>,
    closed: bool,
}

impl PeerTransport {
    /// Creates the PC. `ice_servers` are (urls, username, credential) triples.
    pub fn new<E: 'static>(
        subscriber: bool,
        ice_servers: &[(Vec<String>, String, String)],
        sink: UnboundedSender<E>,
        map: fn(PcEvent) -> E,
    ) -> Result<PeerTransport, SfuError> {
        let config = ice_configuration(ice_servers);
        let pc =
            RtcPeerConnection::new_with_configuration(&config).map_err(|e| SfuError::js(&e))?;
        let tx = sink.clone();
        let on_candidate = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
            move |ev: RtcPeerConnectionIceEvent| {
                if let Some(candidate) = ev.candidate() {
                    let json = JSON::stringify(&candidate.to_json())
                        .ok()
                        .and_then(|s| s.as_string());
                    if let Some(json) = json {
                        let _ = tx.unbounded_send(map(PcEvent::Candidate { subscriber, json }));
                    }
                }
            },
        );
        let tx = sink.clone();
        let on_track = Closure::<dyn FnMut(RtcTrackEvent)>::new(move |ev: RtcTrackEvent| {
            let _ = tx.unbounded_send(map(PcEvent::Track(ev)));
        });
        let tx = sink;
        let pc_for_state = pc.clone();
        let on_state = Closure::<dyn FnMut(Event)>::new(move |_| {
            let state = pc_for_state.connection_state();
            let _ = tx.unbounded_send(map(PcEvent::State { subscriber, state }));
        });
        // Server-created data channels (subscriber PC) are accepted and left alone; keeping a
        // reference is not needed for them to open.
        let on_channel = Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |_| {});
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
        Ok(PeerTransport {
            pc,
            subscriber,
            pending: Vec::new(),
            _on_candidate: on_candidate,
            _on_track: on_track,
            _on_state: on_state,
            _on_channel: on_channel,
            closed: false,
        })
    }

    /// True for the subscriber PC.
    pub fn is_subscriber(&self) -> bool {
        self.subscriber
    }

    /// The current connection state.
    pub fn state(&self) -> RtcPeerConnectionState {
        self.pc.connection_state()
    }

    /// True until closed.
    pub fn is_open(&self) -> bool {
        !self.closed && self.pc.connection_state() != RtcPeerConnectionState::Closed
    }

    /// Adds a remote candidate from a trickle message, or buffers it until the remote
    /// description is set. A malformed candidate is reported, never thrown.
    pub async fn add_remote_candidate(&mut self, json: &str) -> Result<(), SfuError> {
        let value = JSON::parse(json).map_err(|e| SfuError::js(&e))?;
        if !value.is_object() {
            return Err(SfuError::Browser(
                "trickle candidate is not an object".into(),
            ));
        }
        let init: RtcIceCandidateInit = value.unchecked_into();
        if self.pc.remote_description().is_none() {
            self.pending.push(init);
            return Ok(());
        }
        add_candidate(&self.pc, &init).await
    }

    /// Applies the candidates buffered before the remote description was set. The subscriber
    /// side calls this after its answer is on the wire, so the answer is not delayed.
    pub async fn flush_candidates(&mut self) {
        for init in std::mem::take(&mut self.pending) {
            // A stale candidate (e.g. from before an ICE restart) is harmless: skip it.
            let _ = add_candidate(&self.pc, &init).await;
        }
    }

    /// Subscriber side: applies the server's offer and returns our answer SDP. Buffered
    /// candidates stay buffered until [`PeerTransport::flush_candidates`].
    pub async fn answer_offer(&mut self, sdp: &str) -> Result<String, SfuError> {
        let offer = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        offer.set_sdp(sdp);
        wait(self.pc.set_remote_description(&offer)).await?;
        let answer = wait(self.pc.create_answer()).await?;
        let answer_sdp = sdp_of(&answer)?;
        let init = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        init.set_sdp(&answer_sdp);
        wait(self.pc.set_local_description(&init)).await?;
        Ok(answer_sdp)
    }

    /// Publisher side: creates and applies an offer (optionally an ICE restart).
    pub async fn create_offer(&mut self, ice_restart: bool) -> Result<String, SfuError> {
        let options = RtcOfferOptions::new();
        if ice_restart {
            options.set_ice_restart(true);
        }
        let offer = wait(self.pc.create_offer_with_rtc_offer_options(&options)).await?;
        let sdp = sdp_of(&offer)?;
        let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        init.set_sdp(&sdp);
        wait(self.pc.set_local_description(&init)).await?;
        Ok(sdp)
    }

    /// Publisher side: applies the server's answer (ignored unless we have a pending offer).
    pub async fn accept_answer(&mut self, sdp: &str) -> Result<(), SfuError> {
        if self.pc.signaling_state() != web_sys::RtcSignalingState::HaveLocalOffer {
            return Ok(());
        }
        let answer = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        answer.set_sdp(sdp);
        wait(self.pc.set_remote_description(&answer)).await?;
        self.flush_candidates().await;
        Ok(())
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
        ice_servers: &[(Vec<String>, String, String)],
    ) -> Result<(), SfuError> {
        self.pc
            .set_configuration_with_configuration(&ice_configuration(ice_servers))
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
        self.pc.set_ondatachannel(None);
        self.pc.close();
    }
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// An `RTCConfiguration` with the given (urls, username, credential) ICE servers.
fn ice_configuration(ice_servers: &[(Vec<String>, String, String)]) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    let servers = Array::new();
    for (urls, username, credential) in ice_servers {
        let server = RtcIceServer::new();
        let list: Array = urls.iter().map(|u| JsValue::from_str(u)).collect();
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

async fn wait(promise: js_sys::Promise) -> Result<JsValue, SfuError> {
    JsFuture::from(promise).await.map_err(|e| SfuError::js(&e))
}

async fn add_candidate(pc: &RtcPeerConnection, init: &RtcIceCandidateInit) -> Result<(), SfuError> {
    wait(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init)))
        .await
        .map(|_| ())
}

fn sdp_of(description: &JsValue) -> Result<String, SfuError> {
    Reflect::get(description, &JsValue::from_str("sdp"))
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| SfuError::Browser("session description without sdp".into()))
}
