//! The voice hub: voice rooms and their members, and delivery of encoded frames to
//! connections (issue 13 §10). Rooms are sharded by channel id over [`SHARDS`] mutexes, so
//! unrelated rooms never serialise on one lock; everything about one channel (its room,
//! migration, policy, records) lives in one shard and is changed under that shard's lock,
//! which keeps join/leave/relay/migration free of races exactly as one global lock did. No
//! `.await` happens under a shard lock (delivery is a non-blocking queue send). Connections
//! live in the sharded [`Registry`] (by id and by user), so a delivery is O(recipients).
//! Lock order: channel store → shard → registry; never the other way round.
//!
//! Membership belongs to the connection that joined: closing that socket removes the user
//! from the room, closing another socket of the same user does not. A socket is in at most
//! one room: joining another channel leaves the previous one. Messages addressed to a user
//! (relays, room broadcasts) reach all of that user's sockets; replies (voice:participants
//! and its follow-ups, voice:error) go to the connection that asked.
//!
//! Server-built frames are serialised like the codec's `encode` (type first, payload last,
//! numeric ids) but without its 4096-byte limit: that limit is the C++ server's *inbound*
//! read size, and a voice:participants list of a large room may exceed it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sohbet_rtc::mode::policy::{ModePolicy, PolicyConfig};
use sohbet_rtc::signal::{to_json, CallMode, ChannelId, ErrorReport, Message, UserId};

use crate::auth::UserInfo;
use crate::channels::ChannelStore;
use crate::clock::Clock;
pub use crate::conns::{Conn, ConnId, ConnTask, End, Queued, Registry, OUTBOUND_QUEUE};
use crate::livekit::Minter;
use crate::metrics::{Metrics, ModeGauges};
use crate::migration::{Migration, Strategy, Timing};
use crate::records::ChannelRecord;
use crate::voice::VoiceError;

/// Number of room shards (a power of two).
pub const SHARDS: usize = 64;

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
    pub(crate) prewarmed: Option<BTreeSet<UserId>>,
    /// Members that answered their pre-warm (acked once their SFU session was up, or refused).
    pub(crate) warm_answered: BTreeSet<UserId>,
    /// A switch to the SFU the policy decided, held (since then, ms) until every capable
    /// member of the pre-warmed room answered its pre-warm, so the switch is routing only.
    pub(crate) held_upgrade: Option<u64>,
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
            warm_answered: BTreeSet::new(),
            held_upgrade: None,
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
    /// Dev mode: voice rooms for channel ids the store does not have.
    pub allow_unknown_channels: bool,
    /// Voice sockets one user may hold.
    pub sockets_per_user: usize,
    /// The C++ server's message quirks ([`crate::Config::cpp_quirks`]).
    pub cpp_quirks: bool,
}

/// The rooms and records of the channels of one shard.
#[derive(Default)]
pub(crate) struct HubState {
    pub(crate) rooms: BTreeMap<ChannelId, Room>,
    /// Overrides and history per channel (kept while the room is empty).
    pub(crate) records: BTreeMap<ChannelId, ChannelRecord>,
}

/// The shared voice hub.
pub struct Hub {
    shards: Box<[Mutex<HubState>]>,
    pub(crate) conns: Registry,
    pub(crate) channels: Arc<Mutex<ChannelStore>>,
    sfu_reachable: AtomicBool,
    next_migration: AtomicU64,
    pub(crate) settings: HubSettings,
    pub(crate) clock: Clock,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) minter: Arc<Minter>,
}

impl Hub {
    pub fn new(
        settings: HubSettings,
        channels: Arc<Mutex<ChannelStore>>,
        clock: Clock,
        metrics: Arc<Metrics>,
        minter: Arc<Minter>,
    ) -> Self {
        Hub {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            conns: Registry::default(),
            channels,
            sfu_reachable: AtomicBool::new(settings.sfu_reachable_at_start),
            next_migration: AtomicU64::new(0),
            settings,
            clock,
            metrics,
            minter,
        }
    }

