//! [`RemoteVerifier`]: verification with keys and revocations kept fresh from a Tokener URL
//! by background tasks, so the request path reads memory only.

mod builder;
mod discovery;
mod error;
mod feed_poll;
mod feed_stream;
mod freshness;
mod key_task;
mod keys;
mod refetch;
mod revocation_task;
mod settings;
mod shared;
mod stats;

pub use builder::RemoteVerifierBuilder;
pub use error::{DiscoverError, RemoteVerifyError};
pub use keys::parse_keys_document;
pub use stats::VerifierStats;

use crate::Requirements;
use arc_swap::ArcSwap;
use freshness::Freshness;
use keys::{Fetched, KeyFetcher};
use refetch::RefetchGate;
use shared::{now, Shared};
use stats::Counters;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokener_core::token::VerificationCache;
use tokener_core::{RevocationState, TokenClaims, Verifier, VerifyOptions};
use tokio::task::JoinHandle;

/// The longest a live revocation stream may stay silent (the wire contract's heartbeat bound).
const HEARTBEAT_BOUND: Duration = Duration::from_secs(15);

/// Verifies Tokener tokens offline with keys and revocations kept current from Tokener.
///
/// Cheap to clone; the background tasks stop when the last clone is dropped or on
/// [`RemoteVerifier::shutdown`]. While Tokener is unreachable it goes on verifying with what it
/// holds, until the revocation state is older than the allowed staleness.
#[derive(Clone)]
pub struct RemoteVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stop(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

impl std::fmt::Debug for RemoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVerifier")
            .field("keys_uri", &self.inner.shared.endpoints.keys)
            .finish_non_exhaustive()
    }
}

impl RemoteVerifier {
    /// Discovers Tokener at `base_url` with the default settings (see [`Self::builder`]).
    pub async fn discover(base_url: &str) -> Result<Self, DiscoverError> {
        Self::builder(base_url).discover().await
    }

    pub fn builder(base_url: &str) -> RemoteVerifierBuilder {
        RemoteVerifierBuilder::new(base_url)
    }

    async fn start(builder: RemoteVerifierBuilder) -> Result<Self, DiscoverError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| DiscoverError::NoRuntime)?;
        let settings = builder.settings;
        if settings.max_staleness < HEARTBEAT_BOUND {
            // Tokener's stream may be silent this long between heartbeats: a live feed would
            // then be judged stale now and then.
            tracing::warn!(
                max_staleness_seconds = settings.max_staleness.as_secs_f64(),
                "max staleness is below the revocation stream's 15 s heartbeat bound"
            );
        }
        let base = discovery::normalize_base(&builder.base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.http_timeout)
            .build()
            .map_err(|e| DiscoverError::Fetch {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        let endpoints = discovery::discover(&http, &base, settings.http_timeout).await?;

        let mut fetcher = KeyFetcher::new(endpoints.keys.clone());
        let keys = match fetcher.fetch(&http, settings.http_timeout).await {
            Ok(Fetched::Keys(keys)) => keys,
            Ok(Fetched::Unchanged) => {
                return Err(DiscoverError::NoKeys {
                    url: endpoints.keys.clone(),
                })
            }
            Err(e) => return Err(e.into_discover(&endpoints.keys)),
        };

        let shared = Arc::new(Shared {
            keys: ArcSwap::from_pointee(Verifier::new(keys)),
            revocations: Arc::new(RevocationState::new()),
            freshness: Freshness::new(settings.max_staleness, settings.fail_open_when_stale),
            refetch: RefetchGate::new(settings.unknown_key_refetch_min),
            counters: Counters::default(),
            cache: (settings.cache_capacity > 0)
                .then(|| VerificationCache::new(settings.cache_capacity)),
            http,
            endpoints,
            settings,
        });
        Counters::bump(&shared.counters.key_fetches);
        let mut cursor = None;
        feed_poll::catch_up(&shared, &mut cursor)
            .await
            .map_err(|e| e.into_discover(&shared.endpoints.revocations))?;

        let tasks = vec![
            runtime.spawn(key_task::run(shared.clone(), fetcher)),
            runtime.spawn(revocation_task::run(shared.clone(), cursor)),
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// Verifies `bearer` (the token text, without `Bearer `) against `options`.
    ///
    /// A token naming a key id not held causes one key fetch shared with every other such
    /// request (at most one per the refetch interval), then one retry.
    pub async fn verify(
        &self,
        bearer: &str,
        options: &VerifyOptions,
    ) -> Result<TokenClaims, RemoteVerifyError> {
        let shared = &self.inner.shared;
        let result = shared.verify(bearer, options).await;
        shared.counters.record(&result);
        result
    }

    /// Verifies `bearer` and checks `requirements`, through the verification cache when one
    /// is configured: the path of the middleware and the guard.
    pub async fn authorize(
        &self,
        bearer: &str,
        requirements: &Requirements,
    ) -> Result<Arc<TokenClaims>, RemoteVerifyError> {
        let shared = &self.inner.shared;
        let result = shared.authorize(bearer, requirements).await;
        shared.counters.record(&result);
        result
    }

    /// The shared revocation state (read-only use: the background task applies the feed).
    pub fn revocations(&self) -> &Arc<RevocationState> {
        &self.inner.shared.revocations
    }

    /// Whether tokens can be accepted now: keys are loaded (always, once discovered) and the
    /// revocation state is within the allowed staleness.
    pub fn is_ready(&self) -> bool {
        let shared = &self.inner.shared;
        Freshness::staleness(&shared.revocations, now())
            .is_some_and(|s| s <= shared.settings.max_staleness)
    }

    /// How long a client refused for staleness should wait before trying again.
    pub fn retry_after(&self) -> Duration {
        self.inner
            .shared
            .settings
            .revocation_poll
            .max(Duration::from_secs(1))
    }

    pub fn stats(&self) -> VerifierStats {
        let shared = &self.inner.shared;
        let staleness = Freshness::staleness(&shared.revocations, now());
        let stale = staleness.is_none_or(|s| s > shared.settings.max_staleness);
        shared.counters.snapshot(
            staleness.map(|s| s.as_secs_f64()),
            stale,
            shared.revocations.len(),
        )
    }

    /// Stops the background tasks of this verifier and all its clones; verification goes on
    /// with what is held, until it grows stale.
    pub fn shutdown(&self) {
        self.inner.stop();
    }
}
