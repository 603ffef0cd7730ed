//! The load generator's clients: real WebSocket connections to the server process, each with
//! a reader task that classifies what arrives (voice:participants answers a join, relayed
//! ice-candidates carry their send time) into shared counters and latency histograms.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

type Sink = SplitSink<WebSocketStream<TcpStream>, WsMessage>;

/// Microseconds since the bench started (one clock for senders and readers).
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Latency histogram: 20 µs buckets up to 5 s, the last bucket holds everything above.
pub struct Hist(Vec<AtomicU32>);

const BUCKET_US: u64 = 20;

impl Hist {
    fn new() -> Self {
        Hist((0..250_000).map(|_| AtomicU32::new(0)).collect())
    }
    fn record(&self, us: u64) {
        let i = ((us / BUCKET_US) as usize).min(self.0.len() - 1);
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }
    pub fn reset(&self) {
        self.0.iter().for_each(|b| b.store(0, Ordering::Relaxed));
    }
    /// The `p` quantile in milliseconds (bucket upper bound); NaN when empty.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let counts: Vec<u64> = self
            .0
            .iter()
            .map(|b| b.load(Ordering::Relaxed) as u64)
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((total as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        f64::NAN
    }
}

/// What all readers report.
pub struct Stats {
    pub joined: AtomicUsize,
    pub join_lat: Hist,
    pub relayed: AtomicUsize,
    pub relay_lat: Hist,
    pub last_relay_us: AtomicU64,
    pub last_join_us: AtomicU64,
    pub voice_errors: AtomicUsize,
    pub closed: AtomicUsize,
}

impl Stats {
    pub fn new() -> Arc<Self> {
        Arc::new(Stats {
            joined: AtomicUsize::new(0),
            join_lat: Hist::new(),
            relayed: AtomicUsize::new(0),
            relay_lat: Hist::new(),
            last_relay_us: AtomicU64::new(0),
            last_join_us: AtomicU64::new(0),
            voice_errors: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
        })
    }
}

/// One generator socket, a voice member of `room` once joined.
pub struct Client {
    pub id: u64,
    pub room: u64,
    sink: Option<Sink>,
    join_sent_us: Arc<AtomicU64>,
}

/// Opens a voice socket as user `id` from `local` (several loopback source addresses keep
/// the ephemeral ports of one address from running out).
pub async fn connect(
    server: SocketAddr,
    local: IpAddr,
    token: &str,
    id: u64,
    room: u64,
    stats: Arc<Stats>,
) -> Result<Client, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(local, 0))
        .map_err(|e| format!("bind {local}: {e}"))?;
    let tcp = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    // Small buffers: the generator holds as many sockets as the server does.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://{server}/?token={token}");
    let (ws, _) = client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (sink, mut stream) = ws.split();
    let join_sent_us = Arc::new(AtomicU64::new(0));
    let sent = join_sent_us.clone();
    tokio::spawn(async move {
        let mut answered = false;
        while let Some(Ok(frame)) = stream.next().await {
            let WsMessage::Text(text) = frame else {
                continue;
            };
            let text = text.as_str();
            if let Some(at) = text.find("bench-ts=") {
                let digits = &text[at + 9..];
                let end = digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len());
                if let Ok(ts) = digits[..end].parse::<u64>() {
                    let now = now_us();
                    stats.relay_lat.record(now.saturating_sub(ts));
                    stats.last_relay_us.fetch_max(now, Ordering::Relaxed);
                    stats.relayed.fetch_add(1, Ordering::Relaxed);
                }
            } else if !answered && text.contains("\"voice:participants\"") {
                answered = true;
                let now = now_us();
                stats
                    .join_lat
                    .record(now.saturating_sub(sent.load(Ordering::Relaxed)));
                stats.last_join_us.fetch_max(now, Ordering::Relaxed);
                stats.joined.fetch_add(1, Ordering::Relaxed);
            } else if text.contains("\"voice:error\"") {
                stats.voice_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        stats.closed.fetch_add(1, Ordering::Relaxed);
    });
    Ok(Client {
        id,
        room,
        sink: Some(sink),
        join_sent_us,
    })
}

impl Client {
    async fn send(&mut self, text: String) -> Result<(), String> {
        let sink = self.sink.as_mut().ok_or("sink in use")?;
        sink.send(WsMessage::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends voice:join for the client's room, noting the time for the join latency.
    pub async fn join(&mut self) -> Result<(), String> {
        self.join_sent_us.store(now_us(), Ordering::Relaxed);
        let text = format!(
            r#"{{"type":"voice:join","payload":{{"channel_id":{}}}}}"#,
            self.room
        );
        self.send(text).await
    }

    /// Starts a task sending `frames` ice-candidates to `target`, `gap` apart from `offset` on
    /// (zero gap: as fast as the socket takes them), each stamped with its send time; the
    /// client gets its sink back from [`Client::finish_relay`].
    pub fn start_relay(
        &mut self,
        target: u64,
        frames: usize,
        gap: Duration,
        offset: Duration,
    ) -> Option<RelayTask> {
        let mut sink = self.sink.take()?;
        let (room, from) = (self.room, self.id);
        Some(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + offset;
            let mut tick = (!gap.is_zero()).then(|| tokio::time::interval_at(start, gap));
            for _ in 0..frames {
                if let Some(tick) = tick.as_mut() {
                    tick.tick().await;
                }
                let text = format!(
                    r#"{{"type":"voice:ice-candidate","payload":{{"channel_id":{room},"target_user_id":{target},"from_user_id":{from},"candidate":{{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host bench-ts={}","sdpMid":"0","sdpMLineIndex":0}}}}}}"#,
                    now_us()
                );
                if sink.send(WsMessage::Text(text.into())).await.is_err() {
                    break;
                }
            }
            sink
        }))
    }

    pub fn finish_relay(&mut self, sink: Sink) {
        self.sink = Some(sink);
    }
}

pub type RelayTask = tokio::task::JoinHandle<Sink>;
