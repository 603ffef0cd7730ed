//! Mode management, pure: the policy that decides when a call should be P2P or SFU (run by the
//! server) and the controller that carries one client's call between the two.

pub mod controller;
pub mod policy;
pub mod switch;
mod transitions;
