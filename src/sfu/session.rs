//! The SFU session engine: one task that owns the signal socket, both peer connections, the
//! roster and the audio routing, and processes every input (socket frames, PC events, timer
//! ticks, app commands) strictly in order from one queue — no racing futures.
//!
//! This file holds the lifecycle (join, resume, full rejoin, leave, teardown); the handling of
//! individual signal messages and remote tracks lives in `dispatch.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use wasm_bindgen::JsValue;
use web_sys::{MediaStream, MediaStreamTrack};

use super::error::SfuError;
use super::events::{Emitter, Shared};
use super::ping::PingClock;
use super::proto::{self, ReconnectReason};
use super::roster::Roster;
use super::socket::{SignalSocket, SocketEvent};
use super::tracks::TrackMap;
use super::transport::{PcEvent, PeerTransport};
use crate::browser::{now_ms, Interval};
use crate::media::AudioGraph;
use crate::signal::backoff::Backoff;
use crate::vec_map::VecMap;

/// Everything the engine reacts to.
pub enum Input {
    Socket(SocketEvent),
    Pc(PcEvent),
    Tick,
    Publish(MediaStreamTrack, Reply),
    SetMuted(bool),
    KillSignal,
    /// Fault injection: a frame handled as if the current signal socket had delivered it.
    InjectFrame(Vec<u8>),
    Leave(oneshot::Sender<()>),
}

/// Where the engine answers a JS call (connect, publish): the value its promise resolves
/// with, or the error it rejects with. One type for both keeps one copy of the channel code.
pub type Reply = oneshot::Sender<Result<JsValue, SfuError>>;

/// What `Engine::start` hands back: the command sender and the join outcome.
pub type Started = (
    mpsc::UnboundedSender<Input>,
    oneshot::Receiver<Result<JsValue, SfuError>>,
);

/// Session settings.
#[derive(Clone)]
pub struct SessionConfig {
    pub url: String,
    pub token: String,
    /// Use `ice_servers` from the JoinResponse (off in tests: loopback needs none).
    pub use_server_ice: bool,
    /// Single-PC `/rtc/v1` mode (our offer rides in the join request) instead of dual-PC.
    pub single_pc: bool,
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

/// The engine state; owned by the run loop only.
pub struct Engine {
    pub(super) config: SessionConfig,
    pub(super) tx: mpsc::UnboundedSender<Input>,
    pub(super) socket: Option<SignalSocket>,
    pub(super) generation: u32,
    pub(super) phase: Phase,
    pub(super) own_sid: String,
    pub(super) ping: PingClock,
    pub(super) subscriber: Option<PeerTransport>,
    pub(super) publisher: Option<PeerTransport>,
    pub(super) offer_id: u32,
    /// An offer was requested while another awaited its answer.
    pub(super) renegotiate: bool,
    /// Single-PC with server ICE servers: ICE-restart once the join answer is in.
    pub(super) pending_ice_restart: bool,
    pub(super) tracks: TrackMap,
    pub(super) roster: Roster,
    pub(super) mic: Option<Mic>,
    pub(super) streams: VecMap<String, (u64, MediaStream)>,
    pub(super) pending_tracks: Vec<(u32, web_sys::RtcTrackEvent)>,
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

/// The asynchronous step a handler leaves to do last. Handlers are synchronous and return
/// it; the run loop awaits it in one place (`follow`), so the wasm holds one copy of each
/// future instead of one per handler branch.
pub(super) enum Then {
    Nothing,
    /// The first join (`false`) or a full rejoin (`true`).
    Join(bool),
    /// Resume (first attempt of an outage) or schedule a rejoin.
    Recover(ReconnectReason),
    /// A publisher offer when `run` (ICE restart or not), then the end of an outage
    /// (`recovered` mode), if any.
    Negotiate {
        run: bool,
        ice_restart: bool,
        recovered: Option<&'static str>,
    },
    /// Answer a server offer (sdp, offer id) on the subscriber PC.
    AnswerOffer(String, u32),
    /// Apply the server's answer to our publisher offer.
    AcceptAnswer(String),
    /// A remote ICE candidate (to the subscriber PC?, candidate JSON).
    Candidate(bool, String),
}

pub(super) fn socket_input(event: SocketEvent) -> Input {
    Input::Socket(event)
}

pub(super) fn pc_input(event: PcEvent) -> Input {
    Input::Pc(event)
}

impl Engine {
    /// Opens the join socket and spawns the run loop. Returns the command sender and a
    /// receiver that resolves when the JoinResponse arrived (or the join failed).
    pub fn start(
        config: SessionConfig,
        graph: Rc<RefCell<AudioGraph>>,
        emitter: Emitter,
        shared: Rc<RefCell<Shared>>,
    ) -> Result<Started, SfuError> {
        let (tx, rx) = mpsc::unbounded();
        let (join_tx, join_rx) = oneshot::channel();
        let tick_tx = tx.clone();
        let timer = Interval::new(250, move || {
            let _ = tick_tx.unbounded_send(Input::Tick);
        })
        .map_err(|e| SfuError::Browser(crate::error::describe_js(&e)))?;
        let engine = Engine {
            config,
            tx: tx.clone(),
            socket: None,
            generation: 0,
            phase: Phase::Closed,
            own_sid: String::new(),
            ping: PingClock::new(5, 15, 0),
            subscriber: None,
            publisher: None,
            offer_id: 0,
            renegotiate: false,
            pending_ice_restart: false,
            tracks: TrackMap::new(),
            roster: Roster::new(""),
            mic: None,
            streams: VecMap::new(),
            pending_tracks: Vec::new(),
            graph,
            emitter,
            shared,
            join_waiter: Some(join_tx),
            backoff: Backoff::exponential(100, 2_000).with_max_attempts(Some(MAX_ATTEMPTS)),
            outage_since: None,
            episode_attempts: 0,
            verify_until: None,
            _timer: Some(timer),
        };
        crate::browser::spawn(engine.run(rx));
        Ok((tx, join_rx))
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        self.follow(Then::Join(false)).await;
        while let Some(input) = rx.next().await {
            let tick = matches!(input, Input::Tick).then(now_ms);
            let then = self.handle(input, tick);
            self.follow(then).await;
            if let Some(now) = tick {
                self.check_publish_timeout(now);
                self.refresh_levels();
            }
            self.publish_snapshot();
            if self.phase == Phase::Closed {
                break;
            }
        }
        self.teardown();
        self.publish_snapshot();
    }

