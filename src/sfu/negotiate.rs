//! The SFU engine's own offers: opening a join or resume (dual-PC `/rtc`, or single-PC
//! `/rtc/v1` with our first offer inside the join request), publishing the microphone,
//! serialized renegotiation (one offer in flight; a request during it sets a flag), ICE
//! restarts, receive slots for `MediaSectionsRequirement`, mute, and the creation and
//! release of the peer connections.

use web_sys::MediaStreamTrack;

use super::error::SfuError;
use super::messages::{IceServer, MediaSectionsRequirement};
use super::proto::{self, Publication, ReconnectReason};
use super::session::{Camera, Cont, Engine, Pending, Phase, Purpose, Then};
#[cfg(feature = "sfu-client")]
use super::session::{Mic, Reply};
use super::socket::SignalSocket;
use super::transport::PeerTransport;
use crate::browser::now_ms;
use crate::media::Bus;

impl Engine {
    /// Opens a fresh join (or a full rejoin) socket. In single-PC mode our first offer goes
    /// into the join request, so the socket opens once it is made (`offer_ready`).
    pub(super) fn open_join(&mut self, rejoin: bool) -> Pending {
        match self.start_join(rejoin) {
            Ok(offer) => offer,
            Err(e) => {
                self.join_failed(rejoin, e);
                None
            }
        }
    }

    fn start_join(&mut self, rejoin: bool) -> Result<Pending, SfuError> {
        if self.config.single_pc() {
            let publisher = PeerTransport::new(false, &self.config.ice_servers, &[], &self.inbox)?;
            if let Some(mic) = &self.mic {
                publisher.add_send_track(&mic.track);
            }
            if let Some(camera) = &mut self.camera {
                publisher.add_send_track(&camera.track);
                camera.requested = true;
            }
            publisher.add_receive_slots("audio", self.config.audio_slots.max(1));
            // One receive-only video slot too: measured, it makes the server place the room's
            // existing audio in its first answer far more reliably (without it about half the
            // joins waited ~150 ms for a MediaSectionsRequirement round; see the bench).
            publisher.add_receive_slots("video", 1);
            let offer = publisher.create_offer(false);
            self.publisher = Some(publisher);
            self.publisher_up = false;
            return Ok(Some((offer, Cont::OfferCreated(Purpose::Join(rejoin)))));
        }
        // Without server ICE servers nothing in the JoinResponse shapes the PCs: build
        // them while the socket connects, off the join → first-audio path.
        if !self.config.use_server_ice && self.subscriber.is_none() {
            self.create_transports(&[])?;
        }
        let url = proto::rtc_url(&self.config.url, &self.config.token, None);
        self.open_socket(
            &url,
            Phase::Joining {
                since: now_ms(),
                rejoin,
            },
        )?;
        Ok(None)
    }

    /// Opens a resume socket (`reconnect=1`, latest token). In single-PC mode the join
    /// request carries our ICE-restart offer (`sdp`).
    pub(super) fn open_resume(
        &mut self,
        reason: ReconnectReason,
        sdp: Option<&str>,
    ) -> Result<(), SfuError> {
        let resume = Some((self.own_sid.as_str(), reason));
        let url = match sdp {
            Some(sdp) => {
                self.offer_id += 1;
                proto::rtc_v1_url(
                    &self.config.url,
                    &self.config.token,
                    sdp,
                    self.offer_id,
                    &[None, None],
                    resume,
                )
            }
            None => proto::rtc_url(&self.config.url, &self.config.token, resume),
        };
        self.open_socket(&url, Phase::Resuming { since: now_ms() })
    }

    /// Opens the signal socket for a new generation (events of older sockets are ignored)
    /// and enters `phase`.
    fn open_socket(&mut self, url: &str, phase: Phase) -> Result<(), SfuError> {
        self.generation += 1;
        self.socket = Some(SignalSocket::open(url, self.generation, &self.inbox)?);
        self.phase = phase;
        Ok(())
    }

    /// Our offer (sdp) is the publisher's local description: send it where `purpose` says.
    pub(super) fn offer_ready(&mut self, purpose: Purpose, sdp: &str) -> Pending {
        match purpose {
            Purpose::Join(rejoin) => {
                self.offer_id = 1;
                let tracks = [self.mic_publication(), self.camera_publication()];
                let url =
                    proto::rtc_v1_url(&self.config.url, &self.config.token, sdp, 1, &tracks, None);
                let joining = Phase::Joining {
                    since: now_ms(),
                    rejoin,
                };
                if let Err(e) = self.open_socket(&url, joining) {
                    self.join_failed(rejoin, e);
                }
            }
            Purpose::Resume(reason) => {
                if self.open_resume(reason, Some(sdp)).is_err() {
                    self.back_off();
                }
            }
            Purpose::Publish(recovered) => {
                self.send(&proto::session_description("offer", sdp, self.offer_id));
                self.recovered(recovered);
            }
        }
        None
    }

