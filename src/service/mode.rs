//! The call service's side of the [`ModeController`]: it feeds the controller the server's
//! voice:mode-change / voice:rollback, the SFU session's events and clock ticks, and carries out
//! its commands on the call — close or build the mesh, start or drop the SFU link, acknowledge,
//! set the mode, show a status, report the migration. Both transports play through the call's
//! one `AudioGraph` (P2P bus, SFU bus), and the participant list stays the one the voice:*
//! messages build, so a switch never empties it.

use std::rc::Rc;

use super::call::Shared;
use super::events::ServiceEvent;
use super::sfu_link::{SfuLink, SfuLinkParams};
use super::transports::Reshown;
use crate::browser::now_ms;
use crate::error::JsErrorCode;
use crate::media::quality::Quality;
use crate::media::{Bus, LocalMedia};
use crate::mode::controller::{Command, Input, Transport};
use crate::sfu::events::SfuEvent;
use crate::signal::{Message, ModeChangeAck};

/// How often the controller's clock ticks while an SFU session is wanted: the latency of a
/// gradual switch's per-voice decisions.
pub(crate) const TICK_MS: u32 = 50;

/// The cross-fade of a voice between the buses. Both copies carry the same voice with different
/// latencies (the SFU adds a hop): heard together they sound doubled (an echo, or comb
/// filtering at small offsets), so the overlap is kept just long enough to avoid a click.
pub(crate) const CROSSFADE_MS: u32 = 30;

/// A voice counts as flowing on a bus above this level (mean FFT byte / 255, the speaking
/// detector's own floor).
const FLOWING_LEVEL: f32 = 0.01;

fn bus(transport: Transport) -> Bus {
    match transport {
        Transport::Mesh => Bus::P2p,
        Transport::Sfu => Bus::Sfu,
    }
}

/// voice:mode-change and voice:rollback for the current channel.
pub(crate) fn on_mode_message(shared: &Rc<Shared>, msg: &Message) {
    let input = match msg {
        Message::ModeChange(change) => Input::ModeChange {
            new_mode: change.new_mode,
            sfu: change.sfu_url.clone().zip(change.sfu_token.clone()),
            strategy: change.strategy.clone(),
        },
        Message::Rollback(rollback) => Input::Rollback {
            reason: rollback.reason.clone(),
        },
        _ => return,
    };
    drive(shared, input);
    // A switch whose voices already flow on the target (a warm session) routes them now,
    // not at the next tick.
    tick(shared);
}

/// One clock tick: retries, deadlines, grace periods, and which voices flow on the transport a
/// gradual switch moves to. A voice flows there when its copy is heard; it is quiet when it is
/// attached there and silent on both sides (a silent voice can move without anyone hearing
/// it, once it has been quiet for a while: see `QUIET_CROSS_MS`).
pub(crate) fn tick(shared: &Rc<Shared>) {
    let input = {
        let Ok(st) = shared.state.try_borrow() else {
            return;
        };
        let Some(call) = st.call.as_ref() else { return };
        let target = call.controller.measured();
        if !call.controller.sfu_wanted() && target.is_none() {
            return;
        }
        let expected = call.participants.ids();
        let (mut flowing, mut quiet) = (Vec::new(), Vec::new());
        if let (Some(target), Ok(graph)) = (target, call.graph.try_borrow()) {
            let (to, from) = (bus(target), bus(target).other());
            for &id in &expected {
                let Some(there) = graph.voice_level(id, to) else {
                    continue;
                };
                let here = graph.voice_level(id, from).unwrap_or(0.0);
                if there >= FLOWING_LEVEL {
                    flowing.push(id);
                } else if here < FLOWING_LEVEL {
                    quiet.push(id);
                }
            }
        }
        Input::Tick {
            flowing,
            quiet,
            expected,
        }
    };
    drive(shared, input);
}

