//! `/auth`: the requirements of one forwarded request, and its answer.

use crate::actix::rejection_response;
use crate::{rfc6750, RemoteVerifier, Requirements, VerifiedClaims};
use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) const REQUIRED_SCOPE: &str = "x-tokener-required-scope";
pub(crate) const REQUIRED_AUDIENCE: &str = "x-tokener-required-audience";

/// Requirements from the query (`?scope=a&scope=b&audience=x`) merged with those of the
/// `X-Tokener-Required-Scope` (space-separated) and `X-Tokener-Required-Audience` headers.
pub(crate) fn requirements(query: &str, headers: &HeaderMap) -> Requirements {
    let mut requirements = Requirements::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "scope" => value
                .split_ascii_whitespace()
                .for_each(|s| requirements.push_scope(s.to_owned())),
            "audience" => value
                .split_ascii_whitespace()
                .for_each(|a| requirements.push_audience(a.to_owned())),
            _ => {}
        }
    }
    let words = |name: &str| {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(str::split_ascii_whitespace)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    words(REQUIRED_SCOPE)
        .into_iter()
        .for_each(|s| requirements.push_scope(s));
    words(REQUIRED_AUDIENCE)
        .into_iter()
        .for_each(|a| requirements.push_audience(a));
    requirements
}

pub(crate) async fn auth(
    request: HttpRequest,
    verifier: web::Data<RemoteVerifier>,
) -> HttpResponse {
    let requirements = requirements(request.query_string(), request.headers());
    let authorization = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    match rfc6750::authorize(&verifier, authorization, &requirements).await {
        Ok(claims) => granted(&claims),
        Err(rejection) => rejection_response(&rejection),
    }
}

fn granted(claims: &VerifiedClaims) -> HttpResponse {
    let scopes = claims
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut response = HttpResponse::Ok();
    // Client ids, scopes and token ids are validated to header-safe characters; a value that
    // still failed would only lose its header.
    let mut header = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.insert_header((name, value));
        }
    };
    header("x-tokener-client", claims.client_id.as_str());
    header("x-tokener-scopes", &scopes);
    header("x-tokener-token-id", claims.token_id.as_str());
    response.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    #[test]
    fn query_and_header_requirements_are_merged() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(REQUIRED_SCOPE),
            HeaderValue::from_static("b c"),
        );
        headers.insert(
            HeaderName::from_static(REQUIRED_AUDIENCE),
            HeaderValue::from_static("orders"),
        );
        let r = requirements("scope=a&scope=b&audience=orders&other=x", &headers);
        assert_eq!(r.scopes(), ["a", "b", "c"]);
        assert_eq!(r.audiences(), ["orders"]);
    }
}