    fn handle(&mut self, input: Input, tick: Option<f64>) -> Then {
        match input {
            Input::Socket(event) => return self.on_socket(event),
            Input::Pc(event) => return self.on_pc(event),
            Input::Tick => return self.on_tick(tick.unwrap_or_else(now_ms)),
            Input::Publish(track, waiter) => return self.publish(track, waiter),
            Input::SetMuted(muted) => self.set_muted(muted),
            Input::KillSignal => {
                if let Some(socket) = &self.socket {
                    socket.kill();
                }
            }
            Input::InjectFrame(bytes) => {
                let generation = self.generation;
                return self.on_socket(SocketEvent::Frame(generation, bytes));
            }
            Input::Leave(done) => {
                if let Some(socket) = &self.socket {
                    socket.send(&proto::leave_request());
                }
                self.teardown();
                self.emitter
                    .emit("disconnected", &[("reason", "client".into())]);
                let _ = done.send(());
            }
        }
        Then::Nothing
    }

    /// Starts (or continues) recovery after the signal or a transport was lost: the first
    /// attempt of an episode resumes, later ones rejoin after a back-off.
    pub(super) async fn begin_recovery(&mut self, reason: ReconnectReason) {
        let now = now_ms();
        if self.outage_since.is_none() {
            self.outage_since = Some(now);
            self.episode_attempts = 0;
            self.backoff.reset();
        }
        if let Some(mut socket) = self.socket.take() {
            socket.close(1000);
        }
        self.episode_attempts += 1;
        self.shared.borrow_mut().reconnect_attempts += 1;
        if self.episode_attempts == 1 && !self.own_sid.is_empty() {
            self.emitter.emit(
                "reconnecting",
                &[("mode", "resume".into()), ("attempt", 1.into())],
            );
            if self.open_resume(reason).await.is_ok() {
                return;
            }
        }
        match self.backoff.next_delay_ms() {
            Some(delay) => {
                self.phase = Phase::Waiting {
                    until: now + f64::from(delay),
                }
            }
            None => self.fail(SfuError::ReconnectFailed(self.episode_attempts)),
        }
    }

    /// Full rejoin: drop both PCs and all remote audio (before `open_join(true)`).
    fn prepare_rejoin(&mut self) {
        self.close_transports();
        self.emitter.emit(
            "reconnecting",
            &[
                ("mode", "rejoin".into()),
                ("attempt", self.episode_attempts.into()),
            ],
        );
    }

