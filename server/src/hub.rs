//! The voice hub: every live WebSocket connection, every voice room and its members, and
//! delivery of encoded frames to connections. One `std::sync::Mutex` guards it all; no
//! `.await` happens while it is held (delivery is a non-blocking channel send), so message
//! handling is serialised per server, which keeps join/leave/relay free of races.
//!
//! Membership belongs to the connection that joined: closing that socket removes the user
//! from the room, closing another socket of the same user does not. Messages addressed to a
//! user (relays, room broadcasts) reach all of that user's sockets; replies (voice:participants
//! and its follow-ups, voice:error) go to the connection that asked.
//!
//! Server-built frames are serialised like the codec's `encode` (type first, payload last,
//! numeric ids) but without its 4096-byte limit: that limit is the C++ server's *inbound*
//! read size, and a voice:participants list of a large room may exceed it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use sohbet_rtc::mode::policy::{ModePolicy, PolicyConfig};
use sohbet_rtc::signal::{to_json, CallMode, ChannelId, ErrorReport, Message, UserId};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::Notify;

use crate::auth::UserInfo;
use crate::clock::Clock;
use crate::livekit::Minter;
use crate::metrics::Metrics;
use crate::voice::VoiceError;

/// Identifies one WebSocket connection for its lifetime.
pub type ConnId = u64;

/// Frames queued for one connection before it counts as stuck and is dropped.
pub const OUTBOUND_QUEUE: usize = 1024;

/// The hub's side of one connection: a bounded frame queue and a kill switch.
pub(crate) struct Conn {
    pub(crate) user: UserInfo,
    tx: mpsc::Sender<String>,
    kill: Arc<Notify>,
}

impl Conn {
    /// Queues a frame; a connection whose queue is full (it stopped reading) is dropped.
    pub(crate) fn deliver(&self, text: String) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(text) {
            tracing::warn!(
                user = self.user.id,
                "outbound queue full; dropping the socket"
            );
            self.kill.notify_one();
        }
    }

    /// Asks the connection task to drop its socket without a close handshake.
    pub(crate) fn kill(&self) {
        self.kill.notify_one();
    }
}

/// The connection task's side: frames to write, and the signal to drop the socket.
pub struct ConnTask {
    pub rx: mpsc::Receiver<String>,
    pub kill: Arc<Notify>,
}

/// One voice member: who, through which connection, and the state a newcomer must see.
pub(crate) struct Member {
    pub(crate) conn: ConnId,
    pub(crate) info: UserInfo,
    pub(crate) muted: bool,
    pub(crate) video_enabled: bool,
}

/// A live voice room: members in user-id order plus the channel's mode policy.
pub(crate) struct Room {
    pub(crate) members: BTreeMap<UserId, Member>,
    pub(crate) policy: ModePolicy,
}

/// Settings the hub needs from the server configuration.
pub struct HubSettings {
    pub policy: PolicyConfig,
    pub send_mode_change: bool,
}

pub(crate) struct HubState {
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) rooms: BTreeMap<ChannelId, Room>,
    next_conn: ConnId,
}

/// The shared voice hub.
pub struct Hub {
    state: Mutex<HubState>,
    pub(crate) settings: HubSettings,
    pub(crate) clock: Clock,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) minter: Arc<Minter>,
}

impl Hub {
    pub fn new(
        settings: HubSettings,
        clock: Clock,
        metrics: Arc<Metrics>,
        minter: Arc<Minter>,
    ) -> Self {
        Hub {
            state: Mutex::new(HubState {
                conns: HashMap::new(),
                rooms: BTreeMap::new(),
                next_conn: 0,
            }),
            settings,
            clock,
            metrics,
            minter,
        }
    }

    /// Locks the state; a poisoned lock (a panic elsewhere) is recovered, not propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an authenticated connection; returns its id and the task's receiving side.
    pub fn connect(&self, user: UserInfo) -> (ConnId, ConnTask) {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let kill = Arc::new(Notify::new());
        let mut st = self.lock();
        st.next_conn += 1;
        let id = st.next_conn;
        let conn = Conn {
            user,
            tx,
            kill: kill.clone(),
        };
        st.conns.insert(id, conn);
        self.metrics.ws_connected();
        (id, ConnTask { rx, kill })
    }

