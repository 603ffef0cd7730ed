//! The sans-IO ModeController: carries one client's call between the P2P mesh and the SFU when
//! the server says so (compat-spec §6, H1–H3, H6, H7). Inputs are the server's mode messages,
//! what the transports report (SFU connected, microphone published, SFU failed) and clock ticks
//! that say which voices already flow on the transport being moved to; outputs are
//! [`Command`]s for the call service to carry out in order (close or build the mesh, connect
//! or close the SFU, route voices, acknowledge, set the mode, show a status, report the
//! migration). No clock, no I/O, no web-sys: time comes in as `now_ms`, and every transition is
//! tested natively (`tests/mode_controller.rs`, `tests/mode_controller_gradual.rs`).
//!
//! The server decides *when* (the pure [`super::policy`] runs there); this decides *how*:
//! - **hard** up: close the mesh, connect the SFU with the microphone, ack once it is
//!   published; down: close the SFU, build the mesh, ack.
//! - **gradual** up: the SFU comes up beside the mesh; each voice is routed from the mesh to
//!   the SFU once its SFU copy flows (the service measures it); when every voice is across and
//!   our microphone is published the call is on the SFU and acks, and the mesh stays as a
//!   fallback for a grace period before it closes. Until then a voice whose SFU copy stalls
//!   plays from the mesh again until the SFU carries it (`switch.rs`). Down is the mirror
//!   image (the mesh is built beside the SFU; the SFU closes after its grace period). A
//!   failure before the switch ends routes everything back to the mesh that never stopped:
//!   nobody hears it.
//! - **opportunistic**: a mode-change to p2p that carries SFU credentials is a *pre-warm*: the
//!   SFU session is opened, publishing our microphone and receiving every warm voice while the
//!   mesh still plays. It is acked once every voice arrived there (the server holds its switch
//!   until the members answered), so the switch is routing only; one without credentials
//!   cancels it.
//! - A failed SFU attempt is retried ([`ControllerConfig::attempts`] in all, back-off 1 s then
//!   2 s); after the last one the call goes back to the mesh by itself, acks `success:false`
//!   and says "Connection issue, using direct mode". The SFU failing while the call is on it
//!   (livekit-server gone) does the same: the call never stays silent waiting for the server.
//! - `voice:rollback` returns to the mesh from any state; duplicate or late mode-changes are
//!   idempotent (a repeated one for the mode we are in is acked again: the first ack may have
//!   been lost); a mode-change to p2p is accepted at any time, mid-migration too (H2).

pub(super) use super::switch::Switch;
use crate::signal::messages::{CallMode, UserId};

/// Status texts of compat-spec H7.
pub const STATUS_UPGRADING: &str = "Upgrading connection...";
pub const STATUS_CONNECTED: &str = "Connected";
pub const STATUS_DIRECT: &str = "Connection issue, using direct mode";
pub const STATUS_OPTIMIZING: &str = "Optimizing connection...";

/// How long a voice must stay silent on both transports before a gradual switch moves it
/// without having heard it on the new one. A voice that is heard there moves at once; a silent
/// one (not speaking, muted, turned down) moves without anyone hearing it, but a dropout of its
/// old copy under load lasts far less than this, so it never moves a voice to a copy that does
/// not play yet.
pub const QUIET_CROSS_MS: u64 = 300;

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
    /// Gradual switches: when each voice crossed, in ms after the mode-change.
    pub voice_switch_ms: Vec<(UserId, u64)>,
}

/// The transport a voice or the whole call is routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Mesh,
    Sfu,
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
    /// Time passes. `flowing`: the participants whose voice is heard on the transport being
    /// moved to ([`ModeController::target`]); `quiet`: those whose voice arrives there but is
    /// silent on both transports (they move once quiet for [`QUIET_CROSS_MS`]); `expected`:
    /// everyone in the call now.
    Tick {
        flowing: Vec<UserId>,
        quiet: Vec<UserId>,
        expected: Vec<UserId>,
    },
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
    /// Complete the mesh: connect to every listed participant that has no connection yet
    /// (connections that exist are kept).
    BuildMesh,
    /// Start an SFU session publishing the microphone (its voices play once routed there).
    ConnectSfu { url: String, token: String },
    /// End the SFU session (and its audio).
    CloseSfu,
    /// Play every voice from this transport (cross-faded).
    RouteAll(Transport),
    /// Play one voice from this transport (cross-faded).
    RouteVoice { user_id: UserId, to: Transport },
    /// voice:mode-change-ack.
    Ack {
        success: bool,
        error: Option<String>,
    },
    /// A migration finished (the mode event).
    Report(Migration),
}

/// Retry, timeout and grace settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerConfig {
    /// SFU connection attempts before falling back (H3: 3).
    pub attempts: u32,
    /// Back-off before the second attempt; doubled for each later one (H3: 1 s, 2 s).
    pub first_backoff_ms: u64,
    /// A hard attempt that has not published within this is a failure.
    pub attempt_timeout_ms: u64,
    /// A gradual switch not finished within this fails (up) or is forced (down).
    pub switch_deadline_ms: u64,
    /// How long the old transport stays up after a gradual switch (the fallback).
    pub grace_ms: u64,
    /// A pre-warm is answered once every voice arrived on the warm session, or this long
    /// after our microphone was published there or the pre-warm was repeated (a member that
    /// cannot warm up holds nobody).
    pub warm_ready_ms: u64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            attempts: 3,
            first_backoff_ms: 1_000,
            attempt_timeout_ms: 12_000,
            switch_deadline_ms: 10_000,
            grace_ms: 3_000,
            warm_ready_ms: 3_000,
        }
    }
}

