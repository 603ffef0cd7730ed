//! The shared application state handed to every handler: configuration, user auth, the
//! channel store, the voice hub, the LiveKit minter and rate limiter, metrics and the clock.
//! Cheap to clone (one `Arc`).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::auth::Auth;
use crate::channels::ChannelStore;
use crate::clock::{unix_secs, Clock};
use crate::config::Config;
use crate::hub::{Hub, HubSettings};
use crate::livekit::{Minter, RateLimiter};
use crate::metrics::Metrics;

struct Shared {
    config: Config,
    auth: Auth,
    channels: Arc<Mutex<ChannelStore>>,
    hub: Arc<Hub>,
    minter: Arc<Minter>,
    token_limiter: RateLimiter,
    metrics: Arc<Metrics>,
    next_user_id: Mutex<u64>,
}

/// Handle to the server's state.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

/// First id handed out by the dev login when the caller names none.
pub const FIRST_DEV_USER_ID: u64 = 1001;

impl AppState {
    pub fn new(config: Config) -> Self {
        let clock = Clock::default();
        let metrics = Arc::new(Metrics::default());
        let minter = Arc::new(Minter::new(
            &config.livekit_api_key,
            &config.livekit_api_secret,
            &config.livekit_url,
        ));
        let channels = Arc::new(Mutex::new(ChannelStore::seeded(unix_secs())));
        let hub = Arc::new(Hub::new(
            HubSettings {
                policy: config.policy,
                send_mode_change: config.send_mode_change,
                strategy: config.strategy,
                timing: config.migration,
                sfu_reachable_at_start: config.sfu_probe_ms == 0,
                allow_unknown_channels: config.dev_mode,
                sockets_per_user: config.limits.sockets_per_user,
                cpp_quirks: config.cpp_quirks,
            },
            channels.clone(),
            clock,
            metrics.clone(),
            minter.clone(),
        ));
        AppState {
            shared: Arc::new(Shared {
                auth: Auth::new(&config.jwt_secret, config.limits.token_leeway_secs),
                channels,
                hub,
                minter,
                token_limiter: RateLimiter::new(config.tokens_per_minute),
                metrics,
                next_user_id: Mutex::new(FIRST_DEV_USER_ID),
                config,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn auth(&self) -> &Auth {
        &self.shared.auth
    }

    /// The channel store, locked (a poisoned lock is recovered).
    pub fn channels(&self) -> MutexGuard<'_, ChannelStore> {
        self.shared
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.shared.hub
    }

    pub fn minter(&self) -> &Minter {
        &self.shared.minter
    }

    pub fn token_limiter(&self) -> &RateLimiter {
        &self.shared.token_limiter
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The metrics, shared (the accept loop counts refused connections).
    pub fn shared_metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// A fresh user id for the dev login (never reused within this process).
    pub fn fresh_user_id(&self) -> u64 {
        let mut next = self
            .shared
            .next_user_id
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let id = *next;
        *next += 1;
        id
    }
}
