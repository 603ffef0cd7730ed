//! The abuse counters and process metrics of `/metrics` (issue 13 §11): connections refused
//! at accept (`http_connections_refused_total{reason}`), voice sockets closed by the server
//! (`ws_closed_by_server_total{reason}`: rate-limited, slow-consumer, token-expired,
//! too-many-sockets, protocol-1002/1007/1009), and the standard Prometheus process metrics
//! read from `/proc/self` (`process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_threads`). Off Linux the process
//! metrics are left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters of the server's defences.
#[derive(Default)]
pub struct AbuseCounters {
    refused: Mutex<BTreeMap<&'static str, u64>>,
    closed: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump(map: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry(key).or_insert(0) += 1;
}

fn read(map: &Mutex<BTreeMap<&'static str, u64>>) -> BTreeMap<&'static str, u64> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Reasons a connection can be refused at accept, shown at 0 before the first.
const REFUSED: &[&str] = &["max-connections", "max-connections-per-ip"];
/// Reasons the server closes a voice socket, shown at 0 before the first.
pub const CLOSED: &[&str] = &[
    "rate-limited",
    "slow-consumer",
    "token-expired",
    "too-many-sockets",
    "protocol-1002",
    "protocol-1007",
    "protocol-1009",
];

impl AbuseCounters {
    pub fn connection_refused(&self, reason: &'static str) {
        bump(&self.refused, reason);
    }

    pub fn socket_closed(&self, reason: &'static str) {
        bump(&self.closed, reason);
    }

    /// Sockets closed for `reason` so far.
    pub fn closed_count(&self, reason: &str) -> u64 {
        read(&self.closed).get(reason).copied().unwrap_or(0)
    }

    pub fn render(&self, out: &mut String) {
        family(
            out,
            "http_connections_refused_total",
            "counter",
            "TCP connections closed at accept, over a connection cap.",
        );
        let mut refused = read(&self.refused);
        REFUSED.iter().for_each(|k| {
            refused.entry(k).or_insert(0);
        });
        for (reason, n) in refused {
            let _ = writeln!(
                out,
                "http_connections_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        family(
            out,
            "ws_closed_by_server_total",
            "counter",
            "Voice sockets the server closed, by reason.",
        );
        let mut closed = read(&self.closed);
        CLOSED.iter().for_each(|k| {
            closed.entry(k).or_insert(0);
        });
        for (reason, n) in closed {
            let _ = writeln!(out, "ws_closed_by_server_total{{reason=\"{reason}\"}} {n}");
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A snapshot of the process, from `/proc/self`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStats {
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub threads: u64,
}

impl ProcessStats {
    /// Reads `/proc/self/status`, `/proc/self/fd` and the open-file limit; None off Linux.
    pub fn read() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        let max_fds = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft);
        Some(ProcessStats {
            resident_bytes: kib("VmRSS:") * 1024,
            virtual_bytes: kib("VmSize:") * 1024,
            open_fds,
            max_fds,
            threads: kib("Threads:"),
        })
    }

    pub fn render(&self, out: &mut String) {
        let rows: [(&str, &str, u64); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                self.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                self.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                self.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                self.max_fds,
            ),
            (
                "process_threads",
                "OS threads of the process.",
                self.threads,
            ),
        ];
        for (name, help, value) in rows {
            family(out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stats_are_read_from_proc() {
        let stats = ProcessStats::read().expect("Linux /proc");
        assert!(stats.resident_bytes > 0 && stats.open_fds > 0 && stats.threads > 0);
        let mut out = String::new();
        stats.render(&mut out);
        assert!(out.contains("# TYPE process_open_fds gauge\nprocess_open_fds "));
    }

    #[test]
    fn abuse_counters_show_every_reason_from_zero() {
        let counters = AbuseCounters::default();
        counters.socket_closed("rate-limited");
        let mut out = String::new();
        counters.render(&mut out);
        assert!(out.contains("ws_closed_by_server_total{reason=\"rate-limited\"} 1"));
        assert!(out.contains("ws_closed_by_server_total{reason=\"slow-consumer\"} 0"));
        assert!(out.contains("http_connections_refused_total{reason=\"max-connections\"} 0"));
    }
}
