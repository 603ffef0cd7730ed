//! The mesh as a per-voice fallback after a gap-free switch to the SFU. While the mesh is kept
//! for its grace period, the service keeps measuring each voice on the SFU; a voice that stays
//! silent there for [`FALLBACK_AFTER_MS`] while it is not silent everywhere (heard on the mesh,
//! or not arrived on the SFU at all) plays from the mesh again, and goes back to the SFU as
//! soon as its SFU copy is heard. So an SFU copy that stalls right after the switch is not
//! heard as silence while the mesh is still there. The mesh still closes when its grace period
//! ends: each side of a mesh connection closes on its own clock, so keeping ours longer would
//! not keep the other side's. Pure; driven by `ModeController::on_tick`.

use super::controller::{Command, Transport};
use crate::signal::messages::UserId;

/// How long a voice must be silent on the SFU (and not silent everywhere) before it plays from
/// the mesh again. Longer than the lead the mesh copy has at the start of each sentence (the
/// SFU adds a hop), so speech onsets never flip a voice.
pub const FALLBACK_AFTER_MS: u64 = 300;

/// Voices heard on the mesh only (since when), and voices playing from the mesh again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Fallback {
    stalled: Vec<(UserId, u64)>,
    back: Vec<UserId>,
}

impl Fallback {
    /// One tick of the grace period: `flowing` are heard on the SFU, `quiet` are silent on
    /// both transports. Returns the routes to change.
    pub(super) fn update(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        expected: &[UserId],
        now: u64,
    ) -> Vec<Command> {
        let before = std::mem::take(&mut self.stalled);
        let mut commands = Vec::new();
        // Whoever left is forgotten.
        self.back.retain(|u| expected.contains(u));
        for &user_id in expected {
            let on_mesh = self.back.contains(&user_id);
            if flowing.contains(&user_id) {
                if on_mesh {
                    self.back.retain(|u| *u != user_id);
                    commands.push(Command::RouteVoice {
                        user_id,
                        to: Transport::Sfu,
                    });
                }
                continue;
            }
            if on_mesh || quiet.contains(&user_id) {
                continue;
            }
            let since = before
                .iter()
                .find(|(u, _)| *u == user_id)
                .map_or(now, |(_, since)| *since);
            if now.saturating_sub(since) >= FALLBACK_AFTER_MS {
                self.back.push(user_id);
                commands.push(Command::RouteVoice {
                    user_id,
                    to: Transport::Mesh,
                });
            } else {
                self.stalled.push((user_id, since));
            }
        }
        commands
    }

    /// True while some voice plays from the mesh.
    pub(super) fn active(&self) -> bool {
        !self.back.is_empty()
    }
}
