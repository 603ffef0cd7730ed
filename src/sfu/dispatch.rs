//! The SFU engine's reactions: signal frames (join, offers, answers, trickle, participant
//! updates, leave, refresh_token, pongs), peer-connection events (local candidates, remote
//! tracks, state changes) and the app's publish/mute commands.

use livekit_protocol as lk;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnectionState, RtcTrackEvent};

use super::error::SfuError;
use super::events::{update, SfuEvent};
use super::messages::{JoinResponse, LeaveRequest};
use super::ping::PingClock;
use super::proto::{self, ProtoError, ReconnectReason, Response};
use super::roster::Roster;
use super::session::{Engine, Phase, Then};
use super::socket::SocketEvent;
use super::tracks::{unpack_stream_id, user_id_of};
use super::transport::{PcEvent, PeerTransport};
use crate::browser::now_ms;
use crate::media::Bus;

/// How many times an unresolved remote track is retried (one per roster update or offer).
const TRACK_RETRIES: u32 = 40;

impl Engine {
    /// A socket event (by reference: its frame is dropped once, by the caller).
    pub(super) fn on_socket(&mut self, event: &SocketEvent) -> Then {
        let current = self.generation;
        match *event {
            SocketEvent::Text(gen) if gen == current => {
                self.emitter.error(ProtoError::TextFrame.into());
                Then::Nothing
            }
            SocketEvent::Frame(gen, ref bytes) if gen == current => {
                self.ping.on_message(now_ms() as i64);
                for frame in std::mem::take(&mut self.held_candidates) {
                    self.send(&frame);
                }
                match proto::decode_response(bytes) {
                    // By reference: the message is dropped here once, not in every branch.
                    Ok(mut message) => self.on_message(&mut message),
                    // An unknown message from a newer server is not an error.
                    Err(ProtoError::Empty) => Then::Nothing,
                    Err(e) => {
                        self.emitter.error(e.into());
                        Then::Nothing
                    }
                }
            }
            SocketEvent::Closed(gen, code) if gen == current => {
                self.socket = None;
                match self.phase {
                    Phase::Joining { rejoin: false, .. } => {
                        self.fail(SfuError::SignalClosed(code));
                        Then::Nothing
                    }
                    Phase::Connected | Phase::Resuming { .. } | Phase::Joining { .. } => {
                        Then::Recover(ReconnectReason::SignalDisconnected)
                    }
                    Phase::Waiting { .. } | Phase::Closed => Then::Nothing,
                }
            }
            _ => Then::Nothing,
        }
    }

    /// A message out of place is a typed error event, nothing more.
    fn unexpected(&self, message: &Response, state: &'static str) -> Then {
        let got = proto::response_name(message);
        self.emitter
            .error(ProtoError::Unexpected { got, state }.into());
        Then::Nothing
    }

    fn on_message(&mut self, message: &mut Response) -> Then {
        match (self.phase, message) {
            (Phase::Joining { rejoin, .. }, Response::Join(join)) => self.on_join(join, rejoin),
            (Phase::Joining { .. }, Response::Leave(leave)) => self.on_leave(leave),
            (Phase::Joining { .. }, other) => self.unexpected(other, "joining"),
            (Phase::Resuming { .. }, Response::Reconnect(_)) => {
                self.phase = Phase::Connected;
                self.ping = PingClock::new(5, 15, now_ms() as i64);
                self.verify_until = Some(now_ms() + super::session::VERIFY_MS);
                // After a dual-PC resume: ICE-restart the publisher if it carries our mic.
                let restart =
                    !self.config.single_pc() && self.mic.as_ref().is_some_and(|m| m.sid.is_some());
                Then::Negotiate {
                    run: restart,
                    ice_restart: true,
                    recovered: Some("resume"),
                }
            }
            // The server no longer knows the session: go straight to a full rejoin.
            (Phase::Resuming { .. }, Response::Leave(_)) => Then::Join(true),
            (Phase::Connected, Response::Leave(leave)) => self.on_leave(leave),
            (Phase::Connected | Phase::Resuming { .. }, other) => self.on_connected(other),
            _ => Then::Nothing,
        }
    }

