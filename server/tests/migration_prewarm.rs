//! The opportunistic strategy's pre-warm, over real sockets against the real server: from the
//! 6th member every capable member (later joiners too) gets voice:mode-change p2p carrying its
//! own SFU credentials — the client opens the SFU beside the mesh — and falling back
//! to 5 sends the same without credentials (cancel). A joiner of a pre-warmed channel makes
//! the warm members answer again (their sessions must carry its voice too). Other strategies
//! send nothing at 6.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use sohbet_rtc::signal::CallMode;

#[tokio::test]
async fn opportunistic_channels_prewarm_at_six_joiners_included_and_cancel_at_five() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.strategy = "opportunistic".parse().unwrap()).await;
    let mut clients = join_many(&srv, 3, 6).await;
    for c in clients.iter_mut() {
        let warm = c.expect_mode_change().await;
        assert_eq!(warm.new_mode, CallMode::P2p, "a pre-warm stays on the mesh");
        assert_eq!(warm.strategy.as_deref(), Some("opportunistic"));
        assert!(
            warm.sfu_token.is_some() && warm.sfu_url.is_some(),
            "with credentials"
        );
        c.ack(3, true, None).await;
    }
    let mut seventh = Client::new(&srv, "seventh").await;
    assert_eq!(seventh.join(3).await.mode, Some(CallMode::P2p));
    let warm = seventh.expect_mode_change().await;
    assert!(
        warm.sfu_token.is_some(),
        "a joiner of a pre-warmed channel is pre-warmed"
    );
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        let again = c.expect_mode_change().await;
        assert!(
            again.new_mode == CallMode::P2p && again.sfu_token.is_some(),
            "warm members are asked again after a join: {again:?}"
        );
    }
    seventh.leave(3).await;
    for c in clients.iter_mut() {
        c.expect("voice:user-left").await;
    }
    let mut leaver = clients.pop().expect("six");
    leaver.leave(3).await;
    for c in clients.iter_mut() {
        c.expect("voice:user-left").await;
        let cancel = c.expect_mode_change().await;
        assert_eq!(cancel.new_mode, CallMode::P2p);
        assert!(
            cancel.sfu_token.is_none(),
            "a cancel carries no credentials"
        );
    }
}

#[tokio::test]
async fn hard_channels_send_nothing_at_six() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.strategy = "hard".parse().unwrap()).await;
    let mut clients = join_many(&srv, 4, 6).await;
    for c in clients.iter_mut() {
        c.expect_silence().await;
    }
}

/// Seven warm members (each acked its pre-warm, the first six twice); returns them.
async fn seven_warm(srv: &sohbet_server::RunningServer, channel: u64) -> Vec<Client> {
    let mut clients = join_many(srv, channel, 6).await;
    for c in clients.iter_mut() {
        c.expect_mode_change().await;
        c.ack(channel, true, None).await;
    }
    let mut seventh = Client::new(srv, "seventh").await;
    seventh.join(channel).await;
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_mode_change().await;
        c.ack(channel, true, None).await;
    }
    seventh.expect_mode_change().await;
    seventh.ack(channel, true, None).await;
    clients.push(seventh);
    clients
}

#[tokio::test]
async fn the_switch_at_eight_waits_until_the_joiner_answered_its_prewarm() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.strategy = "opportunistic".parse().unwrap()).await;
    let mut clients = seven_warm(&srv, 5).await;
    let mut eighth = Client::new(&srv, "eighth").await;
    assert_eq!(eighth.join(5).await.mode, Some(CallMode::P2p));
    let warm = eighth.expect_mode_change().await;
    assert_eq!(
        warm.new_mode,
        CallMode::P2p,
        "the joiner is pre-warmed first"
    );
    assert!(warm.sfu_token.is_some());
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        let again = c.expect_mode_change().await;
        assert_eq!(again.new_mode, CallMode::P2p, "asked again, no switch yet");
    }
    eighth.ack(5, true, None).await;
    // Six of the seven answered again: the switch still waits for the last one.
    let (last, answered) = clients.split_last_mut().expect("seven");
    for c in answered.iter_mut() {
        c.ack(5, true, None).await;
    }
    for c in answered.iter_mut() {
        c.expect_silence().await;
    }
    last.ack(5, true, None).await;
    let up = eighth.expect_mode_change().await;
    assert_eq!(up.new_mode, CallMode::Sfu);
    for c in clients.iter_mut() {
        let up = c.expect_mode_change().await;
        assert_eq!(
            (up.new_mode, up.strategy.as_deref()),
            (CallMode::Sfu, Some("opportunistic"))
        );
    }
}

#[tokio::test]
async fn a_joiner_that_never_answers_its_prewarm_holds_the_switch_only_for_the_wait() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.strategy = "opportunistic".parse().unwrap()).await;
    let mut clients = seven_warm(&srv, 6).await;
    let mut eighth = Client::new(&srv, "eighth").await;
    eighth.join(6).await;
    eighth.expect_mode_change().await; // the pre-warm, never answered
    let held = std::time::Instant::now();
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_mode_change().await;
        c.ack(6, true, None).await;
    }
    let up = eighth.expect_mode_change().await;
    let waited = held.elapsed().as_millis() as u64;
    assert_eq!(up.new_mode, CallMode::Sfu);
    assert!(
        waited >= 4_500,
        "held for the pre-warm wait (5 s), not less: {waited} ms"
    );
    for c in clients.iter_mut() {
        assert_eq!(c.expect_mode_change().await.new_mode, CallMode::Sfu);
    }
}
