//! Load benchmark of the reference server (design.md "Testing tiers" 4: server load). Starts
//! the real server in-process on loopback ephemeral ports, fills `ROOMS` voice rooms of
//! `PER_ROOM` real WebSocket clients, and prints `BENCH name=value` lines for
//! `scripts/bench_merge.mjs`:
//! - join latency (voice:join sent → voice:participants received), p50/p95 in ms;
//! - relay throughput: every member sends `FRAMES` ice-candidates to its neighbour;
//!   relayed frames per second until the last one arrives;
//! - process RSS growth per open connection (client and server share the process).
//!
//! It never fails on speed; every loop is bounded and it stops by itself.
//! Run: `cargo run -p sohbet-server --release --example load_bench`

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sohbet_rtc::signal::{decode_frame, Decoded, Message};
use sohbet_server::{start, Config};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

const ROOMS: u64 = 20;
const PER_ROOM: usize = 8;
const FRAMES: usize = 200;
const DEADLINE: Duration = Duration::from_secs(120);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Member {
    id: u64,
    ws: Ws,
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads frames until one decodes as `type_name`; None on timeout or close.
async fn wait_for(ws: &mut Ws, type_name: &str) -> Option<Message> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
            .ok()?;
        let WsMessage::Text(text) = frame else {
            continue;
        };
        for item in decode_frame(text.as_str()) {
            if let Ok(Decoded::Voice(msg)) = item {
                if msg.type_name() == type_name {
                    return Some(msg);
                }
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn login(http: &reqwest::Client, base: &str, name: &str) -> Result<(u64, String), String> {
    let v: serde_json::Value = http
        .post(format!("{base}/api/dev/login"))
        .json(&json!({ "username": name }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = v["user"]["id"].as_u64().ok_or("no id")?;
    let token = v["token"].as_str().ok_or("no token")?.to_owned();
    Ok((id, token))
}

async fn run() -> Result<(), String> {
    let mut cfg = Config::ephemeral();
    cfg.tokens_per_minute = usize::MAX;
    let srv = start(cfg).await.map_err(|e| e.to_string())?;
    let http = reqwest::Client::new();
    let rss_before = rss_kib();

    // Join phase: rooms fill one member at a time; each join is timed individually.
    let mut rooms: Vec<Vec<Member>> = Vec::new();
    let mut join_ms = Vec::new();
    for room in 1..=ROOMS {
        let mut members = Vec::new();
        for i in 0..PER_ROOM {
            let (id, token) = login(&http, &srv.http_url(), &format!("r{room}u{i}")).await?;
            let url = format!("{}/?token={token}", srv.ws_url());
            let (mut ws, _) = connect_async(url).await.map_err(|e| e.to_string())?;
            let join = json!({"type": "voice:join", "payload": {"channel_id": room}});
            let t0 = Instant::now();
            ws.send(WsMessage::Text(join.to_string().into()))
                .await
                .map_err(|e| e.to_string())?;
            wait_for(&mut ws, "voice:participants")
                .await
                .ok_or("no voice:participants")?;
            join_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            members.push(Member { id, ws });
        }
        rooms.push(members);
    }
    let conns = (ROOMS as usize) * PER_ROOM;
    let rss_after = rss_kib();
    join_ms.sort_by(f64::total_cmp);

    // Drain the user-joined announcements so the relay phase reads only relays.
    for members in rooms.iter_mut() {
        for (i, m) in members.iter_mut().enumerate() {
            for _ in i + 1..PER_ROOM {
                wait_for(&mut m.ws, "voice:user-joined")
                    .await
                    .ok_or("missing user-joined")?;
            }
        }
    }

    // Relay phase: everyone sends FRAMES candidates to its right-hand neighbour at once.
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (room_idx, members) in rooms.into_iter().enumerate() {
        let channel = room_idx as u64 + 1;
        let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
        for (i, member) in members.into_iter().enumerate() {
            let target = ids[(i + 1) % ids.len()];
            tasks.push(tokio::spawn(relay_member(member, channel, target)));
        }
    }
    let mut received = 0usize;
    for task in tasks {
        received += task.await.map_err(|e| e.to_string())??;
    }
    let relay_secs = t0.elapsed().as_secs_f64();

    println!("BENCH server_connections={conns}");
    println!("BENCH server_join_p50_ms={:.2}", percentile(&join_ms, 0.5));
    println!("BENCH server_join_p95_ms={:.2}", percentile(&join_ms, 0.95));
    println!(
        "BENCH server_relay_frames_per_sec={:.0}",
        received as f64 / relay_secs
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let per_conn = after.saturating_sub(before) as f64 / conns as f64;
        println!("BENCH server_rss_kib_per_connection_incl_client={per_conn:.1}");
    }
    drop(srv);
    Ok(())
}

/// Sends FRAMES candidates to `target` while reading what the neighbour on the left sends;
/// returns how many relayed frames this member received.
async fn relay_member(member: Member, channel: u64, target: u64) -> Result<usize, String> {
    let Member { id, ws } = member;
    let (mut sink, mut stream) = ws.split();
    let frame = json!({"type": "voice:ice-candidate", "payload": {
        "channel_id": channel, "target_user_id": target, "from_user_id": id,
        "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
                      "sdpMid": "0", "sdpMLineIndex": 0}}})
    .to_string();
    let sender = tokio::spawn(async move {
        for _ in 0..FRAMES {
            if sink
                .send(WsMessage::Text(frame.clone().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        sink
    });
    let deadline = Instant::now() + DEADLINE;
    let mut got = 0;
    while got < FRAMES && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(WsMessage::Text(t)))) if t.as_str().contains("voice:ice-candidate") => {
                got += 1
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    let _ = sender.await;
    Ok(got)
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("load_bench failed: {e}");
        std::process::exit(1);
    }
}
