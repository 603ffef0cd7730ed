//! What the server keeps about a channel beyond its live room, so it survives the room
//! emptying: per-channel overrides set over REST (strategy, policy thresholds) and a bounded
//! history of finished migrations and of rollbacks (the last [`HISTORY_LEN`] of each), which
//! `GET /api/voice/channels/:id/migrations` shows. Times are the server's monotonic clock
//! in milliseconds (see `now_ms` in that endpoint), not wall-clock time.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{json, Value};
use sohbet_rtc::mode::policy::PolicyConfig;

use crate::migration::{FailReason, Migration, Outcome, Strategy};

/// Finished migrations and rollbacks kept per channel.
pub const HISTORY_LEN: usize = 50;

/// Per-channel settings that replace the server configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub strategy: Option<Strategy>,
    /// Applied when the channel's room is (re)created.
    pub policy: Option<PolicyConfig>,
}

/// One finished migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationRecord {
    pub id: u64,
    pub target_mode: &'static str,
    pub strategy: &'static str,
    /// `completed` | `rolled_back` | `superseded`.
    pub outcome: &'static str,
    /// A stable code: the rollback reason, `timeout` for a forced P2P completion,
    /// `superseded`; absent for a normal completion.
    pub reason: Option<&'static str>,
    pub detail: Option<String>,
    pub duration_ms: u64,
    pub started_at_ms: u64,
}

impl MigrationRecord {
    pub fn of(m: &Migration) -> Self {
        let (reason, detail) = match m.outcome() {
            Some(Outcome::RolledBack(r)) => (Some(r.code()), Some(r.to_string())),
            Some(Outcome::Completed { forced: true }) => (Some("timeout"), None),
            Some(Outcome::Superseded) => (Some("superseded"), None),
            _ => (None, None),
        };
        MigrationRecord {
            id: m.id(),
            target_mode: m.target().as_str(),
            strategy: m.strategy().as_str(),
            outcome: m.outcome().map_or("in_progress", Outcome::as_str),
            reason,
            detail,
            duration_ms: m.duration_ms().unwrap_or(0),
            started_at_ms: m.started_at_ms(),
        }
    }
}

/// One voice:rollback sent to a channel.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackRecord {
    pub at_ms: u64,
    pub reason: &'static str,
    pub detail: String,
    /// `migrating` (a migration to the SFU was rolled back) or `sfu` (the settled SFU failed).
    pub from: &'static str,
    pub migration_id: Option<u64>,
}

impl RollbackRecord {
    pub fn new(at_ms: u64, reason: &FailReason, migration_id: Option<u64>) -> Self {
        RollbackRecord {
            at_ms,
            reason: reason.code(),
            detail: reason.to_string(),
            from: if migration_id.is_some() {
                "migrating"
            } else {
                "sfu"
            },
            migration_id,
        }
    }
}

/// Everything kept per channel.
#[derive(Debug, Default)]
pub struct ChannelRecord {
    pub overrides: Overrides,
    migrations: VecDeque<MigrationRecord>,
    rollbacks: VecDeque<RollbackRecord>,
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == HISTORY_LEN {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl ChannelRecord {
    pub fn push_migration(&mut self, record: MigrationRecord) {
        push_bounded(&mut self.migrations, record);
    }

    pub fn push_rollback(&mut self, record: RollbackRecord) {
        push_bounded(&mut self.rollbacks, record);
    }

    /// `{migrations: [...], rollbacks: [...]}`, oldest first.
    pub fn history_json(&self) -> Value {
        json!({ "migrations": self.migrations, "rollbacks": self.rollbacks })
    }
}

/// The live migration as REST shows it.
pub fn live_json(m: &Migration) -> Value {
    json!({
        "id": m.id(),
        "state": m.state().as_str(),
        "target_mode": m.target().as_str(),
        "strategy": m.strategy().as_str(),
        "started_at_ms": m.started_at_ms(),
        "acked": m.acked(),
        "awaiting": m.awaiting(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Timing;
    use sohbet_rtc::signal::CallMode;

    #[test]
    fn history_is_bounded_and_keeps_the_newest() {
        let mut record = ChannelRecord::default();
        for id in 0..(HISTORY_LEN as u64 + 5) {
            let mut m = Migration::new(id, CallMode::Sfu, Strategy::Hard, Timing::default());
            m.start([1], 0);
            m.fail(FailReason::Timeout, 10);
            record.push_migration(MigrationRecord::of(&m));
            record.push_rollback(RollbackRecord::new(10, &FailReason::Timeout, Some(id)));
        }
        let json = record.history_json();
        let migrations = json["migrations"].as_array().unwrap();
        assert_eq!(migrations.len(), HISTORY_LEN);
        assert_eq!(migrations[0]["id"], 5);
        assert_eq!(migrations[0]["outcome"], "rolled_back");
        assert_eq!(migrations[0]["reason"], "timeout");
        assert_eq!(migrations[0]["duration_ms"], 10);
        assert_eq!(json["rollbacks"].as_array().unwrap().len(), HISTORY_LEN);
        assert_eq!(json["rollbacks"][0]["from"], "migrating");
    }

    #[test]
    fn live_migration_json_lists_acks() {
        let mut m = Migration::new(7, CallMode::Sfu, Strategy::Gradual, Timing::default());
        m.start([1, 2], 5);
        m.ack(1, true, None, 6);
        let v = live_json(&m);
        assert_eq!(v["state"], "migrating");
        assert_eq!(v["strategy"], "gradual");
        assert_eq!(v["acked"], json!([1]));
        assert_eq!(v["awaiting"], json!([2]));
        assert_eq!(v["started_at_ms"], 5);
    }
}
