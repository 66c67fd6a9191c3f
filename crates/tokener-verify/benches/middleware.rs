//! Verification through the actix middleware, in process (no socket), next to the raw
//! biscuit-auth floor measured in the same run on the same token.
//!
//! ```text
//! cargo bench -p tokener-verify --features actix --bench middleware -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! * `floor/biscuit_verify`: `Biscuit::from_base64` with the root key, then one authorizer run
//!   with `time(now)` and `allow if true` (what tokener-core's floor measures).
//! * `core/verify_against`: `tokener_core::Verifier::verify_against`, what `RemoteVerifier`
//!   wraps.
//! * `remote/verify`: `RemoteVerifier::verify`, keys and revocations loaded from a fake
//!   Tokener served on another thread.
//! * `actix/middleware`: `GET /orders` through `TokenerAuth` (scope and audience required)
//!   into a handler extracting `VerifiedClaims`, with `actix_web::test::call_service`.
//!
//! Last, the middleware over the floor measured interleaved (alternating rounds of each), the
//! figure to trust on a machine that runs other work: the target is at most 1.2x.

#[path = "../tests/support/mod.rs"]
mod support;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{test, App};
use biscuit_auth::builder::{date, fact, AuthorizerBuilder};
use biscuit_auth::{AuthorizerLimits, Biscuit, PublicKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant, SystemTime};
use support::{signing_key, token, FakeTokener};
use tokener_core::{PublicKeySet, RevocationState, Timestamp, Verifier, VerifyOptions};
use tokener_verify::RemoteVerifier;

fn floor_verify(bearer: &str, root: PublicKey) {
    let token = Biscuit::from_base64(bearer, root).expect("token");
    let mut authorizer = AuthorizerBuilder::new()
        .set_limits(limits())
        .fact(fact("time", &[date(&SystemTime::now())]))
        .expect("fact")
        .policy("allow if true")
        .expect("policy")
        .build(&token)
        .expect("authorizer");
    authorizer.authorize().expect("authorized");
}

/// tokener-core's limits: the default 1 ms run time fails under load on a shared machine.
fn limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        max_time: Duration::from_millis(50),
    }
}

fn benches(c: &mut Criterion) {
    let key = signing_key(1);
    let root = key.public();
    let (bearer, _) = token(&key, &["orders:read", "orders:write"], &["orders"]);

    // The fake Tokener runs on its own runtime and thread, off the measured one.
    let (server_runtime, fake) = FakeTokener::start_apart(&[&key]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("bench runtime");
    let verifier = runtime
        .block_on(RemoteVerifier::discover(&fake.url))
        .expect("discover");

    let mut group = c.benchmark_group("verify");
    group.bench_function("floor/biscuit_verify", |b| {
        b.iter(|| floor_verify(black_box(&bearer), root))
    });
    let options = VerifyOptions::default();
    let core = Verifier::new(PublicKeySet::new([(key.id(), root)]));
    let revocations = RevocationState::new();
    group.bench_function("core/verify_against", |b| {
        b.iter(|| {
            let now = Timestamp::from_system_time(SystemTime::now());
            core.verify_against(black_box(&bearer), now, &options, &revocations)
        })
    });
    group.bench_function("remote/verify", |b| {
        b.to_async(&runtime)
            .iter(|| async { verifier.verify(black_box(&bearer), &options).await })
    });
    let app = runtime.block_on(test::init_service(
        App::new().service(support::front::actix_orders(&verifier)),
    ));
    let authorization = format!("Bearer {bearer}");
    group.bench_function("actix/middleware", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = test::TestRequest::get()
                .uri("/orders")
                .insert_header((AUTHORIZATION, authorization.as_str()))
                .to_request();
            let response = test::call_service(&app, request).await;
            assert!(response.status().is_success());
        })
    });
    group.finish();

    // Sequential measurements drift with whatever else the machine runs; alternating short
    // rounds of the floor, the core verifier and the middleware and taking median ratios
    // cancels that drift.
    let (rounds, per_round) = (200, 50);
    let (mut core_ratios, mut middleware_ratios) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            floor_verify(black_box(&bearer), root);
        }
        let floor = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..per_round {
            let now = Timestamp::from_system_time(SystemTime::now());
            let _ = black_box(core.verify_against(black_box(&bearer), now, &options, &revocations));
        }
        core_ratios.push(started.elapsed().as_secs_f64() / floor);
        let started = Instant::now();
        runtime.block_on(async {
            for _ in 0..per_round {
                let request = test::TestRequest::get()
                    .uri("/orders")
                    .insert_header((AUTHORIZATION, authorization.as_str()))
                    .to_request();
                black_box(test::call_service(&app, request).await);
            }
        });
        middleware_ratios.push(started.elapsed().as_secs_f64() / floor);
    }
    for (name, ratios) in [
        ("core/verify_against", &mut core_ratios),
        ("actix/middleware", &mut middleware_ratios),
    ] {
        ratios.sort_by(f64::total_cmp);
        println!(
            "{name} over floor/biscuit_verify, interleaved ({rounds} rounds of {per_round}): \
             median {:.3}x, quartiles {:.3}x to {:.3}x",
            ratios[rounds / 2],
            ratios[rounds / 4],
            ratios[rounds * 3 / 4]
        );
    }
    drop(verifier);
    server_runtime.block_on(fake.stop());
}

criterion_group!(middleware, benches);
criterion_main!(middleware);
