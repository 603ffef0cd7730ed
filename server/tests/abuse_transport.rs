//! Issue 13 §6, §8, §9, §10 and §11 with real sockets: silent or trickling HTTP connections
//! are closed by the header timeout, connections over the caps are closed at once while the
//! admitted ones keep working, transport protocol violations get their close code (1002,
//! 1007, 1009), a socket is closed with 4001 when its token expires, rooms on different
//! shards work concurrently, and /metrics has the process metrics and no name collision.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until EOF (or a reset); returns how long that took, None if still open at `limit`.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t0.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn silent_and_trickling_http_connections_are_closed_by_the_header_timeout() {
    let srv = start_with(|c| c.limits.header_timeout_ms = 300).await;
    let mut silent = TcpStream::connect(srv.http_addr).await.unwrap();
    let mut trickle = TcpStream::connect(srv.ws_addr).await.unwrap();
    trickle
        .write_all(b"GET /?token=x HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    for tcp in [&mut silent, &mut trickle] {
        let took = closed_within(tcp, Duration::from_secs(3)).await;
        assert!(took.is_some_and(|t| t < Duration::from_secs(2)), "{took:?}");
    }
}

#[tokio::test]
async fn connections_over_the_caps_are_closed_and_admitted_ones_keep_working() {
    let srv = start_with(|c| {
        c.limits.max_connections = 4;
        c.limits.header_timeout_ms = 30_000;
    })
    .await;
    let mut client = Client::new(&srv, "member").await;
    client.join(1).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(srv.http_addr).await.unwrap());
    }
    tokio::time::sleep(QUIET).await;
    let mut over = TcpStream::connect(srv.ws_addr).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(2))
        .await
        .is_some());
    client.mute(1, true).await;
    client.expect("voice:user-muted").await;
    drop(held);
    tokio::time::sleep(QUIET).await;
    let m = metrics_text(&srv).await;
    assert!(m.contains("http_connections_refused_total{reason=\"max-connections\"} 1"));

    let per_ip = start_with(|c| c.limits.max_connections_per_ip = 2).await;
    let _a = TcpStream::connect(per_ip.http_addr).await.unwrap();
    let _b = TcpStream::connect(per_ip.http_addr).await.unwrap();
    tokio::time::sleep(QUIET).await;
    let mut third = TcpStream::connect(per_ip.http_addr).await.unwrap();
    assert!(closed_within(&mut third, Duration::from_secs(2))
        .await
        .is_some());
}

/// Opens a voice socket by hand so raw frames can be written.
async fn raw_socket(srv: &sohbet_server::RunningServer, token: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(srv.ws_addr).await.unwrap();
    let req = format!(
        "GET /?token={token} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        srv.ws_addr
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    tcp
}

/// A masked client frame with this first byte and payload (< 126 bytes).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Reads server frames until a close frame; returns its code.
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(RECV_TIMEOUT, tcp.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        while buf.len() >= 2 {
            let len = (buf[1] & 0x7f) as usize;
            if buf.len() < 2 + len {
                break;
            }
            if buf[0] & 0x0f == 0x8 {
                return (len >= 2).then(|| u16::from_be_bytes([buf[2], buf[3]]));
            }
            buf.drain(..2 + len);
        }
    }
}

#[tokio::test]
async fn protocol_violations_get_their_close_code() {
    let srv = start_server().await;
    let user = login(&srv, "prober").await;
    let cases: [(&str, Vec<u8>, u16); 2] = [
        ("invalid UTF-8", frame(0x81, &[0xff, 0xfe, 0xfd]), 1007),
        ("reserved opcode", frame(0x83, b"x"), 1002),
    ];
    for (what, bytes, code) in cases {
        let mut tcp = raw_socket(&srv, &user.token).await;
        tcp.write_all(&bytes).await.unwrap();
        assert_eq!(close_code(&mut tcp).await, Some(code), "{what}");
    }
    let mut big = Client::open(&srv, user.clone()).await;
    big.send_text("x".repeat(300 * 1024)).await;
    assert_eq!(big.expect_close_code().await, Some(1009));
    let m = metrics_text(&srv).await;
    for code in ["1002", "1007", "1009"] {
        assert!(m.contains(&format!(
            "ws_closed_by_server_total{{reason=\"protocol-{code}\"}} 1"
        )));
    }
}

#[tokio::test]
async fn the_socket_is_closed_with_4001_when_its_token_expires() {
    let srv = start_with(production).await;
    let mut short = Client::open(&srv, forge_user(61, 2)).await;
    let mut peer = Client::open(&srv, forge_user(62, 600)).await;
    short.join(1).await;
    peer.join(1).await;
    short.expect("voice:user-joined").await;
    let t0 = Instant::now();
    assert_eq!(short.expect_close_code().await, Some(4001));
    assert!(t0.elapsed() < Duration::from_secs(4));
    peer.expect("voice:user-left").await;
    // An expired token is refused at the upgrade (no leeway).
    let url = format!("{}/?token={}", srv.ws_url(), forge_user(63, 0).token);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn rooms_on_every_shard_relay_concurrently() {
    let srv = start_server().await;
    let mut tasks = Vec::new();
    for room in 0..32u64 {
        let (a, b) = (login(&srv, "a").await, login(&srv, "b").await);
        let (mut a, mut b) = (Client::open(&srv, a).await, Client::open(&srv, b).await);
        tasks.push(tokio::spawn(async move {
            let channel = 100 + room;
            a.join(channel).await;
            b.join(channel).await;
            a.expect("voice:user-joined").await;
            for _ in 0..20 {
                a.send_json(candidate(channel, a.id(), b.id())).await;
                b.expect("voice:ice-candidate").await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn metrics_carry_process_figures_and_no_name_collides() {
    let srv = start_server().await;
    let m = metrics_text(&srv).await;
    for name in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "ws_connections_open",
        "voice_migrations_started_total",
        "voice_rollbacks_executed_total",
        "voice_join_latency_seconds_bucket",
    ] {
        assert!(m.contains(name), "{name}");
    }
    assert!(metric_value(&m, "process_open_fds").is_some_and(|n| n > 0.0));
    let types: Vec<(&str, &str)> = m
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    for (name, kind) in &types {
        if *kind == "counter" {
            let base = name.trim_end_matches("_total");
            assert!(
                !types.iter().any(|(n, k)| *n == base && *k == "gauge"),
                "{base} collides"
            );
        }
    }
}
