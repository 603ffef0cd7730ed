//! The sans-IO ModeController: carries one client's call between the P2P mesh and the SFU when
//! the server says so (compat-spec §6, H1–H3, H7). Inputs are the server's mode messages, what
//! the transports report (SFU connected, microphone published, SFU failed) and clock ticks;
//! outputs are [`Command`]s for the call service to carry out in order (close or build the mesh,
//! connect or close the SFU, acknowledge, set the mode, show a status, report the migration).
//! No clock, no I/O, no web-sys: time comes in as `now_ms`, and every transition is tested
//! natively (`tests/mode_controller.rs`).
//!
//! The server decides *when* (the pure [`super::policy`] runs there); this decides *how*:
//! - **hard** up: close the mesh, connect the SFU with the microphone, ack once it is
//!   published; down: close the SFU, build the mesh, ack.
//! - A failed SFU attempt is retried ([`ControllerConfig::attempts`] in all, back-off 1 s then
//!   2 s); after the last one the call goes back to the mesh by itself, acks `success:false`
//!   and says "Connection issue, using direct mode". The SFU failing while the call is on it
//!   (livekit-server gone) does the same: the call never stays silent waiting for the server.
//! - `voice:rollback` returns to the mesh from any state; duplicate or late mode-changes are
//!   idempotent (a repeated one for the mode we are in is acked again: the first ack may have
//!   been lost); a mode-change to p2p is accepted at any time, mid-migration too (H2).

use crate::signal::messages::CallMode;

/// Status texts of compat-spec H7.
pub const STATUS_UPGRADING: &str = "Upgrading connection...";
pub const STATUS_CONNECTED: &str = "Connected";
pub const STATUS_DIRECT: &str = "Connection issue, using direct mode";

/// How a migration is carried out (chosen by the server, carried in voice:mode-change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Hard,
    Gradual,
    Opportunistic,
}

impl Strategy {
    /// The strategy named by the server; anything unknown or missing is `hard` (the MVP).
    pub fn parse(name: Option<&str>) -> Strategy {
        match name {
            Some("gradual") => Strategy::Gradual,
            Some("opportunistic") => Strategy::Opportunistic,
            _ => Strategy::Hard,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Hard => "hard",
            Strategy::Gradual => "gradual",
            Strategy::Opportunistic => "opportunistic",
        }
    }
}

/// Which way a migration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToSfu,
    ToP2p,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToSfu => "p2p-to-sfu",
            Direction::ToP2p => "sfu-to-p2p",
        }
    }
}

/// How a migration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The call is on the target transport.
    Completed,
    /// The SFU could not be reached or failed; the call went back to the mesh by itself.
    Failed { reason: String },
    /// The server rolled the channel back (or sent it to p2p) before the switch completed.
    RolledBack { reason: String },
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed { .. } => "failed",
            Outcome::RolledBack { .. } => "rolled-back",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Completed => None,
            Outcome::Failed { reason } | Outcome::RolledBack { reason } => Some(reason),
        }
    }
}

/// One finished migration, for the app's mode event (and the server's H-M1 metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub strategy: Strategy,
    pub direction: Direction,
    pub outcome: Outcome,
    /// From the mode-change to the end (ms).
    pub duration_ms: u64,
    /// SFU connection attempts made (0 for a move to p2p).
    pub attempts: u32,
}

/// What the controller reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// voice:mode-change; `sfu` is `(url, token)` when the server sent both.
    ModeChange {
        new_mode: CallMode,
        sfu: Option<(String, String)>,
        strategy: Option<String>,
    },
    /// voice:rollback.
    Rollback { reason: String },
    /// The SFU session is up (JoinResponse).
    SfuConnected,
    /// The SFU confirmed our microphone.
    SfuPublished,
    /// The SFU session failed or ended without us asking.
    SfuFailed { reason: String },
    /// Time passes (retries and the connect deadline).
    Tick,
    /// The call's signalling was reset (socket rejoin): forget any SFU state.
    Reset,
}

