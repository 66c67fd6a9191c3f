//! A [`Rejection`] as an actix-web response.

use crate::rfc6750::Rejection;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub(crate) fn rejection_response(rejection: &Rejection) -> HttpResponse {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(challenge) = rejection.www_authenticate() {
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
    }
    if let Some(seconds) = rejection.retry_after_seconds() {
        response.insert_header((header::RETRY_AFTER, seconds));
    }
    response.body(rejection.body())
}
