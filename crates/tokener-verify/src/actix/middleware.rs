//! The middleware: verifies the bearer token of every request it wraps against its
//! requirements, and leaves the claims in the request's extensions.

use super::rejection_response;
use crate::protection::{tokener_auth, Protection};
use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{Error, HttpMessage};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use std::rc::Rc;

tokener_auth! {
    /// `TokenerAuth::new(verifier).scope("orders:read").audience("orders")`: every scope and
    /// audience named is required. `Send` and cheap to clone, so it can be built once outside
    /// the `HttpServer` factory.
}

impl<S, B> Transform<S, ServiceRequest> for TokenerAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = TokenerAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TokenerAuthMiddleware {
            service: Rc::new(service),
            protection: self.0.clone(),
        }))
    }
}

/// The service [`TokenerAuth`] wraps around a route.
pub struct TokenerAuthMiddleware<S> {
    service: Rc<S>,
    protection: Protection,
}

impl<S, B> Service<ServiceRequest> for TokenerAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let protection = self.protection.clone();
        Box::pin(async move {
            let authorization = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
            match protection.authorize(authorization).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    let response = service.call(request).await?;
                    Ok(response.map_into_left_body())
                }
                Err(rejection) => {
                    let response = rejection_response(&rejection);
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}
