//! The sans-IO mode policy: a pure state machine that decides when a call should run on the
//! P2P mesh and when on the SFU (design.md "Lessons" 2). Events go in (participant count, SFU
//! failure, clock tick with `now_ms`), [`Decision`]s come out; there is no clock, no I/O and no
//! web-sys here, so the same code drives the browser's ModeController and the reference server
//! and is tested natively.
//!
//! Rules (with the default [`PolicyConfig`]: up at 8, down at 5, pre-warm at 6):
//! - The call starts in P2P, not pre-warmed.
//! - In P2P: a count ≥ `prewarm_at` pre-warms the SFU once ([`Decision::Prewarm`]); a count
//!   ≤ `p2p_down_at` while pre-warmed cancels it ([`Decision::CancelPrewarm`]); a count ≥
//!   `sfu_up_at` switches to the SFU ([`Decision::SwitchTo`]`(Sfu)`, which implies warming it).
//! - In SFU: a count ≤ `p2p_down_at` switches back to P2P.
//! - Hysteresis: counts strictly between `p2p_down_at` and `sfu_up_at` never move the mode.
//! - Cool-down: after any switch or fallback no switch is made for `cooldown_ms`. A switch that
//!   the cool-down blocked is made by the first [`ModePolicy::on_tick`] (or count event) after
//!   the cool-down ends, if the last count still warrants it.
//! - [`ModePolicy::on_sfu_failed`] while the SFU is in use or pre-warmed falls back to P2P and
//!   bars the SFU (switch and pre-warm) until the cool-down ends. A failure while the SFU is not
//!   in use at all is stale and ignored.
//!
//! Time may go backwards (clock skew): that only lengthens a cool-down; nothing panics.

use thiserror::Error;

use crate::signal::messages::CallMode;

/// Thresholds and cool-down of the policy.
///
/// Validation rule ([`PolicyConfig::clamped`], applied by [`ModePolicy::new`]):
/// 1. `sfu_up_at` is at least 1;
/// 2. `p2p_down_at` is below `sfu_up_at` (else it becomes `sfu_up_at - 1`);
/// 3. `prewarm_at` lies in `p2p_down_at + 1 ..= sfu_up_at` (else it is clamped into it), so a
///    pre-warm can never be cancelled by the same count that started it.
///
/// `cooldown_ms` may be anything; 0 disables the cool-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Switch P2P → SFU when the count reaches this (default 8).
    pub sfu_up_at: usize,
    /// Switch SFU → P2P (or cancel a pre-warm) when the count falls to this (default 5).
    pub p2p_down_at: usize,
    /// Pre-warm the SFU while in P2P when the count reaches this (default 6).
    pub prewarm_at: usize,
    /// Minimum time between two mode changes, and the SFU's bar after a failure (default 15 s).
    pub cooldown_ms: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            sfu_up_at: 8,
            p2p_down_at: 5,
            prewarm_at: 6,
            cooldown_ms: 15_000,
        }
    }
}

/// Why a [`PolicyConfig`] is not valid as given (see its validation rule).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyConfigError {
    #[error("sfu_up_at must be at least 1")]
    ZeroUpThreshold,
    #[error("p2p_down_at ({down}) must be below sfu_up_at ({up})")]
    DownNotBelowUp { down: usize, up: usize },
    #[error("prewarm_at ({prewarm}) must lie in {low}..={up}")]
    PrewarmOutOfRange {
        prewarm: usize,
        low: usize,
        up: usize,
    },
}

impl PolicyConfigError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyConfigError::ZeroUpThreshold => "mode/zero-up-threshold",
            PolicyConfigError::DownNotBelowUp { .. } => "mode/down-not-below-up",
            PolicyConfigError::PrewarmOutOfRange { .. } => "mode/prewarm-out-of-range",
        }
    }
}

impl PolicyConfig {
    /// Checks the validation rule without changing anything (for servers that would rather
    /// refuse a bad configuration than run a corrected one).
    pub fn check(&self) -> Result<(), PolicyConfigError> {
        if self.sfu_up_at == 0 {
            return Err(PolicyConfigError::ZeroUpThreshold);
        }
        if self.p2p_down_at >= self.sfu_up_at {
            return Err(PolicyConfigError::DownNotBelowUp {
                down: self.p2p_down_at,
                up: self.sfu_up_at,
            });
        }
        let low = self.p2p_down_at + 1;
        if self.prewarm_at < low || self.prewarm_at > self.sfu_up_at {
            return Err(PolicyConfigError::PrewarmOutOfRange {
                prewarm: self.prewarm_at,
                low,
                up: self.sfu_up_at,
            });
        }
        Ok(())
    }

    /// Returns the configuration corrected by the validation rule; a valid one is unchanged.
    pub fn clamped(self) -> Self {
        let sfu_up_at = self.sfu_up_at.max(1);
        let p2p_down_at = self.p2p_down_at.min(sfu_up_at - 1);
        let prewarm_at = self.prewarm_at.clamp(p2p_down_at + 1, sfu_up_at);
        Self {
            sfu_up_at,
            p2p_down_at,
            prewarm_at,
            cooldown_ms: self.cooldown_ms,
        }
    }
}

