//! The SFU engine's own offers: opening a join or resume (dual-PC `/rtc`, or single-PC
//! `/rtc/v1` with our first offer inside the join request), publishing the microphone,
//! serialized renegotiation (one offer in flight; a request during it sets a flag), ICE
//! restarts, receive slots for `MediaSectionsRequirement`, mute, and the creation and
//! release of the peer connections.

use livekit_protocol as lk;
use web_sys::MediaStreamTrack;

use super::error::SfuError;
use super::proto::{self, ReconnectReason};
use super::session::{pc_input, socket_input, Engine, Mic, Phase, Reply, Then};
use super::socket::SignalSocket;
use super::transport::PeerTransport;
use crate::browser::now_ms;
use crate::media::Bus;

/// Receive-only audio slots offered up front in single-PC mode, so the server can put the
/// room's existing tracks into its first answer (it asks for more when it needs them).
const INITIAL_AUDIO_SLOTS: u32 = 3;

/// JoinResponse ICE servers as (urls, username, credential) triples.
pub(super) fn ice_triples(servers: &[lk::IceServer]) -> Vec<(Vec<String>, String, String)> {
    servers
        .iter()
        .map(|s| (s.urls.clone(), s.username.clone(), s.credential.clone()))
        .collect()
}

impl Engine {
    /// Opens a fresh join (or a full rejoin) socket.
    pub(super) async fn open_join(&mut self, rejoin: bool) -> Result<(), SfuError> {
        let url = if self.config.single_pc {
            self.publisher = Some(PeerTransport::new(false, &[], self.tx.clone(), pc_input)?);
            let add_track = self
                .mic
                .as_ref()
                .map(|m| proto::mic_track_request(&m.cid, m.muted));
            let publisher = self.publisher.as_mut().ok_or(SfuError::NotConnected)?;
            if let Some(mic) = &self.mic {
                publisher.add_send_track(&mic.track);
            }
            publisher.add_receive_slots("audio", INITIAL_AUDIO_SLOTS);
            // One receive-only video slot too: measured, it makes the server place the room's
            // existing audio in its first answer far more reliably (without it about half the
            // joins waited ~150 ms for a MediaSectionsRequirement round; see the bench).
            publisher.add_receive_slots("video", 1);
            let sdp = publisher.create_offer(false).await?;
            self.offer_id = 1;
            proto::rtc_v1_url(
                &self.config.url,
                &self.config.token,
                sdp,
                1,
                add_track,
                None,
            )
        } else {
            // Without server ICE servers nothing in the JoinResponse shapes the PCs: build
            // them while the socket connects, off the join → first-audio path.
            if !self.config.use_server_ice && self.subscriber.is_none() {
                self.create_transports(&[])?;
            }
            proto::rtc_url(&self.config.url, &self.config.token, None)
        };
        self.open_socket(&url)?;
        self.phase = Phase::Joining {
            since: now_ms(),
            rejoin,
        };
        Ok(())
    }

    /// Opens a resume socket (`reconnect=1`, latest token). In single-PC mode the join
    /// request carries an ICE-restart offer.
    pub(super) async fn open_resume(&mut self, reason: ReconnectReason) -> Result<(), SfuError> {
        let resume = Some((self.own_sid.as_str(), reason));
        let url = if self.config.single_pc {
            let publisher = self.publisher.as_mut().ok_or(SfuError::NotConnected)?;
            let sdp = publisher.create_offer(true).await?;
            self.offer_id += 1;
            let resume = Some((self.own_sid.as_str(), reason));
            proto::rtc_v1_url(
                &self.config.url,
                &self.config.token,
                sdp,
                self.offer_id,
                None,
                resume,
            )
        } else {
            proto::rtc_url(&self.config.url, &self.config.token, resume)
        };
        self.open_socket(&url)?;
        self.phase = Phase::Resuming { since: now_ms() };
        Ok(())
    }

    /// Opens the signal socket for a new generation (events of older sockets are ignored).
    fn open_socket(&mut self, url: &str) -> Result<(), SfuError> {
        self.generation += 1;
        self.socket = Some(SignalSocket::open(
            url,
            self.generation,
            self.tx.clone(),
            socket_input,
        )?);
        Ok(())
    }

