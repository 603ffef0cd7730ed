//! The SFU session engine: one task that owns the signal socket, both peer connections, the
//! roster and the audio routing, and processes every input (socket frames, PC events, timer
//! ticks, app commands) strictly in order from one queue — no racing futures.
//!
//! This file holds the engine state and its lifecycle (run loop, join, resume, full rejoin,
//! leave, teardown); its input queue and promise replies are in `inbox.rs`, the asynchronous
//! steps in `steps.rs`, the handling of signal messages and remote tracks in `dispatch.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamTrack};

use super::error::SfuError;
use super::events::{update, Emitter, SfuEvent, Shared};
use super::ping::PingClock;
use super::proto::{self, ReconnectReason};
use super::roster::Roster;
use super::socket::SignalSocket;
use super::transport::PeerTransport;
use crate::browser::{now_ms, Interval};
use crate::error::JsErrorCode;
use crate::media::AudioGraph;
use crate::signal::backoff::Backoff;
use crate::vec_map::VecMap;

pub(super) use super::inbox::left;
pub use super::inbox::{Inbox, Input, Reply};
pub(super) use super::steps::{Cont, Pending, Purpose, Then};

/// Session settings.
#[derive(Clone)]
pub struct SessionConfig {
    pub url: String,
    pub token: String,
    /// The app's `RTCIceServer[]` (WebRTCConfig.iceServers; undefined = none): used by every
    /// SFU peer connection, before any the server adds.
    pub ice_servers: JsValue,
    /// Also use the JoinResponse's ICE servers (LiveKit's TURN/STUN).
    pub use_server_ice: bool,
    /// Single-PC `/rtc/v1` mode (our offer rides in the join request) instead of dual-PC.
    /// Read it with [`SessionConfig::single_pc`].
    pub single_pc: bool,
    /// The engine closes the audio graph when it ends (a standalone client); a call's graph
    /// outlives its SFU session, which only detaches its SFU-bus voices.
    pub owns_graph: bool,
    /// Publish this microphone from the start (single-PC: it rides in the join request).
    pub mic: Option<MediaStreamTrack>,
    /// Publish this camera from the start too (the call's own track: enabling or disabling
    /// it is the call's business, and the engine never stops it).
    pub camera: Option<MediaStreamTrack>,
    /// Receive-only audio slots in the first single-PC offer: the server puts the room's
    /// existing audio there in its first answer (more are asked for on demand).
    pub audio_slots: u32,
}

