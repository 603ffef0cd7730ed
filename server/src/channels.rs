//! In-memory voice channels and REST voice sessions (compat-spec §3.3): the data behind
//! `/api/voice/channels`. Pure data structure, no I/O; the handlers live in `rest.rs`.
//! A REST session is independent of the WebSocket room, exactly as on the C++ server.

use std::collections::BTreeMap;

use sohbet_rtc::signal::{ChannelId, UserId, MAX_CHANNEL_ID};

/// How long a REST voice session token is valid (the C++ default, +300 s).
pub const SESSION_TTL_SECS: u64 = 300;

/// The three channel types the API accepts.
pub const CHANNEL_TYPES: &[&str] = &["public", "group", "private"];

/// One voice channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub channel_type: String,
    pub group_id: Option<u64>,
    pub organization_id: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
    /// Who created it over REST (None: seeded by the server).
    pub created_by: Option<UserId>,
}

impl Channel {
    /// Whether `user` may join: anyone for public and group channels (the reference server
    /// has no group membership), only the creator for a private channel.
    pub fn admits(&self, user: UserId) -> bool {
        self.channel_type != "private" || self.created_by == Some(user)
    }

    /// Whether `user` may delete it: only its creator; seeded channels are never deleted.
    pub fn deletable_by(&self, user: UserId) -> bool {
        self.created_by == Some(user)
    }
}

/// An open REST voice session (`POST /join` … `DELETE /leave`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session_id: u64,
    pub connection_token: String,
    pub channel_id: ChannelId,
    pub user_id: UserId,
    /// Unix seconds.
    pub expires_at: u64,
}

/// All channels and open sessions.
#[derive(Debug, Default)]
pub struct ChannelStore {
    channels: BTreeMap<ChannelId, Channel>,
    sessions: Vec<Session>,
    next_session_id: u64,
}

impl ChannelStore {
    /// A store seeded with the demo channels 1 "General", 2 "Study Room", 3 "Large Hall".
    pub fn seeded(now: u64) -> Self {
        let mut store = ChannelStore::default();
        for name in ["General", "Study Room", "Large Hall"] {
            store.create(name.into(), "public".into(), None, None, None, now);
        }
        store
    }

    /// Adds a channel with the next free id and returns it.
    pub fn create(
        &mut self,
        name: String,
        channel_type: String,
        group_id: Option<u64>,
        organization_id: Option<u64>,
        created_by: Option<UserId>,
        now: u64,
    ) -> Option<Channel> {
        let id = self.channels.keys().next_back().map_or(1, |last| last + 1);
        if id > MAX_CHANNEL_ID {
            return None;
        }
        let channel = Channel {
            id,
            name,
            channel_type,
            group_id,
            organization_id,
            created_at: now,
            created_by,
        };
        self.channels.insert(id, channel.clone());
        Some(channel)
    }

    pub fn get(&self, id: ChannelId) -> Option<&Channel> {
        self.channels.get(&id)
    }

    /// Channels of one type (or all), in id order, paged by `offset` and `limit`.
    pub fn list(&self, channel_type: Option<&str>, limit: usize, offset: usize) -> Vec<&Channel> {
        self.channels
            .values()
            .filter(|c| channel_type.is_none_or(|t| c.channel_type == t))
            .skip(offset)
            .take(limit)
            .collect()
    }

    /// Removes a channel and its sessions; false when there was no such channel.
    pub fn delete(&mut self, id: ChannelId) -> bool {
        self.sessions.retain(|s| s.channel_id != id);
        self.channels.remove(&id).is_some()
    }

    /// Open sessions of a channel that have not expired at `now` (`active_users`).
    pub fn active_users(&self, id: ChannelId, now: u64) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.channel_id == id && s.expires_at > now)
            .count()
    }

    /// Ends the user's open session for the channel (if any), then opens a new one.
    pub fn open_session(&mut self, channel_id: ChannelId, user_id: UserId, now: u64) -> Session {
        self.close_session(channel_id, user_id);
        self.next_session_id += 1;
        let session = Session {
            session_id: self.next_session_id,
            connection_token: uuid::Uuid::new_v4().to_string(),
            channel_id,
            user_id,
            expires_at: now + SESSION_TTL_SECS,
        };
        self.sessions.push(session.clone());
        session
    }

    /// Ends the user's session for the channel; false when none was open.
    pub fn close_session(&mut self, channel_id: ChannelId, user_id: UserId) -> bool {
        let before = self.sessions.len();
        self.sessions
            .retain(|s| !(s.channel_id == channel_id && s.user_id == user_id));
        self.sessions.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_store_has_three_public_channels() {
        let store = ChannelStore::seeded(100);
        let names: Vec<_> = store
            .list(None, 50, 0)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(names, ["General", "Study Room", "Large Hall"]);
        assert_eq!(
            store.get(2).map(|c| c.channel_type.as_str()),
            Some("public")
        );
    }

    #[test]
    fn list_filters_by_type_and_pages() {
        let mut store = ChannelStore::seeded(0);
        store.create("Team".into(), "group".into(), Some(7), None, Some(9), 0);
        assert_eq!(store.list(Some("group"), 50, 0).len(), 1);
        assert_eq!(
            store
                .list(None, 2, 1)
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            [2, 3]
        );
    }

    #[test]
    fn reopening_a_session_replaces_the_old_one() {
        let mut store = ChannelStore::seeded(0);
        let first = store.open_session(1, 9, 10);
        let second = store.open_session(1, 9, 11);
        assert_ne!(first.session_id, second.session_id);
        assert_eq!(store.active_users(1, 12), 1);
        assert!(store.close_session(1, 9));
        assert!(!store.close_session(1, 9));
        assert_eq!(store.active_users(1, 12), 0);
    }

    #[test]
    fn private_channels_admit_only_their_creator_and_seeded_ones_are_not_deletable() {
        let mut store = ChannelStore::seeded(0);
        let private = store
            .create("Mine".into(), "private".into(), None, None, Some(9), 0)
            .unwrap();
        assert!(private.admits(9) && !private.admits(10));
        assert!(private.deletable_by(9) && !private.deletable_by(10));
        let seeded = store.get(1).unwrap();
        assert!(seeded.admits(10) && !seeded.deletable_by(10));
    }

    #[test]
    fn expired_sessions_do_not_count_as_active() {
        let mut store = ChannelStore::seeded(0);
        store.open_session(1, 9, 0);
        assert_eq!(store.active_users(1, SESSION_TTL_SECS + 1), 0);
    }

    #[test]
    fn deleting_a_channel_removes_it_and_its_sessions() {
        let mut store = ChannelStore::seeded(0);
        store.open_session(3, 9, 0);
        assert!(store.delete(3));
        assert!(store.get(3).is_none());
        assert!(!store.delete(3));
        assert_eq!(store.active_users(3, 1), 0);
    }
}
