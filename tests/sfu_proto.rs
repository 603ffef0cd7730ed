#![cfg(not(target_arch = "wasm32"))]
//! Native tests of the LiveKit protobuf codec: bad bytes give typed errors (never a panic),
//! valid frames round-trip, and the `/rtc` URL carries what the server needs.

use livekit_protocol as lk;
use proptest::prelude::*;
use sohbet_rtc::sfu::proto::{self, ProtoError, ReconnectReason, Request, Response};

fn join_frame() -> Vec<u8> {
    proto::encode_response(Response::Join(lk::JoinResponse {
        participant: Some(lk::ParticipantInfo {
            sid: "PA_self".into(),
            identity: "7".into(),
            ..Default::default()
        }),
        ping_interval: 5,
        ping_timeout: 15,
        subscriber_primary: true,
        ..Default::default()
    }))
}

#[test]
fn a_join_response_round_trips() {
    match proto::decode_response(&join_frame()) {
        Ok(Response::Join(join)) => {
            assert_eq!(join.participant.map(|p| p.sid), Some("PA_self".to_string()));
            assert_eq!((join.ping_interval, join.ping_timeout), (5, 15));
            assert!(join.subscriber_primary);
        }
        other => panic!("expected a join, got {other:?}"),
    }
}

#[test]
fn a_truncated_frame_is_a_typed_malformed_error() {
    let frame = join_frame();
    let err = proto::decode_response(&frame[..frame.len() - 3]).unwrap_err();
    assert_eq!(err.code(), "sfu/malformed-frame");
}

#[test]
fn an_empty_frame_is_reported_as_carrying_no_message() {
    assert_eq!(proto::decode_response(&[]), Err(ProtoError::Empty));
}

#[test]
fn an_unknown_oneof_from_a_newer_server_is_tolerated_as_empty() {
    // field 99, varint 1: a message this client does not know.
    let frame = [0x98, 0x06, 0x01];
    assert_eq!(proto::decode_response(&frame), Err(ProtoError::Empty));
}

#[test]
fn an_oversized_frame_is_refused_before_decoding() {
    let big = vec![0u8; proto::MAX_FRAME_BYTES + 1];
    assert_eq!(
        proto::decode_response(&big).unwrap_err().code(),
        "sfu/frame-too-large"
    );
}

#[test]
fn the_leave_request_says_client_initiated_disconnect() {
    match proto::decode_request(&proto::leave_request()) {
        Ok(Request::Leave(leave)) => {
            assert_eq!(leave.reason, lk::DisconnectReason::ClientInitiated as i32);
            assert_eq!(leave.action, lk::leave_request::Action::Disconnect as i32);
        }
        other => panic!("expected leave, got {other:?}"),
    }
}

