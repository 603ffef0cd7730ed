#![cfg(not(target_arch = "wasm32"))]
//! Native tests of participant/track mapping and ping bookkeeping: what the app sees when
//! LiveKit reports people joining, muting, speaking and leaving.

use livekit_protocol as lk;
use sohbet_rtc::sfu::messages::{ParticipantInfo, SpeakerInfo, TrackInfo};
use sohbet_rtc::sfu::ping::{PingAction, PingClock};
use sohbet_rtc::sfu::roster::Roster;
use sohbet_rtc::sfu::tracks::{unpack_stream_id, user_id_of};

/// The user ids the roster lists, in order.
fn listed_ids(roster: &Roster) -> Vec<u64> {
    roster
        .voice_participants()
        .iter()
        .map(|p| p.user_id)
        .collect()
}

fn person(sid: &str, identity: &str, version: u32, mic_muted: Option<bool>) -> ParticipantInfo {
    ParticipantInfo {
        sid: sid.into(),
        identity: identity.into(),
        name: format!("user{identity}"),
        version,
        state: lk::participant_info::State::Active as i32,
        tracks: mic_muted
            .map(|muted| {
                vec![TrackInfo {
                    sid: format!("TR_{sid}"),
                    r#type: lk::TrackType::Audio as i32,
                    source: lk::TrackSource::Microphone as i32,
                    muted,
                }]
            })
            .unwrap_or_default(),
    }
}

#[test]
fn a_new_participant_appears_with_numeric_user_id_and_name() {
    let mut roster = Roster::new("1");
    assert!(roster.apply(&[person("PA_a", "2", 1, Some(false))]));
    assert!(roster.get("2").is_some());
    let list = roster.voice_participants();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].user_id, list[0].username.as_str()), (2, "user2"));
    assert_eq!(list[0].university, "");
    assert!(!list[0].is_muted);
}

#[test]
fn our_own_identity_is_never_listed() {
    let mut roster = Roster::new("1");
    roster.apply(&[person("PA_me", "1", 1, Some(false))]);
    assert!(roster.voice_participants().is_empty());
}

#[test]
fn mute_and_unmute_follow_the_snapshots_and_stale_versions_are_ignored() {
    let mut roster = Roster::new("1");
    roster.apply(&[person("PA_a", "2", 1, Some(false))]);
    roster.apply(&[person("PA_a", "2", 3, Some(true))]);
    assert!(roster.voice_participants()[0].is_muted);
    assert!(!roster.apply(&[person("PA_a", "2", 2, Some(false))]));
    assert!(
        roster.voice_participants()[0].is_muted,
        "an older snapshot must not unmute"
    );
    roster.apply(&[person("PA_a", "2", 4, Some(false))]);
    assert!(!roster.voice_participants()[0].is_muted);
}

#[test]
fn disconnected_removes_the_participant() {
    let mut roster = Roster::new("1");
    roster.apply(&[
        person("PA_a", "2", 1, Some(false)),
        person("PA_b", "3", 1, None),
    ]);
    let mut gone = person("PA_a", "2", 2, Some(false));
    gone.state = lk::participant_info::State::Disconnected as i32;
    assert!(roster.apply(&[gone]));
    assert!(roster.get("2").is_none());
    assert_eq!(listed_ids(&roster), vec![3]);
}

#[test]
fn only_identities_that_are_user_ids_a_js_number_holds_are_listed() {
    let mut roster = Roster::new("1");
    roster.apply(&[
        person("PA_a", "-5", 1, None),
        person("PA_b", "9007199254740992", 1, None),
        person("PA_c", "9007199254740991", 1, None),
        person("PA_d", "bot", 1, None),
    ]);
    assert_eq!(listed_ids(&roster), vec![9_007_199_254_740_991]);
}

#[test]
fn a_rejoin_with_a_new_sid_replaces_the_old_session_even_with_a_lower_version() {
    let mut roster = Roster::new("1");
    roster.apply(&[person("PA_old", "2", 9, Some(true))]);
    roster.apply(&[person("PA_new", "2", 1, Some(false))]);
    assert_eq!(roster.get("2").map(|e| e.sid.as_str()), Some("PA_new"));
    // A late DISCONNECTED for the old sid must not remove the new session.
    let mut late = person("PA_old", "2", 10, None);
    late.state = lk::participant_info::State::Disconnected as i32;
    roster.apply(&[late]);
    assert_eq!(roster.len(), 1);
}

#[test]
fn speakers_changed_marks_speaking_and_level() {
    let mut roster = Roster::new("1");
    roster.apply(&[person("PA_a", "2", 1, Some(false))]);
    assert!(roster.apply_speakers(&[SpeakerInfo {
        sid: "PA_a".into(),
        level: 0.6,
        active: true
    }]));
    let p = &roster.voice_participants()[0];
    assert!(p.is_speaking);
    assert!((p.audio_level - 0.6).abs() < 1e-6);
}

#[test]
fn packed_stream_ids_name_the_publishing_participant() {
    assert_eq!(
        unpack_stream_id("PA_abc|TR_xyz"),
        ("PA_abc", Some("TR_xyz"))
    );
    assert_eq!(unpack_stream_id("PA_abc"), ("PA_abc", None));
}

#[test]
fn identities_map_to_numeric_user_ids_only_when_numeric() {
    assert_eq!(user_id_of("42"), Some(42));
    assert_eq!(user_id_of("alice"), None);
    assert_eq!(user_id_of(""), None);
}

#[test]
fn pings_are_sent_every_interval_and_silence_times_out() {
    let mut clock = PingClock::new(5, 15, 0);
    assert_eq!(clock.tick(0), PingAction::SendPing(0));
    assert_eq!(clock.tick(4_000), PingAction::Idle);
    assert_eq!(clock.tick(5_000), PingAction::SendPing(5_000));
    clock.on_pong(5_000, 5_040);
    assert_eq!(clock.rtt_ms(), 40);
    assert_eq!(clock.tick(20_000), PingAction::SendPing(20_000));
    assert_eq!(clock.tick(20_041), PingAction::TimedOut);
}

#[test]
fn any_message_resets_the_ping_timeout() {
    let mut clock = PingClock::new(0, 0, 0);
    clock.on_message(14_000);
    assert_ne!(clock.tick(28_000), PingAction::TimedOut);
}

#[test]
fn a_muted_participant_stops_speaking_and_late_speaker_updates_do_not_revive_it() {
    let mut roster = Roster::new("1");
    roster.apply(&[person("PA_a", "2", 1, Some(false))]);
    roster.apply_speakers(&[SpeakerInfo {
        sid: "PA_a".into(),
        level: 0.8,
        active: true,
    }]);
    roster.apply(&[person("PA_a", "2", 2, Some(true))]);
    let p = &roster.voice_participants()[0];
    assert!(p.is_muted && !p.is_speaking);
    assert_eq!(p.audio_level, 0.0);
    roster.apply_speakers(&[SpeakerInfo {
        sid: "PA_a".into(),
        level: 0.8,
        active: true,
    }]);
    assert!(!roster.voice_participants()[0].is_speaking);
}

proptest::proptest! {
    #[test]
    fn user_ids_parse_exactly_like_str_parse(identity in "[ +-]?[+-]?[0-9a]{0,19} ?") {
        let trimmed = identity.trim();
        let expected = if trimmed.is_empty() || trimmed.len() > 18 {
            None
        } else {
            trimmed.parse::<i64>().ok()
        };
        proptest::prop_assert_eq!(user_id_of(&identity), expected);
    }
}
