//! [`CallService`]: owns one voice call at a time — the local media, the audio graph, the two
//! transports (`transports.rs`), the participant list, the level and quality monitors and the
//! transport subscription — and carries out the commands of compat-spec §1.2. Inbound traffic
//! is handled in `inbound.rs`.
//!
//! Races are closed with a generation token (P11): every join and leave bumps it, and a join
//! that resumes after awaiting the microphone or the socket checks it and, if stale, stops what
//! it captured and gives up without sending voice:join. The AudioGraph is created synchronously
//! at the start of join (P14, autoplay). Leave is idempotent and releases everything.

use crate::vec_map::VecMap;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::MediaStream;

use super::connection::{CallFacts, ConnectionState};
use super::events::{ServiceConfig, ServiceError, ServiceEvent};
use super::participants::{Participant, ParticipantList};
use super::transports::Transports;
use crate::browser::Timeout;
use crate::media::{
    AudioGraph, AutoplayUnlock, LevelMonitor, LocalMedia, MediaError, QualityMonitor,
};
use crate::mode::controller::ModeController;
use crate::signal::transport::{SharedTransport, Subscription, TransportEvent};
use crate::signal::{ChannelId, ChannelRef, Message, UserId};

pub type ServiceSink = Rc<dyn Fn(ServiceEvent)>;

/// One call in progress.
pub(crate) struct Call {
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub graph: Rc<RefCell<AudioGraph>>,
    /// Resumes the graph's context on the next user gesture; reports playability.
    pub autoplay: Option<AutoplayUnlock>,
    pub local: Option<LocalMedia>,
    /// The mesh, the SFU link and the remote streams (all their bookkeeping lives there).
    pub transports: Transports,
    pub participants: ParticipantList,
    pub subscription: Option<Subscription>,
    pub levels: Option<LevelMonitor>,
    pub quality: Option<QualityMonitor>,
    /// voice:join was sent (so leave sends voice:leave).
    pub joined: bool,
    /// The socket dropped during the call; the next Connected/Reconnected resyncs (P12).
    pub lost_socket: bool,
    /// Carries the call between the mesh and the SFU (the server says when).
    pub controller: ModeController,
    /// The controller's clock.
    pub mode_timer: Option<crate::browser::Interval>,
    /// Our relay frames waiting for their turn (spaced for the C++ server).
    pub pacer: super::pacer::Pacer<Message>,
}

pub(crate) struct State {
    pub generation: u64,
    pub muted: bool,
    pub video_enabled: bool,
    pub deafened: bool,
    pub volumes: VecMap<UserId, f32>,
    pub custom_stream: Option<MediaStream>,
    pub call: Option<Call>,
}

pub(crate) struct Shared {
    pub transport: SharedTransport,
    pub config: RefCell<ServiceConfig>,
    pub sink: RefCell<Option<ServiceSink>>,
    pub state: RefCell<State>,
}

/// The voice call engine behind the JS `WebRtcService`.
pub struct CallService {
    pub(crate) shared: Rc<Shared>,
}

impl Shared {
    /// Queues an event for the owner; delivered from a microtask (no borrow is ever held).
    pub fn emit(&self, event: ServiceEvent) {
        let Some(sink) = self.sink.borrow().clone() else {
            return;
        };
        crate::browser::defer(move || sink(event));
    }

    /// Sends a frame; failures become error events (nothing is borrowed while sending).
    pub fn send(&self, msg: &Message) -> bool {
        match self.transport.send(msg) {
            Ok(()) => true,
            Err(e) => {
                self.emit(ServiceEvent::coded(&e));
                false
            }
        }
    }

    pub fn generation(&self) -> u64 {
        self.state.borrow().generation
    }
}

impl CallService {
    pub fn new(transport: SharedTransport, config: ServiceConfig) -> CallService {
        let shared = Rc::new(Shared {
            transport,
            config: RefCell::new(config),
            sink: RefCell::new(None),
            state: RefCell::new(State {
                generation: 0,
                muted: false,
                video_enabled: false,
                deafened: false,
                volumes: VecMap::new(),
                custom_stream: None,
                call: None,
            }),
        });
        CallService { shared }
    }

    /// Where events go (the facade's dispatcher). Replaces any earlier sink.
    pub fn set_sink(&self, sink: ServiceSink) {
        *self.shared.sink.borrow_mut() = Some(sink);
    }

    pub fn set_config(&self, config: ServiceConfig) {
        *self.shared.config.borrow_mut() = config;
    }

    /// Use this stream instead of getUserMedia for the next joins (`None`: capture again).
    pub fn set_local_stream(&self, stream: Option<MediaStream>) {
        self.shared.state.borrow_mut().custom_stream = stream;
    }