#[test]
fn the_mic_add_track_request_uses_the_browser_track_id_as_cid() {
    match proto::decode_request(&proto::add_mic_track("abc-123", false)) {
        Ok(Request::AddTrack(add)) => {
            assert_eq!(add.cid, "abc-123");
            assert_eq!(add.source, lk::TrackSource::Microphone as i32);
            assert_eq!(add.r#type, lk::TrackType::Audio as i32);
        }
        other => panic!("expected add_track, got {other:?}"),
    }
}

#[test]
fn subscriber_trickle_targets_the_subscriber_transport() {
    match proto::decode_request(&proto::trickle("{\"candidate\":\"x\"}".into(), true)) {
        Ok(Request::Trickle(t)) => assert_eq!(t.target, lk::SignalTarget::Subscriber as i32),
        other => panic!("expected trickle, got {other:?}"),
    }
}

#[test]
fn a_ping_tick_sends_both_ping_and_ping_req_with_the_timestamp() {
    let [ping, req] = proto::ping_requests(1234, 56);
    assert_eq!(proto::decode_request(&ping), Ok(Request::Ping(1234)));
    assert_eq!(
        proto::decode_request(&req),
        Ok(Request::PingReq(lk::Ping {
            timestamp: 1234,
            rtt: 56
        }))
    );
}

#[test]
fn the_join_url_asks_for_protocol_17_as_a_js_sdk() {
    let url = proto::rtc_url("http://127.0.0.1:7880/", "a.b+c", None);
    assert!(url.starts_with("ws://127.0.0.1:7880/rtc?access_token=a.b%2Bc&"));
    assert!(url.contains("&sdk=js&version=2.") && url.contains("&protocol=17"));
    assert!(!url.contains("reconnect"));
}

#[test]
fn the_resume_url_carries_sid_and_reason() {
    let url = proto::rtc_url(
        "wss://sfu.example",
        "t",
        Some(("PA_x", ReconnectReason::SignalDisconnected)),
    );
    assert!(url.starts_with("wss://sfu.example/rtc?"));
    assert!(url.ends_with("&reconnect=1&sid=PA_x&reconnect_reason=1"));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_errors_have_codes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = proto::decode_response(&bytes) {
            prop_assert!(e.code().starts_with("sfu/"));
        }
    }

    #[test]
    fn any_prefix_of_a_valid_frame_decodes_or_fails_typed(cut in 0usize..64) {
        let frame = join_frame();
        let cut = cut.min(frame.len());
        let _ = proto::decode_response(&frame[..cut]).map_err(|e| e.code());
    }

    #[test]
    fn offers_round_trip(sdp in ".{0,200}", id in any::<u32>(), mid in "[0-9]{1,3}", tr in "TR_[A-Za-z0-9]{1,12}") {
        let mut sd = lk::SessionDescription { r#type: "offer".into(), sdp, id, ..Default::default() };
        sd.mid_to_track_id.insert(mid, tr);
        let frame = proto::encode_response(Response::Offer(sd.clone()));
        prop_assert_eq!(proto::decode_response(&frame), Ok(Response::Offer(sd)));
    }

    #[test]
    fn refresh_tokens_round_trip(token in "[A-Za-z0-9._-]{0,300}") {
        let frame = proto::encode_response(Response::RefreshToken(token.clone()));
        prop_assert_eq!(proto::decode_response(&frame), Ok(Response::RefreshToken(token)));
    }
}

fn decode_base64_url(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        other => panic!("not url-safe base64: {}", other as char),
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let data: Vec<u8> = chunk
            .iter()
            .copied()
            .filter(|&c| c != b'=')
            .map(value)
            .collect();
        let n = data
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &v)| n | (u32::from(v) << (18 - 6 * i)));
        for i in 0..data.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn the_single_pc_url_carries_our_offer_and_mic_in_a_padded_join_request() {
    use prost::Message as _;
    let url = proto::rtc_v1_url(
        "ws://127.0.0.1:7880",
        "tok",
        "v=0 sdp".into(),
        1,
        Some(proto::mic_track_request("mic-1", false)),
        None,
    );
    let (head, param) = url
        .split_once("&join_request=")
        .expect("join_request param");
    assert_eq!(head, "ws://127.0.0.1:7880/rtc/v1?access_token=tok");
    assert_eq!(param.len() % 4, 0, "padded base64");
    let wrapped =
        lk::WrappedJoinRequest::decode(decode_base64_url(param).as_slice()).expect("wrapped");
    let join = lk::JoinRequest::decode(wrapped.join_request.as_slice()).expect("join request");
    let info = join.client_info.expect("client info");
    assert_eq!(
        (info.sdk, info.protocol),
        (lk::client_info::Sdk::Js as i32, 17)
    );
    assert!(join.connection_settings.expect("settings").auto_subscribe);
    let offer = join.publisher_offer.expect("offer");
    assert_eq!(
        (offer.r#type.as_str(), offer.sdp.as_str(), offer.id),
        ("offer", "v=0 sdp", 1)
    );
    assert_eq!(join.add_track_requests[0].cid, "mic-1");
    assert!(!join.reconnect);
}

#[test]
fn the_single_pc_resume_url_names_our_session() {
    use prost::Message as _;
    let url = proto::rtc_v1_url(
        "ws://h",
        "t",
        "sdp".into(),
        7,
        None,
        Some(("PA_me", ReconnectReason::SignalDisconnected)),
    );
    let param = url.split_once("&join_request=").expect("param").1;
    let wrapped =
        lk::WrappedJoinRequest::decode(decode_base64_url(param).as_slice()).expect("wrapped");
    let join = lk::JoinRequest::decode(wrapped.join_request.as_slice()).expect("join");
    assert!(join.reconnect);
    assert_eq!(join.participant_sid, "PA_me");
    assert_eq!(join.reconnect_reason, 1);
    assert_eq!(join.publisher_offer.map(|o| o.id), Some(7));
}

proptest! {
    #[test]
    fn base64_url_round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = proto::base64_url(&bytes);
        prop_assert_eq!(text.len() % 4, 0);
        prop_assert!(text.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'='));
        prop_assert_eq!(decode_base64_url(&text), bytes);
    }
}
