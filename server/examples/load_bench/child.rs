//! The server under test as a process of its own: started from the release binary with the
//! bench's settings, its voice address read from the line it prints, its CPU time and memory
//! read from /proc (the generator reads its own the same way, so the report can say how the
//! cores were shared).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Linux reports CPU time in USER_HZ ticks, 100 per second on every mainstream architecture.
const TICKS_PER_SEC: f64 = 100.0;

/// A running `sohbet-server`; killed and reaped on drop.
pub struct ServerProcess {
    child: Child,
    pub ws_addr: SocketAddr,
}

/// The release binary: `SERVER_BIN`, or the `sohbet-server` next to this example's directory.
fn server_bin() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("SERVER_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot locate the target directory")?;
    Ok(dir.join("sohbet-server"))
}

impl ServerProcess {
    /// Starts the server on ephemeral loopback ports in dev mode (rooms for any channel id)
    /// with `jwt_secret`, the per-IP cap off and SFU probing off; every other limit keeps its
    /// default. Waits for its "listening" line.
    pub fn start(jwt_secret: &str) -> Result<Self, String> {
        let bin = server_bin()?;
        let mut child = Command::new(&bin)
            .env("SOHBET_DEV", "1")
            .env("SOHBET_JWT_SECRET", jwt_secret)
            .env("SOHBET_HTTP_PORT", "0")
            .env("SOHBET_WS_PORT", "0")
            .env("SOHBET_MAX_CONNECTIONS_PER_IP", "0")
            .env("SOHBET_SFU_PROBE_MS", "0")
            .env(
                "RUST_LOG",
                std::env::var("LOAD_BENCH_SERVER_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let ws = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("ws="))
            .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?;
        let ws_addr = ws
            .parse()
            .map_err(|e| format!("bad ws address {ws}: {e}"))?;
        Ok(ServerProcess { child, ws_addr })
    }

    pub fn usage(&self) -> Usage {
        Usage::of(&self.child.id().to_string())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds used so far and resident memory of one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu_secs: f64,
    pub rss_kib: u64,
}

impl Usage {
    /// `pid` is a number or `self`; zeros where /proc cannot be read.
    pub fn of(pid: &str) -> Usage {
        let cpu_secs = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // Fields after the command name: state is the 3rd, utime the 14th, stime the 15th.
                let rest = &stat[stat.rfind(')')? + 1..];
                let mut fields = rest.split_whitespace().skip(11);
                let utime: u64 = fields.next()?.parse().ok()?;
                let stime: u64 = fields.next()?.parse().ok()?;
                Some((utime + stime) as f64 / TICKS_PER_SEC)
            })
            .unwrap_or(0.0);
        let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .unwrap_or(0);
        Usage { cpu_secs, rss_kib }
    }
}

/// How two processes shared the CPU over one phase of `wall` seconds.
pub fn cpu_split(wall: f64, server: (Usage, Usage), generator: (Usage, Usage)) -> (f64, f64) {
    let cores = |(a, b): (Usage, Usage)| (b.cpu_secs - a.cpu_secs) / wall.max(1e-9);
    (cores(server), cores(generator))
}
