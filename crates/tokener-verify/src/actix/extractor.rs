//! [`VerifiedClaims`] as an actix-web extractor: the claims [`TokenerAuth`] left in the
//! request's extensions.
//!
//! [`TokenerAuth`]: super::TokenerAuth

use super::rejection_response;
use crate::rfc6750::Rejection;
use crate::VerifiedClaims;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{ready, Ready};

impl FromRequest for VerifiedClaims {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = request.extensions().get::<VerifiedClaims>().cloned();
        ready(claims.ok_or_else(|| {
            // A handler asking for claims on a route without the middleware: refuse rather
            // than run unauthenticated.
            tracing::error!(
                path = request.path(),
                "VerifiedClaims used without TokenerAuth"
            );
            actix_web::error::InternalError::from_response(
                "route not protected by TokenerAuth",
                rejection_response(&Rejection::MissingToken),
            )
            .into()
        }))
    }
}