impl SessionConfig {
    /// Whether the session uses one peer connection. Only the standalone `SfuClient` (feature
    /// `sfu-client`) asks for two; without it the answer is a constant and the two-connection
    /// code is left out of the build.
    pub fn single_pc(&self) -> bool {
        self.single_pc || !cfg!(feature = "sfu-client")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    Joining { since: f64, rejoin: bool },
    Connected,
    Resuming { since: f64 },
    Waiting { until: f64 },
    Closed,
}

pub(super) struct Mic {
    pub track: MediaStreamTrack,
    pub cid: String,
    pub sid: Option<String>,
    pub muted: bool,
    pub waiter: Option<(f64, Reply)>,
}

/// The camera we publish, and whether the server has been asked to (an AddTrackRequest on its
/// own or in the join request) for the current publisher connection.
pub(super) struct Camera {
    pub track: MediaStreamTrack,
    pub cid: String,
    pub requested: bool,
}

impl Camera {
    pub fn new(track: MediaStreamTrack) -> Camera {
        Camera {
            cid: track.id(),
            track,
            requested: false,
        }
    }
}

/// The engine state; owned by the run loop only.
pub struct Engine {
    pub(super) config: SessionConfig,
    pub(super) inbox: Inbox,
    pub(super) socket: Option<SignalSocket>,
    pub(super) generation: u32,
    pub(super) phase: Phase,
    pub(super) own_sid: String,
    pub(super) ping: PingClock,
    pub(super) subscriber: Option<PeerTransport>,
    pub(super) publisher: Option<PeerTransport>,
    /// The publishing connection has been connected (media can flow).
    pub(super) publisher_up: bool,
    /// The microphone's TrackPublished came before that: report it once connected.
    pub(super) announce_published: bool,
    pub(super) offer_id: u32,
    /// An offer was requested while another awaited its answer.
    pub(super) renegotiate: bool,
    /// Single-PC with server ICE servers: ICE-restart once the join answer is in.
    pub(super) pending_ice_restart: bool,
    pub(super) roster: Roster,
    pub(super) mic: Option<Mic>,
    pub(super) camera: Option<Camera>,
    /// Per remote identity: (user id, the stream the owner sees: their audio and video).
    pub(super) streams: VecMap<String, (u64, MediaStream)>,
    pub(super) pending_tracks: Vec<(u32, web_sys::RtcTrackEvent)>,
    /// Trickle frames of candidates gathered while the signal socket was not open yet.
    pub(super) held_candidates: Vec<Vec<u8>>,
    pub(super) graph: Rc<RefCell<AudioGraph>>,
    pub(super) emitter: Emitter,
    pub(super) shared: Rc<RefCell<Shared>>,
    pub(super) join_waiter: Option<Reply>,
    pub(super) backoff: Backoff,
    /// When the current outage began (for time-to-recovery), if one is in progress.
    pub(super) outage_since: Option<f64>,
    pub(super) episode_attempts: u32,
    /// After a resume: the subscriber PC must be connected again by then, else full rejoin.
    pub(super) verify_until: Option<f64>,
    _timer: Option<Interval>,
}

const JOIN_TIMEOUT_MS: f64 = 10_000.0;
const RESUME_TIMEOUT_MS: f64 = 5_000.0;
pub(super) const VERIFY_MS: f64 = 10_000.0;
const PUBLISH_TIMEOUT_MS: f64 = 10_000.0;
const MAX_ATTEMPTS: u32 = 20;

impl Engine {
    /// Opens the join socket and spawns the run loop. Returns the command sender; `joined`
    /// (if any) is answered when the JoinResponse arrived (or the join failed).
    pub fn start(
        mut config: SessionConfig,
        graph: Rc<RefCell<AudioGraph>>,
        emitter: Emitter,
        shared: Rc<RefCell<Shared>>,
        joined: Option<Reply>,
    ) -> Result<Inbox, SfuError> {
        let inbox = Inbox::default();
        let mic = config.mic.take().map(|track| Mic {
            cid: track.id(),
            muted: !track.enabled(),
            track,
            sid: None,
            waiter: None,
        });
        let camera = config.camera.take().map(Camera::new);
        let mut engine = Engine {
            config,
            inbox: inbox.clone(),
            socket: None,
            generation: 0,
            phase: Phase::Closed,
            own_sid: String::new(),
            ping: PingClock::new(5, 15, 0),
            subscriber: None,
            publisher: None,
            publisher_up: false,
            announce_published: false,
            offer_id: 0,
            renegotiate: false,
            pending_ice_restart: false,
            roster: Roster::new(""),
            mic,
            camera,
            streams: VecMap::new(),
            pending_tracks: Vec::new(),
            held_candidates: Vec::new(),
            graph,
            emitter,
            shared,
            join_waiter: joined,
            backoff: Backoff::exponential(100, 2_000).with_max_attempts(Some(MAX_ATTEMPTS)),
            outage_since: None,
            episode_attempts: 0,
            verify_until: None,
            _timer: None,
        };
        // The timer last, once everything is owned by the engine: its (practically unused)
        // error path then drops one value instead of each part.
        let ticks = inbox.clone();
        match Interval::new(250, move || {
            let _ = ticks.send(Input::Tick);
        }) {
            Ok(timer) => engine._timer = Some(timer),
            Err(e) => return Err(SfuError::js(&e)),
        }
        crate::browser::spawn(engine.run());
        Ok(inbox)
    }

