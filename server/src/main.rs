//! The `sohbet-server` binary: reads the configuration from the environment, starts the
//! reference back end and prints `sohbet-server listening http=<addr> ws=<addr>`.
//! `--help` and `--version` print and exit; any other argument is an error (exit 2).

use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Usage: sohbet-server [--cpp-quirks] | --help | --version

The reference back end of sohbet-rtc: voice:* WebSocket routing, the REST API, mode
decisions and LiveKit tokens. It is configured by environment variables; the main ones:

  SOHBET_BIND          address of both listeners (default 127.0.0.1)
  SOHBET_HTTP_PORT     REST, /metrics, /ws, static files (default 8080; 0 = any free port)
  SOHBET_WS_PORT       voice:* WebSocket at /?token=<JWT> (default 8081; 0 = any free port)
  SOHBET_STATIC_DIR    directory served at / over HTTP (default none)
  SOHBET_JWT_SECRET    HS256 secret of user JWTs (default random per process)
  SOHBET_DEV=1         development mode: /api/dev/*, CORS for any origin, LiveKit dev secret
  LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET   the SFU (default ws://127.0.0.1:7880)
  RUST_LOG             log filter (default info; logs go to stderr)

  --cpp-quirks         behave like the deployed C++ server where clients can tell (for
                       tests; also SOHBET_CPP_QUIRKS=1): one frame per 4 KiB read, relays
                       with a trailing '}', voice:participants without state, no hybrid

Every variable, limit and timeout is listed with its default in server/README.md.
On start it prints: sohbet-server listening http=<addr> ws=<addr>
";

/// What the command line asks for besides running the server.
enum Cli {
    Run { cpp_quirks: bool },
    Print(String),
    Error(String),
}

fn parse_args(args: impl Iterator<Item = String>) -> Cli {
    let mut cpp_quirks = false;
    for arg in args {
        match arg.as_str() {
            "--cpp-quirks" => cpp_quirks = true,
            "-h" | "--help" => return Cli::Print(USAGE.to_owned()),
            "-V" | "--version" => {
                return Cli::Print(format!("sohbet-server {}\n", env!("CARGO_PKG_VERSION")))
            }
            other => {
                return Cli::Error(format!(
                    "sohbet-server: unknown argument '{other}' (configuration comes from the environment; see --help)"
                ))
            }
        }
    }
    Cli::Run { cpp_quirks }
}

#[tokio::main]
async fn main() {
    let cpp_quirks = match parse_args(std::env::args().skip(1)) {
        Cli::Run { cpp_quirks } => cpp_quirks,
        Cli::Print(text) => {
            print!("{text}");
            return;
        }
        Cli::Error(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match sohbet_server::Config::from_env() {
        Ok(config) => sohbet_server::Config {
            cpp_quirks: config.cpp_quirks || cpp_quirks,
            ..config
        },
        Err(e) => {
            eprintln!("sohbet-server: {e}");
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
