//! voice:* routing seen by real WebSocket clients of the in-process server: participants and
//! join/leave notifications, relays of offer/answer/candidate to the target only (decoded
//! with the codec and wire-compatible with the C++ server), user-left when a socket closes
//! or drops mid-call, mute/video state for newcomers, multi-socket users, the dev drop hook,
//! pings, and refusal of unauthenticated upgrades.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use serde_json::json;
use sohbet_rtc::signal::{CallMode, Message};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

#[tokio::test]
async fn joiner_gets_the_others_and_the_others_get_user_joined() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "ayse").await;
    let mut b = Client::new(&srv, "burak").await;

    let first = a.join(1).await;
    assert_eq!(first.channel_id, 1);
    assert!(first.participants.is_empty(), "self is never listed");
    assert_eq!(first.mode, Some(CallMode::P2p));

    let second = b.join(1).await;
    assert_eq!(second.participants.len(), 1);
    let listed = &second.participants[0];
    assert_eq!(listed.user_id, a.id());
    assert_eq!(listed.username, "ayse");
    assert_eq!(listed.university, "ayse Uni");
    assert_eq!(
        (listed.muted, listed.video_enabled),
        (Some(false), Some(false))
    );

    match a.expect("voice:user-joined").await {
        Message::UserJoined(j) => {
            assert_eq!((j.channel_id, j.user.user_id), (1, b.id()));
            assert_eq!(j.user.username, "burak");
            assert_eq!(j.user.university, "burak Uni");
        }
        other => panic!("{other:?}"),
    }
    b.expect_silence().await;
}

#[tokio::test]
async fn leave_tells_the_rest_of_the_room() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "ayse").await;
    let mut b = Client::new(&srv, "burak").await;
    a.join(2).await;
    b.join(2).await;
    a.expect("voice:user-joined").await;

    b.leave(2).await;
    match a.expect("voice:user-left").await {
        Message::UserLeft(l) => assert_eq!((l.channel_id, l.user_id), (2, b.id())),
        other => panic!("{other:?}"),
    }
    // The room now holds only A: a newcomer sees A alone.
    let mut c = Client::new(&srv, "cem").await;
    let seen = c.join(2).await;
    let ids: Vec<u64> = seen.participants.iter().map(|p| p.user_id).collect();
    assert_eq!(ids, [a.id()]);
}

