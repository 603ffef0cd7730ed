#![cfg(not(target_arch = "wasm32"))]
//! Property tests of the `voice:*` codec (proptest; the project's cargo-fuzz-free fuzzing):
//! arbitrary text and bytes never panic the decoder or the brace scanner; every generated
//! message that fits in a frame round-trips exactly; a trailing `}` (the C++ relay quirk)
//! changes nothing; N concatenated envelopes decode to the same N messages in order.

use proptest::prelude::*;
use sohbet_rtc::signal::messages::*;
use sohbet_rtc::signal::{decode_frame, encode, split_objects, Decoded};

/// Text with the characters that matter to the scanner and to JSON strings.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 =:./+\\-]{0,24}",
        "[{}\\[\\]\",:\\\\ a\r\nü🎧]{0,24}",
        any::<String>().prop_map(|s| s.chars().take(24).collect()),
    ]
}

fn id() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=MAX_USER_ID, any::<u64>()]
}

fn mode() -> impl Strategy<Value = CallMode> {
    prop_oneof![
        Just(CallMode::P2p),
        Just(CallMode::Sfu),
        Just(CallMode::Migrating)
    ]
}

fn desc() -> impl Strategy<Value = SessionDescription> {
    (
        prop_oneof![Just("offer".to_owned()), Just("answer".to_owned())],
        tricky(),
    )
        .prop_map(|(kind, sdp)| SessionDescription { kind, sdp })
}

fn entry() -> impl Strategy<Value = ParticipantEntry> {
    (
        id(),
        tricky(),
        tricky(),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
    )
        .prop_map(
            |(user_id, username, university, muted, video_enabled, supports_sfu)| {
                ParticipantEntry {
                    user_id,
                    username,
                    university,
                    muted,
                    video_enabled,
                    supports_sfu,
                }
            },
        )
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(tricky())
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (id(), any::<Option<bool>>(), opt_text()).prop_map(
            |(channel_id, supports_sfu, client_version)| {
                Message::Join(Join {
                    channel_id,
                    supports_sfu,
                    client_version,
                })
            }
        ),
        id().prop_map(|channel_id| Message::Leave(ChannelRef { channel_id })),
        (id(), id(), id(), desc()).prop_map(|(c, t, f, offer)| Message::Offer(Offer {
            channel_id: c,
            target_user_id: t,
            from_user_id: f,
            offer
        })),
        (id(), id(), id(), desc()).prop_map(|(c, t, f, answer)| Message::Answer(Answer {
            channel_id: c,
            target_user_id: t,
            from_user_id: f,
            answer
        })),
        (
            id(),
            id(),
            id(),
            tricky(),
            opt_text(),
            any::<Option<u16>>(),
            opt_text()
        )
            .prop_map(
                |(c, t, f, candidate, sdp_mid, sdp_m_line_index, username_fragment)| {
                    Message::IceCandidate(IceCandidateMsg {
                        channel_id: c,
                        target_user_id: t,
                        from_user_id: f,
                        candidate: IceCandidate {
                            candidate,
                            sdp_mid,
                            sdp_m_line_index,
                            username_fragment,
                        },
                    })
                }
            ),
        (id(), any::<bool>())
            .prop_map(|(channel_id, muted)| Message::Mute(Mute { channel_id, muted })),
        (id(), any::<bool>()).prop_map(|(channel_id, video_enabled)| {
            Message::VideoToggle(VideoToggle {
                channel_id,
                video_enabled,
            })
        }),
        (id(), entry())
            .prop_map(|(channel_id, user)| Message::UserJoined(UserJoined { channel_id, user })),
        (
            id(),
            prop::collection::vec(entry(), 0..4),
            prop::option::of(mode())
        )
            .prop_map(|(channel_id, participants, mode)| {
                Message::Participants(Participants {
                    channel_id,
                    participants,
                    mode,
                })
            }),
        (id(), id()).prop_map(|(channel_id, user_id)| Message::UserLeft(UserLeft {
            channel_id,
            user_id
        })),
        (id(), id(), any::<bool>()).prop_map(|(channel_id, user_id, muted)| {
            Message::UserMuted(UserMuted {
                channel_id,
                user_id,
                muted,
            })
        }),
        (id(), id(), any::<bool>()).prop_map(|(channel_id, user_id, video_enabled)| {
            Message::UserVideoToggled(UserVideoToggled {
                channel_id,
                user_id,
                video_enabled,
            })
        }),
        (id(), mode(), opt_text(), opt_text(), opt_text()).prop_map(
            |(channel_id, new_mode, sfu_token, sfu_url, strategy)| {
                Message::ModeChange(ModeChange {
                    channel_id,
                    new_mode,
                    sfu_token,
                    sfu_url,
                    strategy,
                })
            }
        ),
        (id(), id(), any::<bool>(), opt_text()).prop_map(
            |(channel_id, user_id, success, error)| {
                Message::ModeChangeAck(ModeChangeAck {
                    channel_id,
                    user_id,
                    success,
                    error,
                })
            }
        ),
        (id(), tricky())
            .prop_map(|(channel_id, reason)| Message::Rollback(Rollback { channel_id, reason })),
        (
            mode(),
            any::<u32>(),
            opt_text(),
            id(),
            opt_text(),
            any::<u64>()
        )
            .prop_map(
                |(mode, participant_count, sfu_token, channel_id, sfu_url, timestamp)| {
                    Message::JoinReady(JoinReady {
                        mode,
                        participant_count,
                        sfu_token,
                        channel_id,
                        sfu_url,
                        timestamp,
                    })
                }
            ),
        (tricky(), any::<u32>()).prop_map(|(message, max_participants)| {
            Message::DegradedMode(DegradedMode {
                message,
                max_participants,
            })
        }),
        (tricky(), tricky())
            .prop_map(|(code, message)| Message::Error(ErrorReport { code, message })),
    ]
}

