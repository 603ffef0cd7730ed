//! The SFU (LiveKit) client: pure protobuf codec and track/participant mapping, plus (in the
//! browser) the signal client and the publisher/subscriber transports.
