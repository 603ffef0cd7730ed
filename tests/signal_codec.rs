#![cfg(not(target_arch = "wasm32"))]
//! Native tests of the `voice:*` codec (`sohbet_rtc::signal::{codec, messages}`) against
//! frames as the deployed C++ server and the old TypeScript clients write them (compat-spec
//! §2.2, §3.1, §3.2, §6): exact keys, type-first/payload-last encoding with numeric ids, the
//! relay's extra trailing `}`, coalesced frames, stray text, string payloads, non-voice
//! envelopes, every error variant with its code, and the 4096-byte send limit.

use sohbet_rtc::error::JsErrorCode;
use sohbet_rtc::signal::codec::VOICE_TYPES;
use sohbet_rtc::signal::messages::*;
use sohbet_rtc::signal::{decode_frame, encode, split_objects, CodecError, Decoded};

const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n";

/// Decodes a frame that must hold exactly one voice message.
fn one(frame: &str) -> Message {
    let mut out = decode_frame(frame);
    assert_eq!(out.len(), 1, "one envelope in {frame}");
    match out.pop() {
        Some(Ok(Decoded::Voice(m))) => m,
        other => panic!("expected a voice message from {frame}, got {other:?}"),
    }
}

/// Decodes a frame that must fail with one error.
fn err(frame: &str) -> CodecError {
    let mut out = decode_frame(frame);
    assert_eq!(out.len(), 1, "one result for {frame}");
    match out.pop() {
        Some(Err(e)) => e,
        other => panic!("expected an error from {frame}, got {other:?}"),
    }
}

/// What the C++ relay does (2.2a/b): `type` is the first `"type":"…"`, `payload` is the
/// greedy match from the first `{` after "payload" to the last `}` — so the relayed frame
/// carries one extra `}`.
fn cpp_relay(frame: &str) -> String {
    let t0 = frame.find("\"type\":\"").map(|i| i + 8).unwrap_or(0);
    let kind = &frame[t0..t0 + frame[t0..].find('"').unwrap_or(0)];
    let p = frame.find("\"payload\"").unwrap_or(0);
    let start = p + frame[p..].find('{').unwrap_or(0);
    let end = frame.rfind('}').unwrap_or(frame.len() - 1);
    format!(
        "{{\"type\":\"{kind}\",\"payload\":{}}}",
        &frame[start..=end]
    )
}

