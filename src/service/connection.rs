//! [`ConnectionState`]: the one value an app drives its call UI from (connecting, connected,
//! reconnecting, migrating, disconnected), derived from the call's bookkeeping by a pure
//! function, beside the free-text status of compat-spec H7.

use crate::signal::CallMode;

/// Where the call stands, as the app's UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// No call (before the first join, after leave, after a failed join).
    Disconnected,
    /// joinChannel is in progress: capture, waiting for the socket, voice:join not yet sent.
    Connecting,
    /// In the channel, on the mesh or the SFU.
    Connected,
    /// The signalling socket dropped during the call; it re-joins when the socket is back.
    Reconnecting,
    /// The call is moving between the mesh and the SFU (audio keeps flowing).
    Migrating,
}

/// What the call service knows, reduced to what decides the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFacts {
    /// voice:join was sent.
    pub joined: bool,
    /// The socket dropped and the call has not re-joined yet.
    pub lost_socket: bool,
    pub mode: CallMode,
}

impl ConnectionState {
    /// The state of a call (`None`: no call). A lost socket wins over a migration: the
    /// server forgets the migration with the connection.
    pub fn of(call: Option<CallFacts>) -> ConnectionState {
        match call {
            None => ConnectionState::Disconnected,
            Some(c) if !c.joined => ConnectionState::Connecting,
            Some(c) if c.lost_socket => ConnectionState::Reconnecting,
            Some(c) if c.mode == CallMode::Migrating => ConnectionState::Migrating,
            Some(_) => ConnectionState::Connected,
        }
    }

    /// The name JS sees (the `ConnectionState` string union of the typings).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Migrating => "migrating",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(joined: bool, lost_socket: bool, mode: CallMode) -> Option<CallFacts> {
        Some(CallFacts {
            joined,
            lost_socket,
            mode,
        })
    }

    #[test]
    fn no_call_is_disconnected_and_a_pending_join_is_connecting() {
        assert_eq!(ConnectionState::of(None), ConnectionState::Disconnected);
        assert_eq!(
            ConnectionState::of(facts(false, false, CallMode::P2p)),
            ConnectionState::Connecting
        );
    }

    #[test]
    fn a_joined_call_is_connected_on_either_transport_and_migrating_between_them() {
        for mode in [CallMode::P2p, CallMode::Sfu] {
            assert_eq!(
                ConnectionState::of(facts(true, false, mode)),
                ConnectionState::Connected
            );
        }
        assert_eq!(
            ConnectionState::of(facts(true, false, CallMode::Migrating)),
            ConnectionState::Migrating
        );
    }

    #[test]
    fn a_lost_socket_reads_reconnecting_even_mid_migration() {
        for mode in [CallMode::P2p, CallMode::Sfu, CallMode::Migrating] {
            assert_eq!(
                ConnectionState::of(facts(true, true, mode)),
                ConnectionState::Reconnecting
            );
        }
    }

    #[test]
    fn every_state_has_a_distinct_js_name() {
        let names = [
            ConnectionState::Disconnected,
            ConnectionState::Connecting,
            ConnectionState::Connected,
            ConnectionState::Reconnecting,
            ConnectionState::Migrating,
        ]
        .map(ConnectionState::as_str);
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }
}