    /// The run loop: the join, then one input at a time, each followed by the asynchronous
    /// step its handler left (`begin`/`resume`). This is the only async code of the engine and
    /// it has exactly two await points (the next input, the browser promise of a step), so
    /// the wasm holds one small state machine.
    async fn run(mut self) {
        let mut then = Then::Join(false);
        let mut tick = None;
        let mut joined = false;
        loop {
            let mut pending = self.begin(&then);
            while let Some((promise, cont)) = pending {
                let outcome = JsFuture::from(promise).await;
                pending = self.resume(&cont, outcome.map_err(|e| SfuError::js(&e)));
            }
            // (After the first join step nothing is published until the first input.)
            if joined {
                if let Some(now) = tick {
                    self.check_publish_timeout(now);
                    self.refresh_levels();
                }
                self.publish_snapshot();
                if matches!(self.phase, Phase::Closed) {
                    break;
                }
            }
            joined = true;
            let input = self.inbox.next().await;
            tick = matches!(input, Input::Tick).then(now_ms);
            then = self.handle(input, tick);
        }
        self.teardown();
        self.publish_snapshot();
        for input in self.inbox.close() {
            // A leave queued behind the end still resolves (the rest reject or are dropped).
            if let Input::Leave(done) = input {
                left(&self.graph, self.config.owns_graph, done);
            }
        }
    }

    fn handle(&mut self, input: Input, tick: Option<f64>) -> Then {
        match input {
            Input::Socket(event) => return self.on_socket(&event),
            Input::Pc(event) => return self.on_pc(event),
            Input::Tick => return self.on_tick(tick.unwrap_or_else(now_ms)),
            #[cfg(feature = "sfu-client")]
            Input::Publish(track, waiter) => return self.publish(track, waiter),
            Input::SetMuted(muted) => self.set_muted(muted),
            Input::Camera(track) => return self.add_camera(track),
            Input::Leave(done) => {
                if let Some(socket) = &self.socket {
                    socket.send(&proto::leave_request());
                }
                self.teardown();
                self.emitter
                    .emit(SfuEvent::Disconnected { reason: "client" });
                left(&self.graph, self.config.owns_graph, done);
            }
        }
        Then::Nothing
    }

    /// Starts (or continues) recovery after the signal or a transport was lost: the first
    /// attempt of an episode resumes, later ones rejoin after a back-off.
    pub(super) fn begin_recovery(&mut self, reason: ReconnectReason) -> Pending {
        if self.outage_since.is_none() {
            self.outage_since = Some(now_ms());
            self.episode_attempts = 0;
            self.backoff.reset();
        }
        if let Some(mut socket) = self.socket.take() {
            socket.close(1000);
        }
        self.episode_attempts += 1;
        update(&self.shared, |s| s.reconnect_attempts += 1);
        if self.episode_attempts == 1 && !self.own_sid.is_empty() {
            self.reconnecting("resume", 1);
            if self.config.single_pc() {
                // The resume request carries an ICE-restart offer (see `offer_ready`).
                if let Some(publisher) = &self.publisher {
                    let offer = publisher.create_offer(true);
                    return Some((offer, Cont::OfferCreated(Purpose::Resume(reason))));
                }
            } else if self.open_resume(reason, None).is_ok() {
                return None;
            }
        }
        self.back_off();
        None
    }

    /// The resume did not start: wait for the next rejoin attempt, or give up.
    pub(super) fn back_off(&mut self) {
        match self.backoff.next_delay_ms() {
            Some(delay) => {
                self.phase = Phase::Waiting {
                    until: now_ms() + f64::from(delay),
                }
            }
            None => self.fail(SfuError::ReconnectFailed(self.episode_attempts)),
        }
    }

    /// Full rejoin: drop both PCs and all remote audio (before `open_join(true)`).
    pub(super) fn prepare_rejoin(&mut self) {
        self.close_transports();
        self.reconnecting("rejoin", self.episode_attempts);
    }