    /// Our offer for `purpose` could not be made.
    pub(super) fn offer_failed(&mut self, purpose: Purpose, error: SfuError) -> Pending {
        match purpose {
            Purpose::Join(rejoin) => self.join_failed(rejoin, error),
            Purpose::Resume(_) => self.back_off(),
            Purpose::Publish(recovered) => {
                self.emitter.error(error);
                self.recovered(recovered);
            }
        }
        None
    }

    /// Publishes the microphone: AddTrackRequest + send-only transceiver, then the offer.
    #[cfg(feature = "sfu-client")]
    pub(super) fn publish(&mut self, track: MediaStreamTrack, waiter: Reply) -> Then {
        if !matches!(self.phase, Phase::Connected) {
            waiter.reject(SfuError::NotConnected);
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
        let (Some(request), Some(mic)) = (self.mic_publication(), self.mic.as_ref()) else {
            return false;
        };
        let frame = proto::add_track(request);
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

    /// The microphone as the server is told of it.
    fn mic_publication(&self) -> Option<Publication<'_>> {
        self.mic.as_ref().map(|mic| Publication {
            cid: &mic.cid,
            camera: false,
            muted: mic.muted,
        })
    }

    /// The camera as the server is told of it. Never muted: the call turns its video off and
    /// on with `track.enabled` (black frames meanwhile, as on the mesh), and LiveKit would stop
    /// forwarding a track announced muted until told otherwise.
    fn camera_publication(&self) -> Option<Publication<'_>> {
        self.camera.as_ref().map(|camera| Publication {
            cid: &camera.cid,
            camera: true,
            muted: false,
        })
    }

    /// The call's camera, to publish: asked for at once when the session is up, else once it
    /// is (`offer_camera` from the join). A second camera is ignored.
    pub(super) fn add_camera(&mut self, track: MediaStreamTrack) -> Then {
        if self.camera.is_some() {
            return Then::Nothing;
        }
        self.camera = Some(Camera::new(track));
        let run = matches!(self.phase, Phase::Connected) && self.offer_camera();
        Then::Negotiate {
            run,
            ice_restart: false,
            recovered: None,
        }
    }

    /// Sends the camera's AddTrackRequest and adds it to the publisher PC unless the server was
    /// asked already; true when an offer should follow.
    pub(super) fn offer_camera(&mut self) -> bool {
        let (Some(camera), Some(publisher)) = (self.camera.as_mut(), self.publisher.as_mut())
        else {
            return false;
        };
        if camera.requested {
            return false;
        }
        camera.requested = true;
        publisher.add_send_track(&camera.track);
        if let Some(request) = self.camera_publication() {
            self.send(&proto::add_track(request));
        }
        true
    }

    /// Starts a new offer on the publisher PC (then `recovered`, see `offer_ready`), or flags
    /// one for when the pending answer lands (`None`: nothing started).
    pub(super) fn negotiate(
        &mut self,
        ice_restart: bool,
        recovered: Option<&'static str>,
    ) -> Pending {
        let publisher = self.publisher.as_ref()?;
        if publisher.has_local_offer() && !ice_restart {
            self.renegotiate = true;
            return None;
        }
        let offer = publisher.create_offer(ice_restart);
        self.renegotiate = false;
        self.offer_id += 1;
        Some((offer, Cont::OfferCreated(Purpose::Publish(recovered))))
    }

    /// The server needs more receive slots (single-PC): add them, then renegotiate.
    pub(super) fn add_media_sections(&mut self, need: &MediaSectionsRequirement) -> Then {
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

    /// Builds both PCs (the app's ICE servers, then the JoinResponse's when configured to use
    /// them).
    pub(super) fn create_transports(&mut self, ice: &[IceServer]) -> Result<(), SfuError> {
        let servers = if self.config.use_server_ice { ice } else { &[] };
        let app = &self.config.ice_servers;
        self.subscriber = Some(PeerTransport::new(true, app, servers, &self.inbox)?);
        self.publisher = Some(PeerTransport::new(false, app, servers, &self.inbox)?);
        Ok(())
    }

    /// Closes both PCs and releases all remote audio (before a rejoin, or on teardown).
    pub(super) fn close_transports(&mut self) {
        // Dropping a `PeerTransport` detaches its listeners and closes the PC.
        self.subscriber = None;
        self.publisher = None;
        self.publisher_up = false;
        self.announce_published = false;
        let mut graph = self.graph.borrow_mut();
        for (user, _) in self.streams.values() {
            graph.detach(*user, Bus::Sfu);
        }
        self.streams.clear();
        self.pending_tracks.clear();
        self.held_candidates.clear();
        if let Some(mic) = &mut self.mic {
            mic.sid = None;
        }
        if let Some(camera) = &mut self.camera {
            camera.requested = false;
        }
    }
}
