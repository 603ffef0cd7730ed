//! Issue 13 §3, §4, §5 and §7 with real sockets against a production-mode server: one room
//! per socket, a bounded number of sockets per user, no voice room for a channel that does
//! not exist, private channels and deletion for their creator only, SFU tokens only for
//! live members, dev endpoints off, and no start with the LiveKit dev secret.

mod common;

use common::*;
use serde_json::{json, Value};
use sohbet_rtc::signal::Message;
use sohbet_server::{start, Config};

#[tokio::test]
async fn a_socket_is_in_one_room_at_a_time() {
    let srv = start_with(production).await;
    let mut hopper = Client::open(&srv, forge_user(11, 600)).await;
    let mut watcher = Client::open(&srv, forge_user(12, 600)).await;
    watcher.join(1).await;
    hopper.join(1).await;
    watcher.expect("voice:user-joined").await;
    for channel in [2, 3, 2] {
        hopper.join(channel).await;
    }
    match watcher.recv().await {
        Message::UserLeft(l) => assert_eq!((l.channel_id, l.user_id), (1, 11)),
        other => panic!("expected user-left, got {other:?}"),
    }
    let rooms: Vec<u64> = [1, 2, 3]
        .iter()
        .map(|c| srv.state().hub().participant_count(*c) as u64)
        .collect();
    assert_eq!(rooms, [1, 1, 0], "the hopper is only in its last channel");
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_sockets_the_oldest_is_closed() {
    let srv = start_with(|c| {
        production(c);
        c.limits.sockets_per_user = 3;
    })
    .await;
    let user = forge_user(21, 600);
    let mut oldest = Client::open(&srv, user.clone()).await;
    oldest.join(1).await;
    let mut friend = Client::open(&srv, forge_user(22, 600)).await;
    friend.join(1).await;
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(Client::open(&srv, user.clone()).await);
    }
    assert_eq!(oldest.expect_close_code().await, Some(4008));
    friend.expect("voice:user-left").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        srv.state().hub().connection_count(),
        4,
        "3 of the user + friend"
    );
    // The newest sockets work.
    rest[2].join(1).await;
    friend.expect("voice:user-joined").await;
}

#[tokio::test]
async fn voice_join_of_a_missing_channel_is_refused_in_production_allowed_in_dev() {
    let srv = start_with(production).await;
    let mut c = Client::open(&srv, forge_user(31, 600)).await;
    c.send_json(
        json!({"type": "voice:join", "payload": {"channel_id": 777, "supports_sfu": true}}),
    )
    .await;
    c.expect_error("unknown-channel").await;
    assert_eq!(srv.state().hub().participant_count(777), 0);
    c.join(1).await;

    let dev = start_server().await;
    let mut d = Client::new(&dev, "dev").await;
    d.join(60_000).await;
}

async fn create(srv: &sohbet_server::RunningServer, token: &str, body: Value) -> Value {
    let res = http()
        .post(format!("{}/api/voice/channels", srv.http_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn private_channels_admit_their_creator_and_only_creators_delete() {
    let srv = start_with(production).await;
    let (owner, stranger) = (forge_user(41, 600), forge_user(42, 600));
    let private = create(
        &srv,
        &owner.token,
        json!({"name": "Mine", "channel_type": "private"}),
    )
    .await;
    let id = private["id"].as_u64().unwrap();
    let mut s = Client::open(&srv, stranger.clone()).await;
    s.send_json(json!({"type": "voice:join", "payload": {"channel_id": id}}))
        .await;
    s.expect_error("forbidden").await;
    let rest_join = http()
        .post(format!("{}/api/voice/channels/{id}/join", srv.http_url()))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest_join.status(), 403);
    let mut o = Client::open(&srv, owner.clone()).await;
    o.join(id).await;

    let delete = |token: String, id: u64| {
        let url = format!("{}/api/voice/channels/{id}", srv.http_url());
        async move {
            http()
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(delete(stranger.token.clone(), id).await, 403);
    assert_eq!(
        delete(owner.token.clone(), 1).await,
        403,
        "seeded channels stay"
    );
    assert_eq!(delete(owner.token.clone(), id).await, 200);
}

#[tokio::test]
async fn sfu_tokens_are_only_minted_for_live_members() {
    let srv = start_with(production).await;
    let eavesdropper = forge_user(51, 600);
    let mint = |token: String| {
        let url = format!("{}/api/voice/channels/1/sfu-token", srv.http_url());
        async move {
            http()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(mint(eavesdropper.token.clone()).await, 403);
    let mut member = Client::open(&srv, forge_user(52, 600)).await;
    member.join(1).await;
    assert_eq!(mint(member.user.token.clone()).await, 200);
    member.leave(1).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        mint(member.user.token.clone()).await,
        403,
        "not after leaving"
    );
}

#[tokio::test]
async fn dev_endpoints_are_off_and_cors_is_closed_in_production() {
    let srv = start_with(production).await;
    for path in ["/api/dev/login", "/api/dev/drop-connections"] {
        let res = http()
            .post(format!("{}{path}", srv.http_url()))
            .json(&json!({"username": "x", "user_id": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = http()
        .get(format!("{}/api/voice/channels", srv.http_url()))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_server_refuses_to_start_with_the_livekit_dev_secret_outside_dev_mode() {
    let mut cfg = Config::ephemeral();
    cfg.livekit_api_secret = "secret".into();
    let err = start(cfg).await.err().expect("start is refused");
    assert_eq!(err.code(), "insecure-livekit-secret");
    assert!(err.to_string().contains("SOHBET_DEV=1"));
    let mut dev = Config::ephemeral();
    dev.dev_mode = true;
    assert!(start(dev).await.is_ok(), "dev mode may use it");
}
