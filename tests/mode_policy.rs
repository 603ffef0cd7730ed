#![cfg(not(target_arch = "wasm32"))]
//! Native tests of the sans-IO mode policy (`sohbet_rtc::mode::policy`): table-driven
//! scenarios for the thresholds (8 up, 5 down, pre-warm at 6), hysteresis, cool-down, SFU
//! failure fallback and re-upgrade, plus property tests over arbitrary event sequences.

use proptest::prelude::*;
use sohbet_rtc::mode::policy::{Decision, ModePolicy, PolicyConfig, PolicyConfigError};
use sohbet_rtc::signal::messages::CallMode;

const COOL: u64 = 15_000;

/// One input event of a scenario.
#[derive(Debug, Clone)]
enum Ev {
    Count(usize, u64),
    Fail(&'static str, u64),
    Tick(u64),
}

fn apply(p: &mut ModePolicy, ev: &Ev) -> Vec<Decision> {
    match *ev {
        Ev::Count(n, t) => p.on_participants(n, t),
        Ev::Fail(r, t) => p.on_sfu_failed(r, t),
        Ev::Tick(t) => p.on_tick(t),
    }
}

/// Runs `steps` (event, expected decisions, expected mode, expected pre-warm) in order.
fn run(name: &str, steps: &[(Ev, Vec<Decision>, CallMode, bool)]) {
    let mut p = ModePolicy::new(PolicyConfig::default());
    for (i, (ev, want, mode, warm)) in steps.iter().enumerate() {
        let got = apply(&mut p, ev);
        assert_eq!(&got, want, "{name}: step {i} {ev:?} decisions");
        assert_eq!(p.mode(), *mode, "{name}: step {i} {ev:?} mode");
        assert_eq!(p.is_prewarmed(), *warm, "{name}: step {i} {ev:?} prewarmed");
    }
}

use CallMode::{P2p, Sfu};
use Decision::{CancelPrewarm, Prewarm, SwitchTo};
use Ev::{Count, Fail, Tick};

fn fallback(reason: &str) -> Decision {
    Decision::FallBackToP2p {
        reason: reason.to_owned(),
    }
}

#[test]
fn starts_in_p2p_without_prewarm_and_idle_ticks_do_nothing() {
    let mut p = ModePolicy::default();
    assert_eq!(p.mode(), P2p);
    assert!(!p.is_prewarmed());
    assert!(p.on_tick(0).is_empty());
    assert!(p.on_tick(1_000_000).is_empty());
}

#[test]
fn growing_call_prewarms_at_6_and_switches_to_sfu_at_8() {
    run(
        "grow",
        &[
            (Count(2, 0), vec![], P2p, false),
            (Count(5, 100), vec![], P2p, false),
            (Count(6, 200), vec![Prewarm], P2p, true),
            (Count(7, 300), vec![], P2p, true),
            (Count(6, 400), vec![], P2p, true),
            (Count(8, 500), vec![SwitchTo(Sfu)], Sfu, false),
            (Count(12, 600), vec![], Sfu, false),
        ],
    );
}

#[test]
fn jumping_straight_to_8_switches_without_a_separate_prewarm() {
    run("jump", &[(Count(9, 0), vec![SwitchTo(Sfu)], Sfu, false)]);
}

#[test]
fn shrinking_sfu_call_returns_to_p2p_at_5_but_not_at_7_or_6() {
    run(
        "shrink",
        &[
            (Count(8, 0), vec![SwitchTo(Sfu)], Sfu, false),
            (Count(7, COOL + 1), vec![], Sfu, false),
            (Count(6, COOL + 2), vec![], Sfu, false),
            (Count(5, COOL + 3), vec![SwitchTo(P2p)], P2p, false),
            (Count(4, COOL + 4), vec![], P2p, false),
        ],
    );
}

#[test]
fn prewarm_is_cancelled_when_the_count_falls_to_5_and_can_start_again() {
    run(
        "cancel",
        &[
            (Count(6, 0), vec![Prewarm], P2p, true),
            (Count(5, 10), vec![CancelPrewarm], P2p, false),
            (Count(3, 20), vec![], P2p, false),
            (Count(6, 30), vec![Prewarm], P2p, true),
        ],
    );
}

#[test]
fn flapping_7_8_7_within_the_cooldown_switches_once_and_stays() {
    run(
        "flap",
        &[
            (Count(7, 0), vec![Prewarm], P2p, true),
            (Count(8, 1_000), vec![SwitchTo(Sfu)], Sfu, false),
            (Count(7, 2_000), vec![], Sfu, false),
            (Count(8, 3_000), vec![], Sfu, false),
            (Count(7, 4_000), vec![], Sfu, false),
            (Tick(1_000 + COOL), vec![], Sfu, false),
        ],
    );
}

#[test]
fn a_switch_blocked_by_the_cooldown_happens_on_the_first_tick_after_it() {
    run(
        "blocked-down",
        &[
            (Count(8, 0), vec![SwitchTo(Sfu)], Sfu, false),
            (Count(4, 5_000), vec![], Sfu, false),
            (Tick(COOL - 1), vec![], Sfu, false),
            (Tick(COOL), vec![SwitchTo(P2p)], P2p, false),
            (Tick(COOL + 1), vec![], P2p, false),
        ],
    );
}

#[test]
fn a_blocked_switch_is_dropped_when_the_count_recovers_before_the_cooldown_ends() {
    run(
        "blocked-recovered",
        &[
            (Count(8, 0), vec![SwitchTo(Sfu)], Sfu, false),
            (Count(4, 5_000), vec![], Sfu, false),
            (Count(7, 10_000), vec![], Sfu, false),
            (Tick(COOL + 10), vec![], Sfu, false),
        ],
    );
}

#[test]
fn sfu_failure_falls_back_to_p2p_and_bars_the_sfu_until_the_cooldown_ends() {
    run(
        "fail",
        &[
            (Count(9, 0), vec![SwitchTo(Sfu)], Sfu, false),
            (
                Fail("ws closed", 2_000),
                vec![fallback("ws closed")],
                P2p,
                false,
            ),
            (Count(10, 3_000), vec![], P2p, false),
            (Tick(2_000 + COOL - 1), vec![], P2p, false),
            // Re-upgrade after the cool-down, on the first tick.
            (Tick(2_000 + COOL), vec![SwitchTo(Sfu)], Sfu, false),
        ],
    );
}

#[test]
fn failure_of_a_prewarmed_sfu_cancels_it_and_prewarm_resumes_after_the_cooldown() {
    run(
        "fail-prewarm",
        &[
            (Count(6, 0), vec![Prewarm], P2p, true),
            (
                Fail("token rejected", 100),
                vec![fallback("token rejected")],
                P2p,
                false,
            ),
            (Count(7, 200), vec![], P2p, false),
            (Tick(100 + COOL), vec![Prewarm], P2p, true),
        ],
    );
}

#[test]
fn a_stale_failure_while_the_sfu_is_unused_changes_nothing() {
    run(
        "stale",
        &[
            (Count(3, 0), vec![], P2p, false),
            (Fail("late", 10), vec![], P2p, false),
            (Count(6, 20), vec![Prewarm], P2p, true),
        ],
    );
}

#[test]
fn zero_cooldown_allows_immediate_switch_back() {
    let mut p = ModePolicy::new(PolicyConfig {
        cooldown_ms: 0,
        ..PolicyConfig::default()
    });
    assert_eq!(p.on_participants(8, 0), vec![SwitchTo(Sfu)]);
    assert_eq!(p.on_participants(5, 0), vec![SwitchTo(P2p)]);
    assert!(!p.in_cooldown(0));
}

#[test]
fn time_going_backwards_only_extends_the_cooldown() {
    let mut p = ModePolicy::default();
    assert_eq!(p.on_participants(8, 50_000), vec![SwitchTo(Sfu)]);
    assert!(p.on_participants(2, 10).is_empty());
    assert!(p.in_cooldown(10));
    assert_eq!(p.next_deadline_ms(), Some(50_000 + COOL));
    assert_eq!(p.on_tick(50_000 + COOL), vec![SwitchTo(P2p)]);
    assert_eq!(p.next_deadline_ms(), Some(50_000 + COOL + COOL));
}

#[test]
fn cooldown_near_the_end_of_time_saturates_instead_of_overflowing() {
    let mut p = ModePolicy::default();
    assert_eq!(p.on_participants(8, u64::MAX - 1), vec![SwitchTo(Sfu)]);
    assert!(p.in_cooldown(u64::MAX - 1));
    assert_eq!(p.on_sfu_failed("x", u64::MAX), vec![fallback("x")]);
}

#[test]
fn invalid_config_is_reported_by_check_and_clamped_by_new() {
    let bad = PolicyConfig {
        sfu_up_at: 5,
        p2p_down_at: 8,
        prewarm_at: 1,
        cooldown_ms: 10,
    };
    let err = bad.check().unwrap_err();
    assert_eq!(err, PolicyConfigError::DownNotBelowUp { down: 8, up: 5 });
    assert_eq!(err.code(), "mode/down-not-below-up");
    let p = ModePolicy::new(bad);
    let c = *p.config();
    assert_eq!((c.sfu_up_at, c.p2p_down_at, c.prewarm_at), (5, 4, 5));
    assert!(c.check().is_ok());
    let zero = PolicyConfig {
        sfu_up_at: 0,
        ..PolicyConfig::default()
    };
    assert_eq!(zero.check().unwrap_err().code(), "mode/zero-up-threshold");
    let far = PolicyConfig {
        prewarm_at: 20,
        ..PolicyConfig::default()
    };
    assert_eq!(far.check().unwrap_err().code(), "mode/prewarm-out-of-range");
    assert_eq!(far.clamped().prewarm_at, 8);
    assert_eq!(PolicyConfig::default().clamped(), PolicyConfig::default());
}

fn arb_event() -> impl Strategy<Value = (u8, usize, u64)> {
    // (kind, count, time step): kind 0..6 count, 6..8 tick, 8 fail.
    (0u8..9, 0usize..20, 0u64..8_000)
}

fn arb_config() -> impl Strategy<Value = PolicyConfig> {
    (0usize..15, 0usize..15, 0usize..15, 0u64..30_000).prop_map(|(u, d, w, c)| PolicyConfig {
        sfu_up_at: u,
        p2p_down_at: d,
        prewarm_at: w,
        cooldown_ms: c,
    })
}

proptest! {
    /// Count-driven switches never come within one cool-down of the previous mode change
    /// (switch or fallback), decisions always match the reported state, and nothing panics.
    #[test]
    fn mode_never_switches_twice_within_one_cooldown(
        cfg in arb_config(),
        events in prop::collection::vec(arb_event(), 0..200),
    ) {
        let mut p = ModePolicy::new(cfg);
        let cfg = *p.config();
        prop_assert!(cfg.check().is_ok());
        let mut now = 0u64;
        let mut last_change: Option<u64> = None;
        let mut last_count = None;
        for (kind, count, step) in events {
            now += step;
            let before = p.mode();
            let out = match kind {
                0..=5 => { last_count = Some(count); p.on_participants(count, now) }
                6 | 7 => p.on_tick(now),
                _ => p.on_sfu_failed("boom", now),
            };
            prop_assert!(out.len() <= 1, "one decision per event: {:?}", out);
            for d in &out {
                match d {
                    Decision::SwitchTo(m) => {
                        prop_assert!(*m == CallMode::P2p || *m == CallMode::Sfu);
                        prop_assert_ne!(*m, before);
                        if let Some(t) = last_change {
                            prop_assert!(now >= t + cfg.cooldown_ms, "switch at {} after change at {}", now, t);
                        }
                        let n = last_count.unwrap_or(0);
                        if *m == CallMode::Sfu { prop_assert!(n >= cfg.sfu_up_at); }
                        else { prop_assert!(n <= cfg.p2p_down_at); }
                        last_change = Some(now);
                    }
                    Decision::FallBackToP2p { reason } => {
                        prop_assert_eq!(reason.as_str(), "boom");
                        last_change = Some(now);
                    }
                    Decision::Prewarm | Decision::CancelPrewarm => {
                        prop_assert_eq!(before, CallMode::P2p);
                    }
                }
            }
            prop_assert!(p.mode() == CallMode::P2p || p.mode() == CallMode::Sfu);
            if out.is_empty() { prop_assert_eq!(p.mode(), before); }
            if p.mode() == CallMode::Sfu { prop_assert!(!p.is_prewarmed()); }
        }
    }

    /// Counts strictly between the down and up thresholds never move the mode.
    #[test]
    fn hysteresis_band_never_moves_the_mode(
        start_in_sfu in any::<bool>(),
        counts in prop::collection::vec(6usize..=7, 1..50),
    ) {
        let mut p = ModePolicy::default();
        let mut now = 0;
        if start_in_sfu { p.on_participants(8, now); }
        let mode = p.mode();
        for c in counts {
            now += 20_000;
            p.on_participants(c, now);
            p.on_tick(now + 1);
            prop_assert_eq!(p.mode(), mode);
        }
    }
}
