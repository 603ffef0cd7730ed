//! Server-driven migration, the hub's side (compat-spec H1, H4, H9; issue 11 §2). Each live
//! room owns the pure `ModePolicy` (what the channel should be) and at most one pure
//! [`Migration`] (carrying a switch out). On every join, leave, ack and tick the room is
//! re-evaluated: the policy gets the member count, capped below `sfu_up_at` while the SFU
//! may not be used (a member without `supports_sfu`, or livekit-server unreachable), so such
//! a channel stays P2P; a `SwitchTo` starts a migration (superseding one in the other
//! direction); the migration's actions become [`Effect`]s, which are sent only after the
//! caller's own replies (a joiner gets voice:participants first).
//!
//! Leaving the SFU: a legacy member in an SFU channel gets the channel migrated to P2P
//! (voice:mode-change p2p, acks awaited); an SFU failure (negative ack in SFU mode, REST
//! report, the probe losing livekit-server) sends voice:rollback to everyone. Both also tell
//! the policy `on_sfu_failed`, which bars the SFU for a cool-down (no immediate re-migration).
//! Above [`DEGRADED_ABOVE`] members with the SFU barred, the room gets voice:degraded-mode
//! once per crossing; a later joiner of a degraded room gets it too.

use std::sync::Arc;
use std::time::Duration;

use sohbet_rtc::mode::policy::Decision;
use sohbet_rtc::signal::{CallMode, ChannelId};

pub(crate) use crate::effects::{Effect, DEGRADED_ABOVE};
use crate::hub::{Hub, HubState};
use crate::migration::{Action, FailReason, Migration, Outcome};
use crate::records::{MigrationRecord, RollbackRecord};

