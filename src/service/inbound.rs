//! Inbound side of the call service: starting the live part of a call (mesh, transport
//! subscription, level and quality monitors) and handling what arrives — `voice:*` messages
//! from the transport and [`MeshEvent`]s from the P2P layer. Every handler holds a `Weak` to the
//! service, takes the state borrow only for its own bookkeeping, and sends frames or emits
//! events after releasing it.
//!
//! Behaviours from compat-spec §3–§5: between new clients (the reference server marks each
//! entry `supports_sfu`) the joiner offers to everyone in voice:participants at once and the
//! members answer. Anyone else may run the old client, which offers from both ends and breaks
//! on glare: there the members offer first (0/100 ms) and the joiner waits for their offers,
//! offering itself only on the old joiner's schedule ((polite ? 200 : 500) + 150 ms · i);
//! a user-joined for a known user keeps its stream (P13); a socket that comes back after a drop
//! re-joins and resyncs the participants (P12).

use std::rc::Rc;

use super::call::{Call, Shared, State};
use super::events::ServiceEvent;
use super::pacer::{Step, CPP_FRAME_GAP_MS};
use crate::browser::{after, now_ms};
use crate::media::{Bus, LevelMonitor, LocalMedia, QualityMonitor};
use crate::p2p::mesh::{Mesh, MeshConfig, MeshEvent};
use crate::p2p::negotiation::{legacy_offer_delay_ms, LegacyRole};
use crate::signal::transport::TransportEvent;
use crate::signal::{CallMode, Join, Message, UserId};

/// Makes the pending call live: mesh, subscription, monitors. Returns the voice:join to send,
/// or `None` when the join went stale meanwhile.
pub(crate) fn start_call(
    shared: &Rc<Shared>,
    local: LocalMedia,
    generation: u64,
    certificates: wasm_bindgen::JsValue,
) -> Option<Message> {
    let config = shared.config.borrow().clone();
    let weak = Rc::downgrade(shared);
    let mut st = shared.state.borrow_mut();
    if st.generation != generation {
        return None;
    }
    let call = st.call.as_mut()?;
    let mut mesh_config = MeshConfig::new(call.user_id, call.channel_id, config.ice_servers);
    mesh_config.offer_timeout_ms = config.offer_timeout_ms;
    mesh_config.certificates = certificates;
    let sink_weak = weak.clone();
    let mesh = Mesh::new(
        mesh_config,
        Some(Clone::clone(local.stream())), // the same object, not JS clone()
        Rc::new(move |event| {
            if let Some(shared) = sink_weak.upgrade() {
                on_mesh_event(&shared, event);
            }
        }),
    );
    call.transports.set_mesh(mesh);
    call.local = Some(local);
    let sub_weak = weak.clone();
    call.subscription = Some(shared.transport.subscribe(Box::new(move |event| {
        if let Some(shared) = sub_weak.upgrade() {
            on_transport_event(&shared, event);
        }
    })));
    let level_weak = weak.clone();
    call.levels = LevelMonitor::for_graph(
        call.graph.clone(),
        move |report: Vec<(UserId, bool, f32)>| {
            if let Some(shared) = level_weak.upgrade() {
                on_levels(&shared, &report);
            }
        },
    )
    .ok();
    let peers_weak = weak.clone();
    let quality_weak = weak;
    call.quality = QualityMonitor::start(
        move || {
            peers_weak
                .upgrade()
                .and_then(|s| {
                    let st = s.state.try_borrow().ok()?;
                    Some(st.call.as_ref()?.transports.peer_connections())
                })
                .unwrap_or_default()
        },
        move |quality| {
            if let Some(shared) = quality_weak.upgrade() {
                shared.emit(ServiceEvent::Quality(quality));
            }
        },
    )
    .ok();
    let tick_weak = Rc::downgrade(shared);
    call.mode_timer = crate::browser::Interval::new(super::mode::TICK_MS, move || {
        if let Some(shared) = tick_weak.upgrade() {
            super::mode::tick(&shared);
        }
    })
    .ok();
    call.joined = true;
    Some(join_message(call.channel_id, config.client_version))
}

/// voice:join, saying that this client can move to the SFU (H9).
fn join_message(channel_id: crate::signal::ChannelId, client_version: String) -> Message {
    Message::Join(Join {
        channel_id,
        supports_sfu: Some(true),
        client_version: Some(client_version),
    })
}

fn notify(shared: &Shared, st: &State) {
    if let Some(levels) = st.call.as_ref().and_then(|c| c.levels.as_ref()) {
        levels.note_external_emit();
    }
    shared.emit(ServiceEvent::ParticipantsChanged);
}

