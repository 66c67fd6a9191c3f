//! The actix-web middleware and extractor: RFC 6750 answers, claims for the handler.
#![cfg(feature = "actix")]

mod support;

use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{test, App};
use std::time::Duration;
use support::front::{self, Answer};
use tokener_verify::RemoteVerifier;

/// `GET /orders` with `authorization` through the middleware.
async fn call(verifier: &RemoteVerifier, authorization: Option<&str>) -> Answer {
    let app = test::init_service(App::new().service(front::actix_orders(verifier))).await;
    let mut request = test::TestRequest::get().uri("/orders");
    if let Some(value) = authorization {
        request = request.insert_header((AUTHORIZATION, value));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Answer {
        status: response.status().as_u16(),
        challenge: header(WWW_AUTHENTICATE),
        retry_after: header(RETRY_AFTER),
        body: String::from_utf8_lossy(&test::read_body(response).await).into_owned(),
    }
}

#[actix_web::test]
async fn answers_follow_rfc_6750() {
    front::answers_follow_rfc_6750(call).await;
}

#[actix_web::test]
async fn a_stale_verifier_answers_503_with_retry_after() {
    front::a_stale_verifier_answers_503_with_retry_after(call, Some(Duration::from_secs(2)), "2")
        .await;
}