#[tokio::test]
async fn offer_answer_and_candidate_reach_only_their_target_in_codec_shape() {
    let srv = start_server().await;
    let (mut a, mut b, mut c) = (
        Client::new(&srv, "a").await,
        Client::new(&srv, "b").await,
        Client::new(&srv, "c").await,
    );
    a.join(3).await;
    b.join(3).await;
    c.join(3).await;
    a.expect("voice:user-joined").await;
    a.expect("voice:user-joined").await;
    b.expect("voice:user-joined").await;

    a.send_json(offer(3, a.id(), b.id())).await;
    let raw = b.recv_text().await;
    assert!(
        raw.starts_with(r#"{"type":"voice:offer","payload":{"#),
        "type first: {raw}"
    );
    assert!(raw.ends_with("}}"), "payload last, well-formed: {raw}");
    assert!(
        raw.contains(&format!(r#""from_user_id":{}"#, a.id())),
        "numeric ids: {raw}"
    );
    match sohbet_rtc::signal::decode_frame(&raw).remove(0) {
        Ok(sohbet_rtc::signal::Decoded::Voice(Message::Offer(o))) => {
            assert_eq!(
                (o.channel_id, o.from_user_id, o.target_user_id),
                (3, a.id(), b.id())
            );
            assert_eq!(o.offer.kind, "offer");
            assert!(o.offer.sdp.starts_with("v=0"));
        }
        other => panic!("relayed offer did not decode: {other:?}"),
    }

    b.send_json(json!({"type": "voice:answer", "payload": {
        "channel_id": 3, "target_user_id": a.id(), "from_user_id": b.id(),
        "answer": {"type": "answer", "sdp": "v=0\r\n"}}}))
        .await;
    match a.expect("voice:answer").await {
        Message::Answer(ans) => assert_eq!(
            (ans.from_user_id, ans.answer.kind.as_str()),
            (b.id(), "answer")
        ),
        other => panic!("{other:?}"),
    }

    a.send_json(candidate(3, a.id(), b.id())).await;
    match b.expect("voice:ice-candidate").await {
        Message::IceCandidate(cand) => {
            assert_eq!(cand.from_user_id, a.id());
            assert_eq!(cand.candidate.sdp_mid.as_deref(), Some("0"));
            assert_eq!(cand.candidate.username_fragment.as_deref(), Some("abcd"));
        }
        other => panic!("{other:?}"),
    }
    c.expect_silence().await;
}

#[tokio::test]
async fn a_socket_closing_mid_call_sends_user_left_to_the_room() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(4).await;
    b.join(4).await;
    a.expect("voice:user-joined").await;
    let b_id = b.id();

    b.close().await;
    match a.expect("voice:user-left").await {
        Message::UserLeft(l) => assert_eq!((l.channel_id, l.user_id), (4, b_id)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn dropped_connection_is_noticed_and_the_user_can_rejoin() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(5).await;
    b.join(5).await;
    a.expect("voice:user-joined").await;

    let res = http()
        .post(format!("{}/api/dev/drop-connections", srv.http_url()))
        .json(&json!({ "user_id": b.id() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["dropped"], 1);

    b.expect_closed().await;
    a.expect("voice:user-left").await;

    let mut b2 = Client::open(&srv, b.user.clone()).await;
    let back = b2.join(5).await;
    assert_eq!(
        back.participants
            .iter()
            .map(|p| p.user_id)
            .collect::<Vec<_>>(),
        [a.id()]
    );
    a.expect("voice:user-joined").await;
}

#[tokio::test]
async fn newcomer_sees_mute_and_video_state_as_fields_and_as_events() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    a.join(6).await;
    a.mute(6, true).await;
    match a.expect("voice:user-muted").await {
        Message::UserMuted(m) => assert_eq!((m.user_id, m.muted), (a.id(), true)),
        other => panic!("{other:?}"),
    }
    a.send_json(
        json!({"type": "voice:video-toggle", "payload": {"channel_id": 6, "video_enabled": true}}),
    )
    .await;
    a.expect("voice:user-video-toggled").await;

    let mut b = Client::new(&srv, "b").await;
    let seen = b.join(6).await;
    assert_eq!(seen.participants[0].muted, Some(true));
    assert_eq!(seen.participants[0].video_enabled, Some(true));
    match b.expect("voice:user-muted").await {
        Message::UserMuted(m) => assert_eq!((m.channel_id, m.user_id, m.muted), (6, a.id(), true)),
        other => panic!("{other:?}"),
    }
    match b.expect("voice:user-video-toggled").await {
        Message::UserVideoToggled(v) => assert_eq!((v.user_id, v.video_enabled), (a.id(), true)),
        other => panic!("{other:?}"),
    }

    // Mute is broadcast to the whole room, sender included.
    a.expect("voice:user-joined").await;
    b.mute(6, true).await;
    a.expect("voice:user-muted").await;
    b.expect("voice:user-muted").await;
}

#[tokio::test]
async fn rejoining_resets_state_and_announces_again() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(7).await;
    b.join(7).await;
    a.expect("voice:user-joined").await;
    b.mute(7, true).await;
    b.expect("voice:user-muted").await;
    a.expect("voice:user-muted").await;

    let again = b.join(7).await;
    assert_eq!(again.participants.len(), 1);
    a.expect("voice:user-joined").await;

    let mut c = Client::new(&srv, "c").await;
    let seen = c.join(7).await;
    let b_entry = seen
        .participants
        .iter()
        .find(|p| p.user_id == b.id())
        .unwrap();
    assert_eq!(b_entry.muted, Some(false), "re-join resets mute state");
    c.expect_silence().await;
}

#[tokio::test]
async fn every_socket_of_a_user_gets_relays_but_only_the_joined_one_holds_membership() {
    let srv = start_server().await;
    let mut a1 = Client::new(&srv, "a").await;
    let mut a2 = Client::open(&srv, a1.user.clone()).await;
    let mut b = Client::new(&srv, "b").await;
    a1.join(8).await;
    b.join(8).await;
    a1.expect("voice:user-joined").await;
    a2.expect("voice:user-joined").await;

    b.send_json(offer(8, b.id(), a1.id())).await;
    a1.expect("voice:offer").await;
    a2.expect("voice:offer").await;

    a2.close().await;
    b.expect_silence().await;
    b.send_json(offer(8, b.id(), a1.id())).await;
    a1.expect("voice:offer").await;

    a1.close().await;
    b.expect("voice:user-left").await;
}

#[tokio::test]
async fn pings_are_answered_with_pongs_and_the_socket_keeps_working() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    a.send_frame(WsMessage::Ping(b"hello".to_vec().into()))
        .await;
    match a.recv_raw().await {
        WsMessage::Pong(payload) => assert_eq!(&payload[..], b"hello"),
        other => panic!("expected a pong, got {other:?}"),
    }
    assert!(a.join(9).await.participants.is_empty());
}

#[tokio::test]
async fn the_http_port_serves_the_voice_socket_at_ws_for_same_origin_pages() {
    let srv = start_server().await;
    let base = srv.http_url().replacen("http://", "ws://", 1);
    let a = login(&srv, "ayse").await;
    let b = login(&srv, "burak").await;
    // `/ws?token=`, and `/ws/?token=`: what a client given the base URL `…/ws` opens.
    let mut a = Client::open_url(&format!("{base}/ws?token={}", a.token), a).await;
    let mut b = Client::open_url(&format!("{base}/ws/?token={}", b.token), b).await;
    a.join(4).await;
    let listed = b.join(4).await.participants;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_id, a.id());
    a.expect("voice:user-joined").await;
    b.send_json(offer(4, b.id(), a.id())).await;
    assert!(matches!(a.expect("voice:offer").await, Message::Offer(_)));
    match tokio_tungstenite::connect_async(format!("{base}/ws/?token=not.a.jwt")).await {
        Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected HTTP 401, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn upgrade_without_a_valid_token_is_refused_with_401() {
    let srv = start_server().await;
    for url in [
        format!("{}/", srv.ws_url()),
        format!("{}/?token=", srv.ws_url()),
        format!("{}/?token=not.a.jwt", srv.ws_url()),
    ] {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401, "{url}"),
            other => panic!("{url}: expected HTTP 401, got {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped_and_announced_as_left() {
    let srv = start_with(|cfg| cfg.ws_ping_ms = 100).await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(11).await;
    b.join(11).await;
    // B now never reads again, so its client never answers the server's pings (a dead
    // peer); A keeps reading and answering, and stays.
    match a.recv().await {
        Message::UserJoined(j) => assert_eq!(j.user.user_id, b.id()),
        other => panic!("{other:?}"),
    }
    match a.recv().await {
        Message::UserLeft(l) => assert_eq!((l.channel_id, l.user_id), (11, b.id())),
        other => panic!("{other:?}"),
    }
    assert!(
        a.join(11).await.participants.is_empty(),
        "A's socket is still alive"
    );
}

#[tokio::test]
async fn client_close_gets_a_close_frame_back_and_the_room_hears_user_left() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(12).await;
    b.join(12).await;
    a.expect("voice:user-joined").await;
    b.send_frame(WsMessage::Close(None)).await;
    match b.recv_raw().await {
        WsMessage::Close(_) => {}
        other => panic!("expected the server's close frame, got {other:?}"),
    }
    a.expect("voice:user-left").await;
}
