#![cfg(not(target_arch = "wasm32"))]
//! Tests of the in-crate JSON reader/writer behind the `voice:*` codec
//! (`sohbet_rtc::signal::json`, `to_json`): string escaping byte-identical to serde_json,
//! the catalogue frames re-encoded byte for byte, escapes and surrogate pairs, the nesting
//! limit, numbers out of range, trailing garbage, and accept/reject agreement with
//! serde_json on arbitrary text.

use proptest::prelude::*;
use sohbet_rtc::signal::json::{parse, push_str, Json, MAX_DEPTH};
use sohbet_rtc::signal::{decode_frame, to_json, CodecError, Decoded};

fn escaped(s: &str) -> String {
    let mut out = String::new();
    push_str(&mut out, s);
    out
}

fn invalid_payload(frame: &str) -> bool {
    matches!(
        decode_frame(frame).as_slice(),
        [Err(CodecError::InvalidPayload { .. })]
    )
}

#[test]
fn strings_are_escaped_exactly_like_serde_json() {
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    for s in [
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "\u{7f} ODTÜ 🎧 \u{2028}",
        all_controls.as_str(),
    ] {
        assert_eq!(escaped(s), serde_json::to_string(s).unwrap_or_default());
    }
}

#[test]
fn wire_frames_re_encode_byte_for_byte() {
    let frames = [
        r#"{"type":"voice:ice-candidate","payload":{"channel_id":1,"target_user_id":2,"from_user_id":3,"candidate":{"candidate":"c","sdpMid":null,"sdpMLineIndex":null}}}"#,
        r#"{"type":"voice:ice-candidate","payload":{"channel_id":1,"target_user_id":2,"from_user_id":3,"candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":65535,"usernameFragment":"u"}}}"#,
        r#"{"type":"voice:participants","payload":{"channel_id":4,"participants":[],"mode":"migrating"}}"#,
        r#"{"type":"voice:participants","payload":{"channel_id":4,"participants":[{"user_id":1,"username":"a\"b\n","university":"","muted":false,"video_enabled":true},{"user_id":2,"username":"","university":"İTÜ"}]}}"#,
        r#"{"type":"voice:user-joined","payload":{"channel_id":42,"user_id":9,"username":"ayse","university":"ODTÜ","muted":true}}"#,
        r#"{"type":"voice:join-ready","payload":{"mode":"p2p","participant_count":4294967295,"channel_id":18446744073709551615,"timestamp":0}}"#,
        r#"{"type":"voice:mode-change","payload":{"channel_id":1,"new_mode":"sfu","sfu_token":"t","sfu_url":"u","strategy":"hard"}}"#,
        r#"{"type":"voice:join","payload":{"channel_id":1,"supports_sfu":false,"client_version":"\u0001\t"}}"#,
        r#"{"type":"voice:degraded-mode","payload":{"message":"","max_participants":0}}"#,
    ];
    for frame in frames {
        match decode_frame(frame).as_slice() {
            [Ok(Decoded::Voice(m))] => assert_eq!(to_json(m), frame),
            other => panic!("{frame} decoded to {other:?}"),
        }
    }
}

#[test]
fn escapes_and_surrogate_pairs_decode_and_lone_surrogates_are_refused() {
    let s = parse(r#""\"\\\/\b\f\n\r\t\u00e9\ud83c\udfa7\uFFFF""#);
    assert_eq!(
        s,
        Ok(Json::Str("\"\\/\u{8}\u{c}\n\r\t\u{e9}🎧\u{ffff}".into()))
    );
    for bad in [
        r#""\ud83c""#,
        r#""\ud83cx""#,
        r#""\ud83c\u0041""#,
        r#""\udfa7""#,
        r#""\x""#,
        r#""\u12g4""#,
        "\"tab\there\"",
        "\"unterminated",
    ] {
        assert!(parse(bad).is_err(), "{bad} must be refused");
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_without_overflow() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(parse(&deep).is_err());
    let huge = format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    assert!(parse(&huge).is_err());
}

#[test]
fn numbers_keep_u64_and_refuse_what_no_id_field_can_hold() {
    assert_eq!(parse("18446744073709551615"), Ok(Json::Uint(u64::MAX)));
    assert_eq!(parse(" 0 "), Ok(Json::Uint(0)));
    for other in [
        "18446744073709551616",
        "-1",
        "-0",
        "1.5",
        "1e3",
        "2E-2",
        "42.0",
    ] {
        assert_eq!(parse(other), Ok(Json::OtherNumber), "{other}");
    }
    for bad in ["01", "1.", "-", ".5", "1e", "+1", "0x10", "NaN", "Infinity"] {
        assert!(parse(bad).is_err(), "{bad} must be refused");
    }
    let leave = |id: &str| format!(r#"{{"type":"voice:leave","payload":{{"channel_id":{id}}}}}"#);
    for id in ["18446744073709551616", "-1", "42.0", "1e2", "null"] {
        assert!(invalid_payload(&leave(id)), "channel_id {id}");
    }
    let candidate = |i: &str| {
        format!(
            r#"{{"type":"voice:ice-candidate","payload":{{"channel_id":1,"target_user_id":2,"from_user_id":3,"candidate":{{"candidate":"c","sdpMLineIndex":{i}}}}}}}"#
        )
    };
    assert!(!invalid_payload(&candidate("65535")));
    assert!(invalid_payload(&candidate("65536")));
    let degraded = r#"{"type":"voice:degraded-mode","payload":{"max_participants":4294967296}}"#;
    assert!(invalid_payload(degraded));
}

#[test]
fn trailing_garbage_and_bad_literals_are_refused() {
    for bad in [
        "{} x",
        "{}}",
        "[1,]",
        "{\"a\":1,}",
        "tru",
        "nul",
        "{\"a\" 1}",
        "[1 2]",
        "",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} must be refused");
    }
    assert!(parse(" {\"a\" : [ true , false , null ] }\n").is_ok());
}

#[test]
fn repeated_keys_resolve_to_the_last_like_serde_json() {
    let frame = r#"{"type":"voice:leave","payload":{"channel_id":1,"channel_id":2}}"#;
    assert_eq!(
        decode_frame(frame),
        vec![Ok(Decoded::Voice(sohbet_rtc::signal::Message::Leave(
            sohbet_rtc::signal::ChannelRef { channel_id: 2 }
        )))]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn escaping_matches_serde_json_for_any_string(s in any::<String>()) {
        prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
    }

    #[test]
    fn escaped_strings_parse_back_to_themselves(s in any::<String>()) {
        prop_assert_eq!(parse(&escaped(&s)), Ok(Json::Str(s)));
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts(
        s in "[\\[\\]{}\",:0-9eE.+\\-tfrulnas\\\\ \t\n]{0,16}",
    ) {
        let ours = parse(&s).is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
        prop_assert_eq!(ours, theirs, "{:?}", s);
    }
}

#[test]
fn an_invalid_payload_names_its_first_bad_field() {
    let frame =
        r#"{"type":"voice:user-muted","payload":{"channel_id":"1","user_id":null,"muted":3}}"#;
    match decode_frame(frame).as_slice() {
        [Err(CodecError::InvalidPayload { kind, reason })] => {
            assert_eq!(kind, "voice:user-muted");
            assert!(reason.ends_with("`channel_id`"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let nested = r#"{"type":"voice:offer","payload":{"channel_id":1,"target_user_id":2,"from_user_id":3,"offer":{"type":"offer"}}}"#;
    assert!(invalid_payload(nested));
    let listed = r#"{"type":"voice:participants","payload":{"participants":[{"user_id":1},7]}}"#;
    assert!(invalid_payload(listed));
}
