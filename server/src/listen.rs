//! The accept loop of both ports (issue 13 §6). Each TCP connection must get a slot from a
//! server-wide cap and, optionally, from a per-IP-address cap; over either it is closed at
//! once (counted in `http_connections_refused_total{reason}`), so half-open or trickling
//! clients can never use up the process's file descriptors. The slot lives inside the
//! connection's I/O object, so it is held by an upgraded WebSocket too and freed when the
//! socket finally closes. hyper serves HTTP/1.1 with a header-read timeout (also closing
//! idle keep-alive connections); TCP_NODELAY is set, since signalling frames are small and
//! latency-bound (Nagle + delayed ACK cost ~40 ms per relayed frame).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use dashmap::DashMap;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::quirks::OneFramePerRead;

/// Connection slots shared by both listeners.
pub struct ConnectionGate {
    total: Arc<Semaphore>,
    per_ip: Arc<DashMap<IpAddr, usize>>,
    max_per_ip: usize,
    header_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl ConnectionGate {
    pub fn new(
        max_total: usize,
        max_per_ip: usize,
        header_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        ConnectionGate {
            total: Arc::new(Semaphore::new(max_total.min(Semaphore::MAX_PERMITS))),
            per_ip: Arc::new(DashMap::new()),
            max_per_ip,
            header_timeout,
            metrics,
        }
    }

    /// A slot for a connection from `peer`, or the reason there is none.
    fn admit(&self, peer: IpAddr) -> Result<Slot, &'static str> {
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| "max-connections")?;
        if self.max_per_ip > 0 {
            let mut count = self.per_ip.entry(peer).or_insert(0);
            if *count >= self.max_per_ip {
                return Err("max-connections-per-ip");
            }
            *count += 1;
        }
        Ok(Slot {
            _permit: permit,
            per_ip: (self.max_per_ip > 0).then(|| (self.per_ip.clone(), peer)),
        })
    }
}

/// A held connection slot; dropping it frees the slot.
struct Slot {
    _permit: OwnedSemaphorePermit,
    per_ip: Option<(Arc<DashMap<IpAddr, usize>>, IpAddr)>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((map, ip)) = self.per_ip.take() {
            let emptied = map.get_mut(&ip).is_some_and(|mut n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
            if emptied {
                map.remove_if(&ip, |_, n| *n == 0);
            }
        }
    }
}

/// A TCP stream that holds its connection slot for as long as it lives; on the voice port
/// of a `--cpp-quirks` server its reads follow the C++ one-frame-per-read rule.
struct Admitted {
    tcp: TcpStream,
    _slot: Slot,
    reads: Option<OneFramePerRead>,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.reads.as_mut() {
            Some(reads) => reads.poll_read(Pin::new(&mut this.tcp), cx, buf),
            None => Pin::new(&mut this.tcp).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Accepts on `listener` and serves `router` on every admitted connection (with the C++
/// server's one-frame-per-read rule when `cpp_reads`).
pub fn serve(
    listener: TcpListener,
    router: Router,
    gate: Arc<ConnectionGate>,
    cpp_reads: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            };
            match gate.admit(peer.ip()) {
                Ok(slot) => {
                    let reads = cpp_reads.then(OneFramePerRead::new);
                    spawn_connection(
                        Admitted {
                            tcp,
                            _slot: slot,
                            reads,
                        },
                        peer,
                        router.clone(),
                        &gate,
                    )
                }
                Err(reason) => {
                    gate.metrics.connection_refused(reason);
                    tracing::debug!(%peer, reason, "connection refused");
                }
            }
        }
    })
}

fn spawn_connection(io: Admitted, peer: SocketAddr, router: Router, gate: &ConnectionGate) {
    if let Err(e) = io.tcp.set_nodelay(true) {
        tracing::debug!("set_nodelay failed: {e}");
    }
    let io = TokioIo::new(io);
    let service = TowerToHyperService::new(router);
    let header_timeout = gate.header_timeout;
    tokio::spawn(async move {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(64 * 1024);
        let conn = builder.serve_connection(io, service).with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(%peer, "connection ended: {e}");
        }
    });
}

/// Connection-level accept errors are the peer's; others (EMFILE) get a pause, as hyper did.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
