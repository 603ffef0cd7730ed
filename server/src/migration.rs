//! The per-channel migration state machine (compat-spec H1): it carries out one switch that
//! the mode policy decided. Pure and sans-IO: inputs are [`Migration::start`], acks,
//! members joining and leaving, failures and ticks with `now_ms`; outputs are [`Action`]s
//! for the hub (send voice:mode-change to some users, send voice:rollback to all, complete).
//!
//! States: IDLE → PREPARING → MIGRATING → VERIFYING → COMPLETED, or ROLLING_BACK → FAILED.
//! PREPARING (members snapshotted) and VERIFYING (every awaited ack positive) are passed
//! through within one call; MIGRATING is where a migration waits for acks. Rules:
//! - every positive ack of the awaited members completes it (members who left are dropped
//!   from the awaited set; a member who joins mid-migration to the SFU is added to it);
//! - non-ackers get the mode-change again every `resend_ms`;
//! - to the SFU: a negative ack, an external failure ([`Migration::fail`]) or `timeout_ms`
//!   without completion rolls back;
//! - to P2P there is nothing to roll back to: a negative ack counts as done (the client is
//!   rebuilding the mesh by itself) and the timeout completes the migration (forced);
//! - acks that are late (finished migration), duplicate or from users who are not awaited
//!   change nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use sohbet_rtc::signal::{CallMode, UserId};
use thiserror::Error;

/// How clients move their audio (compat-spec §6); the server only carries it to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Hard,
    Gradual,
    Opportunistic,
}

/// An unknown strategy name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown migration strategy {0:?} (expected hard, gradual or opportunistic)")]
pub struct StrategyError(pub String);

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Hard => "hard",
            Strategy::Gradual => "gradual",
            Strategy::Opportunistic => "opportunistic",
        }
    }
}

impl FromStr for Strategy {
    type Err = StrategyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hard" => Ok(Strategy::Hard),
            "gradual" => Ok(Strategy::Gradual),
            "opportunistic" => Ok(Strategy::Opportunistic),
            _ => Err(StrategyError(s.to_owned())),
        }
    }
}

/// The H1 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Preparing,
    Migrating,
    Verifying,
    Completed,
    RollingBack,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Preparing => "preparing",
            State::Migrating => "migrating",
            State::Verifying => "verifying",
            State::Completed => "completed",
            State::RollingBack => "rolling_back",
            State::Failed => "failed",
        }
    }

    /// True once the migration can no longer change (COMPLETED or FAILED).
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Completed | State::Failed)
    }
}

/// Why a migration (or a channel in SFU mode) went back to P2P.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
    /// A member acked `success:false`.
    AckFailed { user: UserId, error: String },
    /// No completion within the timeout.
    Timeout,
    /// The server's probe cannot reach livekit-server.
    SfuUnreachable,
    /// A client reported that the SFU failed for it (REST report or a negative ack in SFU mode).
    SfuFailed { error: String },
    /// A member without `supports_sfu` is in the channel.
    LegacyClient,
    /// The policy decided the other direction before this migration finished.
    Superseded,
}

impl FailReason {
    /// A stable, low-cardinality code (metrics label, voice:rollback `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            FailReason::AckFailed { .. } => "ack-failed",
            FailReason::Timeout => "timeout",
            FailReason::SfuUnreachable => "sfu-unreachable",
            FailReason::SfuFailed { .. } => "sfu-failed",
            FailReason::LegacyClient => "legacy-client",
            FailReason::Superseded => "superseded",
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::AckFailed { user, error } => {
                write!(f, "user {user} acked failure: {error}")
            }
            FailReason::SfuFailed { error } => write!(f, "SFU failed: {error}"),
            other => f.write_str(other.code()),
        }
    }
}

/// Resend interval and overall timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub resend_ms: u64,
    pub timeout_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            resend_ms: 3_000,
            timeout_ms: 30_000,
        }
    }
}

/// What the hub must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send voice:mode-change to the migration's target (a fresh token each) to these users.
    SendModeChange(Vec<UserId>),
    /// Send voice:rollback to every member; the channel is back in P2P.
    Rollback(FailReason),
    /// The channel is now in the target mode.
    Complete,
}

/// How a finished migration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// All acks in, or (to P2P only) the timeout forced it.
    Completed {
        forced: bool,
    },
    RolledBack(FailReason),
    /// Replaced by a migration in the other direction; nothing was rolled back.
    Superseded,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::RolledBack(_) => "rolled_back",
            Outcome::Superseded => "superseded",
        }
    }
}

/// One migration of one channel.
#[derive(Debug, Clone)]
pub struct Migration {
    id: u64,
    target: CallMode,
    strategy: Strategy,
    timing: Timing,
    state: State,
    started_at_ms: u64,
    /// Awaited members and when the mode-change was last sent to each.
    awaiting: BTreeMap<UserId, u64>,
    acked: BTreeSet<UserId>,
    outcome: Option<Outcome>,
    finished_at_ms: Option<u64>,
}

impl Migration {
    /// A migration in IDLE; nothing is sent before [`Migration::start`].
    pub fn new(id: u64, target: CallMode, strategy: Strategy, timing: Timing) -> Self {
        Migration {
            id,
            target,
            strategy,
            timing,
            state: State::Idle,
            started_at_ms: 0,
            awaiting: BTreeMap::new(),
            acked: BTreeSet::new(),
            outcome: None,
            finished_at_ms: None,
        }
    }