    /// Locks the shard of `channel_id`; a poisoned lock is recovered, not propagated.
    pub(crate) fn shard(&self, channel_id: ChannelId) -> MutexGuard<'_, HubState> {
        lock(&self.shards[(channel_id as usize) % SHARDS])
    }

    /// Every shard in turn (ticks, the SFU probe's verdict, gauges).
    pub(crate) fn each_shard(&self, mut f: impl FnMut(&mut HubState)) {
        for shard in self.shards.iter() {
            f(&mut lock(shard));
        }
    }

    pub(crate) fn sfu_reachable_now(&self) -> bool {
        self.sfu_reachable.load(Ordering::Acquire)
    }

    /// Stores the probe's verdict; true when it changed.
    pub(crate) fn swap_sfu_reachable(&self, reachable: bool) -> bool {
        self.sfu_reachable.swap(reachable, Ordering::AcqRel) != reachable
    }

    pub(crate) fn fresh_migration_id(&self) -> u64 {
        self.next_migration.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers an authenticated connection; returns the task's side (its id is
    /// `task.conn.id`). Past the per-user socket limit the user's oldest socket is closed.
    pub fn connect(&self, user: UserInfo) -> ConnTask {
        let task = self.conns.connect(user, self.settings.sockets_per_user);
        self.metrics.ws_connected();
        task
    }

    /// Forgets a connection and removes its user from the room it joined through it,
    /// telling the rest of the room (voice:user-left).
    pub fn disconnect(&self, conn: ConnId) {
        let Some(c) = self.conns.remove(conn) else {
            return;
        };
        if let Some(channel_id) = c.joined() {
            let mut st = self.shard(channel_id);
            self.remove_if_joined_through(&mut st, channel_id, c.user.id, conn);
        }
    }

    /// Removes `user` from the room if its membership belongs to `conn`.
    pub(crate) fn remove_if_joined_through(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        user: UserId,
        conn: ConnId,
    ) {
        let through = st
            .rooms
            .get(&channel_id)
            .and_then(|r| r.members.get(&user))
            .is_some_and(|m| m.conn == conn);
        if through {
            self.remove_member(st, channel_id, user);
        }
    }

    /// Asks every socket of `user_id` to drop (dev hook); returns how many were asked.
    pub fn drop_user(&self, user_id: UserId) -> usize {
        self.conns.end_user(user_id, End::Drop { metric: None })
    }

    /// Asks every open socket to drop (server stop).
    pub fn drop_all(&self) {
        self.conns.end_all(End::Drop { metric: None });
    }

    /// Open voice connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Sends `voice:error {code, message}` to one connection.
    pub fn refuse(&self, conn: ConnId, error: &VoiceError) {
        self.metrics.frame_refused(error.code());
        let report = Message::Error(ErrorReport {
            code: error.code().to_owned(),
            message: error.to_string(),
        });
        self.send_to_conn(conn, &report);
    }

    /// Serialises and sends a message to one connection.
    pub(crate) fn send_to_conn(&self, conn: ConnId, msg: &Message) {
        if let Some(c) = self.conns.get(conn) {
            c.deliver(to_json(msg));
        }
    }

    /// Sends an already-encoded frame to every socket of a user.
    pub(crate) fn send_text_to_user(&self, user: UserId, text: &str) {
        self.conns.for_user(user, |c| {
            c.deliver(text.to_owned());
        });
    }

    /// Sends a relayed frame to every socket of a user that is under the relay high-water
    /// mark; `Busy` when none could take it.
    pub(crate) fn relay_to_user(&self, user: UserId, text: &str) -> Queued {
        let mut outcome = Queued::Gone;
        self.conns
            .for_user(user, |c| match c.deliver_relay(text.to_owned()) {
                Queued::Yes => outcome = Queued::Yes,
                Queued::Busy if outcome == Queued::Gone => outcome = Queued::Busy,
                _ => {}
            });
        outcome
    }

    /// Sends a message to every socket of every member of a room, except `skip`.
    pub(crate) fn broadcast(
        &self,
        st: &HubState,
        channel_id: ChannelId,
        msg: &Message,
        skip: Option<UserId>,
    ) {
        let Some(room) = st.rooms.get(&channel_id) else {
            return;
        };
        let text = to_json(msg);
        for uid in room.members.keys().filter(|uid| Some(**uid) != skip) {
            self.send_text_to_user(*uid, &text);
        }
    }

    /// The channel's settled mode: `P2p`, `Sfu` or `Migrating` (P2P when nobody is in voice).
    pub fn channel_mode(&self, channel_id: ChannelId) -> CallMode {
        self.shard(channel_id)
            .rooms
            .get(&channel_id)
            .map_or(CallMode::P2p, Room::settled_mode)
    }

    /// Whether `user` is a live voice member of the channel.
    pub fn is_member(&self, channel_id: ChannelId, user: UserId) -> bool {
        self.shard(channel_id)
            .rooms
            .get(&channel_id)
            .is_some_and(|r| r.members.contains_key(&user))
    }

    /// Live voice members of a channel.
    pub fn participant_count(&self, channel_id: ChannelId) -> usize {
        self.shard(channel_id)
            .rooms
            .get(&channel_id)
            .map_or(0, |r| r.members.len())
    }

    /// The live gauges for /metrics.
    pub fn snapshot(&self) -> ModeGauges {
        let mut gauges = ModeGauges {
            connections: self.conns.len(),
            sfu_reachable: self.sfu_reachable_now(),
            ..ModeGauges::default()
        };
        for mode in ["p2p", "sfu", "migrating"] {
            gauges.channels.insert(mode, 0);
            gauges.participants.insert(mode, 0);
        }
        self.each_shard(|st| {
            for room in st.rooms.values() {
                let mode = room.settled_mode().as_str();
                *gauges.channels.entry(mode).or_insert(0) += 1;
                *gauges.participants.entry(mode).or_insert(0) += room.members.len();
            }
        });
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
        let Some(member) = room.members.remove(&user) else {
            return;
        };
        if let Some(c) = self.conns.get(member.conn) {
            if c.joined() == Some(channel_id) {
                c.set_joined(None);
            }
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
        self.broadcast(st, channel_id, &left, None);
        effects.extend(self.reevaluate(st, channel_id, now));
        self.emit(st, channel_id, effects);
    }
}

fn lock(shard: &Mutex<HubState>) -> MutexGuard<'_, HubState> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
