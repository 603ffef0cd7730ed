//! The SFU (LiveKit) client: pure protobuf codec and track/participant mapping, plus (in the
//! browser) the signal client and the publisher/subscriber transports.

pub mod ping;
pub mod proto;
pub mod roster;
pub mod tracks;