    /// IDLE → PREPARING (snapshot the members) → MIGRATING: everyone gets the mode-change.
    /// With nobody to wait for it completes at once. Ignored unless IDLE.
    pub fn start(&mut self, members: impl IntoIterator<Item = UserId>, now: u64) -> Vec<Action> {
        if self.state != State::Idle {
            return Vec::new();
        }
        self.state = State::Preparing;
        self.started_at_ms = now;
        self.awaiting = members.into_iter().map(|u| (u, now)).collect();
        self.state = State::Migrating;
        let everyone: Vec<UserId> = self.awaiting.keys().copied().collect();
        let mut actions = Vec::new();
        if !everyone.is_empty() {
            actions.push(Action::SendModeChange(everyone));
        }
        actions.extend(self.complete_if_done(now));
        actions
    }

    /// A voice:mode-change-ack from `user`.
    pub fn ack(
        &mut self,
        user: UserId,
        success: bool,
        error: Option<&str>,
        now: u64,
    ) -> Vec<Action> {
        if self.state.is_terminal() {
            return Vec::new();
        }
        let awaited = self.awaiting.contains_key(&user);
        if !awaited && !self.acked.contains(&user) {
            return Vec::new();
        }
        if !success && self.target == CallMode::Sfu {
            let error = error.unwrap_or("unspecified").to_owned();
            return self.fail(FailReason::AckFailed { user, error }, now);
        }
        if !awaited {
            return Vec::new();
        }
        self.awaiting.remove(&user);
        self.acked.insert(user);
        self.complete_if_done(now)
    }

    /// A member joined mid-migration: to the SFU it gets its own mode-change and is awaited;
    /// to P2P it starts on the mesh anyway and is not.
    pub fn member_joined(&mut self, user: UserId, now: u64) -> Vec<Action> {
        if self.state.is_terminal() || self.target != CallMode::Sfu {
            return Vec::new();
        }
        self.acked.remove(&user);
        self.awaiting.insert(user, now);
        vec![Action::SendModeChange(vec![user])]
    }

    /// A member left: no longer awaited, which may complete the migration.
    pub fn member_left(&mut self, user: UserId, now: u64) -> Vec<Action> {
        if self.state.is_terminal() {
            return Vec::new();
        }
        self.acked.remove(&user);
        if self.awaiting.remove(&user).is_none() {
            return Vec::new();
        }
        self.complete_if_done(now)
    }

    /// Time passed: the timeout (rollback to the SFU, forced completion to P2P), else resends.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        if self.state.is_terminal() {
            return Vec::new();
        }
        if now.saturating_sub(self.started_at_ms) >= self.timing.timeout_ms {
            if self.target == CallMode::Sfu {
                return self.fail(FailReason::Timeout, now);
            }
            return self.finish(Outcome::Completed { forced: true }, now);
        }
        let resend = self.timing.resend_ms.max(1);
        let due: Vec<UserId> = self
            .awaiting
            .iter()
            .filter(|(_, sent)| now.saturating_sub(**sent) >= resend)
            .map(|(u, _)| *u)
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        for user in &due {
            self.awaiting.insert(*user, now);
        }
        vec![Action::SendModeChange(due)]
    }

    /// An external failure: ROLLING_BACK → FAILED with a rollback to everyone.
    pub fn fail(&mut self, reason: FailReason, now: u64) -> Vec<Action> {
        if self.state.is_terminal() {
            return Vec::new();
        }
        self.state = State::RollingBack;
        let mut actions = vec![Action::Rollback(reason.clone())];
        actions.extend(self.finish(Outcome::RolledBack(reason), now));
        actions
    }

    /// Replaced by a migration in the other direction: FAILED without a rollback.
    pub fn supersede(&mut self, now: u64) {
        if !self.state.is_terminal() {
            self.finish(Outcome::Superseded, now);
        }
    }

    fn complete_if_done(&mut self, now: u64) -> Vec<Action> {
        if self.state != State::Migrating || !self.awaiting.is_empty() {
            return Vec::new();
        }
        self.state = State::Verifying;
        self.finish(Outcome::Completed { forced: false }, now)
    }

    fn finish(&mut self, outcome: Outcome, now: u64) -> Vec<Action> {
        let completed = matches!(outcome, Outcome::Completed { .. });
        self.state = if completed {
            State::Completed
        } else {
            State::Failed
        };
        self.outcome = Some(outcome);
        self.finished_at_ms = Some(now);
        if completed {
            vec![Action::Complete]
        } else {
            Vec::new()
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn target(&self) -> CallMode {
        self.target
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn started_at_ms(&self) -> u64 {
        self.started_at_ms
    }

    /// Members whose positive ack is in.
    pub fn acked(&self) -> Vec<UserId> {
        self.acked.iter().copied().collect()
    }

    /// Members still awaited.
    pub fn awaiting(&self) -> Vec<UserId> {
        self.awaiting.keys().copied().collect()
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// From start to finish, once finished.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_at_ms
            .map(|end| end.saturating_sub(self.started_at_ms))
    }
}

#[cfg(test)]
mod tests;
