//! The REST surface of the in-process server over real HTTP: channel list/get/create/delete,
//! REST voice sessions (join/leave incl. 404 "No active session found"), 400/401/404 bodies
//! as `{error}`, the dev login, `mode`/`participants` in channel JSON, CORS for another
//! origin, static files, and /metrics.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use serde_json::{json, Value};

async fn get(url: String) -> (u16, Value) {
    let res = http().get(url).send().await.expect("GET");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http().request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn channel_list_shows_the_seeded_channels_with_filters_and_paging() {
    let srv = start_server().await;
    let (status, body) = get(format!("{}/api/voice/channels", srv.http_url())).await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 3);
    let first = &body["channels"][0];
    assert_eq!(
        (first["id"].as_u64(), first["name"].as_str()),
        (Some(1), Some("General"))
    );
    assert_eq!(first["channel_type"], "public");
    assert_eq!(first["active_users"], 0);
    assert_eq!(first["mode"], "p2p");
    assert_eq!(first["participants"], 0);
    let created: u64 = first["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .expect("epoch seconds as a string");
    assert!(created > 1_700_000_000);

    let (_, page) = get(format!(
        "{}/api/voice/channels?limit=1&offset=1",
        srv.http_url()
    ))
    .await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["channels"][0]["name"], "Study Room");
    let (_, groups) = get(format!(
        "{}/api/voice/channels?channel_type=group",
        srv.http_url()
    ))
    .await;
    assert_eq!(groups["count"], 0);
    let (status, err) = get(format!(
        "{}/api/voice/channels?channel_type=secret",
        srv.http_url()
    ))
    .await;
    assert_eq!(status, 400);
    assert!(err["error"].is_string());
}

#[tokio::test]
async fn single_channel_lookup_answers_400_and_404_with_error_bodies() {
    let srv = start_server().await;
    let (status, body) = get(format!("{}/api/voice/channels/3", srv.http_url())).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Large Hall")));
    let (status, body) = get(format!("{}/api/voice/channels/abc", srv.http_url())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("Invalid channel id"))
    );
    let (status, body) = get(format!("{}/api/voice/channels/999", srv.http_url())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("Channel not found"))
    );
}