    /// Forgets a connection and removes its user from every room it joined through it,
    /// telling the rest of each room (voice:user-left).
    pub fn disconnect(&self, conn: ConnId) {
        let mut st = self.lock();
        let joined: Vec<(ChannelId, UserId)> = st
            .rooms
            .iter()
            .flat_map(|(cid, room)| {
                room.members
                    .iter()
                    .filter(|(_, m)| m.conn == conn)
                    .map(|(uid, _)| (*cid, *uid))
            })
            .collect();
        for (channel_id, user_id) in joined {
            self.remove_member(&mut st, channel_id, user_id);
        }
        st.conns.remove(&conn);
    }

    /// Asks every socket of `user_id` to drop (dev hook); returns how many were asked.
    pub fn drop_user(&self, user_id: UserId) -> usize {
        let st = self.lock();
        st.conns
            .values()
            .filter(|c| c.user.id == user_id)
            .map(Conn::kill)
            .count()
    }

    /// Asks every open socket to drop (server stop).
    pub fn drop_all(&self) {
        for c in self.lock().conns.values() {
            c.kill();
        }
    }

    /// Sends `voice:error {code, message}` to one connection.
    pub fn refuse(&self, conn: ConnId, error: &VoiceError) {
        let st = self.lock();
        self.refuse_locked(&st, conn, error);
    }

    pub(crate) fn refuse_locked(&self, st: &HubState, conn: ConnId, error: &VoiceError) {
        self.metrics.frame_refused(error.code());
        let report = Message::Error(ErrorReport {
            code: error.code().to_owned(),
            message: error.to_string(),
        });
        send_to_conn(st, conn, &report);
    }

    /// The mode the channel advertises (P2P when nobody is in voice).
    pub fn channel_mode(&self, channel_id: ChannelId) -> CallMode {
        self.lock()
            .rooms
            .get(&channel_id)
            .map_or(CallMode::P2p, |r| r.policy.mode())
    }

    /// Live voice members of a channel.
    pub fn participant_count(&self, channel_id: ChannelId) -> usize {
        self.lock()
            .rooms
            .get(&channel_id)
            .map_or(0, |r| r.members.len())
    }

    /// `(live rooms per mode, total members, open connections)` for /metrics.
    pub fn snapshot(&self) -> (BTreeMap<&'static str, usize>, usize, usize) {
        let st = self.lock();
        let mut per_mode = BTreeMap::from([("p2p", 0), ("sfu", 0)]);
        for room in st.rooms.values() {
            *per_mode.entry(room.policy.mode().as_str()).or_insert(0) += 1;
        }
        let members = st.rooms.values().map(|r| r.members.len()).sum();
        (per_mode, members, st.conns.len())
    }

    /// Removes a member, tells the others, feeds the policy, and erases an emptied room.
    pub(crate) fn remove_member(&self, st: &mut HubState, channel_id: ChannelId, user: UserId) {
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return;
        };
        if room.members.remove(&user).is_none() {
            return;
        }
        if room.members.is_empty() {
            st.rooms.remove(&channel_id);
            return;
        }
        let left = Message::UserLeft(sohbet_rtc::signal::UserLeft {
            channel_id,
            user_id: user,
        });
        broadcast(st, channel_id, &left, None);
        self.feed_count(st, channel_id);
    }
}

/// Serialises and sends a message to one connection.
pub(crate) fn send_to_conn(st: &HubState, conn: ConnId, msg: &Message) {
    if let Some(c) = st.conns.get(&conn) {
        c.deliver(to_json(msg));
    }
}

/// Sends an already-encoded frame to every socket of a user.
pub(crate) fn send_text_to_user(st: &HubState, user: UserId, text: &str) {
    for c in st.conns.values().filter(|c| c.user.id == user) {
        c.deliver(text.to_owned());
    }
}

/// Sends a message to every socket of every member of a room, except `skip`.
pub(crate) fn broadcast(st: &HubState, channel_id: ChannelId, msg: &Message, skip: Option<UserId>) {
    let Some(room) = st.rooms.get(&channel_id) else {
        return;
    };
    let text = to_json(msg);
    for uid in room.members.keys().filter(|uid| Some(**uid) != skip) {
        send_text_to_user(st, *uid, &text);
    }
}