    /// Reports recovery attempt `attempt` ("resume" or "rejoin").
    fn reconnecting(&self, mode: &'static str, attempt: u32) {
        self.emitter.emit(SfuEvent::Reconnecting { mode, attempt });
    }

    /// A failed join: the first ends the session, a rejoin is retried shortly.
    pub(super) fn join_failed(&mut self, rejoin: bool, error: SfuError) {
        if rejoin {
            self.emitter.error(error);
            self.phase = Phase::Waiting {
                until: now_ms() + 500.0,
            };
        } else {
            self.fail(error);
        }
    }

    /// Called when the session is usable again after an outage (`mode`, if any).
    pub(super) fn recovered(&mut self, mode: Option<&'static str>) {
        let Some(mode) = mode else { return };
        if let Some(since) = self.outage_since.take() {
            let ms = now_ms() - since;
            update(&self.shared, |shared| {
                shared.last_recovery_ms = ms;
                if mode == "resume" {
                    shared.resumes += 1;
                } else {
                    shared.rejoins += 1;
                }
            });
            self.emitter.emit(SfuEvent::Reconnected {
                mode,
                attempts: self.episode_attempts,
                ms,
            });
        }
    }

    fn on_tick(&mut self, now: f64) -> Then {
        match self.phase {
            Phase::Joining { since, rejoin } if now - since > JOIN_TIMEOUT_MS => {
                if rejoin {
                    Then::Recover(ReconnectReason::SignalDisconnected)
                } else {
                    self.fail(SfuError::JoinTimeout(JOIN_TIMEOUT_MS as u32));
                    Then::Nothing
                }
            }
            Phase::Resuming { since } if now - since > RESUME_TIMEOUT_MS => {
                Then::Recover(ReconnectReason::SignalDisconnected)
            }
            Phase::Waiting { until } if now >= until => Then::Join(true),
            Phase::Connected => self.connected_tick(now),
            _ => Then::Nothing,
        }
    }

    fn connected_tick(&mut self, now: f64) -> Then {
        match self.ping.tick(now as i64) {
            super::ping::PingAction::SendPing(ts) => {
                self.send(&proto::ping_request(ts, self.ping.rtt_ms()));
            }
            super::ping::PingAction::TimedOut => {
                return Then::Recover(ReconnectReason::SignalDisconnected);
            }
            super::ping::PingAction::Idle => {}
        }
        if let Some(deadline) = self.verify_until {
            let connected = self
                .subscriber
                .as_ref()
                .or(self.publisher.as_ref())
                .is_some_and(|pc| pc.state() == web_sys::RtcPeerConnectionState::Connected);
            if connected {
                self.verify_until = None;
            } else if now > deadline {
                self.verify_until = None;
                self.outage_since.get_or_insert(now);
                self.episode_attempts += 1;
                return Then::Join(true);
            }
        }
        Then::Nothing
    }

    fn check_publish_timeout(&mut self, now: f64) {
        if let Some(mic) = &mut self.mic {
            if mic
                .waiter
                .as_ref()
                .is_some_and(|(since, _)| now - since > PUBLISH_TIMEOUT_MS)
            {
                if let Some((_, waiter)) = mic.waiter.take() {
                    waiter.reject(SfuError::PublishTimeout);
                }
            }
        }
    }

    /// Ends the session with an error (join failure, server DISCONNECT, retries used up).
    pub(super) fn fail(&mut self, error: SfuError) {
        let reason = error.code();
        self.emitter.error(error.clone());
        if let Some(waiter) = self.join_waiter.take() {
            waiter.reject(error);
        }
        self.teardown();
        self.emitter.emit(SfuEvent::Disconnected { reason });
    }

    /// Releases everything: socket, PCs, remote audio, timer. Idempotent.
    pub(super) fn teardown(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            socket.close(1000);
        }
        self.close_transports();
        self.roster.clear();
        // Dropping the replies rejects their promises with `sfu/closed`.
        self.mic = None;
        self.camera = None;
        self.join_waiter = None;
        self._timer = None;
        self.phase = Phase::Closed;
    }
}