fn voice(m: &Message) -> Result<Decoded, sohbet_rtc::signal::CodecError> {
    Ok(Decoded::Voice(m.clone()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_decoder_or_scanner(s in any::<String>(), t in tricky()) {
        for text in [s.as_str(), t.as_str(), &format!("{s}{t}}}")] {
            let results = decode_frame(text);
            prop_assert!(!results.is_empty());
            for obj in split_objects(text) {
                prop_assert!(obj.starts_with('{') && obj.ends_with('}'), "object {:?}", obj);
                prop_assert!(text.contains(obj));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = decode_frame(&text);
        let _ = split_objects(&text);
    }

    #[test]
    fn generated_messages_that_fit_round_trip_exactly(m in message()) {
        if let Ok(text) = encode(&m) {
            prop_assert!(text.len() <= 4096);
            let head = format!("{{\"type\":\"{}\",\"payload\":", m.type_name());
            prop_assert!(text.starts_with(&head), "{} lacks {}", text, head);
            prop_assert_eq!(decode_frame(&text), vec![voice(&m)]);
        }
    }

    #[test]
    fn an_extra_trailing_brace_decodes_to_the_same_message(m in message()) {
        if let Ok(text) = encode(&m) {
            prop_assert_eq!(decode_frame(&format!("{text}}}")), vec![voice(&m)]);
        }
    }

    #[test]
    fn n_concatenated_envelopes_decode_to_n_messages_in_order(
        msgs in prop::collection::vec((message(), any::<bool>(), "[a-z \n]{0,4}"), 1..6),
    ) {
        let mut frame = String::new();
        let mut want = Vec::new();
        for (m, extra_brace, gap) in &msgs {
            let Ok(text) = encode(m) else { continue };
            frame.push_str(&text);
            if *extra_brace { frame.push('}'); }
            frame.push_str(gap);
            want.push(voice(m));
        }
        if !want.is_empty() {
            prop_assert_eq!(decode_frame(&frame), want);
        }
    }
}
