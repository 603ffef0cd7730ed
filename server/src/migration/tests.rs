//! Table-driven tests of the migration state machine: each case is a target, the members at
//! start, a script of inputs with the actions each must produce, and the final state.

use super::*;

const T: Timing = Timing {
    resend_ms: 3_000,
    timeout_ms: 30_000,
};

/// One scripted input.
#[derive(Debug, Clone)]
enum In {
    Ack(UserId, bool),
    Joined(UserId),
    Left(UserId),
    Tick(u64),
    Fail(FailReason),
}

struct Case {
    name: &'static str,
    target: CallMode,
    members: &'static [UserId],
    script: Vec<(In, Vec<Action>)>,
    state: State,
    outcome: Option<Outcome>,
}

fn send(users: &[UserId]) -> Action {
    Action::SendModeChange(users.to_vec())
}

fn ack_failed(user: UserId) -> FailReason {
    FailReason::AckFailed {
        user,
        error: "ice failed".into(),
    }
}

fn run(case: &Case) -> Migration {
    let mut m = Migration::new(1, case.target, Strategy::Hard, T);
    assert_eq!(m.state(), State::Idle, "{}", case.name);
    let started = m.start(case.members.iter().copied(), 0);
    let mut expected_start = Vec::new();
    if !case.members.is_empty() {
        expected_start.push(send(case.members));
    }
    if case.members.is_empty() {
        expected_start.push(Action::Complete);
    }
    assert_eq!(started, expected_start, "{}: start", case.name);
    for (step, (input, expected)) in case.script.iter().enumerate() {
        let now = match input {
            In::Tick(t) => *t,
            _ => 100 + step as u64,
        };
        let got = match input.clone() {
            In::Ack(u, ok) => m.ack(u, ok, (!ok).then_some("ice failed"), now),
            In::Joined(u) => m.member_joined(u, now),
            In::Left(u) => m.member_left(u, now),
            In::Tick(t) => m.tick(t),
            In::Fail(reason) => m.fail(reason, now),
        };
        assert_eq!(&got, expected, "{}: step {step} {input:?}", case.name);
    }
    assert_eq!(m.state(), case.state, "{}: final state", case.name);
    assert_eq!(m.outcome(), case.outcome.as_ref(), "{}: outcome", case.name);
    m
}

fn completed() -> Option<Outcome> {
    Some(Outcome::Completed { forced: false })
}

