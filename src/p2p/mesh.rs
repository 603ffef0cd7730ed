//! The full mesh: one [`Peer`] per remote user of the call. Commands come down from the
//! service (`connect`, `handle_signal`, `remove_peer`, `set_local_stream`, `close`); everything
//! the mesh has to say goes up as a [`MeshEvent`] through the sink it was given — outgoing
//! `voice:*` frames, remote tracks, connection states and typed errors. It holds no reference
//! to anything above it.
//!
//! Relayed signalling is checked before it touches a connection: the wrong channel, a frame
//! addressed to someone else, or an answer/candidate from a user without a peer connection
//! become [`P2pError`] events and are dropped; the call carries on.

use crate::vec_map::VecMap;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsValue;
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection, RtcPeerConnectionState};

use super::error::P2pError;
use super::negotiation::{is_polite, OFFER_TIMEOUT_MS};
use super::ops::Op;
use super::peer::{EventSink, Peer, PeerSettings, RebuildRequest};
use crate::signal::{ChannelId, Message, UserId};

/// Everything the mesh reports upwards.
#[derive(Debug, Clone)]
pub enum MeshEvent {
    /// A `voice:*` frame to send (offer, answer or ICE candidate).
    Signal(Message),
    /// A remote track arrived (`ontrack`), with the stream it belongs to.
    RemoteTrack {
        user_id: UserId,
        stream: MediaStream,
        track: MediaStreamTrack,
    },
    /// A peer connection's `connectionState` changed.
    PeerState { state: RtcPeerConnectionState },
    /// A peer connection was closed and replaced by a fresh one (or awaits the remote's offer).
    PeerRebuilt,
    /// Something went wrong; the call continues.
    Error(P2pError),
}

/// The mesh's fixed settings for one call.
#[derive(Clone)]
pub struct MeshConfig {
    pub own_id: UserId,
    pub channel_id: ChannelId,
    /// `RTCIceServer[]` from the app's configuration (undefined = none).
    pub ice_servers: JsValue,
    pub offer_timeout_ms: u32,
    /// `RTCCertificate[]` shared by every connection of the call (undefined = one per
    /// connection). Generating a certificate is the slowest part of a fresh connection's
    /// first offer, so the service creates one while the microphone opens.
    pub certificates: JsValue,
}

/// Starts generating an ECDSA P-256 certificate for the call's connections.
pub fn start_certificate() -> Option<js_sys::Promise> {
    let algorithm = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&algorithm, &"name".into(), &"ECDSA".into());
    let _ = js_sys::Reflect::set(&algorithm, &"namedCurve".into(), &"P-256".into());
    RtcPeerConnection::generate_certificate_with_object(&algorithm).ok()
}

/// The `RTCCertificate[]` for [`MeshConfig::certificates`] from how [`start_certificate`]'s
/// promise settled (undefined on failure: each connection then makes its own).
pub fn certificates(settled: Result<JsValue, JsValue>) -> JsValue {
    match settled {
        Ok(cert) => js_sys::Array::of1(&cert).into(),
        Err(_) => JsValue::UNDEFINED,
    }
}

impl MeshConfig {
    pub fn new(own_id: UserId, channel_id: ChannelId, ice_servers: JsValue) -> MeshConfig {
        MeshConfig {
            own_id,
            channel_id,
            ice_servers,
            offer_timeout_ms: OFFER_TIMEOUT_MS,
            certificates: JsValue::UNDEFINED,
        }
    }
}

struct MeshShared {
    config: MeshConfig,
    peers: RefCell<VecMap<UserId, Peer>>,
    local_stream: RefCell<Option<MediaStream>>,
    audio_muted: std::cell::Cell<bool>,
    sink: EventSink,
    me: Weak<MeshShared>,
}

/// The set of peer connections of one call.
pub struct Mesh {
    shared: Rc<MeshShared>,
}

impl Mesh {
    pub fn new(config: MeshConfig, local_stream: Option<MediaStream>, sink: EventSink) -> Mesh {
        let shared = Rc::new_cyclic(|me| MeshShared {
            config,
            peers: RefCell::new(VecMap::new()),
            local_stream: RefCell::new(local_stream),
            audio_muted: std::cell::Cell::new(false),
            sink,
            me: me.clone(),
        });
        Mesh { shared }
    }

    /// Opens a connection to `user_id` and offers at once (we are the joiner). Does nothing
    /// when a connection exists already.
    pub fn connect(&self, user_id: UserId) -> Result<(), P2pError> {
        if user_id == self.shared.config.own_id || self.has_peer(user_id) {
            return Ok(());
        }
        let peer = self.shared.new_peer(user_id, true)?;
        self.shared.peers.borrow_mut().insert(user_id, peer);
        Ok(())
    }