/// Runs one input through the controller and carries out what it says, in order.
pub(crate) fn drive(shared: &Rc<Shared>, input: Input) {
    let commands = {
        let mut st = shared.state.borrow_mut();
        let Some(call) = st.call.as_mut() else { return };
        call.controller.handle(input, now_ms().max(0.0) as u64)
    };
    for command in commands {
        execute(shared, command);
    }
}

fn execute(shared: &Rc<Shared>, command: Command) {
    match command {
        Command::SetMode(mode) => shared.emit(ServiceEvent::Mode(mode)),
        Command::Status(text) => shared.emit(ServiceEvent::Status(text.into())),
        Command::Report(migration) => shared.emit(ServiceEvent::Migration(migration)),
        Command::CloseMesh => close_mesh(shared),
        Command::BuildMesh => build_mesh(shared),
        Command::ConnectSfu { url, token } => connect_sfu(shared, url, token),
        Command::CloseSfu => close_sfu(shared),
        Command::RouteAll(to) => with_graph(shared, |g| g.route_all(bus(to), CROSSFADE_MS)),
        Command::RouteVoice { user_id, to } => {
            with_graph(shared, |g| g.route_user(user_id, bus(to), CROSSFADE_MS))
        }
        Command::Ack { success, error } => {
            let ack = {
                let st = shared.state.borrow();
                let Some(call) = st.call.as_ref() else { return };
                Message::ModeChangeAck(ModeChangeAck {
                    channel_id: call.channel_id,
                    user_id: call.user_id,
                    success,
                    error,
                })
            };
            shared.send(&ack);
        }
    }
}

fn with_graph(shared: &Rc<Shared>, f: impl FnOnce(&mut crate::media::AudioGraph)) {
    let st = shared.state.borrow();
    if let Some(call) = st.call.as_ref() {
        if let Ok(mut graph) = call.graph.try_borrow_mut() {
            f(&mut graph);
        }
    }
}

/// Closes every mesh connection and its audio (the mesh itself stays, empty, for later).
fn close_mesh(shared: &Rc<Shared>) {
    let reshown = match shared.state.borrow_mut().call.as_mut() {
        Some(call) => call.transports.close_mesh(),
        None => Vec::new(),
    };
    reshow(shared, reshown);
}

/// Gives the app the streams of the transport that still carries their users, then the list.
fn reshow(shared: &Shared, reshown: Reshown) {
    for (user_id, stream) in reshown {
        shared.emit(ServiceEvent::RemoteStream { user_id, stream });
    }
    shared.emit(ServiceEvent::ParticipantsChanged);
}

/// Completes the mesh: a connection to every listed participant that has none (a mesh kept up
/// by a gradual switch keeps its connections). Everyone does this at once (the server sends the
/// same mode-change or rollback to all), so only the impolite side of each pair — the higher
/// user id — offers: no pair starts in glare. The other side answers the offer when it comes.
fn build_mesh(shared: &Rc<Shared>) {
    let st = shared.state.borrow();
    let Some(call) = st.call.as_ref() else { return };
    let Some(mesh) = call.transports.mesh() else {
        return;
    };
    let mut errors = Vec::new();
    for id in call.participants.ids() {
        if id > call.user_id || mesh.has_peer(id) {
            continue;
        }
        if let Err(e) = mesh.connect(id) {
            errors.push(e);
        }
    }
    drop(st);
    for e in errors {
        shared.emit(ServiceEvent::from_p2p(&e));
    }
}

