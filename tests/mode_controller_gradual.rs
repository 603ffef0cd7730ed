//! The ModeController's gap-free strategies: gradual (the new transport comes up beside the
//! old one, each voice crosses once it flows there, the old one stays as a fallback for a grace
//! period) and opportunistic (the SFU pre-warmed beside the mesh), in both directions,
//! with failures that route back to a mesh that never stopped.

use sohbet_rtc::mode::controller::{
    Command, ControllerConfig, Direction, Input, ModeController, Outcome, Strategy, Transport,
    QUIET_CROSS_MS, STATUS_CONNECTED, STATUS_OPTIMIZING,
};
use sohbet_rtc::mode::switch::FALLBACK_AFTER_MS;
use sohbet_rtc::signal::CallMode;

const GRACE: u64 = 3_000;

fn change(mode: CallMode, creds: bool, strategy: &str) -> Input {
    Input::ModeChange {
        new_mode: mode,
        sfu: creds.then(|| ("ws://sfu".to_string(), "tok".to_string())),
        strategy: Some(strategy.into()),
    }
}

fn tick(flowing: &[u64], expected: &[u64]) -> Input {
    quiet_tick(flowing, &[], expected)
}

fn quiet_tick(flowing: &[u64], quiet: &[u64], expected: &[u64]) -> Input {
    Input::Tick {
        flowing: flowing.to_vec(),
        quiet: quiet.to_vec(),
        expected: expected.to_vec(),
    }
}

fn ack_ok() -> Command {
    Command::Ack {
        success: true,
        error: None,
    }
}

fn route(user_id: u64, to: Transport) -> Command {
    Command::RouteVoice { user_id, to }
}

fn report(commands: &[Command]) -> &sohbet_rtc::mode::controller::Migration {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Report(m) => Some(m),
            _ => None,
        })
        .expect("a report")
}

/// A controller that finished a gradual upgrade at t=1000 (voices 1 and 2).
fn gradual_on_sfu() -> ModeController {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    c.handle(Input::SfuPublished, 300);
    c.handle(tick(&[1, 2], &[1, 2]), 1_000);
    assert_eq!(c.mode(), CallMode::Sfu);
    c
}

#[test]
fn gradual_up_keeps_the_mesh_and_moves_each_voice_once_it_flows_on_the_sfu() {
    let mut c = ModeController::default();
    assert_eq!(
        c.handle(change(CallMode::Sfu, true, "gradual"), 0),
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_OPTIMIZING),
            Command::ConnectSfu {
                url: "ws://sfu".into(),
                token: "tok".into(),
            },
        ],
        "no CloseMesh: the mesh keeps playing"
    );
    assert!(c.mesh_wanted());
    assert_eq!(c.target(), Some(Transport::Sfu));
    assert_eq!(c.handle(tick(&[], &[1, 2]), 100), vec![]);
    assert_eq!(
        c.handle(tick(&[1], &[1, 2]), 200),
        vec![route(1, Transport::Sfu)]
    );
    assert_eq!(c.handle(tick(&[1], &[1, 2]), 250), vec![], "once per voice");
    assert_eq!(c.handle(Input::SfuPublished, 300), vec![]);
    let done = c.handle(tick(&[1, 2], &[1, 2]), 400);
    assert_eq!(
        &done[..5],
        &[
            route(2, Transport::Sfu),
            Command::RouteAll(Transport::Sfu),
            Command::SetMode(CallMode::Sfu),
            Command::Status(STATUS_CONNECTED),
            ack_ok(),
        ]
    );
    let m = report(&done);
    assert_eq!(
        (m.strategy, m.direction, m.duration_ms),
        (Strategy::Gradual, Direction::ToSfu, 400)
    );
    assert_eq!(m.voice_switch_ms, vec![(1, 200), (2, 400)]);
    assert!(c.mesh_wanted(), "the mesh stays as the fallback");
    assert_eq!(c.handle(tick(&[], &[1, 2]), 400 + GRACE - 1), vec![]);
    assert_eq!(
        c.handle(tick(&[], &[1, 2]), 400 + GRACE),
        vec![Command::CloseMesh]
    );
    assert!(!c.mesh_wanted());
}

#[test]
fn gradual_up_waits_for_our_own_publication_too() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    let out = c.handle(tick(&[1], &[1]), 100);
    assert_eq!(
        out,
        vec![route(1, Transport::Sfu)],
        "not finished before we publish"
    );
    assert_eq!(c.mode(), CallMode::Migrating);
    c.handle(Input::SfuPublished, 150);
    assert!(c.handle(tick(&[1], &[1]), 200).contains(&ack_ok()));
}