    /// joinChannel: leaves any current call, captures, waits for the socket, sends voice:join.
    ///
    /// Every await is a plain `JsFuture` over a browser promise (the microphone, the socket
    /// wait, the certificate) and the work between them is synchronous.
    pub async fn join(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        audio_only: bool,
    ) -> Result<(), ServiceError> {
        let (generation, custom) = self.begin_join(channel_id, user_id)?;
        let certificate = crate::p2p::mesh::start_certificate();
        let captured = match custom {
            Some(stream) => Ok(LocalMedia::from_stream(stream)),
            None => match LocalMedia::request(audio_only) {
                Ok(request) => LocalMedia::captured(JsFuture::from(request).await),
                Err(e) => Err(e),
            },
        };
        let mut local = self.check_capture(generation, captured)?;
        let open = match self.socket_wait() {
            None => true,
            Some((opened, _guards)) => {
                JsFuture::from(opened).await.is_ok_and(|v| v.is_truthy())
                    || self.shared.transport.is_open()
            }
        };
        if !open || self.shared.generation() != generation {
            local.stop();
            if self.shared.generation() != generation {
                return Err(ServiceError::Aborted);
            }
            self.abort_join(generation);
            return Err(ServiceError::NotConnected);
        }
        let certificates = match certificate {
            Some(pending) => crate::p2p::mesh::certificates(JsFuture::from(pending).await),
            None => JsValue::UNDEFINED,
        };
        self.finish_join(generation, local, certificates)
    }

    /// The synchronous start of a join: leaves any call, creates the audio graph (P14) and the
    /// pending call. Returns the join's generation and the app's stream, if it set one.
    fn begin_join(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> Result<(u64, Option<MediaStream>), ServiceError> {
        if channel_id == 0 || user_id == 0 {
            return Err(ServiceError::InvalidArgument("ids must be positive".into()));
        }
        self.leave();
        let mut graph = AudioGraph::new().map_err(ServiceError::Audio)?;
        let weak = Rc::downgrade(&self.shared);
        let autoplay = AutoplayUnlock::install(graph.context(), move |can_play| {
            if let Some(shared) = weak.upgrade() {
                shared.emit(ServiceEvent::AudioPlayback(can_play));
            }
        })
        .ok();
        self.shared.emit(ServiceEvent::Connection);
        let mut st = self.shared.state.borrow_mut();
        st.generation += 1;
        st.muted = false;
        st.video_enabled = false;
        graph.set_deafened(st.deafened);
        for (id, volume) in &st.volumes {
            graph.set_volume(*id, *volume);
        }
        let graph = Rc::new(RefCell::new(graph));
        st.call = Some(Call {
            channel_id,
            user_id,
            transports: Transports::new(graph.clone()),
            graph,
            autoplay,
            local: None,
            participants: ParticipantList::new(user_id),
            subscription: None,
            levels: None,
            quality: None,
            joined: false,
            lost_socket: false,
            controller: ModeController::default(),
            mode_timer: None,
            pacer: Default::default(),
        });
        Ok((st.generation, st.custom_stream.clone()))
    }
    /// The capture of a join, unless it failed or the join went stale meanwhile (P11).
    fn check_capture(
        &self,
        generation: u64,
        captured: Result<LocalMedia, MediaError>,
    ) -> Result<LocalMedia, ServiceError> {
        match captured {
            Ok(local) if self.shared.generation() == generation => Ok(local),
            Ok(mut stale) => {
                stale.stop();
                Err(ServiceError::Aborted)
            }
            Err(e) => {
                self.abort_join(generation);
                Err(ServiceError::Capture(e))
            }
        }
    }

    /// Makes the call live and sends voice:join.
    fn finish_join(
        &self,
        generation: u64,
        local: LocalMedia,
        certificates: JsValue,
    ) -> Result<(), ServiceError> {
        let shared = &self.shared;
        let Some(join) = super::inbound::start_call(shared, local, generation, certificates) else {
            return Err(ServiceError::Aborted);
        };
        match shared.transport.send(&join) {
            Ok(()) => {
                shared.emit(ServiceEvent::Status("Connected".into()));
                super::playback::check_playback(shared);
                Ok(())
            }
            Err(e) => {
                self.abort_join(generation);
                Err(ServiceError::Transport(e))
            }
        }
    }

    /// `None` when the transport is open; else a promise that resolves `true` once it opens
    /// (P18) or `false` after the configured wait, with the subscription and the timer that
    /// settle it (drop them once it settled). Resolving a JS promise twice is a no-op, so
    /// neither side needs to know whether the other came first.
    fn socket_wait(&self) -> Option<(Promise, (Subscription, Option<Timeout>))> {
        let transport = &self.shared.transport;
        if transport.is_open() {
            return None;
        }
        let mut resolve = None;
        let opened = Promise::new(&mut |settle, _| resolve = Some(settle));
        let resolve: Function = resolve?;
        let on_open = resolve.clone();
        let subscription = transport.subscribe(Box::new(move |event| {
            if matches!(
                event,
                TransportEvent::Connected | TransportEvent::Reconnected
            ) {
                let _ = on_open.call1(&JsValue::UNDEFINED, &JsValue::TRUE);
            }
        }));
        let wait = self.shared.config.borrow().socket_wait_ms;
        let timer = Timeout::new(wait, move || {
            let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::FALSE);
        });
        Some((opened, (subscription, timer.ok())))
    }

