//! The call's two transports behind one interface: the P2P mesh (bus [`Bus::P2p`]) and the SFU
//! link (bus [`Bus::Sfu`]). [`Transports`] owns both, and the remote stream the app sees for
//! each user, and keeps them consistent with the call's `AudioGraph`: a stream either transport
//! delivers is recorded (and its audio played on that transport's bus), and a user's stream is
//! forgotten only when no transport carries them any more. The call service drives it with
//! what the server and the mode controller say; nothing else edits the mesh, the SFU link or
//! the streams.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::{MediaStream, RtcPeerConnection};

use super::sfu_link::SfuLink;
use crate::media::{AudioGraph, Bus, MediaError};
use crate::p2p::mesh::Mesh;
use crate::signal::UserId;
use crate::vec_map::VecMap;

/// The mesh, the SFU link and the remote streams of one call.
pub(crate) struct Transports {
    graph: Rc<RefCell<AudioGraph>>,
    mesh: Option<Mesh>,
    sfu: Option<SfuLink>,
    streams: VecMap<UserId, MediaStream>,
}

impl Transports {
    pub fn new(graph: Rc<RefCell<AudioGraph>>) -> Transports {
        Transports {
            graph,
            mesh: None,
            sfu: None,
            streams: VecMap::new(),
        }
    }

    /// The mesh, once the call is live (connections are made and signals handled through it).
    pub fn mesh(&self) -> Option<&Mesh> {
        self.mesh.as_ref()
    }

    pub fn set_mesh(&mut self, mesh: Mesh) {
        self.mesh = Some(mesh);
    }

    pub fn has_sfu(&self) -> bool {
        self.sfu.is_some()
    }

    /// Starts an SFU link playing through the call's graph, in place of any earlier one (which
    /// is dropped first: it leaves the room before the new one joins).
    pub fn start_sfu<E>(
        &mut self,
        start: impl FnOnce(Rc<RefCell<AudioGraph>>) -> Result<SfuLink, E>,
    ) -> Result<(), E> {
        self.sfu = None;
        self.sfu = Some(start(self.graph.clone())?);
        Ok(())
    }

    /// The stream the app sees for `user_id`.
    pub fn stream(&self, user_id: UserId) -> Option<&MediaStream> {
        self.streams.get(&user_id)
    }

    /// A remote stream arrived on `bus`. With `play`, its audio is attached to that bus (the
    /// SFU engine attaches its own). The graph is resumed: a remote track is a reason to play.
    pub fn remote_stream(
        &mut self,
        user_id: UserId,
        stream: &MediaStream,
        bus: Bus,
        play: bool,
    ) -> Result<(), MediaError> {
        self.streams.insert(user_id, Clone::clone(stream));
        let Ok(mut graph) = self.graph.try_borrow_mut() else {
            return Ok(());
        };
        graph.resume();
        if play {
            graph.attach(user_id, bus, stream)
        } else {
            Ok(())
        }
    }

    /// `user_id`'s stream on `bus` ended: forgotten unless the other transport carries them.
    pub fn stream_ended(&mut self, user_id: UserId, bus: Bus) {
        let elsewhere = self
            .graph
            .try_borrow_mut()
            .map(|mut graph| {
                graph.detach(user_id, bus);
                graph.is_attached(user_id, bus.other())
            })
            .unwrap_or(false);
        if !elsewhere {
            self.streams.remove(&user_id);
        }
    }

    /// `user_id` left the call: its mesh connection closes and its audio goes from both buses.
    pub fn drop_user(&mut self, user_id: UserId) {
        if let Some(mesh) = &self.mesh {
            mesh.remove_peer(user_id);
        }
        self.streams.remove(&user_id);
        if let Ok(mut graph) = self.graph.try_borrow_mut() {
            graph.detach_user(user_id);
        }
    }

    /// Closes every mesh connection and its audio (the mesh itself stays, empty, for later).
    pub fn close_mesh(&mut self) {
        let peers = self.mesh.as_ref().map(Mesh::peer_ids).unwrap_or_default();
        for id in peers {
            if let Some(mesh) = &self.mesh {
                mesh.remove_peer(id);
            }
            self.stream_ended(id, Bus::P2p);
        }
    }

    /// Drops the SFU link (it leaves the room) and the SFU audio of `users`.
    pub fn close_sfu(&mut self, users: &[UserId]) {
        if self.sfu.take().is_none() {
            return;
        }
        for &id in users {
            self.stream_ended(id, Bus::Sfu);
        }
    }

    /// The user muted or unmuted: both transports stop or resume sending the microphone.
    pub fn set_muted(&self, muted: bool) {
        if let Some(mesh) = &self.mesh {
            mesh.set_audio_muted(muted);
        }
        if let Some(sfu) = &self.sfu {
            sfu.set_muted(muted);
        }
    }

    /// The local tracks changed (the camera was added): the mesh renegotiates.
    pub fn refresh_tracks(&self) {
        if let Some(mesh) = &self.mesh {
            mesh.refresh_tracks();
        }
    }

    /// The mesh's live peer connections (quality polling, tests).
    pub fn peer_connections(&self) -> Vec<(UserId, RtcPeerConnection)> {
        self.mesh
            .as_ref()
            .map(Mesh::connections)
            .unwrap_or_default()
    }

    /// The call ended: the SFU link leaves, every mesh connection closes, the streams go.
    pub fn close(&mut self) {
        self.sfu = None;
        if let Some(mesh) = self.mesh.take() {
            mesh.close();
        }
        self.streams.clear();
    }

    /// The server forgot us (a socket drop): every mesh connection and every voice goes.
    pub fn forget_all(&mut self, users: &[UserId]) {
        for &id in users {
            self.drop_user(id);
        }
        self.streams.clear();
    }
}
