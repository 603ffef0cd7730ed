#![cfg(target_arch = "wasm32")]
//! Browser tests of `WsClient`'s reconnect, in real headless Chromium against the REAL
//! reference server, with the fault injected server-side (`POST /api/dev/drop-connections`
//! drops a user's sockets without a close handshake, as a network failure would):
//! the client reconnects and re-joins by itself and the room sees the user come back (P12);
//! a subscriber that re-joins on `Connected` is not doubled; `disconnect()` while a retry is
//! pending cancels it. The reconnect time is printed as `BENCH` lines.

use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::net::{drop_connections, ids, join_msg, member, Member, WAIT_MS};
use common::{now_ms, sleep_ms, unique_channel_id};
use sohbet_rtc::signal::transport::ws_client::Phase;
use sohbet_rtc::signal::transport::{SignalTransport, TransportEvent};
use sohbet_rtc::signal::Message;

/// Two members in a fresh channel: (flaky, steady, channel).
async fn room() -> (Member, Member, u64) {
    let (a, b) = (member("flaky").await, member("steady").await);
    let channel = unique_channel_id();
    a.join(channel).await.expect("first joins");
    b.join(channel).await.expect("second joins");
    (a, b, channel)
}

fn joined(user_id: u64) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::UserJoined(j) if j.user.user_id == user_id)
}

fn left(user_id: u64) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::UserLeft(l) if l.user_id == user_id)
}

#[wasm_bindgen_test]
async fn a_dropped_connection_reconnects_and_rejoins_by_itself() {
    let (alice, bob, _channel) = room().await;
    let (a_mark, b_mark, alice_id) = (alice.log.len(), bob.log.len(), alice.id());
    let t0 = now_ms();
    let dropped = drop_connections(alice_id).await.expect("drop-connections");
    assert_eq!(dropped, 1, "alice had one socket");

    let (left_at, _) = bob
        .log
        .wait_msg("user-left(alice)", b_mark, left(alice_id))
        .await
        .expect("bob sees alice leave when her socket dies");
    let (back_at, _) = bob
        .log
        .wait_msg(
            "user-joined(alice) after the leave",
            left_at + 1,
            joined(alice_id),
        )
        .await
        .expect("bob sees alice join again");

    let log = &alice.log;
    let (d, _) = log
        .wait_for("Disconnected", a_mark, WAIT_MS, |e| {
            *e == TransportEvent::Disconnected
        })
        .await
        .expect("alice's client notices the drop");
    let (r, reconnected) = log
        .wait_for("Reconnected", d, WAIT_MS, |e| {
            *e == TransportEvent::Reconnected
        })
        .await
        .expect("alice's client reconnects by itself");
    let (_, resync) = log
        .wait_msg("participants after the re-join", r, |m| {
            matches!(m, Message::Participants(_))
        })
        .await
        .expect("the automatic re-join brings a fresh participant list");
    let Message::Participants(list) = resync else {
        panic!("{resync:?}")
    };
    assert_eq!(ids(&list), vec![bob.id()]);
    assert_eq!(alice.client.reconnect_count(), 1);
    assert!(alice.client.is_open());

    let reconnect_ms = reconnected.at_ms - t0;
    let seen_ms = bob.log.all()[back_at].at_ms - t0;
    web_sys::console::log_1(
        &format!(
            "BENCH signal_reconnect_ms={reconnect_ms:.0}\nBENCH signal_rejoin_seen_by_peer_ms={seen_ms:.0}"
        )
        .into(),
    );
}

#[wasm_bindgen_test]
async fn a_subscriber_that_rejoins_on_connected_is_not_doubled_by_the_automatic_rejoin() {
    let (alice, bob, channel) = room().await;
    let alice_id = alice.id();
    // Like the call service: re-join by itself when the socket comes back.
    let client = alice.client.clone();
    let rejoins = Rc::new(Cell::new(0u32));
    let counter = rejoins.clone();
    let _own_rejoin = alice.client.subscribe(Box::new(move |e| {
        if *e == TransportEvent::Connected && client.reconnect_count() > 0 {
            counter.set(counter.get() + 1);
            client
                .send(&join_msg(channel))
                .expect("re-join from the handler");
        }
    }));
    let b_mark = bob.log.len();
    drop_connections(alice_id).await.expect("drop-connections");
    let (left_at, _) = bob
        .log
        .wait_msg("user-left(alice)", b_mark, left(alice_id))
        .await
        .expect("the drop is seen");
    bob.log
        .wait_msg("user-joined(alice)", left_at + 1, joined(alice_id))
        .await
        .expect("alice comes back");
    // Give a second, duplicate voice:join every chance to arrive.
    sleep_ms(500).await;
    let is_joined = joined(alice_id);
    let comebacks = bob.log.all()[left_at..]
        .iter()
        .filter(|l| matches!(&l.event, TransportEvent::Message(m) if is_joined(m)))
        .count();
    assert_eq!(rejoins.get(), 1, "the handler re-joined once");
    assert_eq!(comebacks, 1, "exactly one voice:join reached the server");
}

#[wasm_bindgen_test]
async fn disconnect_while_a_retry_is_pending_cancels_the_reconnect() {
    let (alice, bob, _channel) = room().await;
    let alice_id = alice.id();
    // Hang up right after the drop was handled: the retry timer is scheduled by then (a
    // microtask runs after the close event's handler, before any timer fires).
    let client = alice.client.clone();
    let phase_at_hang_up: Rc<Cell<Option<Phase>>> = Rc::default();
    let seen = phase_at_hang_up.clone();
    let _hang_up = alice.client.subscribe(Box::new(move |e| {
        if *e == TransportEvent::Disconnected {
            let (client, seen) = (client.clone(), seen.clone());
            wasm_bindgen_futures::spawn_local(async move {
                seen.set(Some(client.phase()));
                client.disconnect();
            });
        }
    }));
    let b_mark = bob.log.len();
    drop_connections(alice_id).await.expect("drop-connections");
    bob.log
        .wait_msg("user-left(alice)", b_mark, left(alice_id))
        .await
        .expect("the drop is seen");
    sleep_ms(1_500).await;
    let pending = Some(Phase::Waiting);
    assert_eq!(
        phase_at_hang_up.get(),
        pending,
        "a retry was pending at the hang-up"
    );
    assert_eq!(alice.client.phase(), Phase::Idle);
    assert_eq!(alice.client.reconnect_count(), 0, "no socket was reopened");
    assert!(!alice.client.is_open());
    let is_joined = joined(alice_id);
    let back = bob.log.position(
        b_mark,
        |e| matches!(e, TransportEvent::Message(m) if is_joined(m)),
    );
    assert!(back.is_none(), "alice stays away after disconnect()");
}
