#![cfg(all(target_arch = "wasm32", feature = "bench"))]
//! Mixed-room benchmark (issue 16; it prints numbers and never fails on speed), in real
//! headless Chromium through the reference server's C++-compatible mode (`--cpp-quirks`:
//! frames coalesced into one read are lost, relays carry the trailing brace). An imitation of
//! the old TypeScript client (`legacy.js`, the old timings) and ours share a two-person call,
//! 20 fresh calls in each case: the old client first with the lower id, the old client first
//! with the higher id, ours first. A call connects when each side hears the other within 15 s;
//! its time runs from the second party's join to both hearing.
//! - `mixed_room_connect_success`: the fraction of all 60 calls that connected;
//! - `mixed_room_connect_ms_p95`: over the connected ones;
//! - `mixed_room_connect_ms_median_<case>` and the distribution per case in the log.
//!
//! Run: `wasm-pack test --headless --chrome --features bench -- --test bench_mixed_room`
//! with `SOHBET_CPP_HTTP_URL`/`SOHBET_CPP_WS_URL` naming a `--cpp-quirks` server.

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser_p2p_support/mod.rs"]
mod support;

use support::*;

#[path = "browser_p2p_support/legacy_client.rs"]
mod legacy_client;

use legacy_client::{pair, LEGACY_FREQ, OURS_FREQ};

const RUNS: usize = 20;
const TIMEOUT_MS: f64 = 15_000.0;

/// One fresh two-person call: the ms until both hear each other (None if they did not), and
/// how many glares the old client resolved by rolling back its own offer (the path that
/// breaks in the real old client).
async fn one_call(legacy_first: bool, legacy_lower_id: bool) -> (Option<f64>, u32) {
    let channel = unique_channel();
    let (legacy, _, mut ours) = pair(legacy_lower_id).await;
    let t0;
    if legacy_first {
        legacy.start(channel).await.expect("legacy joins");
        t0 = now_ms();
        ours.join(channel).await;
    } else {
        ours.join(channel).await;
        t0 = now_ms();
        legacy.start(channel).await.expect("legacy joins");
    }
    let legacy_probe = EnergyProbe::new(legacy.analyser(), legacy.sample_rate());
    let (mut ours_heard, mut legacy_heard) = (None, None);
    while now_ms() - t0 < TIMEOUT_MS && (ours_heard.is_none() || legacy_heard.is_none()) {
        if ours_heard.is_none() && ours.hears(LEGACY_FREQ) {
            ours_heard = Some(now_ms());
        }
        if legacy_heard.is_none() && legacy_probe.hears(OURS_FREQ) {
            legacy_heard = Some(now_ms());
        }
        sleep_ms(5).await;
    }
    let rollbacks = legacy.rollbacks_made();
    ours.service.leave_channel();
    legacy.close();
    sleep_ms(100).await;
    let both = ours_heard.zip(legacy_heard);
    (both.map(|(a, b)| a.max(b) - t0), rollbacks)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[wasm_bindgen_test]
async fn bench_mixed_room_connects() {
    let _cpp = CppServer::select();
    let cases = [
        ("old_first_lower_id", true, true),
        ("old_first_higher_id", true, false),
        ("new_first", false, true),
    ];
    let (mut all, mut total, mut rollbacks) = (Vec::new(), 0, 0);
    for (name, legacy_first, legacy_lower_id) in cases {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            total += 1;
            let (ms, glares) = one_call(legacy_first, legacy_lower_id).await;
            times.extend(ms);
            rollbacks += glares;
        }
        times.sort_by(f64::total_cmp);
        let failed = RUNS - times.len();
        match times.is_empty() {
            true => console_log!("{name}: 0 of {RUNS} calls connected"),
            false => console_log!(
                "{name}: {} of {RUNS} connected; ms min {:.0} median {:.0} p95 {:.0} max {:.0}; {failed} failed",
                times.len(),
                times[0],
                percentile(&times, 50.0),
                percentile(&times, 95.0),
                times[times.len() - 1]
            ),
        }
        if !times.is_empty() {
            console_log!(
                "BENCH mixed_room_connect_ms_median_{name}={:.0}",
                percentile(&times, 50.0)
            );
        }
        all.extend(times);
    }
    all.sort_by(f64::total_cmp);
    console_log!("BENCH mixed_room_old_client_rollbacks={rollbacks}");
    console_log!(
        "BENCH mixed_room_connect_success={:.3}",
        all.len() as f64 / total as f64
    );
    if !all.is_empty() {
        console_log!(
            "BENCH mixed_room_connect_ms_p95={:.0}",
            percentile(&all, 95.0)
        );
    }
}
