//! The call's two transports behind one interface: the P2P mesh (bus [`Bus::P2p`]) and the SFU
//! link (bus [`Bus::Sfu`]). [`Transports`] owns both, and each user's remote streams (one per
//! transport), and keeps them consistent with the call's `AudioGraph`: a stream either transport
//! delivers is recorded (and its audio played on that transport's bus) and becomes the one the
//! app sees; when it ends while the other transport still carries the user, the app is given
//! that one again (its video would otherwise freeze after a rollback or a cancelled pre-warm).
//! The call service drives it with what the server and the mode controller say; nothing else
//! edits the mesh, the SFU link or the streams.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection};

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
    /// Each user's stream per transport, indexed by `Bus::index`.
    streams: [VecMap<UserId, MediaStream>; 2],
    /// The transport whose stream the app was given last, per user.
    shown: VecMap<UserId, Bus>,
}

/// A stream to hand the app again: the user's other transport took over.
pub(crate) type Reshown = Vec<(UserId, MediaStream)>;

impl Transports {
    pub fn new(graph: Rc<RefCell<AudioGraph>>) -> Transports {
        Transports {
            graph,
            mesh: None,
            sfu: None,
            streams: [VecMap::new(), VecMap::new()],
            shown: VecMap::new(),
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
        let bus = *self.shown.get(&user_id)?;
        self.streams[bus.index()].get(&user_id)
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
        self.streams[bus.index()].insert(user_id, Clone::clone(stream));
        self.shown.insert(user_id, bus);
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

    /// `user_id`'s stream on `bus` ended: its audio leaves that bus, and if the app was shown
    /// it, the other transport's stream (if any) is the one to show again.
    pub fn stream_ended(&mut self, user_id: UserId, bus: Bus) -> Option<MediaStream> {
        if let Ok(mut graph) = self.graph.try_borrow_mut() {
            graph.detach(user_id, bus);
        }
        self.streams[bus.index()].remove(&user_id);
        if self.shown.get(&user_id) != Some(&bus) {
            return None;
        }
        let other = self.streams[bus.other().index()].get(&user_id).cloned();
        match &other {
            Some(_) => self.shown.insert(user_id, bus.other()),
            None => self.shown.remove(&user_id),
        };
        other
    }

    /// [`Self::stream_ended`] for several users: the streams to show again.
    fn streams_ended(&mut self, users: Vec<UserId>, bus: Bus) -> Reshown {
        let mut reshown = Vec::new();
        for id in users {
            if let Some(stream) = self.stream_ended(id, bus) {
                reshown.push((id, stream));
            }
        }
        reshown
    }

    /// `user_id` left the call: its mesh connection closes and its audio goes from both buses.
    pub fn drop_user(&mut self, user_id: UserId) {
        if let Some(mesh) = &self.mesh {
            mesh.remove_peer(user_id);
        }
        for streams in &mut self.streams {
            streams.remove(&user_id);
        }
        self.shown.remove(&user_id);
        if let Ok(mut graph) = self.graph.try_borrow_mut() {
            graph.detach_user(user_id);
        }
    }

    /// Closes every mesh connection and its audio (the mesh itself stays, empty, for later).
    pub fn close_mesh(&mut self) -> Reshown {
        let peers = self.mesh.as_ref().map(Mesh::peer_ids).unwrap_or_default();
        if let Some(mesh) = &self.mesh {
            for &id in &peers {
                mesh.remove_peer(id);
            }
        }
        self.streams_ended(peers, Bus::P2p)
    }

    /// Drops the SFU link (it leaves the room) and the SFU audio of `users`.
    pub fn close_sfu(&mut self, users: Vec<UserId>) -> Reshown {
        if self.sfu.take().is_none() {
            return Vec::new();
        }
        self.streams_ended(users, Bus::Sfu)
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

    /// The local tracks changed (the camera was added): the mesh renegotiates and the SFU
    /// session publishes the camera.
    pub fn refresh_tracks(&self, camera: Option<&MediaStreamTrack>) {
        if let Some(mesh) = &self.mesh {
            mesh.refresh_tracks();
        }
        if let (Some(sfu), Some(camera)) = (&self.sfu, camera) {
            sfu.add_camera(camera);
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
        self.streams = Default::default();
        self.shown.clear();
    }

    /// The server forgot us (a socket drop): every mesh connection and every voice goes.
    pub fn forget_all(&mut self, users: &[UserId]) {
        for &id in users {
            self.drop_user(id);
        }
        self.streams = Default::default();
        self.shown.clear();
    }
}