    /// Publishes the microphone: AddTrackRequest + send-only transceiver, then the offer.
    pub(super) fn publish(&mut self, track: MediaStreamTrack, waiter: Reply) -> Then {
        if self.phase != Phase::Connected {
            let _ = waiter.send(Err(SfuError::NotConnected));
            return Then::Nothing;
        }
        let muted = !track.enabled();
        self.mic = Some(Mic {
            cid: track.id(),
            track,
            sid: None,
            muted,
            waiter: Some((now_ms(), waiter)),
        });
        let run = self.offer_mic();
        Then::Negotiate {
            run,
            ice_restart: false,
            recovered: None,
        }
    }

    /// Sends the AddTrackRequest and adds the microphone to the publisher PC; true when the
    /// publisher exists and an offer should follow.
    pub(super) fn offer_mic(&mut self) -> bool {
        let Some(mic) = self.mic.as_ref() else {
            return false;
        };
        let frame = proto::add_mic_track(&mic.cid, mic.muted);
        // `Clone::clone` copies the handle; the inherent `clone()` is the JS one that makes a
        // second, independent track (mute and leave would then miss the published copy).
        let track = Clone::clone(&mic.track);
        self.send(&frame);
        let Some(publisher) = self.publisher.as_mut() else {
            return false;
        };
        publisher.add_send_track(&track);
        true
    }

    /// Sends a new offer on the publisher PC, or flags one for when the pending answer lands.
    pub(super) async fn negotiate(&mut self, ice_restart: bool) {
        let Some(publisher) = self.publisher.as_mut() else {
            return;
        };
        if publisher.has_local_offer() && !ice_restart {
            self.renegotiate = true;
            return;
        }
        self.renegotiate = false;
        self.offer_id += 1;
        match publisher.create_offer(ice_restart).await {
            Ok(sdp) => self.send(&proto::session_description("offer", sdp, self.offer_id)),
            Err(e) => self.emitter.error(&e),
        }
    }

    /// The server needs more receive slots (single-PC): add them, then renegotiate.
    pub(super) fn add_media_sections(&mut self, need: lk::MediaSectionsRequirement) -> Then {
        let Some(publisher) = self.publisher.as_mut() else {
            return Then::Nothing;
        };
        publisher.add_receive_slots("audio", need.num_audios);
        publisher.add_receive_slots("video", need.num_videos);
        Then::Negotiate {
            run: true,
            ice_restart: false,
            recovered: None,
        }
    }

    /// Mutes or unmutes the microphone (track.enabled + MuteTrackRequest).
    pub(super) fn set_muted(&mut self, muted: bool) {
        let Some(mic) = self.mic.as_mut() else { return };
        mic.muted = muted;
        mic.track.set_enabled(!muted);
        if let Some(sid) = mic.sid.clone() {
            self.send(&proto::mute(&sid, muted));
        }
    }

    /// Builds both PCs (with the JoinResponse's ICE servers when configured to use them).
    pub(super) fn create_transports(&mut self, ice: &[lk::IceServer]) -> Result<(), SfuError> {
        let servers = if self.config.use_server_ice {
            ice_triples(ice)
        } else {
            Vec::new()
        };
        self.subscriber = Some(PeerTransport::new(
            true,
            &servers,
            self.tx.clone(),
            pc_input,
        )?);
        self.publisher = Some(PeerTransport::new(
            false,
            &servers,
            self.tx.clone(),
            pc_input,
        )?);
        Ok(())
    }

    /// Closes both PCs and releases all remote audio (before a rejoin, or on teardown).
    pub(super) fn close_transports(&mut self) {
        if let Some(mut pc) = self.subscriber.take() {
            pc.close();
        }
        if let Some(mut pc) = self.publisher.take() {
            pc.close();
        }
        let mut graph = self.graph.borrow_mut();
        for (_, (user, _)) in std::mem::take(&mut self.streams) {
            graph.detach(user, Bus::Sfu);
        }
        self.pending_tracks.clear();
        self.tracks.clear();
        if let Some(mic) = &mut self.mic {
            mic.sid = None;
        }
    }
}
