//! Helpers for migration tests: a stand-in for livekit-server's HTTP side that the server's
//! health probe can reach (and that can be killed), a server watching it, REST polling, a
//! helper that joins many hybrid clients, and LiveKit token decoding.

use std::time::Duration;

use serde_json::Value;
use sohbet_server::{Config, RunningServer};

use super::{http, start_with, Client, RECV_TIMEOUT};

/// A stand-in for livekit-server's HTTP side: answers every request `200 OK`, as
/// livekit-server answers `GET /`. Dropping it (or [`FakeSfu::kill`]) closes the port.
pub struct FakeSfu {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSfu {
    pub async fn start() -> FakeSfu {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = tcp.read(&mut buf).await;
                    let _ = tcp
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                        )
                        .await;
                });
            }
        });
        FakeSfu { addr, task }
    }

    /// `ws://<addr>`, what LIVEKIT_URL would say.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops answering: the port is closed, as when livekit-server dies.
    pub fn kill(&self) {
        self.task.abort();
    }
}

impl Drop for FakeSfu {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server whose probe watches a running [`FakeSfu`] every 50 ms; returns once the server
/// reports the SFU reachable.
pub async fn start_with_sfu(tweak: impl FnOnce(&mut Config)) -> (RunningServer, FakeSfu) {
    let sfu = FakeSfu::start().await;
    let url = sfu.url();
    let srv = start_with(|cfg| {
        cfg.livekit_url = url;
        cfg.sfu_probe_ms = 50;
        cfg.sfu_probe_timeout_ms = 200;
        tweak(cfg);
    })
    .await;
    wait_for(&srv, "/api/voice/sfu-health", |v| v["reachable"] == true).await;
    (srv, sfu)
}

/// GETs a JSON path of the server.
pub async fn get_json(srv: &RunningServer, path: &str) -> Value {
    http()
        .get(format!("{}{path}", srv.http_url()))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON body")
}

/// Polls a JSON path every 20 ms until `ok` holds (5 s at most); returns the last body.
pub async fn wait_for(srv: &RunningServer, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
    loop {
        let v = get_json(srv, path).await;
        if ok(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never matched: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET /api/voice/channels/:id`.
pub async fn channel(srv: &RunningServer, id: u64) -> Value {
    get_json(srv, &format!("/api/voice/channels/{id}")).await
}

/// `GET /api/voice/channels/:id/migrations`.
pub async fn migrations(srv: &RunningServer, id: u64) -> Value {
    get_json(srv, &format!("/api/voice/channels/{id}/migrations")).await
}

/// Joins `n` new hybrid clients to `channel` one by one (earlier ones consume the
/// user-joined); returns them. The last joiner's own messages are not consumed beyond
/// voice:participants.
pub async fn join_many(srv: &RunningServer, channel: u64, n: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for i in 0..n {
        let mut c = Client::new(srv, &format!("user{i}")).await;
        c.join(channel).await;
        for earlier in clients.iter_mut() {
            earlier.expect("voice:user-joined").await;
        }
        clients.push(c);
    }
    clients
}

/// Decodes a LiveKit token with the dev secret (`secret`).
pub fn livekit_claims(token: &str) -> Value {
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(b"secret"),
        &validation,
    )
    .expect("token verifies with the LiveKit dev secret")
    .claims
}