    fn on_join(&mut self, join: &mut JoinResponse, rejoin: bool) -> Then {
        let me = join.participant.take().unwrap_or_default();
        self.own_sid = me.sid.clone();
        self.roster = Roster::new(&me.identity);
        self.roster.apply(&join.other_participants);
        self.ping = PingClock::new(join.ping_interval, join.ping_timeout, now_ms() as i64);
        update(&self.shared, |shared| {
            shared.own_sid = me.sid.clone();
            shared.own_identity = me.identity.clone();
        });
        // Dual-PC builds both connections now (single-PC made its one with the join offer).
        if !self.config.single_pc() && self.subscriber.is_none() && self.publisher.is_none() {
            if let Err(e) = self.create_transports(&join.ice_servers) {
                self.fail(e);
                return Then::Nothing;
            }
        } else if self.config.single_pc()
            && self.config.use_server_ice
            && !join.ice_servers.is_empty()
        {
            // The single PC was built before the JoinResponse: apply its ICE servers now and
            // ICE-restart once our join offer is answered.
            if let Some(publisher) = self.publisher.as_ref() {
                match publisher.set_ice_servers(&self.config.ice_servers, &join.ice_servers) {
                    Ok(()) => self.pending_ice_restart = true,
                    Err(e) => self.emitter.error(e),
                }
            }
        }
        self.phase = Phase::Connected;
        if let Some(waiter) = self.join_waiter.take() {
            waiter.resolve(&JsValue::UNDEFINED);
        }
        self.emitter.emit(SfuEvent::Connected);
        self.emit_participants();
        // Dual-PC: publish the microphone we started with, or again after a rejoin, on the new
        // publisher PC (in single-PC mode the join request already carried it). Then the
        // camera, unless the join request carried it (a camera added while joining).
        let publish = (!self.config.single_pc() && self.offer_mic()) | self.offer_camera();
        if !rejoin && !publish {
            return Then::Nothing;
        }
        Then::Negotiate {
            run: publish,
            ice_restart: false,
            recovered: rejoin.then_some("rejoin"),
        }
    }

    fn on_connected(&mut self, message: &mut Response) -> Then {
        use std::mem::take;
        match message {
            // Dual-PC: the subscriber answers the server's offers (single-PC never gets one).
            #[cfg(feature = "sfu-client")]
            Response::Offer(offer) => return Then::AnswerOffer(take(&mut offer.sdp), offer.id),
            Response::Answer(answer) => {
                if answer.id != 0 && answer.id != self.offer_id {
                    return Then::Nothing; // an answer to a stale offer
                }
                return Then::AcceptAnswer(take(&mut answer.sdp));
            }
            Response::MediaSectionsRequirement(need) => return self.add_media_sections(need),
            Response::Trickle(trickle) => {
                return Then::Candidate(
                    trickle.target == lk::SignalTarget::Subscriber as i32,
                    take(&mut trickle.candidate_init),
                )
            }
            Response::Update(update) if self.roster.apply(&update.participants) => {
                self.drop_departed_streams();
                self.retry_pending_tracks();
                self.emit_participants();
            }
            Response::TrackPublished(published) => {
                if let Some(mic) = self.mic.as_mut().filter(|m| m.cid == published.cid) {
                    let sid = published
                        .track
                        .as_mut()
                        .map(|t| take(&mut t.sid))
                        .unwrap_or_default();
                    mic.sid = Some(sid.clone());
                    update(&self.shared, |s| s.published_track_sid = Some(sid.clone()));
                    if let Some((_, waiter)) = mic.waiter.take() {
                        waiter.resolve(&JsValue::from_str(&sid));
                    }
                    // Reported once the publishing connection carries media too: others
                    // receive the microphone only from then on.
                    if self.publisher_up {
                        self.emitter.emit(SfuEvent::Published);
                    } else {
                        self.announce_published = true;
                    }
                }
            }
            Response::Mute(mute)
                if self.mic.as_ref().and_then(|m| m.sid.as_deref()) == Some(mute.sid.as_str()) =>
            {
                self.set_muted(mute.muted);
            }
            // Others' speaking and quality feed the `SfuClient` roster only: a call measures
            // speaking from its own audio graph and reports its own quality.
            #[cfg(feature = "sfu-client")]
            Response::SpeakersChanged(speakers)
                if self.roster.apply_speakers(&speakers.speakers) =>
            {
                self.emit_participants();
            }
            Response::ConnectionQuality(quality) => {
                #[cfg(feature = "sfu-client")]
                self.roster.apply_quality(&quality.updates);
                if let Some(own) = quality
                    .updates
                    .iter()
                    .find(|q| q.participant_sid == self.own_sid)
                {
                    let label = match own.quality {
                        2 => "good",
                        1 => "medium",
                        _ => "poor",
                    };
                    self.emitter.emit(SfuEvent::Quality(label));
                }
            }
            Response::RefreshToken(token) => self.config.token = take(token),
            Response::Join(_) | Response::Reconnect(_) => {
                return self.unexpected(message, "connected")
            }
            Response::PongResp(pong) => {
                self.ping.on_pong(pong.last_ping_timestamp, now_ms() as i64)
            }
            _ => {}
        }
        Then::Nothing
    }

