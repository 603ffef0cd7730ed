//! The `sohbet-server` command line follows the usual conventions: `--help` and `--version`
//! print and exit without starting a server, an unknown flag is an error (exit 2).

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sohbet-server"))
        .args(args)
        // Ports that would clash if a server started anyway: the test must not depend on them.
        .env("SOHBET_HTTP_PORT", "0")
        .env("SOHBET_WS_PORT", "0")
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_prints_usage_and_exits_without_starting_a_server() {
    for flag in ["--help", "-h"] {
        let (code, stdout, _) = run(&[flag]);
        assert_eq!(code, Some(0), "{flag}");
        assert!(stdout.starts_with("Usage: sohbet-server"), "{stdout}");
        assert!(stdout.contains("SOHBET_WS_PORT"), "{stdout}");
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
fn an_unknown_flag_is_an_error_and_starts_nothing() {
    let (code, stdout, stderr) = run(&["--port", "9000"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown argument '--port'"), "{stderr}");
    assert!(!stdout.contains("listening http=127."), "{stdout}");
}
