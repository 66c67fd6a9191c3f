//! The tower layer and service: verifies the bearer token of every request against the
//! requirements, and leaves the claims in the request's extensions.

use super::rejection_response;
use crate::{rfc6750, RemoteVerifier, Requirements};
use ::axum::extract::Request;
use ::axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::AUTHORIZATION;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// `TokenerAuth::new(verifier).scope("orders:read").audience("orders")`: every scope and
/// audience named is required.
#[derive(Debug, Clone)]
pub struct TokenerAuth {
    verifier: RemoteVerifier,
    requirements: Arc<Requirements>,
}

impl TokenerAuth {
    pub fn new(verifier: RemoteVerifier) -> Self {
        Self::with_requirements(verifier, Requirements::new())
    }

    pub fn with_requirements(verifier: RemoteVerifier, requirements: Requirements) -> Self {
        Self {
            verifier,
            requirements: Arc::new(requirements),
        }
    }

    pub fn scope(self, scope: impl Into<String>) -> Self {
        let requirements = Arc::unwrap_or_clone(self.requirements).scope(scope);
        Self::with_requirements(self.verifier, requirements)
    }

    pub fn audience(self, audience: impl Into<String>) -> Self {
        let requirements = Arc::unwrap_or_clone(self.requirements).audience(audience);
        Self::with_requirements(self.verifier, requirements)
    }
}

impl<S> Layer<S> for TokenerAuth {
    type Service = TokenerAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenerAuthService {
            inner,
            verifier: self.verifier.clone(),
            requirements: self.requirements.clone(),
        }
    }
}

/// The service [`TokenerAuth`] wraps around a route.
#[derive(Debug, Clone)]
pub struct TokenerAuthService<S> {
    inner: S,
    verifier: RemoteVerifier,
    requirements: Arc<Requirements>,
}

impl<S> Service<Request> for TokenerAuthService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone is the one not yet polled ready; keep the ready one for this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let requirements = self.requirements.clone();
        Box::pin(async move {
            // Owned (a reference-counted copy): the future must be Send, and the request's
            // body is not Sync.
            let authorization = request.headers().get(AUTHORIZATION).cloned();
            let authorization = authorization.as_ref().map(|v| v.as_bytes());
            match rfc6750::authorize(&verifier, authorization, &requirements).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection_response(&rejection)),
            }
        })
    }
}
