//! A [`Rejection`] as an axum response.

use crate::rfc6750::Rejection;
use ::axum::body::Body;
use ::axum::response::Response;
use http::header::{self, HeaderValue};
use http::StatusCode;

pub(crate) fn rejection_response(rejection: &Rejection) -> Response {
    let mut response = Response::new(Body::from(rejection.body()));
    *response.status_mut() =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(challenge) = rejection.www_authenticate() {
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
    }
    if let Some(seconds) = rejection.retry_after_seconds() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