/// A pre-warmed SFU session (opportunistic strategy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Warm {
    pub(super) url: String,
    pub(super) token: String,
    /// Once our microphone is published on the warm session: when the pending pre-warm is
    /// acked even if some voice has not arrived.
    pub(super) ready_by: Option<u64>,
    /// The latest pre-warm was answered.
    pub(super) acked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    P2p {
        warm: Option<Warm>,
        /// After a gradual return: the SFU closes then.
        close_sfu_at: Option<u64>,
    },
    /// Moving to the SFU.
    Upgrading {
        strategy: Strategy,
        since: u64,
        attempt: u32,
        url: String,
        token: String,
        /// Waiting for the next attempt until then.
        retry_at: Option<u64>,
        /// The current attempt (hard) or the whole switch (gradual) fails then.
        deadline: u64,
        published: bool,
        mesh_up: bool,
        switch: Switch,
    },
    Sfu {
        strategy: Strategy,
        /// After a gradual switch: the mesh closes then (until then it is the fallback).
        close_mesh_at: Option<u64>,
        mesh_up: bool,
        /// The switch's voices, still measured while the mesh is kept (times since `since`):
        /// one whose SFU copy stalls plays from the mesh again until it is heard on the SFU.
        since: u64,
        switch: Switch,
    },
    /// Moving back to the mesh, gradually.
    Downgrading {
        strategy: Strategy,
        since: u64,
        deadline: u64,
        switch: Switch,
    },
}

/// The controller of one call. See the module documentation.
#[derive(Debug, Clone)]
pub struct ModeController {
    pub(super) cfg: ControllerConfig,
    pub(super) state: State,
}

impl Default for ModeController {
    fn default() -> Self {
        ModeController::new(ControllerConfig::default())
    }
}

pub(super) fn ack(success: bool, error: Option<&str>) -> Command {
    Command::Ack {
        success,
        error: error.map(str::to_string),
    }
}

impl ModeController {
    pub fn new(cfg: ControllerConfig) -> ModeController {
        ModeController {
            cfg,
            state: State::P2p {
                warm: None,
                close_sfu_at: None,
            },
        }
    }

    /// The mode the app sees.
    pub fn mode(&self) -> CallMode {
        match self.state {
            State::P2p { .. } => CallMode::P2p,
            State::Upgrading { .. } | State::Downgrading { .. } => CallMode::Migrating,
            State::Sfu { .. } => CallMode::Sfu,
        }
    }

    /// True while the mesh is meant to be up (new participants are connected over it, and
    /// relayed offers are answered).
    pub fn mesh_wanted(&self) -> bool {
        match &self.state {
            State::P2p { .. } | State::Downgrading { .. } => true,
            State::Upgrading { mesh_up, .. } | State::Sfu { mesh_up, .. } => *mesh_up,
        }
    }

    /// True while an SFU session is meant to exist (connected, connecting, warm or in grace).
    pub fn sfu_wanted(&self) -> bool {
        match &self.state {
            State::P2p { warm, close_sfu_at } => warm.is_some() || close_sfu_at.is_some(),
            // A hard return closed the SFU when it began.
            State::Downgrading { strategy, .. } => *strategy != Strategy::Hard,
            _ => true,
        }
    }

    /// The transport whose voices the service reports in [`Input::Tick`]: the target of a
    /// switch, the SFU while a published pre-warm waits for every voice to arrive there, and
    /// the SFU while the mesh is kept as the fallback after a switch.
    pub fn measured(&self) -> Option<Transport> {
        match &self.state {
            State::Sfu {
                close_mesh_at: Some(_),
                ..
            } => Some(Transport::Sfu),
            State::P2p {
                warm:
                    Some(Warm {
                        ready_by: Some(_),
                        acked: false,
                        ..
                    }),
                ..
            } => Some(Transport::Sfu),
            _ => self.target(),
        }
    }

    /// The transport a gradual switch is moving voices to, if one is running.
    pub fn target(&self) -> Option<Transport> {
        match &self.state {
            State::Upgrading {
                strategy,
                mesh_up: true,
                ..
            } if *strategy != Strategy::Hard => Some(Transport::Sfu),
            State::Downgrading { .. } => Some(Transport::Mesh),
            _ => None,
        }
    }

    /// Handles one input at `now_ms`; returns the commands to carry out, in order.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Command> {
        match input {
            Input::ModeChange {
                new_mode,
                sfu,
                strategy,
            } => {
                let strategy_name = strategy.as_deref();
                let sfu = sfu.filter(|(u, t)| !u.is_empty() && !t.is_empty());
                self.on_mode_change(new_mode, sfu, strategy_name, now_ms)
            }
            Input::Rollback { reason } => self.on_rollback(reason, now_ms),
            Input::SfuConnected => Vec::new(),
            Input::SfuPublished => self.on_published(now_ms),
            Input::SfuFailed { reason } => self.on_sfu_failed(reason, now_ms),
            Input::Tick {
                flowing,
                quiet,
                expected,
            } => self.on_tick(&flowing, &quiet, &expected, now_ms),
            Input::Reset => {
                let was_on_sfu = self.sfu_wanted();
                let mesh_up = self.mesh_wanted();
                self.state = State::P2p {
                    warm: None,
                    close_sfu_at: None,
                };
                let mut commands = Vec::new();
                if was_on_sfu {
                    commands.push(Command::CloseSfu);
                }
                if !mesh_up || was_on_sfu {
                    commands.push(Command::RouteAll(Transport::Mesh));
                    commands.push(Command::SetMode(CallMode::P2p));
                }
                commands
            }
        }
    }
}
