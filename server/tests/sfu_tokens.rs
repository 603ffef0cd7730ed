//! LiveKit token minting over real HTTP: every claim checked after decoding the token with
//! jsonwebtoken and the dev API secret, tokens for several users without any voice session,
//! 400/401 refusals and the per-user rate limit (429). Tokens carried by voice:mode-change
//! are tested with the migrations (migration_up.rs).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashSet;

use common::*;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sohbet_server::clock::unix_secs;

async fn mint(
    srv: &sohbet_server::RunningServer,
    token: Option<&str>,
    channel: &str,
) -> reqwest::Response {
    let mut req = http().post(format!(
        "{}/api/voice/channels/{channel}/sfu-token",
        srv.http_url()
    ));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("sfu-token request")
}

/// Decodes a LiveKit token with the dev secret, validating signature, exp, nbf and issuer.
fn claims(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["devkey"]);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    decode::<Value>(token, &DecodingKey::from_secret(b"secret"), &validation)
        .expect("token verifies with the LiveKit dev secret")
        .claims
}

#[tokio::test]
async fn minted_token_carries_every_livekit_claim() {
    let srv = start_server().await;
    let mut user = login(&srv, "ayse").await;
    // A username with markup is stripped and truncated in the token's `name`.
    let url = format!("{}/api/dev/login", srv.http_url());
    let long = format!("<b>Ayşe</b>{}", "x".repeat(80));
    let res: Value = http()
        .post(url)
        .json(&serde_json::json!({"username": long, "user_id": user.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    user.token = res["token"].as_str().unwrap().into();

    let before = unix_secs();
    let res = mint(&srv, Some(&user.token), "5").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let after = unix_secs();
    assert_eq!(body["url"], "ws://127.0.0.1:7880");
    assert_eq!(body["room"], "channel_5");
    assert_eq!(body["identity"], user.id.to_string());
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));

    let c = claims(body["token"].as_str().unwrap());
    assert_eq!(c["iss"], "devkey");
    assert_eq!(c["sub"], user.id.to_string());
    let name = c["name"].as_str().unwrap();
    assert!(name.starts_with("Ayşex") && !name.contains('<'), "{name}");
    assert_eq!(name.chars().count(), 50);
    let (nbf, iat, exp) = (
        c["nbf"].as_u64().unwrap(),
        c["iat"].as_u64().unwrap(),
        c["exp"].as_u64().unwrap(),
    );
    assert!(before <= iat && iat <= after, "iat is now");
    assert_eq!(nbf, iat);
    assert_eq!(exp - iat, 300, "five-minute expiry");
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    assert_eq!(
        c["video"],
        serde_json::json!({"room": "channel_5", "roomJoin": true, "canPublish": true,
                           "canSubscribe": true, "canPublishData": false})
    );
}

#[tokio::test]
async fn several_users_get_distinct_tokens_without_a_voice_session() {
    let srv = start_server().await;
    let mut jtis = HashSet::new();
    let mut subs = HashSet::new();
    for name in ["a", "b", "c"] {
        let user = login(&srv, name).await;
        for _ in 0..2 {
            let body: Value = mint(&srv, Some(&user.token), "77")
                .await
                .json()
                .await
                .unwrap();
            let c = claims(body["token"].as_str().unwrap());
            assert_eq!(c["video"]["room"], "channel_77");
            jtis.insert(c["jti"].as_str().unwrap().to_owned());
            subs.insert(c["sub"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(jtis.len(), 6, "every token has a unique jti");
    assert_eq!(subs.len(), 3);
}

#[tokio::test]
async fn token_requests_without_auth_or_with_bad_channel_are_refused() {
    let srv = start_server().await;
    let user = login(&srv, "a").await;
    assert_eq!(mint(&srv, None, "1").await.status(), 401);
    assert_eq!(mint(&srv, Some("nope"), "1").await.status(), 401);
    for bad in ["0", "1000001", "abc"] {
        let res = mint(&srv, Some(&user.token), bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    }
}

#[tokio::test]
async fn eleventh_token_in_a_minute_is_rate_limited_per_user() {
    let srv = start_server().await;
    let a = login(&srv, "a").await;
    let b = login(&srv, "b").await;
    for i in 0..10 {
        assert_eq!(
            mint(&srv, Some(&a.token), "1").await.status(),
            200,
            "token {i}"
        );
    }
    let refused = mint(&srv, Some(&a.token), "1").await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry));
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "Rate limit exceeded"
    );
    assert_eq!(
        mint(&srv, Some(&b.token), "1").await.status(),
        200,
        "other users are unaffected"
    );
}