/// What the call service must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The call's mode as the app sees it (`getCurrentMode()`).
    SetMode(CallMode),
    /// A status line for the app (H7).
    Status(&'static str),
    /// Close every mesh connection (and its audio).
    CloseMesh,
    /// Connect to every listed participant over the mesh.
    BuildMesh,
    /// Start an SFU session with the microphone.
    ConnectSfu { url: String, token: String },
    /// End the SFU session (and its audio).
    CloseSfu,
    /// voice:mode-change-ack.
    Ack {
        success: bool,
        error: Option<String>,
    },
    /// A migration finished (the mode event).
    Report(Migration),
}

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerConfig {
    /// SFU connection attempts before falling back (H3: 3).
    pub attempts: u32,
    /// Back-off before the second attempt; doubled for each later one (H3: 1 s, 2 s).
    pub first_backoff_ms: u64,
    /// An attempt that has not published within this is a failure.
    pub attempt_timeout_ms: u64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            attempts: 3,
            first_backoff_ms: 1_000,
            attempt_timeout_ms: 12_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    P2p,
    /// Moving to the SFU (the mesh is closed for `hard`).
    Upgrading {
        strategy: Strategy,
        since: u64,
        attempt: u32,
        url: String,
        token: String,
        /// Waiting for the next attempt until then.
        retry_at: Option<u64>,
        /// The current attempt fails if it has not published by then.
        deadline: u64,
    },
    Sfu {
        strategy: Strategy,
    },
}

/// The controller of one call. See the module documentation.
#[derive(Debug, Clone)]
pub struct ModeController {
    cfg: ControllerConfig,
    state: State,
}

impl Default for ModeController {
    fn default() -> Self {
        ModeController::new(ControllerConfig::default())
    }
}

impl ModeController {
    pub fn new(cfg: ControllerConfig) -> ModeController {
        ModeController {
            cfg,
            state: State::P2p,
        }
    }

    /// The mode the app sees.
    pub fn mode(&self) -> CallMode {
        match self.state {
            State::P2p => CallMode::P2p,
            State::Upgrading { .. } => CallMode::Migrating,
            State::Sfu { .. } => CallMode::Sfu,
        }
    }

    /// True while the mesh is meant to be up (so new participants are connected over it).
    pub fn mesh_wanted(&self) -> bool {
        matches!(self.state, State::P2p)
    }

    /// True while an SFU session is meant to exist (connected, connecting or waiting to retry).
    pub fn sfu_wanted(&self) -> bool {
        !matches!(self.state, State::P2p)
    }

