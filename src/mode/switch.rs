//! The per-voice bookkeeping of a gradual or opportunistic switch ([`Switch`]): who is across
//! and when, since when each voice not yet across has been quiet, and since when a voice
//! routed to the new transport has stalled there ([`Clocks`]).
//!
//! The stall rule is the mesh as a per-voice fallback. During the switch, and while the old
//! transport is kept for its grace period afterwards, the service measures every voice on the
//! new transport; a voice routed there that stays silent for [`FALLBACK_AFTER_MS`] while it is
//! not silent everywhere (its old copy heard: it crossed while quiet before its new copy
//! played, or its new copy stalled) goes back to the old one until it is heard on the new one.
//! So such a voice is not heard as silence while the mesh is still there. The mesh still
//! closes when its grace period ends: each side of a mesh connection closes on its own clock,
//! so keeping ours longer would not keep the other side's. Pure.

use super::controller::{Command, Transport, QUIET_CROSS_MS};
use crate::signal::messages::UserId;

/// How long a voice must be silent on the SFU (and not silent everywhere) before it plays from
/// the mesh again. Longer than the lead the mesh copy has at the start of each sentence (the
/// SFU adds a hop), so speech onsets never flip a voice.
pub const FALLBACK_AFTER_MS: u64 = 300;

/// Since when each of some voices has been in a state (quiet on both transports, or stalled
/// on the new one): a clock per voice, kept only while the voice stays in that state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Clocks(Vec<(UserId, u64)>);

impl Clocks {
    /// Of `now_in_state` (the voices in the state at `now`), those in it for `limit` ms; the
    /// clocks of the others run on, and a voice missing from `now_in_state` loses its clock.
    fn expired(
        &mut self,
        now_in_state: impl Iterator<Item = UserId>,
        now: u64,
        limit: u64,
    ) -> Vec<UserId> {
        let before = std::mem::take(&mut self.0);
        let mut expired = Vec::new();
        for user_id in now_in_state {
            let since = before
                .iter()
                .find(|(u, _)| *u == user_id)
                .map_or(now, |(_, since)| *since);
            if now.saturating_sub(since) >= limit {
                expired.push(user_id);
            } else {
                self.0.push((user_id, since));
            }
        }
        expired
    }
}

/// A gradual switch in progress: who is across and when, and the clocks of the voices quiet
/// while not yet across and of those stalled since they crossed (all times since the switch
/// began).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Switch {
    pub(super) crossed: Vec<(UserId, u64)>,
    quiet: Clocks,
    stalled: Clocks,
}

impl Switch {
    /// Routes the voices now heard on `to`, and those quiet for [`QUIET_CROSS_MS`]; returns
    /// their commands. A voice missing from `quiet` has its quiet time started again. A voice
    /// that crossed but has been silent on `to` while not silent everywhere (it crossed while
    /// quiet, and its new copy does not play yet) goes back after [`FALLBACK_AFTER_MS`],
    /// until it is heard on `to`.
    pub(super) fn cross(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        to: Transport,
        at: u64,
    ) -> Vec<Command> {
        let is_crossed =
            |crossed: &[(UserId, u64)], user: &UserId| crossed.iter().any(|(u, _)| u == user);
        let heard_or_quiet = |u: &UserId| flowing.contains(u) || quiet.contains(u);
        let stalled_now = self
            .crossed
            .iter()
            .map(|(u, _)| *u)
            .filter(|u| !heard_or_quiet(u));
        let stalled = self.stalled.expired(stalled_now, at, FALLBACK_AFTER_MS);
        self.crossed.retain(|(u, _)| !stalled.contains(u));
        let back = match to {
            Transport::Sfu => Transport::Mesh,
            Transport::Mesh => Transport::Sfu,
        };
        let mut commands = Vec::new();
        for user_id in stalled {
            commands.push(Command::RouteVoice { user_id, to: back });
        }
        // Quiet times carry over only for voices still quiet.
        let quiet_now = quiet
            .iter()
            .copied()
            .filter(|u| !flowing.contains(u) && !is_crossed(&self.crossed, u));
        let quiet_long = self.quiet.expired(quiet_now, at, QUIET_CROSS_MS);
        for &user_id in flowing.iter().chain(&quiet_long) {
            if !is_crossed(&self.crossed, &user_id) {
                self.crossed.push((user_id, at));
                commands.push(Command::RouteVoice { user_id, to });
            }
        }
        commands
    }

    pub(super) fn all_across(&self, expected: &[UserId]) -> bool {
        expected
            .iter()
            .all(|u| self.crossed.iter().any(|(c, _)| c == u))
    }
}