#[test]
fn a_gradual_failure_routes_back_to_the_mesh_that_never_stopped() {
    let cfg = ControllerConfig {
        attempts: 1,
        ..ControllerConfig::default()
    };
    let mut c = ModeController::new(cfg);
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    c.handle(tick(&[1], &[1, 2]), 100);
    let out = c.handle(
        Input::SfuFailed {
            reason: "sfu/signal-closed".into(),
        },
        200,
    );
    assert!(
        !out.contains(&Command::CloseMesh),
        "the mesh is still up: {out:?}"
    );
    assert!(out.starts_with(&[
        Command::CloseSfu,
        Command::BuildMesh,
        Command::RouteAll(Transport::Mesh)
    ]));
    assert!(matches!(
        out.last(),
        Some(Command::Ack { success: false, .. })
    ));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn a_gradual_switch_that_does_not_finish_in_time_fails_without_touching_the_mesh() {
    let cfg = ControllerConfig {
        attempts: 1,
        ..ControllerConfig::default()
    };
    let mut c = ModeController::new(cfg);
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    c.handle(Input::SfuPublished, 100);
    c.handle(tick(&[1], &[1, 2]), 200);
    let out = c.handle(tick(&[1], &[1, 2]), cfg.switch_deadline_ms);
    assert!(!out.contains(&Command::CloseMesh));
    assert!(out.contains(&Command::RouteAll(Transport::Mesh)));
    assert!(matches!(
        out.last(),
        Some(Command::Ack { success: false, .. })
    ));
}

#[test]
fn the_sfu_failing_during_the_grace_period_routes_back_without_a_rebuild() {
    let mut c = gradual_on_sfu();
    let out = c.handle(
        Input::SfuFailed {
            reason: "sfu/unreachable".into(),
        },
        2_000,
    );
    assert!(!out.contains(&Command::CloseMesh), "{out:?}");
    assert!(out.contains(&Command::RouteAll(Transport::Mesh)));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn gradual_down_builds_the_mesh_beside_the_sfu_and_closes_the_sfu_after_its_grace() {
    let mut c = gradual_on_sfu();
    c.handle(tick(&[], &[1, 2]), 1_000 + GRACE); // the mesh closes
    assert!(!c.mesh_wanted());
    let start = 10_000;
    assert_eq!(
        c.handle(change(CallMode::P2p, false, "gradual"), start),
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_OPTIMIZING),
            Command::BuildMesh,
        ]
    );
    assert_eq!(c.target(), Some(Transport::Mesh));
    assert_eq!(
        c.handle(tick(&[2], &[1, 2]), start + 300),
        vec![route(2, Transport::Mesh)]
    );
    let done = c.handle(tick(&[1, 2], &[1, 2]), start + 500);
    assert_eq!(done[0], route(1, Transport::Mesh));
    assert!(done.contains(&Command::RouteAll(Transport::Mesh)) && done.contains(&ack_ok()));
    assert!(
        !done.contains(&Command::CloseSfu),
        "the SFU stays for its grace period"
    );
    assert_eq!(report(&done).voice_switch_ms, vec![(2, 300), (1, 500)]);
    assert_eq!(c.mode(), CallMode::P2p);
    assert_eq!(
        c.handle(tick(&[], &[]), start + 500 + GRACE),
        vec![Command::CloseSfu]
    );
    assert!(!c.sfu_wanted());
}

