//! Mode management: the pure policy that decides when a call should be P2P or SFU.

pub mod policy;
