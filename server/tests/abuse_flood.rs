//! Issue 13 §1 and §2 with real sockets: a member flooding another with relays is the one
//! throttled (voice:error `rate-limited`, then close 1008) while its victim stays in the
//! room; relays to a member that is not reading stop at the high-water mark (`target-busy`
//! to the sender); a member that stops reading is dropped as a slow consumer and its room
//! hears voice:user-left, while everyone else keeps working and memory stays bounded.

mod common;

use common::*;
use sohbet_rtc::signal::Message;

#[tokio::test]
async fn the_flooder_is_rate_limited_and_closed_while_its_victim_stays() {
    let srv = start_with(|c| {
        c.limits.frames_per_sec = 20;
        c.limits.frame_burst = 40;
        c.limits.excess_frames = 30;
    })
    .await;
    let mut victim = Client::new(&srv, "victim").await;
    let mut attacker = Client::new(&srv, "attacker").await;
    let mut bystander = Client::new(&srv, "bystander").await;
    victim.join(1).await;
    attacker.join(1).await;
    victim.expect("voice:user-joined").await;
    bystander.join(1).await;
    victim.expect("voice:user-joined").await;
    attacker.expect("voice:user-joined").await;

    let (a, v) = (attacker.id(), victim.id());
    for _ in 0..200 {
        attacker.send_json(offer(1, a, v)).await;
    }
    attacker.skip_until("voice:error").await;
    assert_eq!(
        attacker.expect_close_code().await,
        Some(1008),
        "the sender of the excess is closed with policy violation"
    );

    // The victim got at most the burst (plus what the rate refilled), then the attacker left.
    let mut offers = 0;
    loop {
        match victim.recv().await {
            Message::Offer(_) => offers += 1,
            Message::UserLeft(l) => {
                assert_eq!(l.user_id, a, "only the attacker leaves");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((30..=80).contains(&offers), "{offers} offers got through");
    bystander.expect("voice:user-left").await;

    // The victim and the bystander still talk to each other.
    bystander.send_json(offer(1, bystander.id(), v)).await;
    assert_eq!(
        victim.expect("voice:offer").await.type_name(),
        "voice:offer"
    );
    victim.send_json(candidate(1, v, bystander.id())).await;
    bystander.expect("voice:ice-candidate").await;
    let metrics = metrics_text(&srv).await;
    assert!(metrics.contains("ws_closed_by_server_total{reason=\"rate-limited\"} 1"));
    assert!(metrics.contains("voice_frames_refused_total{reason=\"rate-limited\"} 1"));
}

#[tokio::test]
async fn relays_to_a_member_that_does_not_read_stop_at_the_high_water_mark() {
    let srv = start_with(|c| {
        c.limits.frames_per_sec = 100_000;
        c.limits.frame_burst = 100_000;
        c.limits.send_timeout_ms = 60_000;
    })
    .await;
    let mut sleeper = Client::new(&srv, "sleeper").await;
    let mut sender = Client::new(&srv, "sender").await;
    sleeper.join(2).await;
    sender.join(2).await;
    let (s, z) = (sender.id(), sleeper.id());
    // Big frames fill the TCP buffers quickly; then the queue fills up to the mark.
    let sdp = "a".repeat(3_500);
    let mut busy = false;
    for _ in 0..20_000 {
        let mut frame = offer(2, s, z);
        frame["payload"]["offer"]["sdp"] = serde_json::json!(sdp);
        sender.send_json(frame).await;
        if sender_has_error(&mut sender).await {
            busy = true;
            break;
        }
    }
    assert!(busy, "the sender got target-busy");
    let m = metrics_text(&srv).await;
    assert!(m.contains("voice_frames_refused_total{reason=\"target-busy\"}"));
    assert!(
        m.contains("ws_closed_by_server_total{reason=\"slow-consumer\"} 0"),
        "the victim was not dropped for what others sent it"
    );
}

/// True when a voice:error target-busy is waiting (checked without blocking long).
async fn sender_has_error(sender: &mut Client) -> bool {
    let Ok(text) =
        tokio::time::timeout(std::time::Duration::from_millis(1), sender.recv_text()).await
    else {
        return false;
    };
    assert!(text.contains("target-busy"), "unexpected {text}");
    true
}

#[tokio::test]
async fn a_member_that_stops_reading_is_dropped_and_the_room_goes_on() {
    let srv = start_with(|c| {
        c.limits.frames_per_sec = 100_000;
        c.limits.frame_burst = 100_000;
        c.limits.send_timeout_ms = 500;
    })
    .await;
    let mut stuck = Client::new(&srv, "stuck").await;
    let mut talker = Client::new(&srv, "talker").await;
    let mut other = Client::new(&srv, "other").await;
    stuck.join(3).await;
    talker.join(3).await;
    stuck.expect("voice:user-joined").await;
    other.join(3).await;
    talker.expect("voice:user-joined").await;
    let before = metric_value(&metrics_text(&srv).await, "process_resident_memory_bytes");
    // The stuck client never reads again: big offers to it fill its TCP window, then a
    // frame waits past the send timeout.
    let sdp = "a".repeat(3_500);
    let (t, z) = (talker.id(), stuck.id());
    for i in 0..20_000 {
        let mut frame = offer(3, t, z);
        frame["payload"]["offer"]["sdp"] = serde_json::json!(sdp);
        talker.send_json(frame).await;
        if i % 100 == 0 {
            let m = metrics_text(&srv).await;
            if m.contains("ws_closed_by_server_total{reason=\"slow-consumer\"} 1") {
                break;
            }
        }
    }
    // Everyone else hears the stuck member leave, and still works.
    let left = loop {
        if let Message::UserLeft(l) = other.recv().await {
            break l;
        }
    };
    assert_eq!(left.user_id, stuck.id());
    talker.skip_until("voice:user-left").await;
    talker.send_json(offer(3, talker.id(), other.id())).await;
    other.skip_until("voice:offer").await;
    let after = metrics_text(&srv).await;
    assert!(after.contains("ws_closed_by_server_total{reason=\"slow-consumer\"} 1"));
    if let (Some(b), Some(a)) = (
        before,
        metric_value(&after, "process_resident_memory_bytes"),
    ) {
        assert!(
            a - b < 64.0 * 1024.0 * 1024.0,
            "memory grew {} MiB",
            (a - b) / 1048576.0
        );
    }
    drop(stuck);
}
