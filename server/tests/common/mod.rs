//! Shared helpers for the server's integration tests: start the real server in-process on
//! ephemeral ports, log users in over REST, and drive real WebSocket clients that decode
//! every frame with the `sohbet_rtc::signal` codec (so every test also proves the server's
//! frames are wire-compatible).
#![allow(dead_code)]

mod sfu;
#[allow(unused_imports)]
pub use sfu::*;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sohbet_rtc::signal::{decode_frame, Decoded, Message, ModeChange, Participants};
use sohbet_server::{start, Config, RunningServer};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

/// The user-JWT secret of test servers (so tests can also forge bad tokens).
pub const TEST_JWT_SECRET: &str = "test-jwt-secret";
/// How long a test waits for an expected frame before failing (longer than the server's
/// longest deliberate wait, the 5 s pre-warm hold).
pub const RECV_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a test listens to prove that nothing arrives.
pub const QUIET: Duration = Duration::from_millis(250);

/// A test configuration: dev mode (dev login), ephemeral ports, known secrets, no mode
/// cool-down, fast ticks, and no SFU probe (livekit-server is assumed reachable;
/// `start_with_sfu` probes a real one). Abuse tests turn dev mode off with [`production`].
pub fn test_config() -> Config {
    let mut cfg = Config::ephemeral();
    cfg.jwt_secret = TEST_JWT_SECRET.into();
    cfg.livekit_url = "ws://127.0.0.1:7880".into();
    cfg.policy.cooldown_ms = 0;
    cfg.tick_ms = 50;
    cfg.sfu_probe_ms = 0;
    cfg.dev_mode = true;
    cfg
}

pub async fn start_server() -> RunningServer {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> RunningServer {
    let mut cfg = test_config();
    tweak(&mut cfg);
    start(cfg).await.expect("server starts on ephemeral ports")
}

/// A logged-in dev user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub university: String,
    pub token: String,
}