    /// A server leave: resume, rejoin, or end the session.
    fn on_leave(&mut self, leave: &LeaveRequest) -> Then {
        use lk::leave_request::Action;
        match leave.action {
            a if a == Action::Resume as i32 => Then::Recover(ReconnectReason::SignalDisconnected),
            a if a == Action::Reconnect as i32 => {
                self.outage_since.get_or_insert(now_ms());
                self.episode_attempts += 1;
                Then::Join(true)
            }
            _ => {
                self.fail(SfuError::Disconnected(leave.reason));
                Then::Nothing
            }
        }
    }

    pub(super) fn on_pc(&mut self, event: PcEvent) -> Then {
        match event {
            PcEvent::Candidate { subscriber, json } => {
                let frame = proto::trickle(json, subscriber);
                // Gathered before the join socket opened (single-PC: the offer is made first):
                // sent with the server's first frame, never dropped.
                if !self
                    .socket
                    .as_ref()
                    .is_some_and(|socket| socket.send(&frame))
                {
                    self.held_candidates.push(frame);
                }
            }
            PcEvent::Track(event) => self.on_track(event, 0),
            PcEvent::State { subscriber, state } => {
                if !subscriber && state == RtcPeerConnectionState::Connected {
                    self.publisher_up = true;
                    if std::mem::take(&mut self.announce_published) {
                        self.emitter.emit(SfuEvent::Published);
                    }
                }
                if state == RtcPeerConnectionState::Failed && matches!(self.phase, Phase::Connected)
                {
                    return Then::Recover(if subscriber {
                        ReconnectReason::SubscriberFailed
                    } else {
                        ReconnectReason::PublisherFailed
                    });
                }
            }
        }
        Then::Nothing
    }