fn on_levels(shared: &Rc<Shared>, report: &[(UserId, bool, f32)]) {
    let Ok(mut st) = shared.state.try_borrow_mut() else {
        return;
    };
    let changed = st
        .call
        .as_mut()
        .is_some_and(|c| c.participants.apply_levels(report));
    if changed {
        shared.emit(ServiceEvent::ParticipantsChanged);
    }
}

fn on_transport_event(shared: &Rc<Shared>, event: &TransportEvent) {
    match event {
        TransportEvent::Message(msg) => on_message(shared, msg),
        TransportEvent::DecodeError(e) => shared.emit(ServiceEvent::coded(e)),
        TransportEvent::Disconnected => {
            if let Some(call) = shared.state.borrow_mut().call.as_mut() {
                call.lost_socket = true;
            }
            shared.emit(ServiceEvent::Status("Reconnecting...".into()));
        }
        TransportEvent::Connected | TransportEvent::Reconnected => rejoin(shared),
        TransportEvent::Other { .. } => {}
    }
}

/// P12: after a socket drop the server has dropped us from the room and the others closed
/// their connections. Close ours, forget the list (volumes stay) and send voice:join again.
fn rejoin(shared: &Rc<Shared>) {
    // The server forgot us, and the SFU session with the mode: start again from p2p; the
    // server's participants and mode-change bring the call back to its channel's mode.
    let was_lost = shared
        .state
        .borrow()
        .call
        .as_ref()
        .is_some_and(|c| c.joined && c.lost_socket);
    if was_lost {
        super::mode::drive(shared, crate::mode::controller::Input::Reset);
    }
    let msg = {
        let mut st = shared.state.borrow_mut();
        let Some(call) = st.call.as_mut() else { return };
        if !call.joined || !call.lost_socket {
            return;
        }
        call.lost_socket = false;
        call.transports.forget_all(&call.participants.ids());
        call.participants.clear();
        report_levels_afresh(call);
        let client_version = shared.config.borrow().client_version.clone();
        join_message(call.channel_id, client_version)
    };
    shared.emit(ServiceEvent::ParticipantsChanged);
    if shared.send(&msg) {
        shared.emit(ServiceEvent::Status("Connected".into()));
    }
}

/// New participant entries start silent. The level monitor only reports changes, so it must
/// forget what it last reported, or a voice that was speaking before (a socket drop, a quick
/// leave and re-join) reads "no change" and stays shown as not speaking.
fn report_levels_afresh(call: &Call) {
    if let Some(levels) = call.levels.as_ref() {
        levels.reset();
    }
}

fn on_message(shared: &Rc<Shared>, msg: &Message) {
    let mut st = shared.state.borrow_mut();
    let generation = st.generation;
    let Some(call) = st.call.as_mut() else { return };
    if !call.joined {
        return;
    }
    let same_channel = |id: u64| id == call.channel_id;
    let changed = match msg {
        Message::Participants(p) if p.channel_id == 0 || same_channel(p.channel_id) => {
            let mut changed = false;
            let mut added = false;
            for entry in &p.participants {
                added |= !call.participants.contains(entry.user_id);
                changed |= call.participants.upsert(entry);
            }
            if added {
                report_levels_afresh(call);
            }
            // Only the C++ server leaves `mode` out: it loses frames that arrive together.
            call.pacer.set_gap(if p.mode.is_none() {
                CPP_FRAME_GAP_MS
            } else {
                0.0
            });
            // A channel on the SFU is joined there (its mode-change follows), never meshed.
            let mesh_wanted = call.controller.mesh_wanted() && p.mode != Some(CallMode::Sfu);
            // A new client (it advertised the hybrid) is offered to at once; anyone else may
            // be an old client, which offers first: wait for it on the old schedule.
            if mesh_wanted {
                for (index, entry) in (0u32..).zip(&p.participants) {
                    let role = LegacyRole::Joiner { index };
                    let delay = match entry.supports_sfu {
                        Some(true) => 0,
                        _ => legacy_offer_delay_ms(call.user_id, entry.user_id, role),
                    };
                    offer_later(shared, generation, entry.user_id, delay);
                }
            }
            changed
        }
        Message::UserJoined(u) if same_channel(u.channel_id) => {
            let user_id = u.user.user_id;
            let added = !call.participants.contains(user_id);
            let changed = call.participants.upsert(&u.user);
            if added {
                report_levels_afresh(call);
            }
            // A new joiner offers to us; an old one (or one the server does not vouch for)
            // expects the members to offer first, as old members do.
            if u.user.supports_sfu != Some(true) {
                let delay = legacy_offer_delay_ms(call.user_id, user_id, LegacyRole::Member);
                offer_later(shared, generation, user_id, delay);
            }
            changed
        }
        Message::UserLeft(u) if same_channel(u.channel_id) => {
            call.transports.drop_user(u.user_id);
            call.participants.remove(u.user_id)
        }
        Message::UserMuted(m) if same_channel(m.channel_id) => {
            call.participants.set_muted(m.user_id, m.muted)
        }
        Message::UserVideoToggled(v) if same_channel(v.channel_id) => {
            call.participants.set_video(v.user_id, v.video_enabled)
        }
        // Off the mesh (on the SFU, or moving there) a relayed offer can only be a peer's last
        // renegotiation before its own switch: it would leave a dead connection behind. Every
        // mesh rebuild comes after a mode-change or rollback, which the server sends to all
        // before it relays any new offer, so nothing needed is dropped here.
        Message::Offer(_) | Message::Answer(_) | Message::IceCandidate(_) => {
            if let Some(mesh) = call
                .transports
                .mesh()
                .filter(|_| call.controller.mesh_wanted())
            {
                mesh.handle_signal(msg);
            }
            false
        }
        Message::Error(report) => {
            let code = "server/".to_string() + &report.code;
            shared.emit(ServiceEvent::error(&code, report.message.clone()));
            false
        }
        Message::ModeChange(m) if same_channel(m.channel_id) => {
            drop(st);
            super::mode::on_mode_message(shared, msg);
            return;
        }
        Message::Rollback(r) if same_channel(r.channel_id) => {
            drop(st);
            super::mode::on_mode_message(shared, msg);
            return;
        }
        Message::DegradedMode(d) => {
            shared.emit(ServiceEvent::Status(d.message.clone()));
            false
        }
        _ => false,
    };
    if changed {
        notify(shared, &st);
    }
}

