#![cfg(not(target_arch = "wasm32"))]
//! Native tests of the LiveKit protobuf codec: bad bytes give typed errors (never a panic),
//! valid frames round-trip, every message the client reads or writes agrees with the full
//! `livekit-protocol` types in both directions, and the `/rtc` URL carries what the server needs.

use livekit_protocol as lk;
use lk::signal_request::Message as Request;
use lk::signal_response::Message as Full;
use proptest::prelude::*;
use prost::Message as _;
use sohbet_rtc::error::JsErrorCode;
use sohbet_rtc::sfu::messages as ours;
use sohbet_rtc::sfu::proto::{self, ProtoError, Publication, ReconnectReason, Response};

/// Encodes a server frame with the full prost codec (the library has no encoder for these).
fn encode_full(message: Full) -> Vec<u8> {
    lk::SignalResponse {
        message: Some(message),
    }
    .encode_to_vec()
}

/// Decodes what the client sent with the full prost codec.
fn decode_request(bytes: &[u8]) -> Option<Request> {
    lk::SignalRequest::decode(bytes).ok()?.message
}

fn join_frame() -> Vec<u8> {
    encode_full(Full::Join(lk::JoinResponse {
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
    match decode_request(&proto::leave_request()) {
        Some(Request::Leave(leave)) => {
            assert_eq!(leave.reason, lk::DisconnectReason::ClientInitiated as i32);
            assert_eq!(leave.action, lk::leave_request::Action::Disconnect as i32);
        }
        other => panic!("expected leave, got {other:?}"),
    }
}

#[test]
fn add_track_requests_name_the_browser_track_and_say_microphone_or_camera() {
    for (camera, kind, source) in [
        (false, lk::TrackType::Audio, lk::TrackSource::Microphone),
        (true, lk::TrackType::Video, lk::TrackSource::Camera),
    ] {
        let request = Publication {
            cid: "abc-123",
            camera,
            muted: false,
        };
        match decode_request(&proto::add_track(request)) {
            Some(Request::AddTrack(add)) => {
                assert_eq!(add.cid, "abc-123");
                assert_eq!(add.source, source as i32);
                assert_eq!(add.r#type, kind as i32);
            }
            other => panic!("expected add_track, got {other:?}"),
        }
    }
}

#[test]
fn subscriber_trickle_targets_the_subscriber_transport() {
    match decode_request(&proto::trickle("{\"candidate\":\"x\"}".into(), true)) {
        Some(Request::Trickle(t)) => assert_eq!(t.target, lk::SignalTarget::Subscriber as i32),
        other => panic!("expected trickle, got {other:?}"),
    }
}

#[test]
fn a_ping_tick_sends_ping_req_with_the_timestamp_and_rtt() {
    let req = proto::ping_request(1234, 56);
    assert_eq!(
        decode_request(&req),
        Some(Request::PingReq(lk::Ping {
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

#[test]
fn the_urls_are_exactly_the_documented_strings() {
    let url = proto::rtc_url(
        "https://h:1//",
        "a b/é",
        Some(("PA_1", ReconnectReason::SubscriberFailed)),
    );
    assert_eq!(
        url,
        "wss://h:1/rtc?access_token=a%20b%2F%C3%A9&auto_subscribe=1&sdk=js&version=2.23.0\
         &protocol=17&reconnect=1&sid=PA_1&reconnect_reason=3"
    );
    assert_eq!(
        proto::rtc_url("ws://h", "t", None),
        "ws://h/rtc?access_token=t&auto_subscribe=1&sdk=js&version=2.23.0&protocol=17"
    );
}

proptest! {
    #[test]
    fn percent_encoding_keeps_unreserved_bytes_and_hex_encodes_the_rest(text in ".{0,40}") {
        let expected: String = text
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        prop_assert_eq!(proto::percent_encode(&text), expected);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_the_full_codec_accepts_decode_to_the_same_message(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let ours = proto::decode_response(&bytes);
        match lk::SignalResponse::decode(bytes.as_slice()) {
            Ok(lk::SignalResponse { message: Some(full) }) => prop_assert_eq!(ours, Ok(lean(full))),
            Ok(lk::SignalResponse { message: None }) => prop_assert_eq!(ours, Err(ProtoError::Empty)),
            Err(_) => prop_assert!(ours.map_or_else(|e| e.code().starts_with("sfu/"), |_| true)),
        }
    }

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
    fn offers_round_trip(sdp in ".{0,200}", id in any::<u32>(), mids in prop::collection::hash_map("[0-9]{1,3}", "TR_[A-Za-z0-9]{1,12}", 0..5)) {
        let sd = lk::SessionDescription { r#type: "offer".into(), sdp, id, mid_to_track_id: mids };
        let frame = encode_full(Full::Offer(sd.clone()));
        prop_assert_eq!(proto::decode_response(&frame), Ok(Response::Offer(read_description(sd))));
    }

    #[test]
    fn refresh_tokens_round_trip(token in "[A-Za-z0-9._-]{0,300}") {
        let frame = encode_full(Full::RefreshToken(token.clone()));
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
        "v=0 sdp",
        1,
        &[Some(Publication {
            cid: "mic-1",
            camera: false,
            muted: false,
        })],
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
        "sdp",
        7,
        &[],
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

/// A participant with only the fields the client decodes (see `sfu/messages.rs`).
fn read_participant(p: lk::ParticipantInfo) -> ours::ParticipantInfo {
    ours::ParticipantInfo {
        sid: p.sid,
        identity: p.identity,
        state: p.state,
        tracks: p.tracks.into_iter().map(read_track).collect(),
        name: p.name,
        version: p.version,
    }
}

/// A track with only the fields the client decodes.
fn read_track(t: lk::TrackInfo) -> ours::TrackInfo {
    ours::TrackInfo {
        sid: t.sid,
        r#type: t.r#type,
        muted: t.muted,
        source: t.source,
    }
}

/// The read fields of a SessionDescription (its `mid_to_track_id` map is skipped).
fn read_description(m: lk::SessionDescription) -> ours::SessionDescription {
    ours::SessionDescription {
        r#type: m.r#type,
        sdp: m.sdp,
        id: m.id,
    }
}

fn read_ice_server(m: lk::IceServer) -> ours::IceServer {
    ours::IceServer {
        urls: m.urls,
        username: m.username,
        credential: m.credential,
    }
}

fn read_trickle(m: lk::TrickleRequest) -> ours::TrickleRequest {
    ours::TrickleRequest {
        candidate_init: m.candidate_init,
        target: m.target,
        r#final: m.r#final,
    }
}

fn read_mute(m: lk::MuteTrackRequest) -> ours::MuteTrackRequest {
    ours::MuteTrackRequest {
        sid: m.sid,
        muted: m.muted,
    }
}

fn read_leave(m: lk::LeaveRequest) -> ours::LeaveRequest {
    ours::LeaveRequest {
        can_reconnect: m.can_reconnect,
        reason: m.reason,
        action: m.action,
    }
}

fn read_speaker(s: lk::SpeakerInfo) -> ours::SpeakerInfo {
    ours::SpeakerInfo {
        sid: s.sid,
        level: s.level,
        active: s.active,
    }
}

fn read_quality(q: lk::ConnectionQualityInfo) -> ours::ConnectionQualityInfo {
    ours::ConnectionQualityInfo {
        participant_sid: q.participant_sid,
        quality: q.quality,
    }
}

/// The full codec's oneof as the client's `Response` (what `decode_response` must give:
/// the same message, with only the fields the client declares).
fn lean(full: Full) -> Response {
    match full {
        Full::Join(m) => Response::Join(Box::new(ours::JoinResponse {
            participant: m.participant.map(read_participant),
            other_participants: m
                .other_participants
                .into_iter()
                .map(read_participant)
                .collect(),
            ice_servers: m.ice_servers.into_iter().map(read_ice_server).collect(),
            subscriber_primary: m.subscriber_primary,
            ping_timeout: m.ping_timeout,
            ping_interval: m.ping_interval,
        })),
        Full::Answer(m) => Response::Answer(read_description(m)),
        Full::Offer(m) => Response::Offer(read_description(m)),
        Full::Trickle(m) => Response::Trickle(read_trickle(m)),
        Full::Update(m) => Response::Update(ours::ParticipantUpdate {
            participants: m.participants.into_iter().map(read_participant).collect(),
        }),
        Full::TrackPublished(m) => Response::TrackPublished(ours::TrackPublishedResponse {
            cid: m.cid,
            track: m.track.map(read_track),
        }),
        Full::Leave(m) => Response::Leave(read_leave(m)),
        Full::Mute(m) => Response::Mute(read_mute(m)),
        Full::SpeakersChanged(m) => Response::SpeakersChanged(ours::SpeakersChanged {
            speakers: m.speakers.into_iter().map(read_speaker).collect(),
        }),
        Full::ConnectionQuality(m) => Response::ConnectionQuality(ours::ConnectionQualityUpdate {
            updates: m.updates.into_iter().map(read_quality).collect(),
        }),
        Full::RefreshToken(m) => Response::RefreshToken(m),
        Full::Reconnect(_) => Response::Reconnect(()),
        Full::PongResp(m) => Response::PongResp(ours::Pong {
            last_ping_timestamp: m.last_ping_timestamp,
            timestamp: m.timestamp,
        }),
        Full::MediaSectionsRequirement(m) => {
            Response::MediaSectionsRequirement(ours::MediaSectionsRequirement {
                num_audios: m.num_audios,
                num_videos: m.num_videos,
            })
        }
        Full::Pong(m) => Response::Pong(m),
        Full::RoomUpdate(_) => Response::RoomUpdate(()),
        Full::StreamStateUpdate(_) => Response::StreamStateUpdate(()),
        Full::SubscribedQualityUpdate(_) => Response::SubscribedQualityUpdate(()),
        Full::SubscriptionPermissionUpdate(_) => Response::SubscriptionPermissionUpdate(()),
        Full::TrackUnpublished(_) => Response::TrackUnpublished(()),
        Full::SubscriptionResponse(_) => Response::SubscriptionResponse(()),
        Full::RequestResponse(_) => Response::RequestResponse(()),
        Full::TrackSubscribed(_) => Response::TrackSubscribed(()),
        Full::RoomMoved(_) => Response::RoomMoved(()),
        Full::SubscribedAudioCodecUpdate(_) => Response::SubscribedAudioCodecUpdate(()),
        Full::PublishDataTrackResponse(_) => Response::PublishDataTrackResponse(()),
        Full::UnpublishDataTrackResponse(_) => Response::UnpublishDataTrackResponse(()),
        Full::DataTrackSubscriberHandles(_) => Response::DataTrackSubscriberHandles(()),
        Full::StoreDataBlobResponse(_) => Response::StoreDataBlobResponse(()),
        Full::GetDataBlobResponse(_) => Response::GetDataBlobResponse(()),
    }
}

fn participant(sid: &str, identity: &str) -> lk::ParticipantInfo {
    lk::ParticipantInfo {
        sid: sid.into(),
        identity: identity.into(),
        name: "Ada|Uni".into(),
        version: 3,
        state: lk::participant_info::State::Active as i32,
        tracks: vec![lk::TrackInfo {
            sid: "TR_a".into(),
            r#type: lk::TrackType::Audio as i32,
            source: lk::TrackSource::Microphone as i32,
            muted: true,
            ..Default::default()
        }],
        attributes: [("k".to_string(), "v".to_string())].into_iter().collect(),
        metadata: "{}".into(),
        permission: Some(lk::ParticipantPermission {
            can_publish: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One non-default example of every server message the client acts on (and some it ignores).
fn every_variant() -> Vec<Full> {
    let sd = |kind: &str| lk::SessionDescription {
        r#type: kind.into(),
        sdp: "v=0".into(),
        id: 4,
        mid_to_track_id: [("0".to_string(), "TR_a".to_string())]
            .into_iter()
            .collect(),
    };
    vec![
        Full::Join(lk::JoinResponse {
            room: Some(lk::Room {
                name: "r".into(),
                ..Default::default()
            }),
            participant: Some(participant("PA_me", "1")),
            other_participants: vec![participant("PA_b", "2")],
            server_version: "1.9".into(),
            ice_servers: vec![lk::IceServer {
                urls: vec!["turn:x".into()],
                username: "u".into(),
                credential: "c".into(),
            }],
            subscriber_primary: true,
            ping_timeout: 15,
            ping_interval: 5,
            server_info: Some(lk::ServerInfo {
                version: "1.9".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        Full::Answer(sd("answer")),
        Full::Offer(sd("offer")),
        Full::Trickle(lk::TrickleRequest {
            candidate_init: "{}".into(),
            target: 1,
            r#final: true,
        }),
        Full::Update(lk::ParticipantUpdate {
            participants: vec![participant("PA_b", "2"), participant("PA_c", "3")],
        }),
        Full::TrackPublished(lk::TrackPublishedResponse {
            cid: "mic".into(),
            track: Some(lk::TrackInfo {
                sid: "TR_m".into(),
                r#type: lk::TrackType::Audio as i32,
                muted: true,
                source: lk::TrackSource::Microphone as i32,
                mime_type: "audio/opus".into(),
                codecs: vec![lk::SimulcastCodecInfo::default()],
                ..Default::default()
            }),
        }),
        Full::Leave(lk::LeaveRequest {
            can_reconnect: true,
            reason: 3,
            action: lk::leave_request::Action::Resume as i32,
            regions: Some(lk::RegionSettings {
                regions: vec![lk::RegionInfo::default()],
            }),
        }),
        Full::Mute(lk::MuteTrackRequest {
            sid: "TR_m".into(),
            muted: true,
        }),
        Full::SpeakersChanged(lk::SpeakersChanged {
            speakers: vec![lk::SpeakerInfo {
                sid: "PA_b".into(),
                level: 0.5,
                active: true,
            }],
        }),
        Full::ConnectionQuality(lk::ConnectionQualityUpdate {
            updates: vec![lk::ConnectionQualityInfo {
                participant_sid: "PA_me".into(),
                quality: 2,
                score: 4.5,
            }],
        }),
        Full::RefreshToken("tok".into()),
        Full::Reconnect(lk::ReconnectResponse {
            ice_servers: vec![lk::IceServer::default()],
            server_info: Some(lk::ServerInfo {
                version: "1.9".into(),
                ..Default::default()
            }),
            last_message_seq: 7,
            ..Default::default()
        }),
        Full::PongResp(lk::Pong {
            last_ping_timestamp: 12,
            timestamp: 34,
        }),
        Full::MediaSectionsRequirement(lk::MediaSectionsRequirement {
            num_audios: 2,
            num_videos: 1,
        }),
        Full::Pong(99),
        Full::RoomUpdate(lk::RoomUpdate {
            room: Some(lk::Room::default()),
        }),
        Full::TrackUnpublished(lk::TrackUnpublishedResponse {
            track_sid: "TR_x".into(),
        }),
    ]
}

#[test]
fn every_server_message_decodes_as_the_full_signal_response_codec_does() {
    for full in every_variant() {
        let frame = encode_full(full.clone());
        let expected = lean(full);
        assert_eq!(proto::decode_response(&frame), Ok(expected));
    }
}

#[test]
fn a_repeated_oneof_field_merges_or_replaces_like_the_full_codec() {
    let variants = every_variant();
    for a in &variants {
        for b in &variants {
            let mut frame = encode_full(a.clone());
            frame.extend(encode_full(b.clone()));
            let full = lk::SignalResponse::decode(frame.as_slice())
                .expect("full decode")
                .message
                .expect("message");
            assert_eq!(proto::decode_response(&frame), Ok(lean(full)));
        }
    }
}

#[test]
fn unknown_fields_around_a_message_are_skipped() {
    let mut frame = vec![0x98, 0x06, 0x01]; // field 99, varint
    frame.extend(encode_full(Full::RefreshToken("t".into())));
    frame.extend([0xa2, 0x06, 0x02, 0xff, 0xff]); // field 100, two bytes
    assert_eq!(
        proto::decode_response(&frame),
        Ok(Response::RefreshToken("t".into()))
    );
}

#[test]
fn a_known_variant_with_the_wrong_wire_type_is_malformed() {
    // field 1 (join) as a varint.
    assert_eq!(
        proto::decode_response(&[0x08, 0x01]).map_err(|e| e.code()),
        Err("sfu/malformed-frame")
    );
}

/// Our request bytes against `SignalRequest { message }.encode_to_vec()`.
fn assert_same_bytes(ours: &[u8], message: Request) {
    let full = lk::SignalRequest {
        message: Some(message),
    }
    .encode_to_vec();
    assert_eq!(ours, full.as_slice());
}

#[test]
fn every_request_is_byte_identical_to_the_full_signal_request_codec() {
    assert_same_bytes(
        &proto::ping_request(-5, 300),
        Request::PingReq(lk::Ping {
            timestamp: -5,
            rtt: 300,
        }),
    );
    assert_same_bytes(
        &proto::leave_request(),
        Request::Leave(lk::LeaveRequest {
            can_reconnect: false,
            reason: lk::DisconnectReason::ClientInitiated as i32,
            action: lk::leave_request::Action::Disconnect as i32,
            regions: None,
        }),
    );
    for camera in [false, true] {
        let request = Publication {
            cid: "cid",
            camera,
            muted: true,
        };
        assert_same_bytes(
            &proto::add_track(request),
            Request::AddTrack(track_request(request)),
        );
    }
    let sd = |kind: &str| lk::SessionDescription {
        r#type: kind.into(),
        sdp: "v=0\r\n".repeat(40),
        id: 9,
        mid_to_track_id: Default::default(),
    };
    assert_same_bytes(
        &proto::session_description("offer", &"v=0\r\n".repeat(40), 9),
        Request::Offer(sd("offer")),
    );
    assert_same_bytes(
        &proto::session_description("answer", &"v=0\r\n".repeat(40), 9),
        Request::Answer(sd("answer")),
    );
    for subscriber in [false, true] {
        assert_same_bytes(
            &proto::trickle("{\"candidate\":\"x\"}".into(), subscriber),
            Request::Trickle(lk::TrickleRequest {
                candidate_init: "{\"candidate\":\"x\"}".into(),
                target: i32::from(subscriber),
                r#final: false,
            }),
        );
    }
    assert_same_bytes(
        &proto::mute("TR_m", true),
        Request::Mute(lk::MuteTrackRequest {
            sid: "TR_m".into(),
            muted: true,
        }),
    );
}

/// The AddTrackRequest the client writes by hand for a microphone or camera, as a full
/// message.
fn track_request(track: Publication) -> lk::AddTrackRequest {
    let (name, kind, source) = if track.camera {
        ("camera", lk::TrackType::Video, lk::TrackSource::Camera)
    } else {
        (
            "microphone",
            lk::TrackType::Audio,
            lk::TrackSource::Microphone,
        )
    };
    lk::AddTrackRequest {
        cid: track.cid.to_string(),
        name: name.to_string(),
        r#type: kind as i32,
        muted: track.muted,
        source: source as i32,
        ..Default::default()
    }
}

/// What the full prost codec writes for our single-PC join request.
fn full_join_request(
    offer: &lk::SessionDescription,
    add_tracks: &[lk::AddTrackRequest],
    resume: Option<(&str, ReconnectReason)>,
) -> Vec<u8> {
    lk::JoinRequest {
        client_info: Some(lk::ClientInfo {
            sdk: lk::client_info::Sdk::Js as i32,
            version: proto::SDK_VERSION.to_string(),
            protocol: proto::PROTOCOL_VERSION as i32,
            ..Default::default()
        }),
        connection_settings: Some(lk::ConnectionSettings {
            auto_subscribe: true,
            ..Default::default()
        }),
        add_track_requests: add_tracks.to_vec(),
        publisher_offer: Some(offer.clone()),
        reconnect: resume.is_some(),
        reconnect_reason: resume.map(|(_, r)| r as i32).unwrap_or(0),
        participant_sid: resume.map(|(sid, _)| sid.to_string()).unwrap_or_default(),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn the_join_request_is_byte_identical_to_the_full_join_request_codec() {
    let offer = lk::SessionDescription {
        r#type: "offer".into(),
        sdp: "v=0\r\n".repeat(50),
        id: 1,
        mid_to_track_id: Default::default(),
    };
    let mic = Publication {
        cid: "mic-1",
        camera: false,
        muted: true,
    };
    let camera = Publication {
        cid: "cam-1",
        camera: true,
        muted: false,
    };
    let resumes = [
        None,
        Some(("PA_me", ReconnectReason::SignalDisconnected)),
        Some(("PA_me", ReconnectReason::PublisherFailed)),
        Some(("", ReconnectReason::SubscriberFailed)),
    ];
    for ours in [&[][..], &[Some(mic), None], &[Some(mic), Some(camera)]] {
        let full_tracks: Vec<_> = ours.iter().flatten().map(|&t| track_request(t)).collect();
        for resume in resumes {
            let full = full_join_request(&offer, &full_tracks, resume);
            assert_eq!(
                proto::join_request(&offer.sdp, offer.id, ours, resume).encode_to_vec(),
                full
            );
            let wrapped = ours::WrappedJoinRequest {
                join_request: full.clone(),
            };
            let full_wrapped = lk::WrappedJoinRequest {
                compression: 0,
                join_request: full,
            };
            assert_eq!(wrapped.encode_to_vec(), full_wrapped.encode_to_vec());
        }
    }
}

#[test]
fn an_offers_mid_table_is_skipped_and_its_sdp_and_id_read_like_the_full_codec() {
    let entry = |mid: &str, track: &str| {
        let mut body = vec![0x0a, mid.len() as u8];
        body.extend(mid.as_bytes());
        body.extend([0x12, track.len() as u8]);
        body.extend(track.as_bytes());
        let mut field = vec![0x22, body.len() as u8];
        field.extend(body);
        field
    };
    // sdp "v=0", two map entries (a repeated mid), id 7, one more entry.
    let mut offer = vec![0x12, 3, b'v', b'=', b'0'];
    for (mid, track) in [("0", "TR_a"), ("0", "TR_b")] {
        offer.extend(entry(mid, track));
    }
    offer.extend([0x18, 7]);
    offer.extend(entry("1", "TR_c"));
    let mut frame = vec![0x1a, offer.len() as u8];
    frame.extend(offer);
    let full = lk::SignalResponse::decode(frame.as_slice()).expect("full decode");
    let Some(Full::Offer(full)) = full.message else {
        panic!("not an offer")
    };
    assert_eq!(full.mid_to_track_id["0"], "TR_b");
    assert_eq!(
        proto::decode_response(&frame),
        Ok(Response::Offer(read_description(full)))
    );
}

#[test]
fn a_malformed_variant_fails_the_frame_even_when_a_later_variant_replaces_it() {
    // Join (field 1) whose body is a truncated string field, then a refresh token.
    let mut frame = vec![0x0a, 0x02, 0x12, 0x05];
    frame.extend(encode_full(Full::RefreshToken("t".into())));
    assert!(lk::SignalResponse::decode(frame.as_slice()).is_err());
    assert!(matches!(
        proto::decode_response(&frame),
        Err(ProtoError::Malformed(_))
    ));
}

#[test]
fn every_error_message_and_code_is_the_documented_one() {
    use sohbet_rtc::sfu::SfuError;
    let cases: [(SfuError, &str, &str); 14] = [
        (
            ProtoError::Malformed(7).into(),
            "malformed protobuf frame of 7 bytes",
            "sfu/malformed-frame",
        ),
        (
            ProtoError::Empty.into(),
            "frame carries no known message",
            "sfu/empty-frame",
        ),
        (
            ProtoError::TooLarge(1048577).into(),
            "frame of 1048577 bytes exceeds the limit",
            "sfu/frame-too-large",
        ),
        (
            ProtoError::TextFrame.into(),
            "unexpected text frame",
            "sfu/text-frame",
        ),
        (
            ProtoError::Unexpected {
                got: "join",
                state: "connected",
            }
            .into(),
            "unexpected join while connected",
            "sfu/unexpected-message",
        ),
        (
            SfuError::JoinTimeout(10000),
            "the SFU did not answer the join within 10000 ms",
            "sfu/join-timeout",
        ),
        (
            SfuError::SignalClosed(1006),
            "the SFU signal socket closed (code 1006)",
            "sfu/signal-closed",
        ),
        (
            SfuError::Disconnected(0),
            "the SFU ended the session (reason 0)",
            "sfu/disconnected",
        ),
        (
            SfuError::Disconnected(-7),
            "the SFU ended the session (reason -7)",
            "sfu/disconnected",
        ),
        (
            SfuError::Browser("TypeError: x".into()),
            "browser error: TypeError: x",
            "sfu/browser",
        ),
        (
            SfuError::NotConnected,
            "not connected to the SFU",
            "sfu/not-connected",
        ),
        (SfuError::Closed, "the SFU client is closed", "sfu/closed"),
        (
            SfuError::PublishTimeout,
            "the SFU did not confirm the published track",
            "sfu/publish-timeout",
        ),
        (
            SfuError::ReconnectFailed(20),
            "could not reconnect to the SFU after 20 attempts",
            "sfu/reconnect-failed",
        ),
    ];
    for (error, text, code) in cases {
        assert_eq!((error.to_string().as_str(), error.code()), (text, code));
    }
}

#[test]
fn malformed_frames_carry_the_full_codecs_error_text() {
    let frames: [&[u8]; 5] = [
        // An offer (field 3) whose length runs past the frame.
        &[0x1a, 5, 1],
        // A refresh token (field 16) that is not UTF-8.
        &[0x82, 0x01, 1, 0xff],
        // A join (field 1) sent as a varint.
        &[0x08, 1],
        // Wire type 7 does not exist.
        &[0x0f],
        // A join whose participant's identity is not UTF-8.
        &[0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0xff],
    ];
    for frame in frames {
        lk::SignalResponse::decode(frame).expect_err("the full codec refuses it");
        assert_eq!(
            proto::decode_response(frame),
            Err(ProtoError::Malformed(frame.len())),
            "{frame:?}"
        );
    }
}