/// A command for whoever carries out the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Connect to the SFU in the background, without moving audio yet.
    Prewarm,
    /// Drop the pre-warmed SFU connection.
    CancelPrewarm,
    /// Move the call to this mode ([`CallMode::P2p`] or [`CallMode::Sfu`], never `Migrating`).
    SwitchTo(CallMode),
    /// The SFU failed: go (back) to P2P and drop the SFU.
    FallBackToP2p { reason: String },
}

/// The policy for one call. See the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct ModePolicy {
    cfg: PolicyConfig,
    mode: CallMode,
    prewarmed: bool,
    last_count: Option<usize>,
    /// No switch before this instant (set by every switch and fallback).
    cooldown_until: Option<u64>,
    /// No SFU use (switch or pre-warm) before this instant (set by a fallback).
    sfu_barred_until: Option<u64>,
}

impl Default for ModePolicy {
    fn default() -> Self {
        Self::new(PolicyConfig::default())
    }
}

impl ModePolicy {
    /// A policy in P2P, not pre-warmed, with `cfg` corrected by [`PolicyConfig::clamped`].
    pub fn new(cfg: PolicyConfig) -> Self {
        Self {
            cfg: cfg.clamped(),
            mode: CallMode::P2p,
            prewarmed: false,
            last_count: None,
            cooldown_until: None,
            sfu_barred_until: None,
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// The current mode: [`CallMode::P2p`] or [`CallMode::Sfu`].
    pub fn mode(&self) -> CallMode {
        self.mode
    }

    /// True while in P2P with the SFU pre-warmed (false in SFU mode: the SFU is then in use).
    pub fn is_prewarmed(&self) -> bool {
        self.prewarmed
    }

    /// The last participant count reported, if any.
    pub fn last_count(&self) -> Option<usize> {
        self.last_count
    }

    /// True while a switch would be held back by the cool-down at `now_ms`.
    pub fn in_cooldown(&self, now_ms: u64) -> bool {
        matches!(self.cooldown_until, Some(until) if now_ms < until)
    }

    /// When the next pending bar (cool-down or SFU bar) ends, so a host can schedule one tick
    /// instead of polling. `None` when nothing is pending.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        match (self.cooldown_until, self.sfu_barred_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The participant count changed (or was re-reported): decide what to do now.
    pub fn on_participants(&mut self, count: usize, now_ms: u64) -> Vec<Decision> {
        self.last_count = Some(count);
        self.evaluate(now_ms)
    }

    /// The SFU failed (connect, publish, health check or a drop). While the SFU is in use or
    /// pre-warmed this falls back to P2P and bars the SFU for the cool-down; otherwise it is a
    /// stale report and changes nothing.
    pub fn on_sfu_failed(&mut self, reason: &str, now_ms: u64) -> Vec<Decision> {
        if self.mode != CallMode::Sfu && !self.prewarmed {
            return Vec::new();
        }
        self.mode = CallMode::P2p;
        self.prewarmed = false;
        let until = now_ms.saturating_add(self.cfg.cooldown_ms);
        self.cooldown_until = Some(until);
        self.sfu_barred_until = Some(until);
        vec![Decision::FallBackToP2p {
            reason: reason.to_owned(),
        }]
    }

    /// Time passed: expire bars that have ended and re-evaluate the last count, so a switch
    /// held back by the cool-down happens now if it is still warranted.
    pub fn on_tick(&mut self, now_ms: u64) -> Vec<Decision> {
        self.evaluate(now_ms)
    }

    fn expire(&mut self, now_ms: u64) {
        if matches!(self.cooldown_until, Some(until) if now_ms >= until) {
            self.cooldown_until = None;
        }
        if matches!(self.sfu_barred_until, Some(until) if now_ms >= until) {
            self.sfu_barred_until = None;
        }
    }

    fn evaluate(&mut self, now_ms: u64) -> Vec<Decision> {
        self.expire(now_ms);
        let Some(count) = self.last_count else {
            return Vec::new();
        };
        let cooling = self.cooldown_until.is_some();
        let sfu_barred = self.sfu_barred_until.is_some();
        match self.mode {
            CallMode::Sfu => {
                if count <= self.cfg.p2p_down_at && !cooling {
                    self.switch(CallMode::P2p, now_ms)
                } else {
                    Vec::new()
                }
            }
            // `Migrating` is never stored; treat it as P2P defensively.
            CallMode::P2p | CallMode::Migrating => {
                if count >= self.cfg.sfu_up_at && !cooling && !sfu_barred {
                    self.switch(CallMode::Sfu, now_ms)
                } else if count >= self.cfg.prewarm_at && !self.prewarmed && !sfu_barred {
                    self.prewarmed = true;
                    vec![Decision::Prewarm]
                } else if count <= self.cfg.p2p_down_at && self.prewarmed {
                    self.prewarmed = false;
                    vec![Decision::CancelPrewarm]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn switch(&mut self, to: CallMode, now_ms: u64) -> Vec<Decision> {
        self.mode = to;
        self.prewarmed = false;
        self.cooldown_until = Some(now_ms.saturating_add(self.cfg.cooldown_ms));
        vec![Decision::SwitchTo(to)]
    }
}
