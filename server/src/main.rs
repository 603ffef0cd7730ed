//! The `sohbet-server` binary: reads the configuration from the environment, starts the
//! reference back end and prints `sohbet-server listening http=<addr> ws=<addr>`.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match sohbet_server::Config::from_env() {
        Ok(config) => config,
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
