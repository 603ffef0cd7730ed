//! The `sohbet-server` command line follows the usual conventions: `--help` and `--version`
//! print and exit 0 without starting a server; an unknown flag, a flag without its value or
//! a bad value is an error with a hint (exit 2); a flag wins over its environment variable.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sohbet-server");
const FLAGS: &[&str] = &[
    "--bind",
    "--http-port",
    "--ws-port",
    "--static-dir",
    "--livekit-url",
    "--dev",
    "--cpp-quirks",
];

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        // Ports that would clash if a server started anyway: the test must not depend on them.
        .env("SOHBET_HTTP_PORT", "0")
        .env("SOHBET_WS_PORT", "0")
        .env("SOHBET_DEV", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_flag_with_its_default_and_exits_without_starting_a_server() {
    for flag in ["--help", "-h"] {
        let (code, stdout, _) = run(&[flag]);
        assert_eq!(code, Some(0), "{flag}");
        assert!(
            stdout.contains("Usage: sohbet-server [OPTIONS]"),
            "{stdout}"
        );
        for f in FLAGS {
            let line = stdout
                .lines()
                .find(|l| l.trim_start().starts_with(f))
                .unwrap_or_else(|| panic!("{f} is not listed: {stdout}"));
            assert!(line.contains("[default: "), "{f} has no default: {line}");
            assert!(line.contains("[env: "), "{f} names no variable: {line}");
        }
        assert!(stdout.contains("--http-port <PORT>"), "{stdout}");
        assert!(stdout.contains("[default: 8080]"), "{stdout}");
        assert!(stdout.contains("[default: 8081]"), "{stdout}");
        assert!(stdout.contains("-V, --version"), "{stdout}");
        assert!(!stdout.contains("listening http=127."), "{stdout}");
    }
}

#[test]
fn version_prints_the_crate_version_and_exits() {
    for flag in ["--version", "-V"] {
        let (code, stdout, _) = run(&[flag]);
        assert_eq!(code, Some(0));
        assert_eq!(
            stdout.trim(),
            format!("sohbet-server {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn an_unknown_flag_is_an_error_with_a_hint_and_starts_nothing() {
    for args in [
        &["--port", "9000"][..],
        &["9000"],
        &["--cpp-quirks", "--verbose"],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("unexpected argument '{}'", args[args.len() - 1]))
                || stderr.contains(&format!("unexpected argument '{}'", args[0])),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("try '--help'"), "{stderr}");
        assert!(!stdout.contains("listening http=127."), "{stdout}");
    }
}

#[test]
fn a_missing_or_bad_value_is_an_error_with_a_hint() {
    let (code, stdout, stderr) = run(&["--http-port"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("a value is required for '--http-port <PORT>'"),
        "{stderr}"
    );
    assert!(stderr.contains("try '--help'"), "{stderr}");
    assert!(!stdout.contains("listening http=127."), "{stdout}");

    for (args, shown) in [
        (
            &["--ws-port", "eighty"][..],
            "invalid value 'eighty' for '--ws-port <PORT>'",
        ),
        (
            &["--http-port", "70000"],
            "invalid value '70000' for '--http-port <PORT>'",
        ),
        (
            &["--bind", "localhost"],
            "invalid value 'localhost' for '--bind <ADDR>'",
        ),
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(shown), "{args:?}: {stderr}");
        assert!(stderr.contains("try '--help'"), "{stderr}");
        assert!(!stdout.contains("listening http=127."), "{stdout}");
    }
}

#[test]
fn a_bad_environment_variable_is_an_error_naming_it() {
    let out = Command::new(BIN)
        .env("SOHBET_HTTP_PORT", "eighty")
        .env("SOHBET_WS_PORT", "0")
        .env("SOHBET_DEV", "1")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SOHBET_HTTP_PORT"), "{stderr}");
    assert!(stderr.contains("try '--help'"), "{stderr}");
}

#[test]
fn flags_win_over_the_environment() {
    // The environment names a port this test holds: the server starts only if the flags
    // replace it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut child = Command::new(BIN)
        .args(["--http-port", "0", "--ws-port=0", "--bind", "127.0.0.1"])
        .env("SOHBET_HTTP_PORT", &port)
        .env("SOHBET_WS_PORT", &port)
        .env("SOHBET_BIND", "0.0.0.0")
        .env("SOHBET_DEV", "1")
        .env("SOHBET_SFU_PROBE_MS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("sohbet-server listening http=127.0.0.1:"),
        "{line:?}"
    );
    assert!(line.contains(" ws=127.0.0.1:"), "{line:?}");
    assert!(!line.contains(&format!(":{port}")), "{line:?}");

    // Without the flags the same environment is refused: the port is taken.
    let out = Command::new(BIN)
        .env("SOHBET_HTTP_PORT", &port)
        .env("SOHBET_WS_PORT", "0")
        .env("SOHBET_DEV", "1")
        .env("SOHBET_SFU_PROBE_MS", "0")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("could not bind 127.0.0.1:{port}")),
        "{stderr}"
    );
}