    /// Undoes a join that failed before voice:join went out (no voice:leave is sent).
    fn abort_join(&self, generation: u64) {
        let call = {
            let mut st = self.shared.state.borrow_mut();
            if st.generation != generation {
                return;
            }
            st.generation += 1;
            st.call.take()
        };
        if let Some(call) = call {
            release(call);
        }
        self.shared.emit(ServiceEvent::Connection);
    }
    /// leaveChannel: idempotent; sends voice:leave, closes every peer, stops local tracks,
    /// closes the graph, drops timers and subscriptions, then notifies an empty list.
    pub fn leave(&self) {
        let call = {
            let mut st = self.shared.state.borrow_mut();
            let Some(call) = st.call.take() else {
                return;
            };
            st.generation += 1;
            st.muted = false;
            st.video_enabled = false;
            call
        };
        let leave = call.joined.then_some(Message::Leave(ChannelRef {
            channel_id: call.channel_id,
        }));
        release(call);
        if let Some(msg) = leave {
            // Best effort: if the socket is down the server drops us anyway.
            let _ = self.shared.transport.send(&msg);
        }
        self.shared.emit(ServiceEvent::ParticipantsChanged);
    }

    pub fn in_call(&self) -> bool {
        self.shared.state.borrow().call.is_some()
    }

    pub fn current_channel(&self) -> Option<ChannelId> {
        self.shared
            .state
            .borrow()
            .call
            .as_ref()
            .map(|c| c.channel_id)
    }

    /// A snapshot of the participants with their streams.
    pub fn participants(&self) -> Vec<(Participant, Option<MediaStream>)> {
        let st = self.shared.state.borrow();
        let Some(call) = st.call.as_ref() else {
            return Vec::new();
        };
        call.participants
            .iter()
            .map(|p| (p.clone(), call.transports.stream(p.user_id).cloned()))
            .collect()
    }

    pub fn local_stream(&self) -> Option<MediaStream> {
        let st = self.shared.state.borrow();
        st.call
            .as_ref()
            .and_then(|c| c.local.as_ref())
            .map(|l| Clone::clone(l.stream()))
    }

    /// Runs `f` on the call's audio graph (tests tap its output; leak checks count nodes).
    pub fn with_graph<R>(&self, f: impl FnOnce(&mut AudioGraph) -> R) -> Option<R> {
        let graph = self.shared.state.borrow().call.as_ref()?.graph.clone();
        let mut graph = graph.try_borrow_mut().ok()?;
        Some(f(&mut graph))
    }

    /// The call's mode as the app sees it ('p2p' outside a call).
    pub fn mode(&self) -> crate::signal::CallMode {
        self.shared
            .state
            .borrow()
            .call
            .as_ref()
            .map_or(crate::signal::CallMode::P2p, |c| c.controller.mode())
    }

    /// Where the call stands (connecting, connected, reconnecting, migrating, disconnected).
    pub fn connection_state(&self) -> ConnectionState {
        let st = self.shared.state.borrow();
        ConnectionState::of(st.call.as_ref().map(|c| CallFacts {
            joined: c.joined,
            lost_socket: c.lost_socket,
            mode: c.controller.mode(),
        }))
    }

    /// The live peer connections (for tests and diagnostics).
    pub fn peer_connections(&self) -> Vec<(UserId, web_sys::RtcPeerConnection)> {
        let st = self.shared.state.borrow();
        st.call
            .as_ref()
            .map(|c| c.transports.peer_connections())
            .unwrap_or_default()
    }
}

impl Drop for CallService {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Frees everything a call holds, in dependency order.
pub(crate) fn release(mut call: Call) {
    call.levels = None;
    call.quality = None;
    call.subscription = None;
    call.mode_timer = None;
    call.transports.close();
    call.autoplay = None;
    if let Some(mut local) = call.local.take() {
        local.stop();
    }
    if let Ok(mut graph) = call.graph.try_borrow_mut() {
        graph.close();
    }
}
