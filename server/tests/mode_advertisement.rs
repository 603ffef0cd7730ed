//! Mode advertisement with mode changes turned off (`SOHBET_SEND_MODE_CHANGE=0`): the pure
//! ModePolicy inside the real server still decides, so a channel advertises `sfu` once 8
//! members are live and `p2p` again at 5, with hysteresis in between (in
//! voice:participants `mode` and in the channel REST JSON), but no voice:mode-change or
//! voice:rollback is ever sent; a switch blocked by a cool-down happens on a later tick.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sohbet_rtc::signal::CallMode;
use sohbet_server::RunningServer;

async fn rest_mode(srv: &RunningServer, id: u64) -> (String, u64) {
    let v = channel(srv, id).await;
    (
        v["mode"].as_str().unwrap_or_default().to_owned(),
        v["participants"].as_u64().unwrap_or(0),
    )
}

async fn leave_one(clients: &mut Vec<Client>, id: u64) {
    clients.pop().expect("a member to leave").leave(id).await;
    for c in clients.iter_mut() {
        c.expect("voice:user-left").await;
    }
}

#[tokio::test]
async fn with_mode_changes_off_the_mode_is_only_advertised() {
    let srv = start_with(|cfg| cfg.send_mode_change = false).await;
    let mut clients = join_many(&srv, 1, 7).await;
    let mut eighth = Client::new(&srv, "eighth").await;
    assert_eq!(
        eighth.join(1).await.mode,
        Some(CallMode::Sfu),
        "8th told sfu"
    );
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
    }
    clients.push(eighth);
    assert_eq!(rest_mode(&srv, 1).await, ("sfu".to_owned(), 8));

    // 8 → 7 → 6: hysteresis keeps the SFU; 6 → 5: back to P2P.
    leave_one(&mut clients, 1).await;
    leave_one(&mut clients, 1).await;
    assert_eq!(rest_mode(&srv, 1).await, ("sfu".to_owned(), 6));
    leave_one(&mut clients, 1).await;
    assert_eq!(rest_mode(&srv, 1).await, ("p2p".to_owned(), 5));
    // A newcomer making six sees p2p (hysteresis on the way up too); nobody got a
    // voice:mode-change at any point.
    let mut late = Client::new(&srv, "late").await;
    assert_eq!(late.join(1).await.mode, Some(CallMode::P2p));
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_silence().await;
    }
    late.expect_silence().await;
    assert!(migrations(&srv, 1).await["migrations"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_switch_blocked_by_the_cool_down_happens_on_a_later_tick() {
    let srv = start_with(|cfg| {
        cfg.send_mode_change = false;
        cfg.policy.cooldown_ms = 3000;
    })
    .await;
    let mut clients = join_many(&srv, 3, 8).await;
    assert_eq!(rest_mode(&srv, 3).await.0, "sfu");
    for _ in 0..3 {
        leave_one(&mut clients, 3).await;
    }
    // Five members, but the switch to sfu was under 3 s ago: the cool-down holds it...
    assert_eq!(rest_mode(&srv, 3).await, ("sfu".to_owned(), 5));
    // ...and once the cool-down has passed, the ticker moves the channel to p2p.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (mode, count) = rest_mode(&srv, 3).await;
        assert_eq!(count, 5);
        if mode == "p2p" {
            break;
        }
        assert!(Instant::now() < deadline, "channel never returned to p2p");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