impl Hub {
    /// Re-evaluates a room: SFU allowed?, the policy, the migration's timers, degraded mode.
    pub(crate) fn reevaluate(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        now: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(room) = st.rooms.get(&channel_id) else {
            return effects;
        };
        let blocker = if room.members.values().any(|m| !m.supports_sfu) {
            Some(FailReason::LegacyClient)
        } else if !self.sfu_reachable_now() {
            Some(FailReason::SfuUnreachable)
        } else {
            None
        };
        if let Some(reason) = blocker.clone() {
            if heading_to_sfu(st, channel_id) {
                effects.extend(self.leave_sfu(st, channel_id, reason, now));
            }
        }
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return effects;
        };
        let count = room.members.len();
        let fed = match blocker {
            Some(_) => count.min(room.policy.config().sfu_up_at.saturating_sub(1)),
            None => count,
        };
        let decisions = room.policy.on_participants(fed, now);
        for decision in self.record(channel_id, &decisions) {
            if decision == CallMode::Sfu && self.hold_for_warmth(st, channel_id, now) {
                continue;
            }
            effects.extend(self.start_migration(st, channel_id, decision, now));
        }
        effects.extend(self.prewarm(st, channel_id, &decisions));
        if self.held_upgrade_due(st, channel_id, now) {
            effects.extend(self.start_migration(st, channel_id, CallMode::Sfu, now));
        }
        let actions = st
            .rooms
            .get_mut(&channel_id)
            .and_then(|r| r.migration.as_mut())
            .map(|m| m.tick(now))
            .unwrap_or_default();
        effects.extend(self.apply(st, channel_id, actions, now));
        if let Some(room) = st.rooms.get_mut(&channel_id) {
            let over = blocker.is_some() && room.members.len() > DEGRADED_ABOVE;
            if over && !room.degraded {
                effects.push(Effect::Degraded(room.members.keys().copied().collect()));
            }
            room.degraded = over;
        }
        effects
    }

    /// Opportunistic strategy: a switch to the SFU decided while some capable member has not
    /// answered its pre-warm (typically the joiner who made the count) waits, so that member's
    /// SFU session comes up first — its voice reaches the others over the mesh meanwhile — and
    /// the switch itself is routing only. Returns whether the switch is held (then or already).
    fn hold_for_warmth(&self, st: &mut HubState, channel_id: ChannelId, now: u64) -> bool {
        let opportunistic =
            self.channel_strategy(st, channel_id) == crate::migration::Strategy::Opportunistic;
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return false;
        };
        if !opportunistic || room.prewarmed.is_none() || all_warm(room) {
            return false;
        }
        room.held_upgrade.get_or_insert(now);
        tracing::info!(channel = channel_id, "switch to the SFU held for pre-warms");
        true
    }

    /// A held switch goes ahead once every capable member answered its pre-warm, or after
    /// [`WARM_WAIT_MS`] (a member that cannot warm up does not hold the channel back).
    fn held_upgrade_due(&self, st: &HubState, channel_id: ChannelId, now: u64) -> bool {
        st.rooms.get(&channel_id).is_some_and(|room| {
            room.held_upgrade
                .is_some_and(|since| all_warm(room) || now >= since + WARM_WAIT_MS)
        })
    }

    /// Opportunistic strategy: the policy's pre-warm (count ≥ `prewarm_at`) is sent to every
    /// capable member (joiners of a pre-warmed room too), its cancellation (count back at
    /// `p2p_down_at`) to those who got it. A joiner makes the members already warm cold again
    /// (their SFU sessions do not carry its voice yet): they are sent the pre-warm again and
    /// must answer it again, once the joiner's voice arrived there. Any other strategy, or a
    /// channel on (or moving to) the SFU, sends nothing: the SFU is warm there already.
    fn prewarm(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        decisions: &[Decision],
    ) -> Vec<Effect> {
        let strategy = self.channel_strategy(st, channel_id);
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return Vec::new();
        };
        let wanted =
            strategy == crate::migration::Strategy::Opportunistic && self.settings.send_mode_change;
        let mut effects = Vec::new();
        for decision in decisions {
            match decision {
                Decision::Prewarm if wanted => room.prewarmed = Some(Default::default()),
                Decision::CancelPrewarm => {
                    if let Some(sent) = room.prewarmed.take() {
                        let users = sent.into_iter().filter(|u| room.members.contains_key(u));
                        effects.push(Effect::Prewarm {
                            users: users.collect(),
                            on: false,
                        });
                    }
                }
                _ => {}
            }
        }
        if room.advertised_mode() == CallMode::Sfu {
            room.prewarmed = None;
        }
        if room.prewarmed.is_none() {
            room.warm_answered.clear();
        }
        if let Some(sent) = room.prewarmed.as_mut() {
            let joiners: Vec<_> = room
                .members
                .iter()
                .filter(|(u, m)| m.supports_sfu && !sent.contains(*u))
                .map(|(u, _)| *u)
                .collect();
            if !joiners.is_empty() {
                let mut users: Vec<_> = sent
                    .iter()
                    .filter(|u| room.members.contains_key(u))
                    .copied()
                    .collect();
                for user in &users {
                    room.warm_answered.remove(user);
                }
                sent.extend(joiners.iter().copied());
                users.extend(joiners);
                effects.push(Effect::Prewarm { users, on: true });
            }
        }
        effects
    }

    /// Starts a migration to `target` (superseding one in progress), or with mode changes
    /// turned off simply flips the mode.
    fn start_migration(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        target: CallMode,
        now: u64,
    ) -> Vec<Effect> {
        let strategy = self.channel_strategy(st, channel_id);
        let id = self.fresh_migration_id();
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return Vec::new();
        };
        // Any migration supersedes a switch held for pre-warms.
        room.held_upgrade = None;
        if let Some(mut old) = room.migration.take() {
            old.supersede(now);
            self.finished(st, channel_id, &old);
        }
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return Vec::new();
        };
        if !self.settings.send_mode_change {
            room.mode = target;
            return Vec::new();
        }
        let mut migration = Migration::new(id, target, strategy, self.settings.timing);
        let capable = room
            .members
            .iter()
            .filter(|(_, m)| m.supports_sfu)
            .map(|(u, _)| *u);
        let actions = migration.start(capable, now);
        tracing::info!(
            channel = channel_id,
            id,
            to = target.as_str(),
            strategy = strategy.as_str(),
            "migration started"
        );
        self.metrics.migration_started(target.as_str());
        room.migration = Some(migration);
        self.apply(st, channel_id, actions, now)
    }

    /// Turns a migration's actions into effects and state; files a finished migration.
    pub(crate) fn apply(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        actions: Vec<Action>,
        now: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for action in actions {
            let Some(room) = st.rooms.get_mut(&channel_id) else {
                break;
            };
            let Some(migration) = room.migration.as_ref() else {
                break;
            };
            let (id, target) = (migration.id(), migration.target());
            match action {
                Action::SendModeChange(users) => effects.push(Effect::ModeChange {
                    users,
                    mode: target,
                    strategy: migration.strategy(),
                }),
                Action::Complete => room.mode = target,
                Action::Rollback(reason) => {
                    room.mode = CallMode::P2p;
                    effects.push(self.rollback(st, channel_id, &reason, Some(id), now));
                }
            }
        }
        let finished = st
            .rooms
            .get_mut(&channel_id)
            .and_then(|r| r.migration.take_if(|m| m.state().is_terminal()));
        if let Some(migration) = finished {
            self.finished(st, channel_id, &migration);
        }
        effects
    }

    /// Bars the SFU in the policy, counts and files a rollback, and returns its effect.
    fn rollback(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        reason: &FailReason,
        migration_id: Option<u64>,
        now: u64,
    ) -> Effect {
        if let Some(room) = st.rooms.get_mut(&channel_id) {
            let decisions = room.policy.on_sfu_failed(&reason.to_string(), now);
            self.record(channel_id, &decisions);
        }
        tracing::warn!(channel = channel_id, %reason, "rolling back to p2p");
        self.metrics.rollback_executed(reason.code());
        st.records
            .entry(channel_id)
            .or_default()
            .push_rollback(RollbackRecord::new(now, reason, migration_id));
        Effect::Rollback(reason.code())
    }

    /// Counts and files a finished migration.
    fn finished(&self, st: &mut HubState, channel_id: ChannelId, m: &Migration) {
        let target = m.target().as_str();
        match m.outcome() {
            Some(Outcome::Completed { .. }) => {
                self.metrics
                    .migration_completed(target, m.duration_ms().unwrap_or(0));
            }
            Some(Outcome::RolledBack(reason)) => {
                self.metrics.migration_failed(target, reason.code());
            }
            Some(Outcome::Superseded) | None => {
                self.metrics.migration_failed(target, "superseded");
            }
        }
        tracing::info!(
            channel = channel_id,
            id = m.id(),
            to = target,
            outcome = m.outcome().map_or("", Outcome::as_str),
            duration_ms = m.duration_ms().unwrap_or(0),
            "migration finished"
        );
        st.records
            .entry(channel_id)
            .or_default()
            .push_migration(MigrationRecord::of(m));
    }

    /// Takes the channel off the SFU: a legacy member gets a migration to P2P, a failure a
    /// rollback (of the migration to the SFU, or of the settled SFU mode).
    pub(crate) fn leave_sfu(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        reason: FailReason,
        now: u64,
    ) -> Vec<Effect> {
        if !heading_to_sfu(st, channel_id) {
            // Stale (already P2P or going there); a pre-warm is still cancelled and barred.
            if let Some(room) = st.rooms.get_mut(&channel_id) {
                let decisions = room.policy.on_sfu_failed(&reason.to_string(), now);
                self.record(channel_id, &decisions);
            }
            return Vec::new();
        }
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return Vec::new();
        };
        if reason == FailReason::LegacyClient {
            let decisions = room.policy.on_sfu_failed(&reason.to_string(), now);
            self.record(channel_id, &decisions);
            return self.start_migration(st, channel_id, CallMode::P2p, now);
        }
        if let Some(migration) = room.migration.as_mut() {
            let actions = migration.fail(reason, now);
            return self.apply(st, channel_id, actions, now);
        }
        room.mode = CallMode::P2p;
        vec![self.rollback(st, channel_id, &reason, None, now)]
    }

    /// Logs and counts policy decisions; returns the modes the policy switched to.
    fn record(&self, channel_id: ChannelId, decisions: &[Decision]) -> Vec<CallMode> {
        let mut switches = Vec::new();
        for decision in decisions {
            tracing::info!(channel = channel_id, ?decision, "mode policy decision");
            self.metrics.policy_decision(decision_name(decision));
            if let Decision::SwitchTo(mode) = decision {
                self.metrics.mode_switched(mode.as_str());
                switches.push(*mode);
            }
        }
        switches
    }

    /// The room emptied: a migration in progress is filed as superseded.
    pub(crate) fn abandon(&self, st: &mut HubState, channel_id: ChannelId, now: u64) {
        let taken = st
            .rooms
            .get_mut(&channel_id)
            .and_then(|r| r.migration.take());
        if let Some(mut migration) = taken {
            migration.supersede(now);
            self.finished(st, channel_id, &migration);
        }
    }

    /// One tick for every live room (cool-downs ending, resends, timeouts), shard by shard.
    pub fn tick(&self) {
        let now = self.clock.now_ms();
        self.each_shard(|st| {
            let ids: Vec<ChannelId> = st.rooms.keys().copied().collect();
            for channel_id in ids {
                let effects = self.reevaluate(st, channel_id, now);
                self.emit(st, channel_id, effects);
            }
        });
    }

    /// A client reported that the SFU failed (REST): roll the channel back if it uses the SFU.
    pub fn sfu_failed(&self, channel_id: ChannelId, error: &str) {
        let now = self.clock.now_ms();
        let mut st = self.shard(channel_id);
        let reason = FailReason::SfuFailed {
            error: error.to_owned(),
        };
        let effects = self.leave_sfu(&mut st, channel_id, reason, now);
        self.emit(&st, channel_id, effects);
    }

    /// The health probe's verdict; losing livekit-server rolls back every SFU channel.
    pub fn set_sfu_reachable(&self, reachable: bool) {
        let now = self.clock.now_ms();
        if !self.swap_sfu_reachable(reachable) {
            return;
        }
        tracing::warn!(reachable, "livekit-server reachability changed");
        if reachable {
            return;
        }
        self.each_shard(|st| {
            let ids: Vec<ChannelId> = st.rooms.keys().copied().collect();
            for channel_id in ids {
                if heading_to_sfu(st, channel_id) {
                    let effects = self.leave_sfu(st, channel_id, FailReason::SfuUnreachable, now);
                    self.emit(st, channel_id, effects);
                }
            }
        });
    }

    /// Whether the last probe reached livekit-server (always true with probing off).
    pub fn sfu_reachable(&self) -> bool {
        self.sfu_reachable_now()
    }
}