#[test]
fn migration_transitions() {
    use Action::*;
    use In::*;
    let sfu = CallMode::Sfu;
    let p2p = CallMode::P2p;
    let cases = vec![
        Case {
            name: "all positive acks complete",
            target: sfu,
            members: &[1, 2, 3],
            script: vec![
                (Ack(1, true), vec![]),
                (Ack(2, true), vec![]),
                (Ack(3, true), vec![Complete]),
            ],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "duplicate and non-member acks change nothing",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (Ack(1, true), vec![]),
                (Ack(1, true), vec![]),
                (Ack(99, true), vec![]),
                (Ack(99, false), vec![]),
                (Ack(2, true), vec![Complete]),
            ],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "late acks after completion change nothing",
            target: sfu,
            members: &[1],
            script: vec![
                (Ack(1, true), vec![Complete]),
                (Ack(1, true), vec![]),
                (Ack(1, false), vec![]),
                (Tick(60_000), vec![]),
            ],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "a negative ack to the sfu rolls back",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (Ack(1, true), vec![]),
                (Ack(2, false), vec![Rollback(ack_failed(2))]),
                (Ack(1, true), vec![]),
            ],
            state: State::Failed,
            outcome: Some(Outcome::RolledBack(ack_failed(2))),
        },
        Case {
            name: "a negative ack after a positive one still rolls back",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (Ack(1, true), vec![]),
                (Ack(1, false), vec![Rollback(ack_failed(1))]),
            ],
            state: State::Failed,
            outcome: Some(Outcome::RolledBack(ack_failed(1))),
        },
        Case {
            name: "a negative ack to p2p counts as done",
            target: p2p,
            members: &[1, 2],
            script: vec![(Ack(1, false), vec![]), (Ack(2, true), vec![Complete])],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "non-ackers get the mode-change again after the resend interval",
            target: sfu,
            members: &[1, 2, 3],
            script: vec![
                (Ack(2, true), vec![]),
                (Tick(2_999), vec![]),
                (Tick(3_000), vec![send(&[1, 3])]),
                (Tick(4_000), vec![]),
                (Tick(6_000), vec![send(&[1, 3])]),
            ],
            state: State::Migrating,
            outcome: None,
        },
        Case {
            name: "no completion within the timeout rolls back to p2p",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (Ack(1, true), vec![]),
                (Tick(30_000), vec![Rollback(FailReason::Timeout)]),
                (Tick(40_000), vec![]),
            ],
            state: State::Failed,
            outcome: Some(Outcome::RolledBack(FailReason::Timeout)),
        },
        Case {
            name: "a p2p migration completes on the timeout",
            target: p2p,
            members: &[1, 2],
            script: vec![(Tick(30_000), vec![Complete])],
            state: State::Completed,
            outcome: Some(Outcome::Completed { forced: true }),
        },
        Case {
            name: "the last non-acker leaving completes it",
            target: sfu,
            members: &[1, 2],
            script: vec![(Ack(1, true), vec![]), (Left(2), vec![Complete])],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "an acker leaving is forgotten",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (Ack(1, true), vec![]),
                (Left(1), vec![]),
                (Left(7), vec![]),
                (Ack(2, true), vec![Complete]),
            ],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "a joiner mid-migration to the sfu gets its own mode-change and is awaited",
            target: sfu,
            members: &[1],
            script: vec![
                (Joined(5), vec![send(&[5])]),
                (Ack(1, true), vec![]),
                (Ack(5, true), vec![Complete]),
            ],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "a joiner mid-migration to p2p is not awaited",
            target: p2p,
            members: &[1],
            script: vec![(Joined(5), vec![]), (Ack(1, true), vec![Complete])],
            state: State::Completed,
            outcome: completed(),
        },
        Case {
            name: "an external failure rolls back once",
            target: sfu,
            members: &[1, 2],
            script: vec![
                (
                    Fail(FailReason::SfuUnreachable),
                    vec![Rollback(FailReason::SfuUnreachable)],
                ),
                (Fail(FailReason::Timeout), vec![]),
                (Joined(3), vec![]),
            ],
            state: State::Failed,
            outcome: Some(Outcome::RolledBack(FailReason::SfuUnreachable)),
        },
        Case {
            name: "nobody to wait for completes at once",
            target: sfu,
            members: &[],
            script: vec![(Ack(1, true), vec![])],
            state: State::Completed,
            outcome: completed(),
        },
    ];
    for case in &cases {
        run(case);
    }
}

#[test]
fn supersede_finishes_without_actions_and_start_runs_once() {
    let mut m = Migration::new(3, CallMode::Sfu, Strategy::Gradual, T);
    assert_eq!(m.start([1, 2], 10).len(), 1);
    assert!(m.start([1, 2], 11).is_empty(), "start only from IDLE");
    m.supersede(500);
    assert_eq!(m.state(), State::Failed);
    assert_eq!(m.outcome(), Some(&Outcome::Superseded));
    assert_eq!(m.duration_ms(), Some(490));
    assert!(m.ack(1, true, None, 600).is_empty());
}

#[test]
fn ack_bookkeeping_is_visible() {
    let mut m = Migration::new(4, CallMode::Sfu, Strategy::Hard, T);
    m.start([1, 2, 3], 0);
    m.ack(2, true, None, 5);
    assert_eq!(m.acked(), [2]);
    assert_eq!(m.awaiting(), [1, 3]);
    assert_eq!(m.duration_ms(), None);
}

#[test]
fn strategies_parse_and_print() {
    for s in [Strategy::Hard, Strategy::Gradual, Strategy::Opportunistic] {
        assert_eq!(s.as_str().parse::<Strategy>(), Ok(s));
    }
    assert_eq!(" HARD ".parse::<Strategy>(), Ok(Strategy::Hard));
    assert!("soft".parse::<Strategy>().is_err());
    assert_eq!(Strategy::default(), Strategy::Hard);
}

#[test]
fn fail_reasons_have_stable_codes() {
    assert_eq!(ack_failed(3).code(), "ack-failed");
    assert_eq!(
        ack_failed(3).to_string(),
        "user 3 acked failure: ice failed"
    );
    assert_eq!(FailReason::Timeout.to_string(), "timeout");
    assert_eq!(
        FailReason::SfuFailed { error: "x".into() }.code(),
        "sfu-failed"
    );
}
