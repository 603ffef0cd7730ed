//! Load benchmark of the reference server (issue 13; design.md testing tier 4). The server
//! runs as its own process (the release binary) and this process is the load generator: real
//! WebSocket clients on loopback, one user per socket, rooms of eight. Phases:
//! 1. 1,000 sockets join (burst) and every member relays `RELAY_FRAMES` ice-candidates to its
//!    neighbour → `server_relay_per_sec_1k` and its p95 latency;
//! 2. 9,000 more sockets join in one burst → `server_joins_per_sec` (ending at 10,000 members)
//!    and the join p95; then all 10,000 relay → `server_relay_per_sec_10k` (the p95 of a
//!    burst is mostly queueing behind it), and again paced at 25,000 relays/s →
//!    `server_relay_paced_p95_ms_10k`;
//! 3. sockets are added in batches until `LOAD_BENCH_MAX_SOCKETS` (default 25,000) or the
//!    first refusal → `server_max_sockets`, with the server's resident memory per socket, and
//!    a relay round among the first 1,000 proves the server still delivers.
//!
//! Each phase reports how the two processes shared the CPU (cores used by each). It prints
//! `BENCH name=value` lines for `scripts/bench_merge.mjs`, never fails on speed, bounds every
//! wait, and kills the server when it ends.
//! Run: `cargo build -p sohbet-server --release --examples --bins && target/release/examples/load_bench`

mod child;
mod fleet;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use sohbet_server::auth::{Auth, UserInfo};

use child::{cpu_split, ServerProcess, Usage};
use fleet::{now_us, Client, Stats};

const ROOM_SIZE: usize = 8;
/// Candidates each member relays in a burst phase (all at once: throughput).
const RELAY_FRAMES: usize = 50;
/// Candidates each member relays in the paced phase (latency below saturation).
const PACED_FRAMES: usize = 10;
/// Sockets per loopback source address (each address has ~28k ephemeral ports).
const PER_SOURCE_IP: usize = 10_000;
/// A wait gives up after this long without progress.
const STALL: Duration = Duration::from_secs(5);

struct Bench {
    server: ServerProcess,
    auth: Auth,
    stats: Arc<Stats>,
    clients: Vec<Client>,
}

/// CPU cores used by the server and by the generator over one phase.
struct Phase {
    start_us: u64,
    server: Usage,
    generator: Usage,
}

impl Phase {
    fn begin(bench: &Bench) -> Self {
        Phase {
            start_us: now_us(),
            server: bench.server.usage(),
            generator: Usage::of("self"),
        }
    }
    fn cores(&self, bench: &Bench) -> (f64, f64) {
        let wall = (now_us() - self.start_us) as f64 / 1e6;
        cpu_split(
            wall,
            (self.server, bench.server.usage()),
            (self.generator, Usage::of("self")),
        )
    }
}

/// Waits until `done` or until `progress` stops moving for [`STALL`]; true when done.
async fn wait_for(done: impl Fn() -> bool, progress: impl Fn() -> usize) -> bool {
    let (mut last, mut since) = (progress(), now_us());
    while !done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = progress();
        if now != last {
            (last, since) = (now, now_us());
        } else if now_us() - since > STALL.as_micros() as u64 {
            return false;
        }
    }
    true
}

