//! No token text reaches the log, at the most verbose level, whatever the outcome.
#![cfg(feature = "actix")]

mod support;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{test, web, App};
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::{expired_token, signing_key, token, FakeTokener};
use tokener_verify::{actix::TokenerAuth, RemoteVerifier, VerifiedClaims};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn whoami(claims: VerifiedClaims) -> String {
    claims.client_id.to_string()
}

#[actix_web::test]
async fn tokens_never_reach_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime is single-threaded: the verifier's tasks log through it too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");
    let app = test::init_service(
        App::new().service(
            web::resource("/orders")
                .wrap(TokenerAuth::new(verifier.clone()).scope("orders:read"))
                .to(whoami),
        ),
    )
    .await;
    let (good, _) = token(&key, &["orders:read"], &[]);
    let (lacking, _) = token(&key, &[], &[]);
    let (unknown_key, _) = token(&signing_key(9), &["orders:read"], &[]);
    let tokens = [good, lacking, unknown_key, expired_token(&key)];
    for bearer in &tokens {
        let request = test::TestRequest::get()
            .uri("/orders")
            .insert_header((AUTHORIZATION, format!("Bearer {bearer}")))
            .to_request();
        test::call_service(&app, request).await;
    }
    fake.stop().await;
    drop(verifier);

    let log = String::from_utf8_lossy(&captured.0.lock().expect("log")).into_owned();
    assert!(
        log.contains("bearer token refused"),
        "refusals are logged: {log}"
    );
    for bearer in &tokens {
        // Any 16 characters of a token would be a leak; its start is where one would show.
        assert!(
            !log.contains(&bearer[..16]),
            "token text in the log:\n{log}"
        );
    }
}