#[tokio::test]
async fn creating_and_deleting_channels_needs_a_bearer_token() {
    let srv = start_server().await;
    let base = format!("{}/api/voice/channels", srv.http_url());
    let user = login(&srv, "ayse").await;
    let body = json!({ "name": "Late Night", "channel_type": "group" });

    let (status, err) = call(
        reqwest::Method::POST,
        base.clone(),
        None,
        Some(body.clone()),
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (401, Some("Unauthorized")));
    let (status, _) = call(
        reqwest::Method::POST,
        base.clone(),
        Some("garbage"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 401);

    let (status, made) = call(
        reqwest::Method::POST,
        base.clone(),
        Some(&user.token),
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        (made["name"].as_str(), made["channel_type"].as_str()),
        (Some("Late Night"), Some("group"))
    );
    assert_eq!(made["active_users"], 0);
    let iso = made["created_at"].as_str().unwrap();
    assert!(
        iso.len() == 20 && iso.ends_with('Z') && iso.as_bytes()[10] == b'T',
        "ISO-8601: {iso}"
    );
    let id = made["id"].as_u64().unwrap();
    let (_, list) = get(base.clone()).await;
    assert_eq!(list["count"], 4);

    for bad in [
        json!({}),
        json!({"name": "  "}),
        json!({"name": "x", "channel_type": "secret"}),
    ] {
        let (status, err) = call(
            reqwest::Method::POST,
            base.clone(),
            Some(&user.token),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400);
        assert!(err["error"].is_string());
    }

    let one = format!("{base}/{id}");
    let (status, _) = call(reqwest::Method::DELETE, one.clone(), None, None).await;
    assert_eq!(status, 401);
    let (status, ok) = call(
        reqwest::Method::DELETE,
        one.clone(),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!((status, ok["message"].is_string()), (200, true));
    assert_eq!(get(one.clone()).await.0, 404);
    assert_eq!(
        call(reqwest::Method::DELETE, one, Some(&user.token), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn rest_join_opens_a_session_and_leave_closes_it() {
    let srv = start_server().await;
    let user = login(&srv, "ayse").await;
    let join = format!("{}/api/voice/channels/2/join", srv.http_url());
    let leave = format!("{}/api/voice/channels/2/leave", srv.http_url());

    assert_eq!(
        call(reqwest::Method::POST, join.clone(), None, None)
            .await
            .0,
        401
    );
    let (status, session) =
        call(reqwest::Method::POST, join.clone(), Some(&user.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(session["channel_id"], 2);
    assert!(session["session_id"].as_u64().is_some());
    assert!(!session["connection_token"].as_str().unwrap().is_empty());
    assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));
    // Joining again replaces the session rather than adding one.
    call(reqwest::Method::POST, join.clone(), Some(&user.token), None).await;
    let (_, channel) = get(format!("{}/api/voice/channels/2", srv.http_url())).await;
    assert_eq!(channel["active_users"], 1);
    assert_eq!(
        channel["participants"], 0,
        "a REST session is not a live voice member"
    );

    let (status, ok) = call(
        reqwest::Method::DELETE,
        leave.clone(),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!((status, ok["message"].is_string()), (200, true));
    let (status, err) = call(reqwest::Method::DELETE, leave, Some(&user.token), None).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (404, Some("No active session found"))
    );

    let unknown = format!("{}/api/voice/channels/77/join", srv.http_url());
    assert_eq!(
        call(reqwest::Method::POST, unknown, Some(&user.token), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn dev_login_assigns_fresh_ids_or_takes_a_valid_one() {
    let srv = start_server().await;
    let a = login(&srv, "ayse").await;
    let b = login(&srv, "burak").await;
    assert_ne!(a.id, b.id);
    assert_eq!(a.university, "ayse Uni");
    let url = format!("{}/api/dev/login", srv.http_url());
    let (status, body) = call(
        reqwest::Method::POST,
        url.clone(),
        None,
        Some(json!({"username": "c", "user_id": 4242})),
    )
    .await;
    assert_eq!((status, body["user"]["id"].as_u64()), (200, Some(4242)));
    assert_eq!(body["user"]["university"], "");
    for bad in [
        json!({"username": "c", "user_id": 0}),
        json!({"username": "c", "user_id": 100_000_001u64}),
        json!({"university": "x"}),
    ] {
        assert_eq!(
            call(reqwest::Method::POST, url.clone(), None, Some(bad))
                .await
                .0,
            400
        );
    }
}

#[tokio::test]
async fn channel_json_counts_live_voice_members() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    a.join(1).await;
    b.join(1).await;
    let (_, channel) = get(format!("{}/api/voice/channels/1", srv.http_url())).await;
    assert_eq!(
        (channel["participants"].as_u64(), channel["mode"].as_str()),
        (Some(2), Some("p2p"))
    );
    b.leave(1).await;
    a.expect("voice:user-joined").await;
    a.expect("voice:user-left").await;
    let (_, channel) = get(format!("{}/api/voice/channels/1", srv.http_url())).await;
    assert_eq!(channel["participants"], 1);
}

#[tokio::test]
async fn cors_allows_a_page_on_another_origin() {
    let srv = start_server().await;
    let res = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/voice/channels/1/join", srv.http_url()),
        )
        .header("Origin", "http://127.0.0.1:9999")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // Browsers never let a `*` cover Authorization: it must be named.
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn static_directory_is_served_over_http() {
    let dir = std::env::temp_dir().join(format!("sohbet-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(dir.join("www/app.wasm"), b"\0asm").unwrap();
    let static_dir = dir.clone();
    let srv = start_with(move |cfg| cfg.static_dir = Some(static_dir)).await;
    let res = http()
        .get(format!("{}/www/index.html", srv.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "<h1>demo</h1>");
    let wasm = http()
        .get(format!("{}/www/app.wasm", srv.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(
        http()
            .get(format!("{}/www/nope.js", srv.http_url()))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/config"), "secret").unwrap();
    let hidden = http()
        .get(format!("{}/.git/config", srv.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404, "hidden files are never served");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn metrics_report_channels_participants_connections_and_refusals() {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    a.join(2).await;
    a.send_text("not json").await;
    a.expect_error("malformed").await;
    let text = metrics_text(&srv).await;
    assert!(
        text.contains("voice_active_channels{mode=\"p2p\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("voice_active_channels{mode=\"sfu\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("voice_participants{mode=\"p2p\"} 1"),
        "{text}"
    );
    assert!(text.contains("ws_connections_open 1"), "{text}");
    assert!(
        text.contains("voice_frames_refused_total{reason=\"malformed\"} 1"),
        "{text}"
    );
}
