//! Mode management, pure: the policy that decides when a call should be P2P or SFU (run by the
//! server) and the controller that carries one client's call between the two.

pub mod controller;
pub mod fallback;
pub mod policy;
mod transitions;
