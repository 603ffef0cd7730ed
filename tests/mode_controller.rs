//! The ModeController's transitions, table-driven: every input in every state, including
//! duplicate, late and out-of-order server messages, a mode-change to p2p mid-migration (H2),
//! retries with back-off, the connect deadline and the SFU failing under a settled call.

use sohbet_rtc::mode::controller::{
    Command, ControllerConfig, Direction, Input, ModeController, Outcome, Strategy, Transport,
    STATUS_CONNECTED, STATUS_DIRECT, STATUS_OPTIMIZING, STATUS_UPGRADING,
};
use sohbet_rtc::signal::CallMode;

/// A table row: a name, how to build the controller, and the input.
type Case = (&'static str, fn() -> ModeController, Input);

/// A table row with the commands it must produce.
type Expect = (&'static str, fn() -> ModeController, Input, Vec<Command>);

fn to_sfu(strategy: Option<&str>) -> Input {
    Input::ModeChange {
        new_mode: CallMode::Sfu,
        sfu: Some(("ws://sfu".into(), "tok".into())),
        strategy: strategy.map(str::to_string),
    }
}

fn to_p2p() -> Input {
    Input::ModeChange {
        new_mode: CallMode::P2p,
        sfu: None,
        strategy: Some("hard".into()),
    }
}

fn failed(reason: &str) -> Input {
    Input::SfuFailed {
        reason: reason.into(),
    }
}

fn ack(success: bool, error: Option<&str>) -> Command {
    Command::Ack {
        success,
        error: error.map(str::to_string),
    }
}

fn connect() -> Command {
    Command::ConnectSfu {
        url: "ws://sfu".into(),
        token: "tok".into(),
    }
}

fn tick() -> Input {
    Input::Tick {
        flowing: vec![],
        quiet: vec![],
        expected: vec![],
    }
}

/// A controller in the SFU mode (upgraded at t=0, published at t=100).
fn on_sfu() -> ModeController {
    let mut c = ModeController::default();
    c.handle(to_sfu(None), 0);
    c.handle(Input::SfuPublished, 100);
    assert_eq!(c.mode(), CallMode::Sfu);
    c
}

/// A controller mid-upgrade (mode-change at t=0).
fn upgrading() -> ModeController {
    let mut c = ModeController::default();
    c.handle(to_sfu(None), 0);
    c
}

fn report(commands: &[Command]) -> Option<&sohbet_rtc::mode::controller::Migration> {
    commands.iter().find_map(|c| match c {
        Command::Report(m) => Some(m),
        _ => None,
    })
}

#[test]
fn hard_upgrade_closes_the_mesh_then_connects_and_acks_once_published() {
    let mut c = ModeController::default();
    assert_eq!(
        c.handle(to_sfu(Some("hard")), 1_000),
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_UPGRADING),
            Command::CloseMesh,
            Command::RouteAll(Transport::Sfu),
            connect(),
        ]
    );
    assert!(!c.mesh_wanted() && c.sfu_wanted());
    assert_eq!(c.handle(Input::SfuConnected, 1_060), vec![]);
    let done = c.handle(Input::SfuPublished, 1_250);
    assert_eq!(
        &done[..4],
        &[
            Command::RouteAll(Transport::Sfu),
            Command::SetMode(CallMode::Sfu),
            Command::Status(STATUS_CONNECTED),
            ack(true, None),
        ]
    );
    let m = report(&done).expect("a report");
    assert_eq!(
        (
            m.strategy,
            m.direction,
            &m.outcome,
            m.duration_ms,
            m.attempts
        ),
        (
            Strategy::Hard,
            Direction::ToSfu,
            &Outcome::Completed,
            250,
            1
        )
    );
}

