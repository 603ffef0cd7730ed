//! sohbet-server: the native reference back end of sohbet-rtc (compat-spec §2.2, §3, §6).
//!
//! Two listeners: HTTP (REST under `/api`, `/metrics`, `/ws`, and optionally static files at
//! `/`) and the voice:* WebSocket at `/?token=<JWT>` on its own port, as the C++ server
//! runs it. State is in memory. [`start`] binds both (port 0 = ephemeral, for tests) and
//! returns a [`RunningServer`] with the bound addresses; dropping it stops the listeners.
//!
//! Modules: `config` (env), `auth` (user JWTs), `channels` + `rest` (REST), `hub` + `voice`
//! (rooms and message handling), `migration` (the pure per-channel migration state machine),
//! `modes` (policy and migrations per room), `mode_rest` and `records` (overrides and
//! history), `sfu_health` (livekit-server probe), `ws` (socket I/O), `livekit` (tokens),
//! `dev` (test hooks), `metrics` + `histogram`, `clock`, `error`, `state`.

pub mod auth;
pub mod channels;
pub mod clock;
pub mod config;
pub mod conns;
pub mod dev;
pub mod effects;
pub mod error;
pub mod histogram;
pub mod hub;
pub mod limits;
pub mod listen;
pub mod livekit;
pub mod metrics;
pub mod migration;
pub mod mode_rest;
pub mod modes;
pub mod process_metrics;
pub mod quirks;
pub mod ratelimit;
pub mod records;
pub mod rest;
pub mod sfu_health;
pub mod state;
pub mod voice;
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::listen::ConnectionGate;

pub use config::Config;
pub use error::{ApiError, ServerError};
pub use state::AppState;

/// The REST/static router of the HTTP port.
pub fn http_router(state: AppState) -> Router {
    let mut router = Router::new()
        .route(
            "/api/voice/channels",
            get(rest::list_channels).post(rest::create_channel),
        )
        .route(
            "/api/voice/channels/{id}",
            get(rest::get_channel).delete(rest::delete_channel),
        )
        .route("/api/voice/channels/{id}/join", post(rest::join_channel))
        .route(
            "/api/voice/channels/{id}/leave",
            delete(rest::leave_channel),
        )
        .route(
            "/api/voice/channels/{id}/sfu-token",
            post(livekit::sfu_token),
        )
        .route(
            "/api/voice/channels/{id}/sfu-failed",
            post(mode_rest::sfu_failed_report),
        )
        .route(
            "/api/voice/migration-failed",
            post(mode_rest::migration_failed_report),
        )
        .route(
            "/api/voice/channels/{id}/strategy",
            put(mode_rest::put_channel_settings),
        )
        .route(
            "/api/voice/channels/{id}/migrations",
            get(mode_rest::get_migrations),
        )
        .route("/api/voice/sfu-health", get(mode_rest::sfu_health))
        .route("/api/dev/login", post(dev::login))
        .route("/api/dev/drop-connections", post(dev::drop_connections))
        .route("/metrics", get(metrics::metrics))
        // The voice socket on this port too, so a page reaches it on its own origin: `/ws`,
        // and `/ws/` for a client given the base URL `…/ws` (it opens `<base>/?token=`).
        .route("/ws", get(ws::upgrade))
        .route("/ws/", get(ws::upgrade));
    if let Some(dir) = &state.config().static_dir {
        router = router
            .fallback_service(ServeDir::new(dir))
            .layer(middleware::from_fn(hide_dot_paths));
    }
    let limits = state.config().limits;
    router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(limits.request_timeout_ms.max(1)),
        ))
        .layer(cors(state.config()))
        .with_state(state)
}

/// CORS: in dev mode pages on any origin (the test page runs on another port); otherwise
/// only the origins in `SOHBET_CORS_ORIGINS` (none by default: same-origin pages only).
/// Request headers are mirrored rather than answered with `*`, because browsers never let a
/// `*` cover `Authorization`.
fn cors(config: &Config) -> CorsLayer {
    let origins = if config.dev_mode {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| axum::http::HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([axum::http::header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Refuses paths with a segment starting with `.` (`.git`, `.env`, `..`) with 404, so a
/// static directory such as the repository root never exposes hidden files.
async fn hide_dot_paths(request: Request, next: Next) -> Response {
    if request
        .uri()
        .path()
        .split('/')
        .any(|seg| seg.starts_with('.'))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// The router of the WebSocket port: the voice socket at `/`.
pub fn ws_router(state: AppState) -> Router {
    Router::new()
        .route("/", get(ws::upgrade))
        .layer(cors(state.config()))
        .with_state(state)
}

/// A started server. Dropping it (or calling [`RunningServer::stop`]) stops accepting,
/// drops every open voice socket and ends the ticker and the SFU prober.
pub struct RunningServer {
    pub http_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    state: AppState,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// `http://<http_addr>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `ws://<ws_addr>`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    /// Stops the server (same as dropping it).
    pub fn stop(self) {}
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.state.hub().drop_all();
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Binds both listeners and starts serving on the current Tokio runtime.
/// Refuses an insecure configuration ([`Config::validate`]) first.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let http = bind(config.http_addr()).await?;
    let ws = bind(config.ws_addr()).await?;
    let http_addr = http.local_addr()?;
    let ws_addr = ws.local_addr()?;
    let tick = Duration::from_millis(config.tick_ms);
    let fd_limit = limits::raise_fd_limit();
    let max_connections =
        limits::effective_max_connections(config.limits.max_connections, fd_limit);
    tracing::info!(
        max_connections,
        ?fd_limit,
        dev_mode = config.dev_mode,
        "limits"
    );
    let limits = config.limits;
    let cpp_quirks = config.cpp_quirks;
    let state = AppState::new(config);
    let gate = Arc::new(ConnectionGate::new(
        max_connections,
        limits.max_connections_per_ip,
        Duration::from_millis(limits.header_timeout_ms.max(1)),
        state.shared_metrics(),
    ));
    let mut tasks = vec![
        listen::serve(http, http_router(state.clone()), gate.clone(), false),
        listen::serve(ws, ws_router(state.clone()), gate, cpp_quirks),
        modes::spawn_ticker(state.hub(), tick),
    ];
    tasks.extend(sfu_health::spawn_prober(state.hub(), state.config()));
    Ok(RunningServer {
        http_addr,
        ws_addr,
        state,
        tasks,
    })
}
