//! The `sohbet-server` binary: reads the configuration from the environment and the command
//! line (a flag wins over its variable), starts the reference back end and prints
//! `sohbet-server listening http=<addr> ws=<addr>`. `--help` and `--version` print and exit 0;
//! an unknown argument or a bad value is an error (exit 2), as is a bad variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use sohbet_server::Config;
use tracing_subscriber::EnvFilter;

const AFTER_HELP: &str = "\
Every flag has an environment variable; a flag given wins over it. Other variables:
  SOHBET_JWT_SECRET    HS256 secret of user JWTs (default: random per process)
  LIVEKIT_API_KEY, LIVEKIT_API_SECRET   the SFU's key pair (default: devkey/secret, dev mode only)
  SOHBET_CORS_ORIGINS  origins allowed by CORS outside dev mode (default: none)
  RUST_LOG             log filter (default: info; logs go to stderr)
Every variable, limit and timeout is listed with its default in server/README.md.
On start it prints: sohbet-server listening http=<addr> ws=<addr>";

/// The reference back end of sohbet-rtc: voice:* WebSocket routing, the REST API, mode
/// decisions and LiveKit tokens.
#[derive(Debug, Parser)]
#[command(name = "sohbet-server", version, after_help = AFTER_HELP)]
struct Cli {
    #[arg(long, value_name = "ADDR", help = described("Address of both listeners", "SOHBET_BIND", Config::default().bind))]
    bind: Option<IpAddr>,
    #[arg(long, value_name = "PORT", help = described("REST, /metrics, /ws and static files; 0 = any free port", "SOHBET_HTTP_PORT", Config::default().http_port))]
    http_port: Option<u16>,
    #[arg(long, value_name = "PORT", help = described("voice:* WebSocket at /?token=<JWT>; 0 = any free port", "SOHBET_WS_PORT", Config::default().ws_port))]
    ws_port: Option<u16>,
    #[arg(long, value_name = "DIR", help = described("Directory served at / over HTTP", "SOHBET_STATIC_DIR", "none"))]
    static_dir: Option<PathBuf>,
    #[arg(long, value_name = "URL", help = described("SFU URL handed to clients", "LIVEKIT_URL", Config::default().livekit_url))]
    livekit_url: Option<String>,
    #[arg(long, help = described(
        "Development mode: /api/dev/*, CORS for any origin, rooms for unknown channel ids, the LiveKit dev key pair",
        "SOHBET_DEV=1",
        "off",
    ))]
    dev: bool,
    #[arg(long, help = described(
        "Behave like the deployed C++ server where clients can tell (for tests): one frame per 4 KiB read, relays with a trailing '}', voice:participants without state, no hybrid",
        "SOHBET_CPP_QUIRKS=1",
        "off",
    ))]
    cpp_quirks: bool,
}

/// A flag's help line: what it sets, its variable and its default (from [`Config::default`],
/// so the two cannot drift apart).
fn described(what: &str, env: &str, default: impl std::fmt::Display) -> String {
    format!("{what} [env: {env}] [default: {default}]")
}

impl Cli {
    /// The configuration read from the environment, with the flags given laid over it.
    fn apply(self, config: Config) -> Config {
        Config {
            bind: self.bind.unwrap_or(config.bind),
            http_port: self.http_port.unwrap_or(config.http_port),
            ws_port: self.ws_port.unwrap_or(config.ws_port),
            static_dir: self.static_dir.or(config.static_dir),
            livekit_url: self.livekit_url.unwrap_or(config.livekit_url),
            dev_mode: config.dev_mode || self.dev,
            cpp_quirks: config.cpp_quirks || self.cpp_quirks,
            ..config
        }
    }
}

#[tokio::main]
async fn main() {
    // Prints --help/--version and exits 0, or an error with a hint and exits 2.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::from_env() {
        Ok(config) => cli.apply(config),
        Err(e) => {
            eprintln!("sohbet-server: {e}\n\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    let server = match sohbet_server::start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("sohbet-server: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "sohbet-server listening http={} ws={}",
        server.http_addr, server.ws_addr
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("sohbet-server: cannot wait for Ctrl-C: {e}");
        std::future::pending::<()>().await;
    }
    server.stop();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_flags_keep_the_environment_and_flags_win_over_it() {
        let env = Config {
            http_port: 18080,
            ws_port: 18081,
            dev_mode: true,
            ..Config::default()
        };
        let kept = Cli::try_parse_from(["sohbet-server"])
            .unwrap()
            .apply(env.clone());
        assert_eq!((kept.http_port, kept.ws_port), (18080, 18081));
        assert!(kept.dev_mode && !kept.cpp_quirks);
        assert_eq!(kept.static_dir, None);
        let cfg = Cli::try_parse_from([
            "sohbet-server",
            "--http-port",
            "0",
            "--ws-port=9",
            "--bind",
            "::1",
            "--static-dir",
            "/srv",
            "--livekit-url",
            "ws://sfu:7880",
            "--cpp-quirks",
        ])
        .unwrap()
        .apply(env);
        assert_eq!((cfg.http_port, cfg.ws_port), (0, 9));
        assert_eq!(cfg.bind.to_string(), "::1");
        assert_eq!(cfg.static_dir, Some(PathBuf::from("/srv")));
        assert_eq!(cfg.livekit_url, "ws://sfu:7880");
        assert!(cfg.cpp_quirks && cfg.dev_mode);
    }
}