/// Every message type of §3.1/§3.2/§6 as realistic wire JSON, with the value it must decode to.
fn catalogue() -> Vec<(String, Message)> {
    let offer_desc = SessionDescription {
        kind: "offer".into(),
        sdp: SDP.into(),
    };
    let sdp_json = serde_json::to_string(SDP).unwrap_or_default();
    vec![
        (r#"{"type":"voice:join","payload":{"channel_id":42}}"#.into(),
         Message::Join(Join { channel_id: 42, supports_sfu: None, client_version: None })),
        (r#"{"type":"voice:join","payload":{"channel_id":42,"supports_sfu":true,"client_version":"rs-0.1.0"}}"#.into(),
         Message::Join(Join { channel_id: 42, supports_sfu: Some(true), client_version: Some("rs-0.1.0".into()) })),
        (r#"{"type":"voice:leave","payload":{"channel_id":42}}"#.into(),
         Message::Leave(ChannelRef { channel_id: 42 })),
        (format!(r#"{{"type":"voice:offer","payload":{{"channel_id":42,"target_user_id":7,"from_user_id":3,"offer":{{"type":"offer","sdp":{sdp_json}}}}}}}"#),
         Message::Offer(Offer { channel_id: 42, target_user_id: 7, from_user_id: 3, offer: offer_desc })),
        (format!(r#"{{"type":"voice:answer","payload":{{"channel_id":42,"target_user_id":3,"from_user_id":7,"answer":{{"type":"answer","sdp":{sdp_json}}}}}}}"#),
         Message::Answer(Answer { channel_id: 42, target_user_id: 3, from_user_id: 7,
             answer: SessionDescription { kind: "answer".into(), sdp: SDP.into() } })),
        (r#"{"type":"voice:ice-candidate","payload":{"channel_id":42,"target_user_id":7,"from_user_id":3,"candidate":{"candidate":"candidate:842163049 1 udp 1677729535 10.0.0.5 51234 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xy9a network-cost 999","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy9a"}}}"#.into(),
         Message::IceCandidate(IceCandidateMsg { channel_id: 42, target_user_id: 7, from_user_id: 3,
             candidate: IceCandidate {
                 candidate: "candidate:842163049 1 udp 1677729535 10.0.0.5 51234 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xy9a network-cost 999".into(),
                 sdp_mid: Some("0".into()), sdp_m_line_index: Some(0), username_fragment: Some("Xy9a".into()) } })),
        (r#"{"type":"voice:mute","payload":{"channel_id":42,"muted":true}}"#.into(),
         Message::Mute(Mute { channel_id: 42, muted: true })),
        (r#"{"type":"voice:video-toggle","payload":{"channel_id":42,"video_enabled":false}}"#.into(),
         Message::VideoToggle(VideoToggle { channel_id: 42, video_enabled: false })),
        (r#"{"type":"voice:user-joined","payload":{"channel_id":42,"user_id":9,"username":"ayse","university":"ODTÜ"}}"#.into(),
         Message::UserJoined(UserJoined { channel_id: 42, user: ParticipantEntry { user_id: 9, username: "ayse".into(),
             university: "ODTÜ".into(), muted: None, video_enabled: None, supports_sfu: None } })),
        (r#"{"type":"voice:participants","payload":{"channel_id":42,"participants":[{"user_id":9,"username":"ayse","university":"ODTÜ"},{"user_id":11,"username":"mehmet","university":""}]}}"#.into(),
         Message::Participants(Participants { channel_id: 42, mode: None, participants: vec![
             ParticipantEntry { user_id: 9, username: "ayse".into(), university: "ODTÜ".into(), muted: None, video_enabled: None, supports_sfu: None },
             ParticipantEntry { user_id: 11, username: "mehmet".into(), university: String::new(), muted: None, video_enabled: None, supports_sfu: None },
         ] })),
        (r#"{"type":"voice:user-left","payload":{"channel_id":42,"user_id":9}}"#.into(),
         Message::UserLeft(UserLeft { channel_id: 42, user_id: 9 })),
        (r#"{"type":"voice:user-muted","payload":{"channel_id":42,"user_id":9,"muted":true}}"#.into(),
         Message::UserMuted(UserMuted { channel_id: 42, user_id: 9, muted: true })),
        (r#"{"type":"voice:user-video-toggled","payload":{"channel_id":42,"user_id":9,"video_enabled":true}}"#.into(),
         Message::UserVideoToggled(UserVideoToggled { channel_id: 42, user_id: 9, video_enabled: true })),
        (r#"{"type":"voice:mode-change","payload":{"channel_id":42,"new_mode":"sfu","sfu_token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","sfu_url":"ws://localhost:7880"}}"#.into(),
         Message::ModeChange(ModeChange { channel_id: 42, new_mode: CallMode::Sfu, sfu_token: Some("eyJhbGciOiJIUzI1NiJ9.e30.sig".into()),
             sfu_url: Some("ws://localhost:7880".into()), strategy: None })),
        (r#"{"type":"voice:mode-change-ack","payload":{"channel_id":42,"user_id":3,"success":false,"error":"sfu connect timeout"}}"#.into(),
         Message::ModeChangeAck(ModeChangeAck { channel_id: 42, user_id: 3, success: false, error: Some("sfu connect timeout".into()) })),
        (r#"{"type":"voice:rollback","payload":{"channel_id":42,"reason":"migration timeout"}}"#.into(),
         Message::Rollback(Rollback { channel_id: 42, reason: "migration timeout".into() })),
        (r#"{"type":"voice:join-ready","payload":{"mode":"sfu","participant_count":9,"sfu_token":"tok","channel_id":42,"sfu_url":"wss://sfu.example/","timestamp":1763200000000}}"#.into(),
         Message::JoinReady(JoinReady { mode: CallMode::Sfu, participant_count: 9, sfu_token: Some("tok".into()), channel_id: 42,
             sfu_url: Some("wss://sfu.example/".into()), timestamp: 1_763_200_000_000 })),
        (r#"{"type":"voice:degraded-mode","payload":{"message":"SFU unavailable, using direct mode","max_participants":10}}"#.into(),
         Message::DegradedMode(DegradedMode { message: "SFU unavailable, using direct mode".into(), max_participants: 10 })),
        (r#"{"type":"voice:error","payload":{"code":"signal/frame-too-large","message":"frame refused"}}"#.into(),
         Message::Error(ErrorReport { code: "signal/frame-too-large".into(), message: "frame refused".into() })),
    ]
}

#[test]
fn every_catalogued_voice_message_decodes_with_its_exact_keys() {
    let cat = catalogue();
    for (frame, want) in &cat {
        assert_eq!(&one(frame), want, "{frame}");
    }
    for t in VOICE_TYPES {
        assert!(
            cat.iter().any(|(_, m)| m.type_name() == *t),
            "{t} not covered"
        );
    }
}

#[test]
fn encode_writes_type_first_payload_last_and_numeric_ids() {
    for (_, msg) in catalogue() {
        let text = encode(&msg).unwrap_or_default();
        let head = format!("{{\"type\":\"{}\",\"payload\":{{", msg.type_name());
        assert!(text.starts_with(&head), "{text}");
        // Payload is the last key: the text is `head … }}` and the payload object parses.
        assert!(text.ends_with("}}"), "{text}");
        let payload = &text[head.len() - 1..text.len() - 1];
        assert!(
            serde_json::from_str::<serde_json::Value>(payload).is_ok(),
            "{payload}"
        );
        // The C++ regex takes the FIRST "type":"…" as the message type.
        assert!(text.find("\"type\":\"") == Some(1));
        for key in ["channel_id", "user_id", "target_user_id", "from_user_id"] {
            assert!(
                !text.contains(&format!("\"{key}\":\"")),
                "{key} quoted in {text}"
            );
        }
        assert_eq!(one(&text), msg, "round trip of {text}");
    }
}

#[test]
fn relayed_frames_with_the_cpp_extra_brace_decode_to_the_sent_message() {
    for (_, msg) in catalogue() {
        let sent = encode(&msg).unwrap_or_default();
        let relayed = cpp_relay(&sent);
        assert!(relayed.ends_with("}}}"), "{relayed}");
        assert!(serde_json::from_str::<serde_json::Value>(&relayed).is_err());
        assert_eq!(one(&relayed), msg, "{relayed}");
    }
}

#[test]
fn payload_sent_as_a_json_string_decodes_like_an_object() {
    let frame = r#"{"type":"voice:user-left","payload":"{\"channel_id\":42,\"user_id\":9}"}"#;
    assert_eq!(
        one(frame),
        Message::UserLeft(UserLeft {
            channel_id: 42,
            user_id: 9
        })
    );
    let with_brace = r#"{"type":"voice:mute","payload":"{\"channel_id\":42,\"muted\":true}}"}"#;
    assert_eq!(
        one(with_brace),
        Message::Mute(Mute {
            channel_id: 42,
            muted: true
        })
    );
}

#[test]
fn coalesced_frames_and_stray_text_yield_every_envelope_in_order() {
    let a = r#"{"type":"voice:user-left","payload":{"channel_id":1,"user_id":2}}"#;
    let b = r#"{"type":"voice:user-muted","payload":{"channel_id":1,"user_id":3,"muted":true}}"#;
    let c = r#"{"type":"user:online","payload":{"user_id":4}}"#;
    let frame = format!("log: {a}}}\n{b} trailing text {c}}}");
    let out = decode_frame(&frame);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0], Ok(Decoded::Voice(one(a))));
    assert_eq!(out[1], Ok(Decoded::Voice(one(b))));
    assert_eq!(
        out[2],
        Ok(Decoded::Other {
            kind: "user:online".into(),
            payload: r#"{"user_id":4}"#.into()
        })
    );
    assert_eq!(split_objects(&frame), vec![a, b, c]);
    let spaced = "  {\"type\" : \"voice:leave\" ,\n \"payload\" : { \"channel_id\" : 5 } }  ";
    assert_eq!(one(spaced), Message::Leave(ChannelRef { channel_id: 5 }));
}

