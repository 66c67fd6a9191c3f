//! The HTTP layer's own cost, above the token service (`cargo bench -p tokener-http`):
//!
//! * `parse/…`: what a token request's handler does before it calls the service: HTTP Basic
//!   credentials, the OAuth2 form (with `client_secret_post` credentials), the JSON body of
//!   `POST /token`.
//! * `app/…`: a whole request through the actix app in process, as the server runs it
//!   (middleware, routing, parsing, authentication, issuance on the in-memory store, the JSON
//!   response), without sockets. Compare with `service/issue/issue` of the core benchmarks:
//!   the difference is the HTTP layer; what a real request costs beyond that is the kernel's
//!   (sockets), measured by the load harness.

use actix_web::{test, web};
use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::{
    ClientRegistry, ClientSecret, ClientService, Grants, SystemClock, TokenService, TokenStore,
    TtlPolicy,
};
use tokener_core::{InMemoryHitCounter, RateLimiter, RateLimits};
use tokener_http::form::Form;
use tokener_http::routes::token::TokenRequest;
use tokener_http::state::AppState;

const CLIENT: &str = "billing";
const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnop";

fn basic_header() -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    format!("Basic {encoded}")
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let req = test::TestRequest::post()
        .insert_header(("authorization", basic_header()))
        .to_http_request();
    group.bench_function("basic_credentials", |b| {
        b.iter(|| tokener_http::credentials::basic(black_box(&req)).unwrap())
    });

    let body = format!(
        "grant_type=client_credentials&scope=orders%3Aread+orders%3Awrite&audience=orders\
         &client_id={CLIENT}&client_secret={SECRET}"
    );
    let form_req = test::TestRequest::post()
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .to_http_request();
    group.bench_function("oauth_form_and_credentials", |b| {
        b.iter(|| {
            let known = [
                "grant_type",
                "scope",
                "audience",
                "client_id",
                "client_secret",
            ];
            let form = Form::parse(&form_req, black_box(body.as_bytes()), &known).unwrap();
            tokener_http::credentials::oauth(&form_req, &form).unwrap()
        })
    });

    let json =
        br#"{"scope":["orders:read","orders:write"],"audience":["orders"],"ttl_seconds":3600}"#;
    group.bench_function("token_json", |b| {
        b.iter(|| serde_json::from_slice::<TokenRequest>(black_box(json)).unwrap())
    });
    group.finish();
}

/// The service's state on the in-memory adapters, with one client allowed what the requests
/// ask for.
fn state(runtime: &tokio::runtime::Runtime) -> web::Data<AppState> {
    let clock: Arc<dyn tokener_core::Clock> = Arc::new(SystemClock);
    let tokens: Arc<dyn TokenStore> = Arc::new(InMemoryTokenStore::new());
    let registry: Arc<dyn ClientRegistry> = Arc::new(InMemoryClientRegistry::new());
    let clients = ClientService::new(registry.clone(), clock.clone());
    let grants = Grants {
        scopes: ["orders:read", "orders:write"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect(),
        audiences: ["orders".parse().unwrap()].into_iter().collect(),
        ..Default::default()
    };
    runtime
        .block_on(clients.ensure(
            CLIENT.parse().unwrap(),
            &ClientSecret::parse(SECRET).unwrap(),
            grants,
        ))
        .unwrap();
    // The embedded mode's keys: a ring in an in-memory key store.
    let manager = tokener_core::KeyManager::new(
        Arc::new(tokener_core::InMemoryKeyStore::new()),
        tokener_core::token::KeySealer::ephemeral(),
        clock.clone(),
    );
    let ring = runtime.block_on(manager.load_or_create()).unwrap();
    web::Data::new(AppState {
        metrics: Arc::new(tokener_http::metrics::Metrics::new().unwrap()),
        tokens: TokenService::new(
            tokens,
            registry,
            Arc::new(ring),
            clock.clone(),
            TtlPolicy::default(),
        ),
        clients,
        limiter: RateLimiter::new(
            Arc::new(InMemoryHitCounter::new()),
            RateLimits::default(),
            clock.clone(),
        ),
        backoff: tokener_core::AuthBackoff::new(
            Arc::new(InMemoryHitCounter::new()),
            tokener_core::BackoffLimits::default(),
            clock.clone(),
        ),
        assertions: tokener_core::AssertionVerifier::new(
            Arc::new(tokener_core::InMemoryReplayCache::new()),
            clock,
        ),
        trusted_proxies: Vec::new(),
        dependencies: Vec::new(),
        fallbacks: None,
        group_commit: None,
        public_url: None,
        storage: "in-memory",
        stopping: tokio::sync::watch::channel(false).1,
        keys: tokener_http::signing_keys::KeySource::Store {
            manager,
            shared: false,
        },
        key_announce: std::time::Duration::from_secs(600),
        metrics_port: None,
        audit: Arc::new(tokener_core::InMemoryAuditLog::new()),
    })
}

fn whole_requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // actix services are not `Send`: they run on a local task set, as in a server worker.
    let local = tokio::task::LocalSet::new();
    let app = local.block_on(
        &runtime,
        test::init_service(tokener_http::startup::app(state(&runtime))),
    );
    let basic = basic_header();
    let mut group = c.benchmark_group("app");
    group.bench_function("post_token", |b| {
        b.iter(|| {
            local.block_on(&runtime, async {
                let req = test::TestRequest::post()
                    .uri("/token")
                    .insert_header(("authorization", basic.as_str()))
                    .to_request();
                let response = test::call_service(&app, req).await;
                assert!(response.status().is_success());
                test::read_body(response).await
            })
        })
    });
    group.bench_function("post_oauth2_token", |b| {
        b.iter(|| {
            local.block_on(&runtime, async {
                let req = test::TestRequest::post()
                    .uri("/oauth2/token")
                    .insert_header(("authorization", basic.as_str()))
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .set_payload("grant_type=client_credentials")
                    .to_request();
                let response = test::call_service(&app, req).await;
                assert!(response.status().is_success());
                test::read_body(response).await
            })
        })
    });
    group.finish();
}

criterion_group!(benches, parsing, whole_requests);
criterion_main!(benches);