/// How long a switch to the SFU waits for pre-warms to be answered. A client answers once its
/// warm session publishes and receives every voice, or 3 s after it published; its join and
/// publication take about a second more, and it is on the mesh meanwhile.
pub(crate) const WARM_WAIT_MS: u64 = 5_000;

/// Every capable member answered its pre-warm.
fn all_warm(room: &crate::hub::Room) -> bool {
    room.members
        .iter()
        .all(|(u, m)| !m.supports_sfu || room.warm_answered.contains(u))
}

/// The channel is in SFU mode or migrating there.
fn heading_to_sfu(st: &HubState, channel_id: ChannelId) -> bool {
    st.rooms
        .get(&channel_id)
        .is_some_and(|r| r.advertised_mode() == CallMode::Sfu)
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Prewarm => "prewarm",
        Decision::CancelPrewarm => "cancel_prewarm",
        Decision::SwitchTo(CallMode::Sfu) => "switch_to_sfu",
        Decision::SwitchTo(_) => "switch_to_p2p",
        Decision::FallBackToP2p { .. } => "fall_back_to_p2p",
    }
}

/// Spawns the `period` tick; it ends when the hub is dropped.
pub fn spawn_ticker(hub: &Arc<Hub>, period: Duration) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(hub);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period.max(Duration::from_millis(10)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match weak.upgrade() {
                Some(hub) => hub.tick(),
                None => break,
            }
        }
    })
}
