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
use crate::metrics::{Metrics, ModeGauges};
use crate::migration::{Migration, Strategy, Timing};
use crate::records::ChannelRecord;
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
    /// voice:join said `supports_sfu: true` (H9); legacy clients ignore voice:mode-change.
    pub(crate) supports_sfu: bool,
}

/// A live voice room: members in user-id order, the channel's mode policy (what the channel
/// should be), its settled mode (what it is) and the migration in progress between the two.
pub(crate) struct Room {
    pub(crate) members: BTreeMap<UserId, Member>,
    pub(crate) policy: ModePolicy,
    /// `P2p` or `Sfu`: the mode of the last completed migration.
    pub(crate) mode: CallMode,
    /// The migration in progress (never a finished one).
    pub(crate) migration: Option<Migration>,
    /// voice:degraded-mode was sent for the current crossing above the P2P limit.
    pub(crate) degraded: bool,
    /// The policy pre-warms the SFU (opportunistic strategy): members sent the pre-warm.
    pub(crate) prewarmed: Option<std::collections::BTreeSet<UserId>>,
}

impl Room {
    pub(crate) fn new(policy: PolicyConfig) -> Self {
        Room {
            members: BTreeMap::new(),
            policy: ModePolicy::new(policy),
            mode: CallMode::P2p,
            migration: None,
            degraded: false,
            prewarmed: None,
        }
    }

    /// The mode a joiner is told: the migration's target while one runs, else the mode.
    pub(crate) fn advertised_mode(&self) -> CallMode {
        self.migration.as_ref().map_or(self.mode, Migration::target)
    }

    /// `p2p`, `sfu` or `migrating` (REST, metrics).
    pub(crate) fn settled_mode(&self) -> CallMode {
        if self.migration.is_some() {
            CallMode::Migrating
        } else {
            self.mode
        }
    }
}

/// Settings the hub needs from the server configuration.
pub struct HubSettings {
    pub policy: PolicyConfig,
    pub send_mode_change: bool,
    pub strategy: Strategy,
    pub timing: Timing,
    /// False while probing is on and has not yet reached livekit-server.
    pub sfu_reachable_at_start: bool,
}

pub(crate) struct HubState {
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) rooms: BTreeMap<ChannelId, Room>,
    /// Overrides and history per channel (kept while the room is empty).
    pub(crate) records: BTreeMap<ChannelId, ChannelRecord>,
    pub(crate) sfu_reachable: bool,
    pub(crate) next_migration: u64,
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
                records: BTreeMap::new(),
                sfu_reachable: settings.sfu_reachable_at_start,
                next_migration: 0,
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

    /// The channel's settled mode: `P2p`, `Sfu` or `Migrating` (P2P when nobody is in voice).
    pub fn channel_mode(&self, channel_id: ChannelId) -> CallMode {
        self.lock()
            .rooms
            .get(&channel_id)
            .map_or(CallMode::P2p, Room::settled_mode)
    }

    /// Whether `user` is a live voice member of the channel.
    pub fn is_member(&self, channel_id: ChannelId, user: UserId) -> bool {
        self.lock()
            .rooms
            .get(&channel_id)
            .is_some_and(|r| r.members.contains_key(&user))
    }

    /// Live voice members of a channel.
    pub fn participant_count(&self, channel_id: ChannelId) -> usize {
        self.lock()
            .rooms
            .get(&channel_id)
            .map_or(0, |r| r.members.len())
    }

    /// The live gauges for /metrics.
    pub fn snapshot(&self) -> ModeGauges {
        let st = self.lock();
        let mut gauges = ModeGauges {
            connections: st.conns.len(),
            sfu_reachable: st.sfu_reachable,
            ..ModeGauges::default()
        };
        for mode in ["p2p", "sfu", "migrating"] {
            gauges.channels.insert(mode, 0);
            gauges.participants.insert(mode, 0);
        }
        for room in st.rooms.values() {
            let mode = room.settled_mode().as_str();
            *gauges.channels.entry(mode).or_insert(0) += 1;
            *gauges.participants.entry(mode).or_insert(0) += room.members.len();
        }
        gauges.in_progress = gauges.channels.get("migrating").copied().unwrap_or(0);
        gauges
    }

    /// Removes a member, tells the others, updates the migration and the policy, and
    /// erases an emptied room.
    pub(crate) fn remove_member(&self, st: &mut HubState, channel_id: ChannelId, user: UserId) {
        let now = self.clock.now_ms();
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return;
        };
        if room.members.remove(&user).is_none() {
            return;
        }
        if room.members.is_empty() {
            self.abandon(st, channel_id, now);
            st.rooms.remove(&channel_id);
            return;
        }
        let actions = room
            .migration
            .as_mut()
            .map(|m| m.member_left(user, now))
            .unwrap_or_default();
        let mut effects = self.apply(st, channel_id, actions, now);
        let left = Message::UserLeft(sohbet_rtc::signal::UserLeft {
            channel_id,
            user_id: user,
        });
        broadcast(st, channel_id, &left, None);
        effects.extend(self.reevaluate(st, channel_id, now));
        self.emit(st, channel_id, effects);
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