    /// Routes a relayed offer / answer / candidate to its peer (creating one for an offer).
    pub fn handle_signal(&self, msg: &Message) {
        let Some((from, target)) = msg.relay_ids() else {
            return;
        };
        let shared = &self.shared;
        let channel_id = msg.channel_id().unwrap_or_default();
        if from == shared.config.own_id {
            return;
        }
        if channel_id != shared.config.channel_id {
            return shared.emit(MeshEvent::Error(P2pError::WrongChannel {
                user_id: from,
                channel_id,
            }));
        }
        if target != shared.config.own_id {
            return shared.emit(MeshEvent::Error(P2pError::WrongTarget {
                user_id: from,
                target,
            }));
        }
        let (op, kind) = match msg {
            Message::Offer(m) => (Op::RemoteOffer(m.offer.sdp.clone()), "offer"),
            Message::Answer(m) => (Op::RemoteAnswer(m.answer.sdp.clone()), "answer"),
            Message::IceCandidate(m) => (Op::Candidate(m.candidate.clone()), "ice-candidate"),
            _ => return,
        };
        if kind == "offer" && !self.has_peer(from) {
            match shared.new_peer(from, false) {
                Ok(peer) => {
                    shared.peers.borrow_mut().insert(from, peer);
                }
                Err(e) => return shared.emit(MeshEvent::Error(e)),
            }
        }
        match shared.peers.borrow().get(&from) {
            Some(peer) => peer.enqueue(op),
            None => shared.emit(MeshEvent::Error(P2pError::UnknownPeer {
                user_id: from,
                kind,
            })),
        }
    }

    /// Closes and forgets the connection to `user_id` (voice:user-left).
    pub fn remove_peer(&self, user_id: UserId) -> bool {
        let removed = self.shared.peers.borrow_mut().remove(&user_id);
        removed.is_some()
    }

    /// Replaces the local stream on every connection; new tracks (a camera) renegotiate.
    pub fn set_local_stream(&self, stream: Option<MediaStream>) {
        *self.shared.local_stream.borrow_mut() = stream.clone();
        for peer in self.shared.peers.borrow().values() {
            peer.set_local_stream(stream.clone());
        }
    }

    /// Mutes or unmutes our microphone on every connection, and on connections made later.
    pub fn set_audio_muted(&self, muted: bool) {
        self.shared.audio_muted.set(muted);
        for peer in self.shared.peers.borrow().values() {
            peer.set_audio_muted(muted);
        }
    }

    /// Re-checks every connection for local tracks not yet sent (after a track was added to
    /// the same stream object).
    pub fn refresh_tracks(&self) {
        let stream = self.shared.local_stream.borrow().clone();
        self.set_local_stream(stream);
    }

    pub fn has_peer(&self, user_id: UserId) -> bool {
        self.shared.peers.borrow().contains_key(&user_id)
    }

    pub fn peer_ids(&self) -> Vec<UserId> {
        self.shared.peers.borrow().keys().copied().collect()
    }

    /// The current connections, for the quality poll and for tests.
    pub fn connections(&self) -> Vec<(UserId, RtcPeerConnection)> {
        self.shared
            .peers
            .borrow()
            .iter()
            .map(|(id, peer)| (*id, peer.connection().clone()))
            .collect()
    }

    /// Closes every connection. Idempotent.
    pub fn close(&self) {
        let peers = std::mem::take(&mut *self.shared.peers.borrow_mut());
        drop(peers);
        *self.shared.local_stream.borrow_mut() = None;
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.close();
    }
}

impl MeshShared {
    fn emit(&self, event: MeshEvent) {
        let sink = self.sink.clone();
        crate::browser::defer(move || sink(event));
    }

    fn new_peer(&self, remote_id: UserId, initiate: bool) -> Result<Peer, P2pError> {
        let settings = PeerSettings {
            own_id: self.config.own_id,
            remote_id,
            channel_id: self.config.channel_id,
            ice_servers: self.config.ice_servers.clone(),
            certificates: self.config.certificates.clone(),
            offer_timeout_ms: self.config.offer_timeout_ms,
        };
        let me = self.me.clone();
        let rebuild: RebuildRequest = Rc::new(move |user_id, replay| {
            let me = me.clone();
            // Deferred: the request comes from inside the old peer's own callbacks.
            crate::browser::defer(move || {
                if let Some(shared) = me.upgrade() {
                    shared.rebuild(user_id, replay);
                }
            });
        });
        let stream = self.local_stream.borrow().clone();
        let peer = Peer::new(settings, stream, initiate, self.sink.clone(), rebuild)?;
        if self.audio_muted.get() {
            peer.set_audio_muted(true);
        }
        Ok(peer)
    }

    /// Replaces a failed connection: the impolite side builds a new one and offers; the polite
    /// side waits for that offer (or replays the one that could not be applied).
    fn rebuild(&self, user_id: UserId, replay: Option<String>) {
        if self.peers.borrow_mut().remove(&user_id).is_none() {
            return;
        }
        let polite = is_polite(self.config.own_id, user_id);
        if replay.is_some() || !polite {
            match self.new_peer(user_id, replay.is_none()) {
                Ok(peer) => {
                    if let Some(sdp) = replay {
                        peer.enqueue(Op::RemoteOffer(sdp));
                    }
                    self.peers.borrow_mut().insert(user_id, peer);
                }
                Err(e) => self.emit(MeshEvent::Error(e)),
            }
        }
        self.emit(MeshEvent::PeerRebuilt);
    }
}