    /// A remote track: its audio plays on the SFU bus, and it joins the stream the owner sees
    /// for its user (one stream with their audio and video, as on the mesh), replacing an
    /// earlier track of its kind.
    fn on_track(&mut self, event: RtcTrackEvent, tries: u32) {
        let track = event.track();
        let kind = track.kind();
        if kind != "audio" && kind != "video" {
            return;
        }
        // `streams` holds MediaStreams only: the first, if any (no `instanceof` check needed).
        let stream = event.streams().get(0);
        if stream.is_undefined() {
            return;
        }
        let stream: MediaStream = stream.unchecked_into();
        // The publisher's participant sid is the first part of the packed stream id.
        let stream_id = stream.id();
        let (participant, _) = unpack_stream_id(&stream_id);
        if !participant.starts_with("PA_") {
            return;
        }
        let Some(identity) = self.roster.identity_of_sid(participant).map(str::to_string) else {
            if tries < TRACK_RETRIES {
                self.pending_tracks.push((tries + 1, event));
            }
            return;
        };
        let Some(user_id) = user_id_of(&identity).and_then(|id| u64::try_from(id).ok()) else {
            return;
        };
        if kind == "audio" {
            if let Err(e) = self.graph.borrow_mut().attach(user_id, Bus::Sfu, &stream) {
                self.emitter.error(SfuError::Browser(e.to_string()));
            }
        }
        // `Clone::clone`: the inherent `MediaStream::clone` is the JS method that copies tracks.
        let user_stream = match self.streams.get(&identity) {
            Some((_, known)) => Clone::clone(known),
            None => stream,
        };
        for old in user_stream.get_tracks().iter() {
            let old: MediaStreamTrack = old.unchecked_into();
            if old.kind() == kind && old.id() != track.id() {
                user_stream.remove_track(&old);
            }
        }
        user_stream.add_track(&track);
        self.streams
            .insert(identity, (user_id, Clone::clone(&user_stream)));
        self.emitter.emit(SfuEvent::Track {
            user_id,
            stream: user_stream,
        });
    }

    pub(super) fn retry_pending_tracks(&mut self) {
        for (tries, event) in std::mem::take(&mut self.pending_tracks) {
            self.on_track(event, tries);
        }
    }

    fn drop_departed_streams(&mut self) {
        let (roster, graph, emitter) = (&self.roster, &self.graph, &self.emitter);
        self.streams.retain(|identity, (user, _)| {
            let stays = roster.get(identity).is_some();
            if !stays {
                graph.borrow_mut().detach(*user, Bus::Sfu);
                emitter.emit(SfuEvent::TrackRemoved { user_id: *user });
            }
            stays
        });
    }

    pub(super) fn send(&self, frame: &[u8]) {
        if let Some(socket) = &self.socket {
            socket.send(frame);
        }
    }

    fn emit_participants(&self) {
        update(&self.shared, |s| {
            s.participants = self.snapshot_participants()
        });
        self.emitter.emit(SfuEvent::Participants);
    }

    fn snapshot_participants(&self) -> Vec<super::roster::Participant> {
        let levels = self.graph.borrow().levels();
        let mut list = self.roster.voice_participants();
        for p in &mut list {
            if let Some((_, level)) = levels.iter().find(|(id, _)| *id == p.user_id) {
                p.audio_level = p.audio_level.max(*level);
            }
        }
        list
    }

    /// Local levels for `audioLevel` (the server's SpeakersChanged drives `isSpeaking`).
    pub(super) fn refresh_levels(&mut self) {
        if matches!(self.phase, Phase::Connected) && !self.streams.is_empty() {
            update(&self.shared, |s| {
                s.participants = self.snapshot_participants()
            });
        }
    }

    pub(super) fn publish_snapshot(&self) {
        update(&self.shared, |shared| self.fill_snapshot(shared));
    }

    fn fill_snapshot(&self, shared: &mut super::events::Shared) {
        shared.state = match self.phase {
            Phase::Joining { rejoin: false, .. } => "connecting",
            Phase::Connected => "connected",
            Phase::Closed => "closed",
            _ => "reconnecting",
        };
        shared.socket_open = self.socket.as_ref().is_some_and(|s| s.is_open());
        let open =
            |pc: &Option<PeerTransport>| u32::from(pc.as_ref().is_some_and(|pc| pc.is_open()));
        shared.open_peer_connections = open(&self.subscriber) + open(&self.publisher);
        // Refilled in place (plain loop, no iterator-collect instance).
        shared.streams.clear();
        for (id, stream) in self.streams.values() {
            shared.streams.push((*id, Clone::clone(stream)));
        }
        shared.rtt_ms = self.ping.rtt_ms();
        if matches!(self.phase, Phase::Closed) {
            shared.participants.clear();
            shared.published_track_sid = None;
        }
    }
}