#[test]
fn hard_downgrade_closes_the_sfu_builds_the_mesh_and_acks_once_every_voice_flows_on_it() {
    let mut c = on_sfu();
    let out = c.handle(to_p2p(), 5_000);
    assert_eq!(
        out,
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_OPTIMIZING),
            Command::CloseSfu,
            Command::BuildMesh,
            Command::RouteAll(Transport::Mesh),
        ]
    );
    assert!(c.mesh_wanted() && !c.sfu_wanted());
    assert_eq!(c.mode(), CallMode::Migrating);
    let flowing = |ids: &[u64], expected: &[u64]| Input::Tick {
        flowing: ids.to_vec(),
        quiet: vec![],
        expected: expected.to_vec(),
    };
    // One voice is back, the other not yet: still migrating, nothing acked.
    let partly = c.handle(flowing(&[2], &[1, 2]), 5_400);
    assert!(report(&partly).is_none() && !partly.contains(&ack(true, None)));
    let done = c.handle(flowing(&[1, 2], &[1, 2]), 5_700);
    let m = report(&done).expect("a report when every voice flows");
    assert_eq!((m.direction, m.duration_ms), (Direction::ToP2p, 700));
    assert_eq!(m.voice_switch_ms, vec![(2, 400), (1, 700)]);
    assert!(done.contains(&ack(true, None)) && done.contains(&Command::Status(STATUS_CONNECTED)));
    assert!(
        !done.contains(&Command::CloseSfu),
        "the SFU was closed when the cut began"
    );
    assert_eq!(c.mode(), CallMode::P2p);
    assert!(
        c.handle(tick(), 5_700 + 60_000).is_empty(),
        "no SFU left to close later"
    );
}

#[test]
fn a_mode_change_to_sfu_during_a_hard_return_connects_a_new_sfu_session() {
    let mut c = on_sfu();
    c.handle(to_p2p(), 5_000);
    let out = c.handle(to_sfu(Some("hard")), 5_200);
    assert!(out.contains(&connect()), "{out:?}");
    assert!(c.sfu_wanted());
    assert_eq!(c.mode(), CallMode::Migrating);
}