fn on_mesh_event(shared: &Rc<Shared>, event: MeshEvent) {
    match event {
        MeshEvent::Signal(msg) => send_paced(shared, msg),
        MeshEvent::RemoteTrack {
            user_id,
            stream,
            track,
        } => {
            let mut st = shared.state.borrow_mut();
            let Some(call) = st.call.as_mut() else { return };
            let audio = track.kind() == "audio";
            let played = call
                .transports
                .remote_stream(user_id, &stream, Bus::P2p, audio);
            if let Err(e) = played {
                shared.emit(ServiceEvent::coded(&e));
            }
            let known = call.participants.contains(user_id);
            shared.emit(ServiceEvent::RemoteStream { user_id, stream });
            if known {
                notify(shared, &st);
            }
        }
        MeshEvent::PeerState { state, .. } => {
            if state == web_sys::RtcPeerConnectionState::Connected {
                let st = shared.state.borrow();
                if let Some(q) = st.call.as_ref().and_then(|c| c.quality.as_ref()) {
                    q.poll_now();
                }
            }
        }
        MeshEvent::PeerRebuilt => {}
        MeshEvent::Error(e) => shared.emit(ServiceEvent::from_p2p(&e)),
    }
}

/// Sends one of our relay frames: at once, or queued behind a timer when the server needs
/// frames spaced (`pacer.rs`). Frames of a call that has ended meanwhile are dropped with it.
fn send_paced(shared: &Rc<Shared>, msg: Message) {
    let mut st = shared.state.borrow_mut();
    let generation = st.generation;
    let Some(call) = st.call.as_mut() else {
        drop(st);
        shared.send(&msg);
        return;
    };
    let step = call.pacer.push(now_ms(), msg);
    drop(st);
    pace(shared, generation, step);
}

/// Carries out one step of the pacer: sends its frame, and starts its timer.
fn pace(shared: &Rc<Shared>, generation: u64, step: Step<Message>) {
    if let Some(msg) = step.send {
        shared.send(&msg);
    }
    let Some(wait) = step.wait_ms else { return };
    let weak = Rc::downgrade(shared);
    after(wait.ceil() as u32, move || {
        let Some(shared) = weak.upgrade().filter(|s| s.generation() == generation) else {
            return;
        };
        let step = shared
            .state
            .borrow_mut()
            .call
            .as_mut()
            .map(|c| c.pacer.fire(now_ms()));
        if let Some(step) = step {
            pace(&shared, generation, step);
        }
    });
}

/// Offers to `user_id` after `delay_ms` (the old client's schedule), unless by then its own
/// offer came (a connection exists), it left, the call ended, or the call is off the mesh.
fn offer_later(shared: &Rc<Shared>, generation: u64, user_id: UserId, delay_ms: u32) {
    let weak = Rc::downgrade(shared);
    after(delay_ms, move || {
        let Some(shared) = weak.upgrade().filter(|s| s.generation() == generation) else {
            return;
        };
        let st = shared.state.borrow();
        let offered = st
            .call
            .as_ref()
            .filter(|c| c.participants.contains(user_id) && c.controller.mesh_wanted())
            .and_then(|c| c.transports.mesh())
            .map(|mesh| mesh.connect(user_id));
        drop(st);
        if let Some(Err(e)) = offered {
            shared.emit(ServiceEvent::from_p2p(&e));
        }
    });
}