impl Bench {
    /// Connects sockets until there are `total`; returns the first failure, if any.
    async fn grow(&mut self, total: usize) -> Option<String> {
        let from = self.clients.len();
        let addr = self.server.ws_addr;
        let mut pending = stream::iter(from..total)
            .map(|i| {
                let user = UserInfo {
                    id: i as u64 + 1,
                    username: format!("load{i}"),
                    university: String::new(),
                };
                let token = self.auth.issue(&user, unix_now()).unwrap_or_default();
                let local = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i / PER_SOURCE_IP) as u8));
                let room = (i / ROOM_SIZE) as u64 + 1;
                let stats = self.stats.clone();
                async move { fleet::connect(addr, local, &token, user.id, room, stats).await }
            })
            .buffered(64);
        while let Some(result) = pending.next().await {
            match result {
                Ok(client) => self.clients.push(client),
                Err(e) => return Some(e),
            }
        }
        None
    }

    /// Sends voice:join from every client from index `from` on, in one burst; returns
    /// (joins, joins per second from the first send to the last answer, p50 ms, p95 ms).
    async fn join_from(&mut self, from: usize) -> Result<(usize, f64, f64, f64), String> {
        self.stats.join_lat.reset();
        let before = self.stats.joined.load(Ordering::Relaxed);
        let n = self.clients.len() - from;
        let t0 = now_us();
        for client in &mut self.clients[from..] {
            client.join().await?;
        }
        let joined = || self.stats.joined.load(Ordering::Relaxed) - before;
        if !wait_for(|| joined() >= n, joined).await {
            return Err(format!("only {} of {n} joins answered", joined()));
        }
        let secs = (self.stats.last_join_us.load(Ordering::Relaxed) - t0) as f64 / 1e6;
        let lat = &self.stats.join_lat;
        Ok((
            n,
            n as f64 / secs,
            lat.percentile_ms(0.5),
            lat.percentile_ms(0.95),
        ))
    }

    /// The first `senders` clients each send `frames` candidates to the next member of their
    /// room, `gap` apart (zero: all at once); returns (frames delivered, per second, p50 ms,
    /// p95 ms).
    async fn relay(
        &mut self,
        senders: usize,
        frames: usize,
        gap: Duration,
    ) -> Result<(usize, f64, f64, f64), String> {
        self.stats.relay_lat.reset();
        let before = self.stats.relayed.load(Ordering::Relaxed);
        let t0 = now_us();
        let mut tasks = Vec::with_capacity(senders);
        for i in 0..senders {
            let room_start = i - i % ROOM_SIZE;
            let room_len = ROOM_SIZE.min(senders - room_start);
            let target = self.clients[room_start + (i - room_start + 1) % room_len].id;
            // Paced senders are spread evenly over the gap, as independent clients would be.
            let offset = gap * i as u32 / senders as u32;
            let task = self.clients[i].start_relay(target, frames, gap, offset);
            tasks.push(task.ok_or("a client is already relaying")?);
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let sink = task.await.map_err(|e| e.to_string())?;
            self.clients[i].finish_relay(sink);
        }
        let expected = senders * frames;
        let got = || self.stats.relayed.load(Ordering::Relaxed) - before;
        wait_for(|| got() >= expected, got).await;
        let got = got();
        if got < expected {
            println!("relay: {got} of {expected} frames delivered");
        }
        let secs = (self.stats.last_relay_us.load(Ordering::Relaxed) - t0) as f64 / 1e6;
        let lat = &self.stats.relay_lat;
        Ok((
            got,
            got as f64 / secs,
            lat.percentile_ms(0.5),
            lat.percentile_ms(0.95),
        ))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Lifts the open-file limit for this process and the server it starts (a root shell may
/// raise the hard limit; otherwise the soft one goes up to the hard one).
fn raise_fd_limit() -> u64 {
    let want = 262_144;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, want, want).is_ok() {
        return want;
    }
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

async fn run() -> Result<(), String> {
    let max_goal: usize = std::env::var("LOAD_BENCH_MAX_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    let fds = raise_fd_limit();
    let secret = uuid::Uuid::new_v4().to_string();
    let server = ServerProcess::start(&secret)?;
    let mut bench = Bench {
        server,
        auth: Auth::new(&secret, 0),
        stats: Stats::new(),
        clients: Vec::new(),
    };
    let rss_start = bench.server.usage().rss_kib;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("load_bench: {cores} cores shared by server and generator; open-file limit {fds}");

    // Phase 1: 1,000 members.
    if let Some(e) = bench.grow(1_000).await {
        return Err(format!("connecting 1,000 sockets: {e}"));
    }
    let (n, per_sec, _, p95) = bench.join_from(0).await?;
    println!("join burst: {n} joins at 1k sockets, {per_sec:.0}/s, p95 {p95:.2} ms");
    let phase = Phase::begin(&bench);
    let (got, relay_1k, p50_1k, p95_1k) = bench.relay(1_000, RELAY_FRAMES, Duration::ZERO).await?;
    let (srv, gen) = phase.cores(&bench);
    println!(
        "relay 1k: {got} frames, {relay_1k:.0}/s, p50 {p50_1k:.2} ms, p95 {p95_1k:.2} ms; \
         CPU: server {srv:.2} cores, generator {gen:.2} cores"
    );
    println!("BENCH server_relay_per_sec_1k={relay_1k:.0}");
    println!("BENCH server_relay_p95_ms_1k={p95_1k:.2}");

    // Phase 2: 10,000 members.
    if let Some(e) = bench.grow(10_000).await {
        return Err(format!("connecting 10,000 sockets: {e}"));
    }
    let phase = Phase::begin(&bench);
    let (n, joins, p50, p95) = bench.join_from(1_000).await?;
    let (srv, gen) = phase.cores(&bench);
    println!(
        "join burst: {n} joins up to 10k sockets, {joins:.0}/s, p50 {p50:.2} ms, p95 {p95:.2} ms; \
         CPU: server {srv:.2} cores, generator {gen:.2} cores"
    );
    println!("BENCH server_joins_per_sec={joins:.0}");
    println!("BENCH server_join_p95_ms={p95:.2}");
    let phase = Phase::begin(&bench);
    let (got, relay_10k, p50_10k, p95_10k) =
        bench.relay(10_000, RELAY_FRAMES, Duration::ZERO).await?;
    let (srv, gen) = phase.cores(&bench);
    println!(
        "relay 10k: {got} frames, {relay_10k:.0}/s, p50 {p50_10k:.2} ms, p95 {p95_10k:.2} ms; \
         CPU: server {srv:.2} cores, generator {gen:.2} cores; 1k/10k ratio {:.2}",
        relay_1k / relay_10k
    );
    println!("BENCH server_relay_per_sec_10k={relay_10k:.0}");
    println!("BENCH server_relay_p95_ms_10k={p95_10k:.2}");
    println!("BENCH server_relay_cpu_cores_10k={srv:.2}");
    println!("BENCH generator_relay_cpu_cores_10k={gen:.2}");
    // The same 10,000 members at a steady rate well below saturation (one candidate per
    // member every 400 ms: 25,000 relays/s), where latency is the server's, not a queue's.
    let phase = Phase::begin(&bench);
    let (got, paced, p50, p95) = bench
        .relay(10_000, PACED_FRAMES, Duration::from_millis(400))
        .await?;
    let (srv, gen) = phase.cores(&bench);
    println!(
        "paced relay 10k: {got} frames at {paced:.0}/s, p50 {p50:.2} ms, p95 {p95:.2} ms; \
         CPU: server {srv:.2} cores, generator {gen:.2} cores"
    );
    println!("BENCH server_relay_paced_p95_ms_10k={p95:.2}");

    // Phase 3: as many members as the goal, in batches, until the first refusal.
    let mut refusal = None;
    while bench.clients.len() < max_goal && refusal.is_none() {
        let from = bench.clients.len();
        refusal = bench.grow((from + 2_500).min(max_goal)).await;
        if bench.clients.len() > from {
            bench.join_from(from).await?;
        }
    }
    if let Some(e) = &refusal {
        println!(
            "stopped at {} sockets, the next was refused ({e}); server open-file limit {fds}, \
             its connection cap is that minus 256",
            bench.clients.len()
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let open = bench.clients.len() - bench.stats.closed.load(Ordering::Relaxed);
    let rss = bench.server.usage().rss_kib;
    let per_socket = rss.saturating_sub(rss_start) as f64 / open.max(1) as f64;
    let (got, per_sec, _, p95) = bench.relay(1_000, RELAY_FRAMES, Duration::ZERO).await?;
    println!(
        "at {open} open sockets: server RSS {} MiB ({per_socket:.1} KiB per socket); \
         relay among 1,000 still delivers {got} frames, {per_sec:.0}/s, p95 {p95:.2} ms",
        rss / 1024
    );
    let errors = bench.stats.voice_errors.load(Ordering::Relaxed);
    println!("voice:error frames received during the whole run: {errors}");
    println!("BENCH server_max_sockets={open}");
    println!("BENCH server_rss_kib_per_socket={per_socket:.1}");
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("load_bench failed: {e}");
        std::process::exit(1);
    }
}
