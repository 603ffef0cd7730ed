//! The per-voice bookkeeping of a gradual or opportunistic switch ([`Switch`]): who is across
//! and when, since when each voice not yet across has been quiet, and when a voice routed to
//! the new transport has stalled there ([`Stalls`]).
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

/// Since when each voice routed to the transport being measured (the SFU after a switch up,
/// either one during a gradual switch) has been silent there while not silent everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stalls(Vec<(UserId, u64)>);

impl Stalls {
    /// Of `candidates` (voices routed to the measured transport), those silent there and not
    /// silent everywhere for [`FALLBACK_AFTER_MS`] by `now`; the others' clocks run on, or
    /// restart once they are heard there or silent everywhere.
    pub(super) fn expired(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        candidates: impl Iterator<Item = UserId>,
        now: u64,
    ) -> Vec<UserId> {
        let before = std::mem::take(&mut self.0);
        let mut expired = Vec::new();
        for user_id in candidates {
            if flowing.contains(&user_id) || quiet.contains(&user_id) {
                continue;
            }
            let since = before
                .iter()
                .find(|(u, _)| *u == user_id)
                .map_or(now, |(_, since)| *since);
            if now.saturating_sub(since) >= FALLBACK_AFTER_MS {
                expired.push(user_id);
            } else {
                self.0.push((user_id, since));
            }
        }
        expired
    }
}

/// A gradual switch in progress: who is across, when each crossed, and since when each voice
/// not yet across has been quiet (all times since the switch began).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Switch {
    pub(super) crossed: Vec<(UserId, u64)>,
    quiet_since: Vec<(UserId, u64)>,
    /// Crossed voices silent on the new transport while not silent everywhere.
    stalls: Stalls,
}

impl Switch {
    /// Routes the voices now heard on `to`, and those quiet for [`QUIET_CROSS_MS`]; returns
    /// their commands. A voice missing from `quiet` has its quiet time started again. A voice
    /// that crossed but has been silent on `to` while not silent everywhere (it crossed while
    /// quiet, and its new copy does not play yet) goes back after
    /// [`FALLBACK_AFTER_MS`], until it is heard on `to`.
    pub(super) fn cross(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        to: Transport,
        at: u64,
    ) -> Vec<Command> {
        let crossed = self.crossed.iter().map(|(u, _)| *u);
        let stalled = self.stalls.expired(flowing, quiet, crossed, at);
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
        let before = std::mem::take(&mut self.quiet_since);
        for &user_id in flowing.iter().chain(quiet) {
            if self.crossed.iter().any(|(u, _)| *u == user_id) {
                continue;
            }
            let heard = flowing.contains(&user_id);
            let since = before
                .iter()
                .find(|(u, _)| *u == user_id)
                .map_or(at, |(_, since)| *since);
            if heard || at.saturating_sub(since) >= QUIET_CROSS_MS {
                self.crossed.push((user_id, at));
                commands.push(Command::RouteVoice { user_id, to });
            } else {
                self.quiet_since.push((user_id, since));
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