    /// A failed join: the first ends the session, a rejoin is retried shortly.
    fn join_failed(&mut self, rejoin: bool, error: SfuError) {
        if rejoin {
            self.emitter.error(&error);
            self.phase = Phase::Waiting {
                until: now_ms() + 500.0,
            };
        } else {
            self.fail(error);
        }
    }

    /// Called when the session is usable again after an outage.
    pub(super) fn recovered(&mut self, mode: &str) {
        if let Some(since) = self.outage_since.take() {
            let ms = now_ms() - since;
            {
                let mut shared = self.shared.borrow_mut();
                shared.last_recovery_ms = ms;
                if mode == "resume" {
                    shared.resumes += 1;
                } else {
                    shared.rejoins += 1;
                }
            }
            self.emitter.emit(
                "reconnected",
                &[
                    ("mode", mode.into()),
                    ("attempts", self.episode_attempts.into()),
                    ("ms", ms.into()),
                ],
            );
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

    /// Runs the asynchronous step a handler left to do: the only place the engine awaits.
    async fn follow(&mut self, then: Then) {
        match then {
            Then::Nothing => {}
            Then::Join(rejoin) => {
                if rejoin {
                    self.prepare_rejoin();
                }
                if let Err(e) = self.open_join(rejoin).await {
                    self.join_failed(rejoin, e);
                }
            }
            Then::Recover(reason) => self.begin_recovery(reason).await,
            Then::Negotiate {
                run,
                ice_restart,
                recovered,
            } => {
                if run {
                    self.negotiate(ice_restart).await;
                }
                if let Some(mode) = recovered {
                    self.recovered(mode);
                }
            }
            Then::AnswerOffer(sdp, id) => {
                let Some(sub) = self.subscriber.as_mut() else {
                    return;
                };
                match sub.answer_offer(&sdp).await {
                    Ok(sdp) => self.send(&proto::session_description("answer", sdp, id)),
                    Err(e) => self.emitter.error(&e),
                }
                if let Some(sub) = self.subscriber.as_mut() {
                    sub.flush_candidates().await;
                }
                self.retry_pending_tracks();
            }
            Then::AcceptAnswer(sdp) => {
                if let Some(publisher) = self.publisher.as_mut() {
                    if let Err(e) = publisher.accept_answer(&sdp).await {
                        self.emitter.error(&e);
                    }
                }
                self.retry_pending_tracks();
                if self.renegotiate || self.pending_ice_restart {
                    let restart = std::mem::take(&mut self.pending_ice_restart);
                    self.negotiate(restart).await;
                }
            }
            Then::Candidate(to_subscriber, json) => {
                let pc = if to_subscriber {
                    self.subscriber.as_mut()
                } else {
                    self.publisher.as_mut()
                };
                if let Some(pc) = pc {
                    if let Err(e) = pc.add_remote_candidate(&json).await {
                        self.emitter.error(&e);
                    }
                }
            }
        }
    }

    fn connected_tick(&mut self, now: f64) -> Then {
        match self.ping.tick(now as i64) {
            super::ping::PingAction::SendPing(ts) => {
                if let Some(socket) = &self.socket {
                    for frame in proto::ping_requests(ts, self.ping.rtt_ms()) {
                        socket.send(&frame);
                    }
                }
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
                    let _ = waiter.send(Err(SfuError::PublishTimeout));
                }
            }
        }
    }

    /// Ends the session with an error (join failure, server DISCONNECT, retries used up).
    pub(super) fn fail(&mut self, error: SfuError) {
        self.emitter.error(&error);
        if let Some(waiter) = self.join_waiter.take() {
            let _ = waiter.send(Err(error.clone()));
        }
        self.teardown();
        self.emitter
            .emit("disconnected", &[("reason", error.code().into())]);
    }

    /// Releases everything: socket, PCs, remote audio, timer. Idempotent.
    pub(super) fn teardown(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            socket.close(1000);
        }
        self.close_transports();
        self.roster.clear();
        if let Some(mic) = self.mic.take() {
            if let Some((_, waiter)) = mic.waiter {
                let _ = waiter.send(Err(SfuError::Closed));
            }
        }
        if let Some(waiter) = self.join_waiter.take() {
            let _ = waiter.send(Err(SfuError::Closed));
        }
        self._timer = None;
        self.phase = Phase::Closed;
    }
}