#[test]
fn hard_downgrade_ends_at_its_deadline_when_a_voice_never_returns() {
    let mut c = on_sfu();
    c.handle(to_p2p(), 5_000);
    let deadline = 5_000 + ControllerConfig::default().switch_deadline_ms;
    let out = c.handle(
        Input::Tick {
            flowing: vec![1],
            quiet: vec![],
            expected: vec![1, 2],
        },
        deadline,
    );
    assert_eq!(report(&out).map(|m| m.duration_ms), Some(deadline - 5_000));
    assert!(out.contains(&ack(true, None)));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn duplicate_mode_changes_are_acked_again_and_never_restart_anything() {
    // Table: (state builder, message) → expected commands.
    let cases: Vec<Expect> = vec![
        (
            "p2p gets p2p",
            ModeController::default,
            to_p2p(),
            vec![ack(true, None)],
        ),
        ("sfu gets sfu", on_sfu, to_sfu(None), vec![ack(true, None)]),
        ("upgrading gets sfu", upgrading, to_sfu(None), vec![]),
        (
            "anything gets migrating",
            on_sfu,
            Input::ModeChange {
                new_mode: CallMode::Migrating,
                sfu: None,
                strategy: None,
            },
            vec![],
        ),
    ];
    for (name, build, input, expected) in cases {
        let mut c = build();
        let mode = c.mode();
        assert_eq!(c.handle(input, 9_000), expected, "{name}");
        assert_eq!(c.mode(), mode, "{name}: mode unchanged");
    }
}

#[test]
fn late_and_stale_transport_reports_are_ignored() {
    let cases: Vec<Case> = vec![
        (
            "published while p2p",
            ModeController::default,
            Input::SfuPublished,
        ),
        (
            "connected while p2p",
            ModeController::default,
            Input::SfuConnected,
        ),
        ("failure while p2p", ModeController::default, failed("late")),
        ("published again on sfu", on_sfu, Input::SfuPublished),
        (
            "rollback while p2p",
            ModeController::default,
            Input::Rollback {
                reason: "late".into(),
            },
        ),
        ("tick while p2p", ModeController::default, tick()),
        ("reset while p2p", ModeController::default, Input::Reset),
    ];
    for (name, build, input) in cases {
        let mut c = build();
        let mode = c.mode();
        assert_eq!(c.handle(input, 50_000), vec![], "{name}");
        assert_eq!(c.mode(), mode, "{name}");
    }
}

#[test]
fn a_mode_change_without_sfu_credentials_is_refused_with_a_negative_ack() {
    let mut c = ModeController::default();
    let out = c.handle(
        Input::ModeChange {
            new_mode: CallMode::Sfu,
            sfu: None,
            strategy: None,
        },
        0,
    );
    assert!(matches!(
        out.as_slice(),
        [Command::Ack {
            success: false,
            error: Some(_)
        }]
    ));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn failed_attempts_are_retried_after_one_then_two_seconds_then_fall_back_to_the_mesh() {
    let mut c = upgrading();
    assert_eq!(
        c.handle(failed("refused"), 100),
        vec![Command::CloseSfu, Command::RouteAll(Transport::Mesh)]
    );
    assert_eq!(
        c.handle(failed("stale"), 150),
        vec![],
        "the closed session's last words"
    );
    assert_eq!(c.handle(tick(), 1_099), vec![], "not before 1 s");
    assert_eq!(c.handle(tick(), 1_100), vec![connect()]);
    assert_eq!(
        c.handle(failed("refused"), 1_200),
        vec![Command::CloseSfu, Command::RouteAll(Transport::Mesh)]
    );
    assert_eq!(c.handle(tick(), 3_199), vec![], "not before 2 s");
    assert_eq!(c.handle(tick(), 3_200), vec![connect()]);
    let out = c.handle(failed("refused again"), 3_300);
    assert_eq!(
        &out[..5],
        &[
            Command::CloseSfu,
            Command::BuildMesh,
            Command::RouteAll(Transport::Mesh),
            Command::SetMode(CallMode::P2p),
            Command::Status(STATUS_DIRECT),
        ]
    );
    assert_eq!(out.last(), Some(&ack(false, Some("refused again"))));
    let m = report(&out).expect("a report");
    assert_eq!(m.attempts, 3);
    assert_eq!(m.duration_ms, 3_300);
    assert!(matches!(&m.outcome, Outcome::Failed { reason } if reason == "refused again"));
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn an_attempt_that_never_publishes_fails_at_its_deadline() {
    let cfg = ControllerConfig {
        attempts: 1,
        ..ControllerConfig::default()
    };
    let mut c = ModeController::new(cfg);
    c.handle(to_sfu(None), 0);
    assert_eq!(c.handle(tick(), cfg.attempt_timeout_ms - 1), vec![]);
    let out = c.handle(tick(), cfg.attempt_timeout_ms);
    assert!(out.contains(&Command::BuildMesh));
    assert!(matches!(
        out.last(),
        Some(Command::Ack { success: false, .. })
    ));
}

#[test]
fn the_sfu_failing_under_a_settled_call_returns_it_to_the_mesh_and_reports_it() {
    let mut c = on_sfu();
    let out = c.handle(failed("sfu/reconnect-failed"), 20_000);
    assert_eq!(
        &out[..5],
        &[
            Command::CloseSfu,
            Command::BuildMesh,
            Command::RouteAll(Transport::Mesh),
            Command::SetMode(CallMode::P2p),
            Command::Status(STATUS_DIRECT),
        ]
    );
    assert_eq!(out.last(), Some(&ack(false, Some("sfu/reconnect-failed"))));
    assert_eq!(report(&out).map(|m| m.direction), Some(Direction::ToP2p));
    // The server's rollback that follows finds the call on the mesh already.
    assert_eq!(
        c.handle(
            Input::Rollback {
                reason: "sfu-failed".into()
            },
            20_100
        ),
        vec![]
    );
}

/// A call settled on the SFU that the server rolled back at t=30000, and what it did.
fn rolled_back_on_sfu() -> (ModeController, Vec<Command>) {
    let mut c = on_sfu();
    let rollback = Input::Rollback {
        reason: "ack-failed".into(),
    };
    let out = c.handle(rollback, 30_000);
    (c, out)
}

#[test]
fn a_rolled_back_client_keeps_its_sfu_session_for_the_grace_period() {
    // Others may still hear it through the SFU until the same rollback reaches them.
    let (mut c, out) = rolled_back_on_sfu();
    let grace = ControllerConfig::default().grace_ms;
    assert!(!out.contains(&Command::CloseSfu), "{out:?}");
    assert!(out.contains(&Command::RouteAll(Transport::Mesh)));
    assert_eq!(c.handle(tick(), 30_000 + grace - 1), vec![]);
    assert_eq!(c.handle(tick(), 30_000 + grace), vec![Command::CloseSfu]);
}

#[test]
fn a_pre_warm_during_the_grace_period_replaces_the_lingering_session() {
    let (mut c, _) = rolled_back_on_sfu();
    let grace = ControllerConfig::default().grace_ms;
    let warm = c.handle(
        Input::ModeChange {
            new_mode: CallMode::P2p,
            sfu: Some(("ws://sfu".into(), "tok".into())),
            strategy: Some("opportunistic".into()),
        },
        30_500,
    );
    assert!(matches!(warm.as_slice(), [Command::ConnectSfu { .. }]));
    assert_eq!(
        c.handle(tick(), 30_000 + grace),
        vec![],
        "the warm session is not closed at the end of the old grace period"
    );
}

#[test]
fn rollback_returns_to_the_mesh_from_every_state() {
    for (name, build) in [
        ("upgrading", upgrading as fn() -> ModeController),
        ("sfu", on_sfu),
    ] {
        let mut c = build();
        let out = c.handle(
            Input::Rollback {
                reason: "timeout".into(),
            },
            30_000,
        );
        assert_eq!(
            &out[..4],
            &[
                Command::BuildMesh,
                Command::RouteAll(Transport::Mesh),
                Command::SetMode(CallMode::P2p),
                Command::Status(STATUS_DIRECT),
            ],
            "{name}: the SFU session lingers for the grace period"
        );
        let m = report(&out).expect("a report");
        assert!(matches!(&m.outcome, Outcome::RolledBack { reason } if reason == "timeout"));
        assert!(
            !out.iter().any(|c| matches!(c, Command::Ack { .. })),
            "{name}: no ack"
        );
        assert_eq!(c.mode(), CallMode::P2p);
    }
}

#[test]
fn a_mode_change_to_p2p_mid_migration_rolls_back_and_acks() {
    let mut c = upgrading();
    let out = c.handle(to_p2p(), 400);
    assert!(out.starts_with(&[Command::BuildMesh]));
    assert_eq!(out.last(), Some(&ack(true, None)));
    // The attempt's late success changes nothing.
    assert_eq!(c.handle(Input::SfuPublished, 450), vec![]);
    assert_eq!(c.mode(), CallMode::P2p);
}

#[test]
fn a_reset_forgets_the_sfu_without_touching_the_mesh() {
    let mut c = on_sfu();
    assert_eq!(
        c.handle(Input::Reset, 1),
        vec![
            Command::CloseSfu,
            Command::RouteAll(Transport::Mesh),
            Command::SetMode(CallMode::P2p)
        ]
    );
    assert!(c.mesh_wanted());
}

#[test]
fn strategies_are_parsed_with_hard_as_the_default() {
    assert_eq!(Strategy::parse(Some("gradual")), Strategy::Gradual);
    assert_eq!(
        Strategy::parse(Some("opportunistic")),
        Strategy::Opportunistic
    );
    assert_eq!(Strategy::parse(Some("nonsense")), Strategy::Hard);
    assert_eq!(Strategy::parse(None), Strategy::Hard);
}