pub async fn login(srv: &RunningServer, username: &str) -> User {
    let body = json!({ "username": username, "university": format!("{username} Uni") });
    let res = reqwest::Client::new()
        .post(format!("{}/api/dev/login", srv.http_url()))
        .json(&body)
        .send()
        .await
        .expect("login request");
    assert_eq!(res.status(), 200, "dev login succeeds");
    let v: Value = res.json().await.expect("login JSON");
    User {
        id: v["user"]["id"].as_u64().expect("numeric user id"),
        username: v["user"]["username"].as_str().unwrap_or_default().into(),
        university: v["user"]["university"].as_str().unwrap_or_default().into(),
        token: v["token"].as_str().expect("token").into(),
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One real WebSocket connection of a user.
pub struct Client {
    pub user: User,
    ws: Ws,
}

impl Client {
    /// Logs a new user in and opens their voice socket.
    pub async fn new(srv: &RunningServer, username: &str) -> Client {
        let user = login(srv, username).await;
        Client::open(srv, user).await
    }

    /// Opens another socket for an existing user.
    pub async fn open(srv: &RunningServer, user: User) -> Client {
        let url = format!("{}/?token={}", srv.ws_url(), user.token);
        Client::open_url(&url, user).await
    }

    /// Opens a socket for `user` at a full URL (its token already in it).
    pub async fn open_url(url: &str, user: User) -> Client {
        let (ws, _) = connect_async(url).await.expect("WebSocket upgrade");
        Client { user, ws }
    }

    pub fn id(&self) -> u64 {
        self.user.id
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.ws
            .send(WsMessage::Text(text.into()))
            .await
            .expect("send text frame");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends several text frames in one TCP write (the way a browser's back-to-back sends
    /// often reach the server: coalesced into one read).
    pub async fn send_coalesced(&mut self, texts: &[String]) {
        for text in texts {
            self.ws
                .feed(WsMessage::Text(text.clone().into()))
                .await
                .expect("queue text frame");
        }
        self.ws.flush().await.expect("flush frames");
    }

    pub async fn send_frame(&mut self, frame: WsMessage) {
        self.ws.send(frame).await.expect("send frame");
    }

    /// The next raw text frame (pings/pongs skipped); panics on timeout or close.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let next = tokio::time::timeout(RECV_TIMEOUT, self.ws.next())
                .await
                .expect("a frame arrives in time");
            match next {
                Some(Ok(WsMessage::Text(t))) => return t.to_string(),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next raw WebSocket frame of any kind (pings and pongs included).
    pub async fn recv_raw(&mut self) -> WsMessage {
        match tokio::time::timeout(RECV_TIMEOUT, self.ws.next()).await {
            Ok(Some(Ok(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, decoded with the codec into exactly one voice message.
    pub async fn recv(&mut self) -> Message {
        let text = self.recv_text().await;
        let mut decoded = decode_frame(&text);
        assert_eq!(decoded.len(), 1, "one envelope per frame: {text}");
        match decoded.remove(0) {
            Ok(Decoded::Voice(msg)) => msg,
            other => panic!("frame did not decode as a voice message: {other:?} ({text})"),
        }
    }

    /// The next message, which must be of `type_name`.
    pub async fn expect(&mut self, type_name: &str) -> Message {
        let msg = self.recv().await;
        assert_eq!(msg.type_name(), type_name, "unexpected message: {msg:?}");
        msg
    }

    /// The next message must be voice:error with this code; returns its text.
    pub async fn expect_error(&mut self, code: &str) -> String {
        match self.recv().await {
            Message::Error(e) => {
                assert_eq!(e.code, code, "error code ({})", e.message);
                e.message
            }
            other => panic!("expected voice:error {code}, got {other:?}"),
        }
    }

    /// Asserts that no text frame arrives for [`QUIET`].
    pub async fn expect_silence(&mut self) {
        loop {
            match tokio::time::timeout(QUIET, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Waits for the server to end the connection (close frame, EOF or reset).
    pub async fn expect_closed(&mut self) {
        loop {
            let next = tokio::time::timeout(RECV_TIMEOUT, self.ws.next())
                .await
                .expect("the socket ends in time");
            match next {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(other)) => panic!("expected the socket to end, got {other:?}"),
            }
        }
    }

    /// Sends voice:join as the hybrid client does (`supports_sfu: true`) and returns the
    /// voice:participants reply.
    pub async fn join(&mut self, channel_id: u64) -> Participants {
        self.send_json(json!({"type": "voice:join", "payload": {
            "channel_id": channel_id, "supports_sfu": true, "client_version": "test"}}))
            .await;
        self.expect_participants().await
    }

    /// Sends voice:join as an old client does (no `supports_sfu`).
    pub async fn join_legacy(&mut self, channel_id: u64) -> Participants {
        self.send_json(json!({"type": "voice:join", "payload": {"channel_id": channel_id}}))
            .await;
        self.expect_participants().await
    }

    async fn expect_participants(&mut self) -> Participants {
        match self.recv().await {
            Message::Participants(p) => p,
            other => panic!("expected voice:participants, got {other:?}"),
        }
    }

    /// The next message must be voice:mode-change.
    pub async fn expect_mode_change(&mut self) -> ModeChange {
        match self.recv().await {
            Message::ModeChange(m) => m,
            other => panic!("expected voice:mode-change, got {other:?}"),
        }
    }

    /// The next message must be voice:rollback; returns its reason.
    pub async fn expect_rollback(&mut self) -> String {
        match self.recv().await {
            Message::Rollback(r) => r.reason,
            other => panic!("expected voice:rollback, got {other:?}"),
        }
    }

    /// Sends voice:mode-change-ack.
    pub async fn ack(&mut self, channel_id: u64, success: bool, error: Option<&str>) {
        let mut payload =
            json!({"channel_id": channel_id, "user_id": self.id(), "success": success});
        if let Some(error) = error {
            payload["error"] = json!(error);
        }
        self.send_json(json!({"type": "voice:mode-change-ack", "payload": payload}))
            .await;
    }

    pub async fn leave(&mut self, channel_id: u64) {
        self.send_json(json!({"type": "voice:leave", "payload": {"channel_id": channel_id}}))
            .await;
    }

    pub async fn mute(&mut self, channel_id: u64, muted: bool) {
        self.send_json(
            json!({"type": "voice:mute", "payload": {"channel_id": channel_id, "muted": muted}}),
        )
        .await;
    }

    /// Closes the socket with a proper close handshake.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(RECV_TIMEOUT, self.ws.next()).await {}
    }
}

/// A voice:offer payload from `from` to `to` in `channel`.
pub fn offer(channel: u64, from: u64, to: u64) -> Value {
    json!({"type": "voice:offer", "payload": {
        "channel_id": channel, "target_user_id": to, "from_user_id": from,
        "offer": {"type": "offer", "sdp": format!("v=0\r\no=- {from} 2 IN IP4 127.0.0.1\r\n")}
    }})
}

/// A voice:ice-candidate payload from `from` to `to` in `channel`.
pub fn candidate(channel: u64, from: u64, to: u64) -> Value {
    json!({"type": "voice:ice-candidate", "payload": {
        "channel_id": channel, "target_user_id": to, "from_user_id": from,
        "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
                      "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}
    }})
}

/// An HTTP client plus the server's base URL.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// The server's Prometheus text from `GET /metrics`.
pub async fn metrics_text(srv: &RunningServer) -> String {
    http()
        .get(format!("{}/metrics", srv.http_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Production mode for abuse tests: no dev endpoints, no voice rooms for unknown channels,
/// a non-dev LiveKit secret. Users come from [`forge_user`], not the dev login.
pub fn production(cfg: &mut sohbet_server::Config) {
    cfg.dev_mode = false;
    cfg.livekit_api_secret = "a-production-livekit-secret-0123456789".into();
}

/// A user with a token signed by the test secret, valid for `ttl_secs` from now.
pub fn forge_user(id: u64, ttl_secs: u64) -> User {
    use sohbet_server::auth::{UserClaims, USER_TOKEN_TTL_SECS};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = UserClaims {
        sub: id.to_string(),
        username: format!("user{id}"),
        university: String::new(),
        iat: now,
        exp: now + ttl_secs.min(USER_TOKEN_TTL_SECS),
    };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    User {
        id,
        username: claims.username,
        university: String::new(),
        token,
    }
}

impl Client {
    /// Waits for the server's close frame and returns its code (None: dropped without one).
    pub async fn expect_close_code(&mut self) -> Option<u16> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(15), self.ws.next())
                .await
                .expect("the socket ends in time");
            match next {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads and discards frames until a voice message of `type_name` arrives.
    pub async fn skip_until(&mut self, type_name: &str) -> Message {
        loop {
            let msg = self.recv().await;
            if msg.type_name() == type_name {
                return msg;
            }
        }
    }
}

/// The value of one unlabelled sample (or the first sample starting with `series`).
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