    /// Handles one input at `now_ms`; returns the commands to carry out, in order.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Command> {
        match input {
            Input::ModeChange {
                new_mode,
                sfu,
                strategy,
            } => self.on_mode_change(new_mode, sfu, strategy.as_deref(), now_ms),
            Input::Rollback { reason } => self.back_to_mesh(Outcome::RolledBack { reason }, now_ms),
            Input::SfuConnected => Vec::new(),
            Input::SfuPublished => self.on_published(now_ms),
            Input::SfuFailed { reason } => self.on_sfu_failed(reason, now_ms),
            Input::Tick => self.on_tick(now_ms),
            Input::Reset => {
                let was_on_sfu = self.sfu_wanted();
                self.state = State::P2p;
                if was_on_sfu {
                    vec![Command::CloseSfu, Command::SetMode(CallMode::P2p)]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn on_mode_change(
        &mut self,
        new_mode: CallMode,
        sfu: Option<(String, String)>,
        strategy: Option<&str>,
        now: u64,
    ) -> Vec<Command> {
        let ack = |success: bool, error: Option<&str>| Command::Ack {
            success,
            error: error.map(str::to_string),
        };
        match (&self.state, new_mode) {
            // Already there (the server re-sent it: our ack may have been lost).
            (State::P2p, CallMode::P2p) | (State::Sfu { .. }, CallMode::Sfu) => {
                vec![ack(true, None)]
            }
            // In progress: its ack follows when it ends.
            (State::Upgrading { .. }, CallMode::Sfu) | (_, CallMode::Migrating) => Vec::new(),
            (State::P2p, CallMode::Sfu) => {
                let Some((url, token)) = sfu.filter(|(u, t)| !u.is_empty() && !t.is_empty()) else {
                    return vec![ack(false, Some("mode-change without an SFU url and token"))];
                };
                let strategy = Strategy::parse(strategy);
                self.state = State::Upgrading {
                    strategy,
                    since: now,
                    attempt: 1,
                    url: url.clone(),
                    token: token.clone(),
                    retry_at: None,
                    deadline: now + self.cfg.attempt_timeout_ms,
                };
                vec![
                    Command::SetMode(CallMode::Migrating),
                    Command::Status(STATUS_UPGRADING),
                    Command::CloseMesh,
                    Command::ConnectSfu { url, token },
                ]
            }
            (State::Upgrading { .. }, CallMode::P2p) => {
                let mut commands = self.back_to_mesh(
                    Outcome::RolledBack {
                        reason: "mode-change to p2p".into(),
                    },
                    now,
                );
                commands.push(ack(true, None));
                commands
            }
            (State::Sfu { .. }, CallMode::P2p) => {
                let strategy = Strategy::parse(strategy);
                self.state = State::P2p;
                vec![
                    Command::SetMode(CallMode::Migrating),
                    Command::CloseSfu,
                    Command::BuildMesh,
                    Command::SetMode(CallMode::P2p),
                    Command::Status(STATUS_CONNECTED),
                    ack(true, None),
                    Command::Report(Migration {
                        strategy,
                        direction: Direction::ToP2p,
                        outcome: Outcome::Completed,
                        duration_ms: 0,
                        attempts: 0,
                    }),
                ]
            }
        }
    }

    fn on_published(&mut self, now: u64) -> Vec<Command> {
        let State::Upgrading {
            strategy,
            since,
            attempt,
            ..
        } = self.state
        else {
            return Vec::new();
        };
        self.state = State::Sfu { strategy };
        vec![
            Command::SetMode(CallMode::Sfu),
            Command::Status(STATUS_CONNECTED),
            Command::Ack {
                success: true,
                error: None,
            },
            Command::Report(Migration {
                strategy,
                direction: Direction::ToSfu,
                outcome: Outcome::Completed,
                duration_ms: now.saturating_sub(since),
                attempts: attempt,
            }),
        ]
    }

    fn on_sfu_failed(&mut self, reason: String, now: u64) -> Vec<Command> {
        match &mut self.state {
            State::P2p => Vec::new(),
            State::Upgrading {
                attempt, retry_at, ..
            } if retry_at.is_none() && *attempt < self.cfg.attempts => {
                let backoff = self.cfg.first_backoff_ms << (*attempt - 1).min(16);
                *retry_at = Some(now + backoff);
                vec![Command::CloseSfu]
            }
            // A stale report while waiting to retry (the closed session's last words).
            State::Upgrading {
                retry_at: Some(_), ..
            } => Vec::new(),
            State::Upgrading { .. } | State::Sfu { .. } => {
                let mut commands = self.back_to_mesh(Outcome::Failed { reason }, now);
                let reason = match commands.last() {
                    Some(Command::Report(m)) => m.outcome.reason().map(str::to_string),
                    _ => None,
                };
                commands.push(Command::Ack {
                    success: false,
                    error: reason,
                });
                commands
            }
        }
    }

    fn on_tick(&mut self, now: u64) -> Vec<Command> {
        let timeout = self.cfg.attempt_timeout_ms;
        match &mut self.state {
            State::Upgrading {
                retry_at,
                attempt,
                deadline,
                url,
                token,
                ..
            } if retry_at.is_some_and(|at| now >= at) => {
                *retry_at = None;
                *attempt += 1;
                *deadline = now + timeout;
                vec![Command::ConnectSfu {
                    url: url.clone(),
                    token: token.clone(),
                }]
            }
            State::Upgrading {
                retry_at: None,
                deadline,
                ..
            } if now >= *deadline => {
                self.on_sfu_failed("the SFU did not confirm our microphone in time".into(), now)
            }
            _ => Vec::new(),
        }
    }

    /// Leaves any SFU state for the mesh and reports how the migration ended.
    fn back_to_mesh(&mut self, outcome: Outcome, now: u64) -> Vec<Command> {
        let (strategy, direction, since, attempts) = match &self.state {
            State::P2p => return Vec::new(),
            State::Upgrading {
                strategy,
                since,
                attempt,
                ..
            } => (*strategy, Direction::ToSfu, *since, *attempt),
            // The SFU failed or was rolled back under a settled call: a move back to the mesh.
            State::Sfu { strategy } => (*strategy, Direction::ToP2p, now, 0),
        };
        self.state = State::P2p;
        vec![
            Command::CloseSfu,
            Command::BuildMesh,
            Command::SetMode(CallMode::P2p),
            Command::Status(STATUS_DIRECT),
            Command::Report(Migration {
                strategy,
                direction,
                outcome,
                duration_ms: now.saturating_sub(since),
                attempts,
            }),
        ]
    }
}
