//! What the request path and the background tasks share: the current keys, the revocation
//! state, the policies and the counters.

use super::discovery::Endpoints;
use super::error::RemoteVerifyError;
use super::freshness::Freshness;
use super::refetch::RefetchGate;
use super::settings::Settings;
use super::stats::Counters;
use crate::Requirements;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::SystemTime;
use tokener_core::token::VerificationCache;
use tokener_core::{RevocationState, Timestamp, TokenClaims, Verifier, VerifyError, VerifyOptions};

pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) endpoints: Endpoints,
    pub(crate) http: reqwest::Client,
    /// Swapped whole by the key task; requests load it without a lock.
    pub(crate) keys: ArcSwap<Verifier>,
    pub(crate) revocations: Arc<RevocationState>,
    pub(crate) freshness: Freshness,
    pub(crate) refetch: RefetchGate,
    pub(crate) counters: Counters,
    pub(crate) cache: Option<VerificationCache>,
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

impl Shared {
    /// Full verification with the keys held now; on an unknown key id, one shared refetch and
    /// one retry. Staleness gates only acceptance: a refusal for the token's own sake stands
    /// whatever the age of the revocation state.
    pub(crate) async fn verify(
        &self,
        bearer: &str,
        options: &VerifyOptions,
    ) -> Result<TokenClaims, RemoteVerifyError> {
        let verify = || {
            self.keys
                .load()
                .verify_against(bearer, now(), options, &self.revocations)
        };
        let claims = match verify() {
            // Retried even when no fetch was started for us: one may have finished between
            // our first attempt and the ask, and a token naming a key still unknown fails
            // before any signature work.
            Err(VerifyError::UnknownKey) => {
                self.refetch_keys().await;
                verify()?
            }
            other => other?,
        };
        self.admit_fresh()?;
        Ok(claims)
    }

    /// The one path of the middleware and the guard: verification (through the cache when
    /// configured), then `requirements`. Verifying without options first lets a token that
    /// lacks a scope still be cached for the routes it does satisfy.
    pub(crate) async fn authorize(
        &self,
        bearer: &str,
        requirements: &Requirements,
    ) -> Result<Arc<TokenClaims>, RemoteVerifyError> {
        let claims = match &self.cache {
            None => Arc::new(self.verify(bearer, &VerifyOptions::default()).await?),
            Some(cache) => {
                let key = VerificationCache::key(bearer);
                match cache.get(&key) {
                    Some(claims) => {
                        Counters::bump(&self.counters.cache_hits);
                        if let Err(e) = self.judge_known(&claims) {
                            if e == RemoteVerifyError::Token(VerifyError::Expired) {
                                cache.remove(&key);
                            }
                            return Err(e);
                        }
                        claims
                    }
                    None => {
                        let claims =
                            Arc::new(self.verify(bearer, &VerifyOptions::default()).await?);
                        cache.insert(key, bearer, claims.clone());
                        claims
                    }
                }
            }
        };
        requirements.check(&claims)?;
        Ok(claims)
    }

    /// Judges claims verified earlier (a cache hit) as of now: expiry, revocation, staleness.
    pub(crate) fn judge_known(&self, claims: &TokenClaims) -> Result<(), RemoteVerifyError> {
        if claims.expires_at < now() {
            return Err(VerifyError::Expired.into());
        }
        if self.revocations.is_revoked(claims) {
            return Err(VerifyError::Revoked.into());
        }
        self.admit_fresh()
    }

    fn admit_fresh(&self) -> Result<(), RemoteVerifyError> {
        self.freshness
            .judge(&self.revocations, now())
            .map_err(|staleness| RemoteVerifyError::Stale {
                seconds: staleness.as_secs(),
            })
    }

    async fn refetch_keys(&self) {
        // Long enough for the fetch itself, bounded so a hung Tokener cannot hold requests.
        let wait = self.settings.http_timeout + std::time::Duration::from_secs(1);
        self.refetch.refetch(wait).await;
    }
}
