#![cfg(all(target_arch = "wasm32", feature = "bench"))]
//! Signalling benchmarks (not tests: they print numbers and never fail on speed), in real
//! headless Chromium against the real reference server. Run:
//! `wasm-pack test --headless --chrome --features bench -- --test bench_signal`; every result
//! is a line `BENCH name=value` for `scripts/bench_merge.mjs --stdin`.
//!
//! - `signal_connect_ms_median` / `_p95`: `WsClient::connect` with a fresh token → open;
//! - `signal_roundtrip_ms_median` / `_p95`: voice:mute sent → its voice:user-muted echo back
//!   (the server broadcasts it to the sender too), in a two-person room;
//! - `signal_reconnect_ms_median` / `_p95`: server-side drop of a member's socket
//!   (`/api/dev/drop-connections`) → `Reconnected` (socket reopened and voice:join re-sent);
//! - `signal_rejoin_seen_by_peer_ms_median`: the same drop → the other member sees the
//!   voice:user-joined of the user coming back.

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::net::{drop_connections, Member, WAIT_MS};
use common::{now_ms, unique_channel_id, with_timeout, ws_url};
use sohbet_rtc::signal::transport::{SignalTransport, TransportEvent, WsClient};
use sohbet_rtc::signal::{Message, Mute};

const RUNS: usize = 20;

fn bench(name: &str, value: f64) {
    console_log!("BENCH {name}={value:.1}");
}

/// Prints `<name>_median` and `<name>_p95` of the samples (ms).
fn report(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    bench(&format!("{name}_median"), at(0.5));
    bench(&format!("{name}_p95"), at(0.95));
    console_log!(
        "{name}: {} runs, min {:.1} ms, max {:.1} ms",
        samples.len(),
        samples[0],
        samples[samples.len() - 1]
    );
}

#[wasm_bindgen_test]
async fn bench_connect_time() {
    let me = Member::connect("bench-connect").await.expect("login");
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let client = WsClient::new();
        let t0 = now_ms();
        with_timeout("connect", WAIT_MS, client.connect(ws_url(), &me.user.token))
            .await
            .expect("connect settles")
            .expect("connect succeeds");
        samples.push(now_ms() - t0);
    }
    report("signal_connect_ms", samples);
}

#[wasm_bindgen_test]
async fn bench_message_roundtrip() {
    let (me, other) = (
        Member::connect("bench-rt").await,
        Member::connect("bench-peer").await,
    );
    let (me, other) = (me.expect("login"), other.expect("login"));
    let channel = unique_channel_id();
    me.join(channel).await.expect("join");
    other.join(channel).await.expect("join");
    let my_id = me.id();
    let mut samples = Vec::with_capacity(RUNS * 2);
    for i in 0..RUNS * 2 {
        let muted = i % 2 == 0;
        let from = me.log.len();
        let t0 = now_ms();
        me.client
            .send(&Message::Mute(Mute {
                channel_id: channel,
                muted,
            }))
            .expect("send");
        // The log stamps each event on arrival: no polling delay in the number.
        let (i, _) = me
            .log
            .wait_msg("own user-muted echo", from, move |m| {
                matches!(m, Message::UserMuted(u) if u.user_id == my_id && u.muted == muted)
            })
            .await
            .expect("echo");
        samples.push(me.log.all()[i].at_ms - t0);
    }
    report("signal_roundtrip_ms", samples);
}

#[wasm_bindgen_test]
async fn bench_reconnect_and_rejoin() {
    let flaky = Member::connect("bench-flaky").await.expect("login");
    let steady = Member::connect("bench-steady").await.expect("login");
    let channel = unique_channel_id();
    flaky.join(channel).await.expect("join");
    steady.join(channel).await.expect("join");
    let id = flaky.id();
    let (mut reconnect, mut seen) = (Vec::new(), Vec::new());
    for _ in 0..RUNS / 2 {
        let (a_mark, b_mark) = (flaky.log.len(), steady.log.len());
        let t0 = now_ms();
        drop_connections(id).await.expect("drop");
        let (_, back) = flaky
            .log
            .wait_for("Reconnected", a_mark, WAIT_MS, |e| {
                *e == TransportEvent::Reconnected
            })
            .await
            .expect("reconnects");
        let (left_at, _) = steady
            .log
            .wait_msg(
                "user-left",
                b_mark,
                move |m| matches!(m, Message::UserLeft(l) if l.user_id == id),
            )
            .await
            .expect("peer sees the drop");
        let (joined_at, _) = steady
            .log
            .wait_msg(
                "user-joined",
                left_at + 1,
                move |m| matches!(m, Message::UserJoined(j) if j.user.user_id == id),
            )
            .await
            .expect("peer sees the re-join");
        reconnect.push(back.at_ms - t0);
        seen.push(steady.log.all()[joined_at].at_ms - t0);
    }
    report("signal_reconnect_ms", reconnect);
    seen.sort_by(f64::total_cmp);
    bench("signal_rejoin_seen_by_peer_ms_median", seen[seen.len() / 2]);
}