#[test]
fn a_return_within_the_grace_period_completes_the_mesh_and_crosses_at_the_next_tick() {
    let mut c = gradual_on_sfu();
    let out = c.handle(change(CallMode::P2p, false, "gradual"), 1_500);
    assert!(
        out.contains(&Command::BuildMesh),
        "joiners on the SFU have no mesh yet"
    );
    assert!(!out.contains(&Command::CloseMesh));
    let done = c.handle(tick(&[1, 2], &[1, 2]), 1_550);
    assert!(done.contains(&Command::RouteAll(Transport::Mesh)) && done.contains(&ack_ok()));
    assert_eq!(report(&done).duration_ms, 50);
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn gradual_down_is_forced_through_at_its_deadline() {
    let mut c = gradual_on_sfu();
    c.handle(tick(&[], &[1, 2]), 1_000 + GRACE);
    c.handle(change(CallMode::P2p, false, "gradual"), 10_000);
    let out = c.handle(
        tick(&[1], &[1, 2]),
        10_000 + ControllerConfig::default().switch_deadline_ms,
    );
    assert!(out.contains(&Command::RouteAll(Transport::Mesh)) && out.contains(&ack_ok()));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn opportunistic_prewarm_is_acked_once_every_voice_arrived_and_the_switch_is_only_routing() {
    let mut c = ModeController::default();
    let warm = c.handle(change(CallMode::P2p, true, "opportunistic"), 0);
    assert_eq!(
        warm,
        vec![Command::ConnectSfu {
            url: "ws://sfu".into(),
            token: "tok".into(),
        }],
        "the ack waits for the warm session (the server holds a switch until then)"
    );
    assert_eq!(c.mode(), CallMode::P2p);
    assert!(c.sfu_wanted() && c.mesh_wanted());
    assert!(
        c.handle(change(CallMode::P2p, true, "opportunistic"), 200)
            .is_empty(),
        "a repeated pre-warm while warming up is answered by the publication"
    );
    assert_eq!(
        c.measured(),
        None,
        "nothing to measure before the publication"
    );
    assert!(c.handle(Input::SfuPublished, 400).is_empty());
    assert_eq!(c.measured(), Some(Transport::Sfu));
    assert!(
        c.handle(quiet_tick(&[1], &[], &[1, 2, 3]), 450).is_empty(),
        "voices 2 and 3 have not arrived on the warm session"
    );
    assert!(
        c.handle(change(CallMode::P2p, true, "opportunistic"), 480)
            .is_empty(),
        "a repeat before every voice arrived is answered with the first"
    );
    assert_eq!(
        c.handle(quiet_tick(&[1, 2], &[3], &[1, 2, 3]), 500),
        vec![ack_ok()],
        "heard (1, 2) or attached and silent on both transports (3): every voice is there"
    );
    assert_eq!(c.measured(), None);
    assert!(c
        .handle(quiet_tick(&[1, 2], &[3], &[1, 2, 3]), 550)
        .is_empty());
    // Someone joined: the server asks again, and the answer waits for the joiner's voice.
    assert!(c
        .handle(change(CallMode::P2p, true, "opportunistic"), 600)
        .is_empty());
    assert_eq!(c.measured(), Some(Transport::Sfu));
    assert!(c
        .handle(quiet_tick(&[1, 2, 3], &[], &[1, 2, 3, 4]), 650)
        .is_empty());
    assert_eq!(
        c.handle(quiet_tick(&[1, 2, 3, 4], &[], &[1, 2, 3, 4]), 700),
        vec![ack_ok()],
        "the joiner's voice arrived"
    );
    let up = c.handle(change(CallMode::Sfu, true, "opportunistic"), 5_000);
    assert_eq!(
        up,
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_OPTIMIZING)
        ],
        "the warm session already carries every voice: nothing to connect, close or release"
    );
    let done = c.handle(tick(&[1, 2, 3, 4], &[1, 2, 3, 4]), 5_040);
    assert!(done.contains(&ack_ok()));
    assert_eq!(report(&done).duration_ms, 40);
    assert_eq!(c.mode(), CallMode::Sfu);
}

#[test]
fn a_cancelled_prewarm_closes_the_warm_session() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::P2p, true, "opportunistic"), 0);
    assert_eq!(
        c.handle(change(CallMode::P2p, false, "opportunistic"), 100),
        vec![Command::CloseSfu, ack_ok()]
    );
    assert!(!c.sfu_wanted());
}

#[test]
fn a_warm_session_that_fails_is_dropped_and_its_prewarm_answered_with_a_failure() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::P2p, true, "opportunistic"), 0);
    let out = c.handle(
        Input::SfuFailed {
            reason: "sfu/signal-closed".into(),
        },
        50,
    );
    assert_eq!(
        out,
        vec![
            Command::CloseSfu,
            Command::Ack {
                success: false,
                error: Some("sfu/signal-closed".into())
            }
        ],
        "no status (the call never left the mesh); the pre-warm is answered so no switch waits for it"
    );
    assert_eq!(c.mode(), CallMode::P2p);
    // Without a warm session the switch connects as gradual does.
    let up = c.handle(change(CallMode::Sfu, true, "opportunistic"), 1_000);
    assert!(up.iter().any(|c| matches!(c, Command::ConnectSfu { .. })));
}