#[test]
fn non_voice_envelopes_are_passed_on_untouched() {
    let chat = r#"{"type":"chat:message","payload":{"id":77,"conversation_id":3,"sender_id":2,"content":"merhaba {} \"x\"","created_at":"2025-11-15T10:00:00Z"}}"#;
    let out = decode_frame(chat);
    let want = r#"{"id":77,"conversation_id":3,"sender_id":2,"content":"merhaba {} \"x\"","created_at":"2025-11-15T10:00:00Z"}"#;
    assert_eq!(
        out,
        vec![Ok(Decoded::Other {
            kind: "chat:message".into(),
            payload: want.into()
        })]
    );
    let off = decode_frame(r#"{"type":"user:offline","payload":{"user_id":4}}}"#);
    assert!(matches!(&off[..], [Ok(Decoded::Other { kind, .. })] if kind == "user:offline"));
}

#[test]
fn bad_frames_give_the_right_error_and_code() {
    let table: &[(&str, &str)] = &[
        ("", "signal/no-object"),
        ("   \n", "signal/no-object"),
        ("hello world", "signal/no-object"),
        ("[1,2,3]", "signal/no-object"),
        ("{\"type\": oops}", "signal/invalid-json"),
        (r#"{"payload":{"channel_id":1}}"#, "signal/missing-field"),
        (r#"{"type":"voice:leave"}"#, "signal/missing-field"),
        (r#"{"type":7,"payload":{}}"#, "signal/bad-type"),
        (
            r#"{"type":"voice:dance","payload":{}}"#,
            "signal/unknown-type",
        ),
        (
            r#"{"type":"voice:mute","payload":{"channel_id":1,"muted":"yes"}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:leave","payload":{"channel_id":"42"}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:user-left","payload":{"channel_id":1,"user_id":-2}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:user-left","payload":{"channel_id":1}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:offer","payload":{"channel_id":1,"target_user_id":2,"from_user_id":3,"offer":"v=0"}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:mode-change","payload":{"channel_id":1,"new_mode":"mesh"}}"#,
            "signal/invalid-payload",
        ),
        (
            r#"{"type":"voice:leave","payload":"not json"}"#,
            "signal/invalid-payload",
        ),
    ];
    for (frame, code) in table {
        let e = err(frame);
        assert_eq!(e.code(), *code, "{frame}: {e}");
    }
    assert_eq!(err(r#"{"payload":{}}"#), CodecError::MissingField("type"));
    assert_eq!(
        err(r#"{"type":"voice:leave"}"#),
        CodecError::MissingField("payload")
    );
    assert_eq!(
        err(r#"{"type":"voice:dance","payload":{}}"#),
        CodecError::UnknownType("voice:dance".into())
    );
    assert_eq!(err(r#"{"type":null,"payload":{}}"#), CodecError::BadType);
}

#[test]
fn a_bad_envelope_does_not_hide_its_good_neighbours() {
    let frame = r#"{"type":"voice:leave","payload":{"channel_id":"x"}}{"type":"voice:leave","payload":{"channel_id":8}}"#;
    let out = decode_frame(frame);
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].as_ref().map_err(CodecError::code).err(),
        Some("signal/invalid-payload")
    );
    assert_eq!(
        out[1],
        Ok(Decoded::Voice(Message::Leave(ChannelRef { channel_id: 8 })))
    );
}

fn offer_with_sdp_len(n: usize) -> Message {
    Message::Offer(Offer {
        channel_id: 1,
        target_user_id: 2,
        from_user_id: 3,
        offer: SessionDescription {
            kind: "offer".into(),
            sdp: "a".repeat(n),
        },
    })
}

#[test]
fn encode_refuses_frames_over_4096_bytes_such_as_a_big_video_sdp() {
    let overhead = encode(&offer_with_sdp_len(0)).map(|t| t.len()).unwrap_or(0);
    assert!(overhead > 0);
    let fits = encode(&offer_with_sdp_len(4096 - overhead));
    assert_eq!(fits.map(|t| t.len()), Ok(4096));
    let over = encode(&offer_with_sdp_len(4097 - overhead));
    assert_eq!(
        over,
        Err(CodecError::FrameTooLarge {
            size: 4097,
            limit: 4096
        })
    );
    let video_sdp = SDP.repeat(40);
    let e = encode(&offer_with_sdp_len(video_sdp.len())).err();
    assert_eq!(e.map(|e| e.code()), Some("signal/frame-too-large"));
}

#[test]
fn oversized_inbound_frames_are_refused_without_parsing() {
    let huge = format!(
        "{{\"type\":\"chat:message\",\"payload\":\"{}\"}}",
        "x".repeat(2 << 20)
    );
    assert_eq!(err(&huge).code(), "signal/frame-too-large");
}

#[test]
fn deeply_nested_or_unterminated_frames_fail_cleanly_without_stack_overflow() {
    let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert_eq!(err(&deep).code(), "signal/invalid-json");
    let open = "{".repeat(200_000);
    assert_eq!(err(&open).code(), "signal/no-object");
    let arrays = format!(
        "{{\"type\":\"voice:leave\",\"payload\":{}{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    assert_eq!(err(&arrays).code(), "signal/invalid-json");
}

#[test]
fn cpp_escaped_non_ascii_usernames_still_decode() {
    // The C++ escapeJsonString treats UTF-8 bytes as negative chars (< 0x20) and writes them
    // as `\uffffff..`: valid JSON, mangled text. The participant must still come through.
    let frame = r#"{"type":"voice:user-joined","payload":{"channel_id":4,"user_id":12,"username":"Ay\uffffffc5\uffffff9fe","university":"Bo\uffffffc4\uffffff9fazi\uffffffc3\uffffffa7i"}}"#;
    match one(frame) {
        Message::UserJoined(u) => {
            assert_eq!((u.channel_id, u.user.user_id), (4, 12));
            assert!(u.user.username.starts_with("Ay\u{ffff}"));
        }
        other => panic!("expected user-joined, got {other:?}"),
    }
}
