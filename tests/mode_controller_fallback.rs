//! The mesh as a per-voice fallback after a gap-free switch to the SFU: during the grace period
//! a voice whose SFU copy stalls plays from the mesh again until the SFU carries it, the mesh
//! closes at the end of its grace period all the same, and a hard switch has no such period.

use sohbet_rtc::mode::controller::{Command, Input, ModeController, Transport};
use sohbet_rtc::mode::switch::FALLBACK_AFTER_MS;
use sohbet_rtc::signal::CallMode;

const GRACE: u64 = 3_000;
/// When the switch of `on_sfu` finished.
const SWITCHED: u64 = 1_000;

fn tick(flowing: &[u64], quiet: &[u64], expected: &[u64]) -> Input {
    Input::Tick {
        flowing: flowing.to_vec(),
        quiet: quiet.to_vec(),
        expected: expected.to_vec(),
    }
}

fn route(user_id: u64, to: Transport) -> Command {
    Command::RouteVoice { user_id, to }
}

/// A controller that finished a `strategy` upgrade at `SWITCHED` (voices 1 and 2).
fn on_sfu(strategy: &str) -> ModeController {
    let mut c = ModeController::default();
    c.handle(
        Input::ModeChange {
            new_mode: CallMode::Sfu,
            sfu: Some(("ws://sfu".into(), "tok".into())),
            strategy: Some(strategy.into()),
        },
        0,
    );
    c.handle(Input::SfuPublished, 300);
    c.handle(tick(&[1, 2], &[], &[1, 2]), SWITCHED);
    assert_eq!(c.mode(), CallMode::Sfu);
    c
}

/// A gradual switch finished at `SWITCHED`, then voice 2 stalled on the SFU while heard on
/// the mesh, long enough to play from the mesh again.
fn voice_2_back_on_the_mesh() -> ModeController {
    let mut c = on_sfu("gradual");
    c.handle(tick(&[1], &[], &[1, 2]), SWITCHED + 100);
    assert_eq!(
        c.handle(tick(&[1], &[], &[1, 2]), SWITCHED + 100 + FALLBACK_AFTER_MS),
        vec![route(2, Transport::Mesh)]
    );
    c
}

#[test]
fn during_the_grace_period_every_voice_is_still_measured_on_the_sfu() {
    let c = on_sfu("gradual");
    assert_eq!(c.measured(), Some(Transport::Sfu));
    assert!(c.mesh_wanted());
}

#[test]
fn a_voice_silent_on_the_sfu_plays_from_the_mesh_again_until_the_sfu_carries_it() {
    let mut c = on_sfu("gradual");
    let t = SWITCHED + 100;
    assert!(c.handle(tick(&[1], &[], &[1, 2]), t).is_empty(), "not yet");
    assert_eq!(
        c.handle(tick(&[1], &[], &[1, 2]), t + FALLBACK_AFTER_MS),
        vec![route(2, Transport::Mesh)]
    );
    assert!(
        c.handle(tick(&[1], &[], &[1, 2]), t + FALLBACK_AFTER_MS + 50)
            .is_empty(),
        "routed once"
    );
    assert_eq!(
        c.handle(tick(&[1, 2], &[], &[1, 2]), t + FALLBACK_AFTER_MS + 100),
        vec![route(2, Transport::Sfu)]
    );
}

#[test]
fn a_short_lead_of_the_mesh_copy_or_a_quiet_voice_moves_nothing() {
    let mut c = on_sfu("opportunistic");
    let mut t = SWITCHED;
    for _ in 0..5 {
        // Each sentence starts on the mesh a little before the SFU copy.
        t += 50;
        assert!(c.handle(tick(&[1], &[], &[1, 2]), t).is_empty());
        t += 50;
        assert!(c.handle(tick(&[1, 2], &[], &[1, 2]), t).is_empty());
    }
    // Silent on both transports: someone who stopped talking stays on the SFU.
    for step in 1..=10 {
        assert!(c
            .handle(tick(&[1], &[2], &[1, 2]), t + step * 100)
            .is_empty());
    }
}

#[test]
fn at_the_end_of_its_grace_the_mesh_closes_and_every_voice_plays_from_the_sfu() {
    let mut c = voice_2_back_on_the_mesh();
    assert_eq!(
        c.handle(tick(&[1], &[], &[1, 2]), SWITCHED + GRACE),
        vec![Command::RouteAll(Transport::Sfu), Command::CloseMesh]
    );
    assert!(!c.mesh_wanted());
    assert_eq!(
        c.measured(),
        None,
        "nothing to measure once the mesh is gone"
    );
}

#[test]
fn a_voice_back_on_the_sfu_before_the_grace_ends_leaves_a_plain_close() {
    let mut c = voice_2_back_on_the_mesh();
    assert_eq!(
        c.handle(tick(&[1, 2], &[], &[1, 2]), SWITCHED + 1_000),
        vec![route(2, Transport::Sfu)]
    );
    assert_eq!(
        c.handle(tick(&[1, 2], &[], &[1, 2]), SWITCHED + GRACE),
        vec![Command::CloseMesh]
    );
}

#[test]
fn a_voice_that_left_is_forgotten() {
    let mut c = voice_2_back_on_the_mesh();
    assert!(c.handle(tick(&[1], &[], &[1]), SWITCHED + 1_000).is_empty());
    assert_eq!(
        c.handle(tick(&[1], &[], &[1]), SWITCHED + GRACE),
        vec![Command::CloseMesh],
        "no route for a voice that is gone"
    );
}

#[test]
fn a_hard_switch_keeps_no_mesh_so_nothing_falls_back() {
    let mut c = on_sfu("hard");
    assert!(!c.mesh_wanted());
    assert_eq!(c.measured(), None);
    for step in 1..=10 {
        assert!(c
            .handle(tick(&[], &[], &[1, 2]), SWITCHED + step * 400)
            .is_empty());
    }
}
