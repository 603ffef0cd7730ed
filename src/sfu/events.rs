//! What the SFU engine tells its owner: [`SfuEvent`]s, delivered through the [`Emitter`] to one
//! Rust sink (the call service, or the JS adapter `SfuClient`, which turns them into `{type, …}`
//! objects), and [`Shared`], the snapshot read synchronously (participants, state, reconnect
//! statistics, what is still open).

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::MediaStream;

use super::error::SfuError;
use super::roster::Participant;

/// Everything the engine reports, in the order it happened. (The call reads fewer fields than
/// the `SfuClient` class, which the npm package leaves out.)
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "sfu-client"), allow(dead_code))]
pub enum SfuEvent {
    /// The JoinResponse arrived: the session is up.
    Connected,
    /// The server confirmed our microphone track and its connection carries media.
    Published,
    /// The remote roster changed (read it from [`Shared`]).
    Participants,
    /// A remote audio track is playing on the SFU bus of the audio graph.
    Track { user_id: u64, stream: MediaStream },
    /// A remote participant's audio left the SFU bus.
    TrackRemoved { user_id: u64 },
    /// Our own connection quality as the server sees it: "good", "medium" or "poor".
    Quality(&'static str),
    /// The signal or a transport was lost; recovery attempt `attempt` ("resume" or "rejoin").
    Reconnecting { mode: &'static str, attempt: u32 },
    /// Usable again after an outage.
    Reconnected {
        mode: &'static str,
        attempts: u32,
        ms: f64,
    },
    /// The session ended: "client" after a leave, else the code of the error that ended it.
    Disconnected { reason: &'static str },
    /// Something went wrong; the session goes on unless a `Disconnected` follows.
    Error(SfuError),
}

/// Where the engine's events go.
pub type SfuSink = Rc<dyn Fn(SfuEvent)>;

/// The single sink slot (a new registration replaces the old one).
#[derive(Clone, Default)]
pub struct Emitter {
    sink: Rc<RefCell<Option<SfuSink>>>,
}

impl Emitter {
    /// Replaces the sink (`None` removes it).
    pub fn set(&self, sink: Option<SfuSink>) {
        *self.sink.borrow_mut() = sink;
    }

    /// Hands `event` to the sink (no borrow is held while it runs).
    pub fn emit(&self, event: SfuEvent) {
        let sink = self.sink.borrow().clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }

    /// Reports an error event.
    pub fn error(&self, error: SfuError) {
        self.emit(SfuEvent::Error(error));
    }
}

/// Updates the snapshot the standalone `SfuClient` class reads. Nothing else reads it, so
/// without the `sfu-client` feature (the npm package) the update is left out of the build.
pub fn update(shared: &RefCell<Shared>, f: impl FnOnce(&mut Shared)) {
    #[cfg(feature = "sfu-client")]
    f(&mut shared.borrow_mut());
    #[cfg(not(feature = "sfu-client"))]
    let _ = (shared, f);
}

/// The snapshot the JS wrapper reads.
#[derive(Default)]
pub struct Shared {
    pub state: &'static str,
    pub participants: Vec<Participant>,
    pub streams: Vec<(crate::signal::UserId, MediaStream)>,
    pub own_sid: String,
    pub own_identity: String,
    pub reconnect_attempts: u32,
    pub resumes: u32,
    pub rejoins: u32,
    pub last_recovery_ms: f64,
    pub socket_open: bool,
    pub open_peer_connections: u32,
    pub published_track_sid: Option<String>,
    pub rtt_ms: i64,
}
