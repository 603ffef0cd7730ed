//! The registry of live voice connections, indexed by connection id and by user, so a
//! delivery costs O(the recipient's sockets) and never walks every connection (issue 13
//! §10). Both indexes are sharded maps (`dashmap`): connecting, disconnecting and delivering
//! in unrelated rooms do not contend. Each [`Conn`] owns a bounded frame queue
//! ([`OUTBOUND_QUEUE`]) and an end signal carrying why the server ended it.
//!
//! Back-pressure (§1, §2): a relay to a connection with [`RELAY_HIGH_WATER`] frames queued is
//! refused (the *sender* gets `target-busy`), so a flooder cannot push its victim out; a
//! connection whose queue is full anyway has stopped reading and is dropped as a slow
//! consumer, logged once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use sohbet_rtc::signal::{ChannelId, UserId};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::Notify;

use crate::auth::UserInfo;
use crate::limits::CLOSE_TOO_MANY_SOCKETS;
pub use crate::limits::{OUTBOUND_QUEUE, RELAY_HIGH_WATER};

/// Identifies one WebSocket connection for its lifetime.
pub type ConnId = u64;

/// Why the server ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Drop the TCP connection without a close frame, as a network failure would
    /// (dev drop-connections, server stop, a slow consumer that cannot take a close frame).
    Drop { metric: Option<&'static str> },
    /// Send a close frame with this code and reason, then drop.
    Close {
        code: u16,
        reason: &'static str,
        metric: &'static str,
    },
}

/// One live connection: who, its frame queue, and its end signal.
pub struct Conn {
    pub id: ConnId,
    pub user: UserInfo,
    tx: mpsc::Sender<String>,
    kill: Notify,
    end: OnceLock<End>,
    /// The voice channel joined through this socket (0 = none): one at a time.
    joined: AtomicU64,
}

/// Outcome of queueing a relayed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Yes,
    /// Over the relay high-water mark: not queued.
    Busy,
    /// The connection is gone or has just been dropped.
    Gone,
}

impl Conn {
    /// Queues a server event; a connection whose queue is full has stopped reading and is
    /// dropped (its rooms get voice:user-left once its task ends).
    pub fn deliver(&self, text: String) -> Queued {
        match self.tx.try_send(text) {
            Ok(()) => Queued::Yes,
            Err(TrySendError::Full(_)) => {
                if self.end(End::Drop {
                    metric: Some("slow-consumer"),
                }) {
                    tracing::warn!(
                        conn = self.id,
                        user = self.user.id,
                        "outbound queue full: slow consumer, dropping the socket"
                    );
                }
                Queued::Gone
            }
            Err(TrySendError::Closed(_)) => Queued::Gone,
        }
    }

    /// Queues a relayed frame unless the queue is past the relay high-water mark.
    pub fn deliver_relay(&self, text: String) -> Queued {
        if OUTBOUND_QUEUE - self.tx.capacity() >= RELAY_HIGH_WATER {
            return Queued::Busy;
        }
        self.deliver(text)
    }

    /// Asks the connection task to end; the first reason wins. True if this call set it.
    pub fn end(&self, why: End) -> bool {
        let first = self.end.set(why).is_ok();
        self.kill.notify_one();
        first
    }

    /// Why the server ended the connection, once it has.
    pub fn end_reason(&self) -> Option<End> {
        self.end.get().copied()
    }

    /// Resolves once the server asked this connection to end.
    pub async fn ended(&self) {
        self.kill.notified().await;
    }

    pub fn joined(&self) -> Option<ChannelId> {
        match self.joined.load(Ordering::Acquire) {
            0 => None,
            id => Some(id),
        }
    }

    pub(crate) fn set_joined(&self, channel: Option<ChannelId>) {
        self.joined.store(channel.unwrap_or(0), Ordering::Release);
    }
}

/// The connection task's side: frames to write and the connection itself.
pub struct ConnTask {
    pub rx: mpsc::Receiver<String>,
    pub conn: Arc<Conn>,
}

/// All live connections, by id and by user (oldest first).
#[derive(Default)]
pub struct Registry {
    by_id: DashMap<ConnId, Arc<Conn>>,
    by_user: DashMap<UserId, Vec<Arc<Conn>>>,
    next: AtomicU64,
}

impl Registry {
    /// Registers a connection. Past `per_user` sockets of this user the oldest are closed
    /// with [`CLOSE_TOO_MANY_SOCKETS`].
    pub fn connect(&self, user: UserInfo, per_user: usize) -> ConnTask {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let user_id = user.id;
        let conn = Arc::new(Conn {
            id,
            user,
            tx,
            kill: Notify::new(),
            end: OnceLock::new(),
            joined: AtomicU64::new(0),
        });
        self.by_id.insert(id, conn.clone());
        let mut sockets = self.by_user.entry(user_id).or_default();
        sockets.push(conn.clone());
        let live: Vec<&Arc<Conn>> = sockets
            .iter()
            .filter(|c| c.end_reason().is_none())
            .collect();
        for old in live.iter().take(live.len().saturating_sub(per_user.max(1))) {
            tracing::info!(
                conn = old.id,
                user = user_id,
                "too many sockets: closing the oldest"
            );
            old.end(End::Close {
                code: CLOSE_TOO_MANY_SOCKETS,
                reason: "too many sockets for this user",
                metric: "too-many-sockets",
            });
        }
        ConnTask { rx, conn }
    }

    /// Forgets a connection; returns it if it was registered.
    pub fn remove(&self, id: ConnId) -> Option<Arc<Conn>> {
        let (_, conn) = self.by_id.remove(&id)?;
        let user = conn.user.id;
        if let Some(mut sockets) = self.by_user.get_mut(&user) {
            sockets.retain(|c| c.id != id);
        }
        self.by_user
            .remove_if(&user, |_, sockets| sockets.is_empty());
        Some(conn)
    }

    pub fn get(&self, id: ConnId) -> Option<Arc<Conn>> {
        self.by_id.get(&id).map(|c| c.clone())
    }

    /// Calls `f` on every socket of `user`.
    pub fn for_user(&self, user: UserId, mut f: impl FnMut(&Conn)) {
        if let Some(sockets) = self.by_user.get(&user) {
            sockets.iter().for_each(|c| f(c));
        }
    }

    /// Ends every socket of `user`; returns how many.
    pub fn end_user(&self, user: UserId, why: End) -> usize {
        let mut n = 0;
        self.for_user(user, |c| {
            c.end(why);
            n += 1;
        });
        n
    }

    /// Ends every socket.
    pub fn end_all(&self, why: End) {
        self.by_id.iter().for_each(|c| {
            c.end(why);
        });
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