#[test]
fn a_rollback_mid_gradual_switch_routes_back_and_reports_it() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    c.handle(tick(&[1], &[1, 2]), 100);
    let out = c.handle(
        Input::Rollback {
            reason: "timeout".into(),
        },
        500,
    );
    assert!(!out.contains(&Command::CloseMesh));
    assert!(matches!(&report(&out).outcome, Outcome::RolledBack { reason } if reason == "timeout"));
}

#[test]
fn a_voice_silent_on_both_transports_moves_only_after_staying_quiet() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    c.handle(Input::SfuPublished, 100);
    // Voice 1 is heard on the SFU; voice 2 arrives there but is silent on both sides.
    assert_eq!(
        c.handle(quiet_tick(&[1], &[2], &[1, 2]), 200),
        vec![route(1, Transport::Sfu)]
    );
    // A dropout of its mesh copy (one quiet tick), then heard on the mesh again: it stays.
    assert_eq!(c.handle(quiet_tick(&[1], &[], &[1, 2]), 250), vec![]);
    assert_eq!(c.handle(quiet_tick(&[1], &[2], &[1, 2]), 300), vec![]);
    assert_eq!(
        c.handle(quiet_tick(&[1], &[2], &[1, 2]), 300 + QUIET_CROSS_MS - 50),
        vec![],
        "quiet for less than QUIET_CROSS_MS"
    );
    let out = c.handle(quiet_tick(&[1], &[2], &[1, 2]), 300 + QUIET_CROSS_MS);
    assert_eq!(out[0], route(2, Transport::Sfu));
    assert_eq!(
        c.mode(),
        CallMode::Sfu,
        "every voice across: the switch is done"
    );
}

#[test]
fn a_quiet_voice_that_is_heard_on_the_new_transport_moves_at_once() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    assert_eq!(c.handle(quiet_tick(&[], &[1], &[1]), 100), vec![]);
    assert_eq!(
        c.handle(quiet_tick(&[1], &[], &[1]), 150),
        vec![route(1, Transport::Sfu)]
    );
}

#[test]
fn a_prewarm_whose_voices_never_all_arrive_is_acked_after_the_wait_so_no_switch_waits_forever() {
    let mut c = ModeController::default();
    let wait = ControllerConfig::default().warm_ready_ms;
    c.handle(change(CallMode::P2p, true, "opportunistic"), 0);
    c.handle(Input::SfuPublished, 100);
    assert!(c.handle(tick(&[1], &[1, 2]), 100 + wait - 1).is_empty());
    assert_eq!(c.handle(tick(&[1], &[1, 2]), 100 + wait), vec![ack_ok()]);
    // A repeat waits again, from when it came.
    c.handle(change(CallMode::P2p, true, "opportunistic"), 3_500);
    assert!(c.handle(tick(&[1], &[1, 2]), 3_500 + wait - 1).is_empty());
    assert_eq!(c.handle(tick(&[1], &[1, 2]), 3_500 + wait), vec![ack_ok()]);
    // The switch then waits for the missing voice like a gradual one.
    c.handle(change(CallMode::Sfu, true, "opportunistic"), 7_000);
    let routed = c.handle(tick(&[1], &[1, 2]), 7_050);
    assert_eq!(
        routed,
        vec![Command::RouteVoice {
            user_id: 1,
            to: Transport::Sfu
        }]
    );
    assert_eq!(c.mode(), CallMode::Migrating);
}

#[test]
fn a_voice_that_crossed_while_quiet_goes_back_when_only_its_old_copy_plays() {
    let mut c = ModeController::default();
    c.handle(change(CallMode::Sfu, true, "gradual"), 0);
    // Voice 2 crosses while silent on both sides; voice 1 keeps the switch open.
    c.handle(quiet_tick(&[], &[2], &[1, 2]), 100);
    assert_eq!(
        c.handle(quiet_tick(&[], &[2], &[1, 2]), 100 + QUIET_CROSS_MS),
        vec![route(2, Transport::Sfu)]
    );
    // Then it talks, heard on the mesh only: its SFU copy does not play yet.
    let t = 500;
    assert_eq!(c.handle(quiet_tick(&[], &[], &[1, 2]), t), vec![]);
    assert_eq!(
        c.handle(quiet_tick(&[], &[], &[1, 2]), t + FALLBACK_AFTER_MS),
        vec![route(2, Transport::Mesh)]
    );
    // Heard on the SFU: across again.
    assert_eq!(
        c.handle(quiet_tick(&[2], &[], &[1, 2]), t + FALLBACK_AFTER_MS + 50),
        vec![route(2, Transport::Sfu)]
    );
}