fn connect_sfu(shared: &Rc<Shared>, url: String, token: String) {
    let weak = Rc::downgrade(shared);
    let sink = Rc::new(move |event: SfuEvent| {
        let weak = weak.clone();
        // Delivered from a microtask: the engine may be mid-step, the call may be borrowed.
        crate::browser::defer(move || {
            if let Some(shared) = weak.upgrade() {
                on_sfu_event(&shared, event);
            }
        });
    });
    let started = {
        let mut st = shared.state.borrow_mut();
        let muted = st.muted;
        let Some(call) = st.call.as_mut() else { return };
        let mic = call
            .local
            .as_ref()
            .and_then(|local| local.audio_tracks().into_iter().next());
        let camera = call.local.as_ref().and_then(LocalMedia::video_track);
        let (ice_servers, use_server_ice) = {
            let config = shared.config.borrow();
            (config.ice_servers.clone(), config.use_server_ice)
        };
        let params = SfuLinkParams {
            url,
            token,
            mic: mic.as_ref(),
            camera,
            muted,
            peers: call.participants.ids().len(),
            ice_servers,
            use_server_ice,
        };
        call.transports
            .start_sfu(|graph| SfuLink::start(params, graph, sink))
    };
    if let Err(e) = started {
        shared.emit(ServiceEvent::coded(&e));
        let reason = e.code().to_string();
        let weak = Rc::downgrade(shared);
        crate::browser::defer(move || {
            if let Some(shared) = weak.upgrade() {
                drive(&shared, Input::SfuFailed { reason });
            }
        });
    }
}

/// Drops the SFU link (it leaves the room and detaches its voices) and forgets its streams.
fn close_sfu(shared: &Rc<Shared>) {
    let reshown = match shared.state.borrow_mut().call.as_mut() {
        Some(call) => call.transports.close_sfu(call.participants.ids()),
        None => Vec::new(),
    };
    reshow(shared, reshown);
}

/// What the SFU session reports, as controller inputs or service events.
fn on_sfu_event(shared: &Rc<Shared>, event: SfuEvent) {
    let live = shared
        .state
        .borrow()
        .call
        .as_ref()
        .is_some_and(|c| c.transports.has_sfu());
    if !live {
        return; // the last words of a session the call already dropped
    }
    match event {
        SfuEvent::Connected => drive(shared, Input::SfuConnected),
        SfuEvent::Published => drive(shared, Input::SfuPublished),
        SfuEvent::Track { user_id, stream } => {
            let known = {
                let mut st = shared.state.borrow_mut();
                let Some(call) = st.call.as_mut() else { return };
                // The SFU engine plays it on the SFU bus itself.
                let _ = call
                    .transports
                    .remote_stream(user_id, &stream, Bus::Sfu, false);
                call.participants.contains(user_id)
            };
            shared.emit(ServiceEvent::RemoteStream { user_id, stream });
            if known {
                shared.emit(ServiceEvent::ParticipantsChanged);
            }
        }
        SfuEvent::TrackRemoved { user_id } => {
            let reshown = shared
                .state
                .borrow_mut()
                .call
                .as_mut()
                .and_then(|call| call.transports.stream_ended(user_id, Bus::Sfu));
            if let Some(stream) = reshown {
                reshow(shared, vec![(user_id, stream)]);
            }
        }
        SfuEvent::Quality(label) => {
            let quality = match label {
                "good" => Quality::Good,
                "medium" => Quality::Medium,
                _ => Quality::Poor,
            };
            shared.emit(ServiceEvent::Quality(quality));
        }
        // The resume failed: the SFU is gone for now. The call goes back to the mesh at once
        // rather than waiting out LiveKit's rejoin attempts in silence.
        SfuEvent::Reconnecting { attempt, .. } if attempt >= 2 => drive(
            shared,
            Input::SfuFailed {
                reason: "sfu/unreachable".into(),
            },
        ),
        SfuEvent::Disconnected { reason } if reason != "client" => drive(
            shared,
            Input::SfuFailed {
                reason: reason.into(),
            },
        ),
        SfuEvent::Error(e) => shared.emit(ServiceEvent::coded(&e)),
        SfuEvent::Participants
        | SfuEvent::Reconnecting { .. }
        | SfuEvent::Reconnected { .. }
        | SfuEvent::Disconnected { .. } => {}
    }
}
