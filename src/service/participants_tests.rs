//! Native tests of the participant list rules in `participants.rs` (P7 change-only
//! notifications, P13 re-joins keep the entry, '' for a missing university, no self entry).

use super::*;

fn entry(user_id: UserId, name: &str) -> ParticipantEntry {
    ParticipantEntry {
        user_id,
        username: name.to_string(),
        university: String::new(),
        muted: None,
        video_enabled: None,
        supports_sfu: None,
    }
}

#[test]
fn joiners_are_listed_with_default_flags_and_empty_university() {
    let mut list = ParticipantList::new(1);
    assert!(list.upsert(&entry(2, "ayse")));
    let p = list.get(2).cloned().unwrap_or_else(|| panic!("listed"));
    assert_eq!(p.username, "ayse");
    assert_eq!(p.university, "");
    assert!(!p.is_muted && !p.is_video_enabled && !p.is_speaking);
    assert_eq!(p.audio_level, 0.0);
}

#[test]
fn the_local_user_is_never_listed() {
    let mut list = ParticipantList::new(7);
    assert!(!list.upsert(&entry(7, "me")));
    assert!(list.is_empty());
}

#[test]
fn server_flags_are_taken_from_the_entry() {
    let mut list = ParticipantList::new(1);
    let mut e = entry(3, "mehmet");
    e.muted = Some(true);
    e.video_enabled = Some(true);
    list.upsert(&e);
    let p = list.get(3).cloned().unwrap_or_else(|| panic!("listed"));
    assert!(p.is_muted && p.is_video_enabled);
}

#[test]
fn a_second_user_joined_keeps_the_known_entry() {
    let mut list = ParticipantList::new(1);
    list.upsert(&entry(2, "ayse"));
    list.set_muted(2, true);
    list.apply_levels(&[(2, true, 0.4)]);
    assert!(!list.upsert(&entry(2, "ayse")), "nothing visible changed");
    let p = list.get(2).cloned().unwrap_or_else(|| panic!("listed"));
    assert!(p.is_muted && p.is_speaking);
    assert_eq!(list.len(), 1);
}

#[test]
fn mute_and_video_change_only_known_users_and_only_on_change() {
    let mut list = ParticipantList::new(1);
    list.upsert(&entry(2, "ayse"));
    assert!(list.set_muted(2, true));
    assert!(!list.set_muted(2, true));
    assert!(!list.set_muted(9, true));
    assert!(list.set_video(2, true));
    assert!(!list.set_video(2, true));
}

#[test]
fn levels_report_changes_only_and_are_clamped() {
    let mut list = ParticipantList::new(1);
    list.upsert(&entry(2, "ayse"));
    list.upsert(&entry(3, "can"));
    assert!(list.apply_levels(&[(2, true, 3.0), (3, false, f32::NAN)]));
    assert_eq!(list.get(2).map(|p| p.audio_level), Some(1.0));
    assert_eq!(list.get(3).map(|p| p.audio_level), Some(0.0));
    assert!(!list.apply_levels(&[(2, true, 1.0)]));
    assert!(!list.apply_levels(&[(99, true, 0.5)]));
}

#[test]
fn leaving_removes_and_clear_empties() {
    let mut list = ParticipantList::new(1);
    list.upsert(&entry(2, "ayse"));
    list.upsert(&entry(3, "can"));
    assert_eq!(list.ids(), vec![2, 3]);
    assert!(list.remove(2));
    assert!(!list.remove(2));
    assert!(list.clear());
    assert!(!list.clear());
}
