//! The ModeController's transitions (its types and entry point are in `controller.rs`): what
//! each server message, transport report and tick does in each state, for the hard, gradual
//! and opportunistic strategies.

use super::controller::{
    ack, Command, Direction, Migration, ModeController, Outcome, State, Strategy, Switch,
    Transport, Warm, STATUS_CONNECTED, STATUS_DIRECT, STATUS_OPTIMIZING, STATUS_UPGRADING,
};
use crate::signal::messages::{CallMode, UserId};

impl ModeController {
    pub(super) fn on_mode_change(
        &mut self,
        new_mode: CallMode,
        sfu: Option<(String, String)>,
        strategy: Option<&str>,
        now: u64,
    ) -> Vec<Command> {
        let strategy = Strategy::parse(strategy);
        match (&mut self.state, new_mode) {
            (_, CallMode::Migrating) => Vec::new(),
            // Opportunistic pre-warm (credentials) or its cancellation (none), else a repeat.
            // A pre-warm is acked once its session is published and carries every voice
            // (`on_tick`): the server holds a switch to the SFU until its members are warm, and
            // asks warm members again when someone joins (then the joiner's voice must arrive).
            (State::P2p { warm, close_sfu_at }, CallMode::P2p) => {
                let mut commands = Vec::new();
                let ready_ms = self.cfg.warm_ready_ms;
                match (sfu, warm.as_mut()) {
                    (Some((url, token)), None) if strategy == Strategy::Opportunistic => {
                        // The new session replaces one still lingering after a switch back.
                        *close_sfu_at = None;
                        *warm = Some(Warm {
                            url: url.clone(),
                            token: token.clone(),
                            ready_by: None,
                            acked: false,
                        });
                        return vec![Command::ConnectSfu { url, token }];
                    }
                    // A repeat: answered once every voice of the call (the joiner's too) has
                    // arrived; while warming up, that waits for the publication as before.
                    (Some(_), Some(warm)) => {
                        if warm.acked {
                            warm.acked = false;
                            warm.ready_by = Some(now + ready_ms);
                        }
                        return commands;
                    }
                    (None, Some(_)) => {
                        *warm = None;
                        commands.push(Command::CloseSfu);
                    }
                    _ => {}
                }
                commands.push(ack(true, None));
                commands
            }
            (State::Sfu { .. }, CallMode::Sfu) => vec![ack(true, None)],
            (State::Upgrading { .. }, CallMode::Sfu) => Vec::new(),
            (State::Downgrading { .. }, CallMode::P2p) => Vec::new(),
            (State::P2p { warm, close_sfu_at }, CallMode::Sfu) => {
                let warm = warm.take();
                let lingering = close_sfu_at.is_some();
                self.upgrade(strategy, sfu, warm, lingering, now)
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
            (State::Sfu { .. }, CallMode::P2p) => self.downgrade(strategy, now),
            // The server turned round mid-way down a hard return: the SFU is gone, so this is
            // an upgrade like any other.
            (
                State::Downgrading {
                    strategy: Strategy::Hard,
                    ..
                },
                CallMode::Sfu,
            ) => self.upgrade(strategy, sfu, None, false, now),
            // The server turned round mid-way down: back to the SFU, the mesh stays a while.
            (State::Downgrading { strategy, .. }, CallMode::Sfu) => {
                let strategy = *strategy;
                self.state = State::Sfu {
                    strategy,
                    close_mesh_at: Some(now + self.cfg.grace_ms),
                    mesh_up: true,
                    since: now,
                    switch: Switch::default(),
                };
                vec![
                    Command::RouteAll(Transport::Sfu),
                    Command::SetMode(CallMode::Sfu),
                    ack(true, None),
                ]
            }
        }
    }

    fn upgrade(
        &mut self,
        strategy: Strategy,
        sfu: Option<(String, String)>,
        warm: Option<Warm>,
        lingering: bool,
        now: u64,
    ) -> Vec<Command> {
        let Some((url, token)) = sfu.or_else(|| warm.clone().map(|w| (w.url, w.token))) else {
            return vec![ack(false, Some("mode-change without an SFU url and token"))];
        };
        let hard = strategy == Strategy::Hard;
        let reuse_warm = !hard && warm.is_some();
        let mut commands = vec![Command::SetMode(CallMode::Migrating)];
        commands.push(Command::Status(if hard {
            STATUS_UPGRADING
        } else {
            STATUS_OPTIMIZING
        }));
        if (warm.is_some() || lingering) && !reuse_warm {
            commands.push(Command::CloseSfu);
        }
        if hard {
            commands.push(Command::CloseMesh);
            commands.push(Command::RouteAll(Transport::Sfu));
        }
        // A warm session already carries every voice: the switch is routing only.
        if !reuse_warm {
            commands.push(Command::ConnectSfu {
                url: url.clone(),
                token: token.clone(),
            });
        }
        let deadline = now
            + if hard {
                self.cfg.attempt_timeout_ms
            } else {
                self.cfg.switch_deadline_ms
            };
        self.state = State::Upgrading {
            strategy,
            since: now,
            attempt: 1,
            url,
            token,
            retry_at: None,
            deadline,
            published: warm.is_some_and(|w| w.ready_by.is_some()) && reuse_warm,
            mesh_up: !hard,
            switch: Switch::default(),
        };
        commands
    }

    /// Back to the mesh. Gradual and opportunistic go voice by voice even when the mesh is
    /// still up from the grace period: whoever joined on the SFU has no mesh connection yet,
    /// and the voices already on the mesh simply cross at the next tick.
    fn downgrade(&mut self, strategy: Strategy, now: u64) -> Vec<Command> {
        self.state = State::Downgrading {
            strategy,
            since: now,
            deadline: now + self.cfg.switch_deadline_ms,
            switch: Switch::default(),
        };
        if strategy == Strategy::Hard {
            // A cut: the SFU goes at once and every voice plays from the mesh as it connects.
            // Like a gradual return, the migration ends (ack and report, with its real
            // duration) once every voice flows on the mesh, or at the deadline.
            return vec![
                Command::SetMode(CallMode::Migrating),
                Command::Status(STATUS_OPTIMIZING),
                Command::CloseSfu,
                Command::BuildMesh,
                Command::RouteAll(Transport::Mesh),
            ];
        }
        vec![
            Command::SetMode(CallMode::Migrating),
            Command::Status(STATUS_OPTIMIZING),
            Command::BuildMesh,
        ]
    }

    pub(super) fn on_published(&mut self, now: u64) -> Vec<Command> {
        match &mut self.state {
            State::P2p {
                warm: Some(warm), ..
            } if warm.ready_by.is_none() => {
                warm.ready_by = Some(now + self.cfg.warm_ready_ms);
                Vec::new()
            }
            State::Upgrading {
                strategy: Strategy::Hard,
                ..
            } => self.finish_upgrade(now),
            State::Upgrading { published, .. } => {
                *published = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The call is on the SFU: ack, report, and (gradual) keep the mesh for its grace period.
    fn finish_upgrade(&mut self, now: u64) -> Vec<Command> {
        let State::Upgrading {
            strategy,
            since,
            attempt,
            mesh_up,
            switch,
            ..
        } = &mut self.state
        else {
            return Vec::new();
        };
        let migration = Migration {
            strategy: *strategy,
            direction: Direction::ToSfu,
            outcome: Outcome::Completed,
            duration_ms: now.saturating_sub(*since),
            attempts: *attempt,
            voice_switch_ms: switch.crossed.clone(),
        };
        let mesh_up = *mesh_up;
        self.state = State::Sfu {
            strategy: *strategy,
            close_mesh_at: mesh_up.then_some(now + self.cfg.grace_ms),
            mesh_up,
            since: *since,
            switch: std::mem::take(switch),
        };
        vec![
            Command::RouteAll(Transport::Sfu),
            Command::SetMode(CallMode::Sfu),
            Command::Status(STATUS_CONNECTED),
            ack(true, None),
            Command::Report(migration),
        ]
    }

    pub(super) fn on_sfu_failed(&mut self, reason: String, now: u64) -> Vec<Command> {
        let attempts = self.cfg.attempts;
        match &mut self.state {
            State::P2p { warm, close_sfu_at } => {
                let warming = warm.as_ref().is_some_and(|w| !w.acked);
                let had = warm.take().is_some() | close_sfu_at.take().is_some();
                let mut commands = if had {
                    vec![Command::CloseSfu]
                } else {
                    Vec::new()
                };
                // A pre-warm that never came up is answered too: the server need not wait.
                if warming {
                    commands.push(ack(false, Some(&reason)));
                }
                commands
            }
            State::Upgrading {
                attempt,
                retry_at,
                published,
                switch,
                ..
            } if retry_at.is_none() && *attempt < attempts => {
                let backoff = self.cfg.first_backoff_ms << (*attempt - 1).min(16);
                *retry_at = Some(now + backoff);
                *published = false;
                switch.crossed.clear();
                vec![Command::CloseSfu, Command::RouteAll(Transport::Mesh)]
            }
            // A stale report while waiting to retry (the closed session's last words).
            State::Upgrading {
                retry_at: Some(_), ..
            } => Vec::new(),
            State::Downgrading { .. } => self.finish_downgrade(now, true),
            State::Upgrading { .. } | State::Sfu { .. } => {
                let mut commands = self.back_to_mesh(
                    Outcome::Failed {
                        reason: reason.clone(),
                    },
                    now,
                );
                commands.push(ack(false, Some(&reason)));
                commands
            }
        }
    }

    pub(super) fn on_rollback(&mut self, reason: String, now: u64) -> Vec<Command> {
        match &mut self.state {
            State::P2p { warm, .. } => {
                if warm.take().is_some() {
                    vec![Command::CloseSfu]
                } else {
                    Vec::new()
                }
            }
            State::Downgrading { .. } => self.finish_downgrade(now, true),
            _ => self.back_to_mesh(Outcome::RolledBack { reason }, now),
        }
    }

    pub(super) fn on_tick(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        expected: &[UserId],
        now: u64,
    ) -> Vec<Command> {
        let timeout = self.cfg.attempt_timeout_ms;
        match &mut self.state {
            State::P2p { close_sfu_at, .. } if close_sfu_at.is_some_and(|at| now >= at) => {
                *close_sfu_at = None;
                vec![Command::CloseSfu]
            }
            State::P2p {
                warm:
                    Some(Warm {
                        ready_by: Some(by),
                        acked: acked @ false,
                        ..
                    }),
                ..
            } => {
                let arrived = expected
                    .iter()
                    .all(|u| flowing.contains(u) || quiet.contains(u));
                if !arrived && now < *by {
                    return Vec::new();
                }
                *acked = true;
                vec![ack(true, None)]
            }
            // The grace period: the switch goes on (a voice whose SFU copy stalls goes back to
            // the mesh until heard on the SFU); at its end every voice plays from the SFU.
            State::Sfu {
                close_mesh_at: close_mesh_at @ Some(_),
                mesh_up,
                since,
                switch,
                ..
            } => {
                let at = now.saturating_sub(*since);
                let mut commands = switch.cross(flowing, quiet, Transport::Sfu, at);
                if close_mesh_at.is_some_and(|at| now >= at) {
                    if !switch.all_across(expected) {
                        commands.push(Command::RouteAll(Transport::Sfu));
                    }
                    *switch = Switch::default();
                    *mesh_up = false;
                    *close_mesh_at = None;
                    commands.push(Command::CloseMesh);
                }
                commands
            }
            State::Upgrading {
                retry_at,
                attempt,
                deadline,
                url,
                token,
                strategy,
                ..
            } if retry_at.is_some_and(|at| now >= at) => {
                *retry_at = None;
                *attempt += 1;
                if *strategy == Strategy::Hard {
                    *deadline = now + timeout;
                }
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
                self.on_sfu_failed("the SFU did not carry the call in time".into(), now)
            }
            State::Upgrading {
                strategy,
                since,
                published,
                switch,
                retry_at: None,
                ..
            } if *strategy != Strategy::Hard => {
                let at = now.saturating_sub(*since);
                let mut commands = switch.cross(flowing, quiet, Transport::Sfu, at);
                if *published && switch.all_across(expected) {
                    commands.extend(self.finish_upgrade(now));
                }
                commands
            }
            State::Downgrading { deadline, .. } if now >= *deadline => {
                self.finish_downgrade(now, false)
            }
            State::Downgrading { since, switch, .. } => {
                let at = now.saturating_sub(*since);
                let mut commands = switch.cross(flowing, quiet, Transport::Mesh, at);
                if switch.all_across(expected) {
                    commands.extend(self.finish_downgrade(now, false));
                }
                commands
            }
            _ => Vec::new(),
        }
    }

    /// The return is over (all voices across, its deadline, or the SFU gone; a hard return
    /// closed the SFU at its start).
    fn finish_downgrade(&mut self, now: u64, sfu_gone: bool) -> Vec<Command> {
        let State::Downgrading {
            strategy,
            since,
            switch,
            ..
        } = &mut self.state
        else {
            return Vec::new();
        };
        // A hard return closed the SFU when it began.
        let hard = *strategy == Strategy::Hard;
        let migration = Migration {
            strategy: *strategy,
            direction: Direction::ToP2p,
            outcome: Outcome::Completed,
            duration_ms: now.saturating_sub(*since),
            attempts: 0,
            voice_switch_ms: std::mem::take(&mut switch.crossed),
        };
        self.state = State::P2p {
            warm: None,
            close_sfu_at: (!sfu_gone && !hard).then_some(now + self.cfg.grace_ms),
        };
        let mut commands = vec![Command::RouteAll(Transport::Mesh)];
        if sfu_gone && !hard {
            commands.push(Command::CloseSfu);
        }
        commands.extend([
            Command::SetMode(CallMode::P2p),
            Command::Status(STATUS_CONNECTED),
            ack(true, None),
            Command::Report(migration),
        ]);
        commands
    }

    /// Leaves any SFU state for the mesh and reports how the migration ended. A mesh that is
    /// still up (gradual) is simply routed back to: nobody hears the difference.
    pub(super) fn back_to_mesh(&mut self, outcome: Outcome, now: u64) -> Vec<Command> {
        let (strategy, direction, since, attempts) = match &self.state {
            State::P2p { .. } | State::Downgrading { .. } => return Vec::new(),
            State::Upgrading {
                strategy,
                since,
                attempt,
                ..
            } => (*strategy, Direction::ToSfu, *since, *attempt),
            // The SFU failed or was rolled back under a settled call: a move back to the mesh.
            State::Sfu { strategy, .. } => (*strategy, Direction::ToP2p, now, 0),
        };
        // Rolled back by the server: the others may still hear this client through the SFU
        // until they move back themselves (under load the same rollback reaches some of them
        // seconds later), so its session stays for the grace period, as after a gradual
        // return. A failed session closes at once.
        let linger = matches!(outcome, Outcome::RolledBack { .. });
        self.state = State::P2p {
            warm: None,
            close_sfu_at: linger.then(|| now + self.cfg.grace_ms),
        };
        // The mesh is completed either way: whoever joined on the SFU has no connection yet
        // (a mesh still up from a gradual switch only gains the missing ones).
        let mut commands = if linger {
            vec![Command::BuildMesh]
        } else {
            vec![Command::CloseSfu, Command::BuildMesh]
        };
        commands.extend([
            Command::RouteAll(Transport::Mesh),
            Command::SetMode(CallMode::P2p),
            Command::Status(STATUS_DIRECT),
            Command::Report(Migration {
                strategy,
                direction,
                outcome,
                duration_ms: now.saturating_sub(since),
                attempts,
                voice_switch_ms: Vec::new(),
            }),
        ]);
        commands
    }
}
