//! The tower layer and service: verifies the bearer token of every request against the
//! requirements, and leaves the claims in the request's extensions.

use super::rejection_response;
use crate::protection::{tokener_auth, Protection};
use ::axum::extract::Request;
use ::axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::AUTHORIZATION;
use std::convert::Infallible;
use std::fmt;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

tokener_auth! {
    /// `TokenerAuth::new(verifier).scope("orders:read").audience("orders")`: every scope and
    /// audience named is required.
}

impl<S> Layer<S> for TokenerAuth {
    type Service = TokenerAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenerAuthService {
            inner,
            protection: self.0.clone(),
        }
    }
}

/// The service [`TokenerAuth`] wraps around a route.
#[derive(Clone)]
pub struct TokenerAuthService<S> {
    inner: S,
    protection: Protection,
}

impl<S: fmt::Debug> fmt::Debug for TokenerAuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TokenerAuthService");
        debug.field("inner", &self.inner);
        self.protection.debug_fields(&mut debug).finish()
    }
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
        let protection = self.protection.clone();
        Box::pin(async move {
            // Owned (a reference-counted copy): the future must be Send, and the request's
            // body is not Sync.
            let authorization = request.headers().get(AUTHORIZATION).cloned();
            let authorization = authorization.as_ref().map(|v| v.as_bytes());
            match protection.authorize(authorization).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection_response(&rejection)),
            }
        })
    }
}
