//! What a `private_key_jwt` authentication costs Tokener, besides the client lookup: reading
//! the assertion, and the whole check (claims, signature, replay cache in memory).
//!
//! ```text
//! cargo bench -p tokener-core --bench client_assertion -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every iteration checks a new assertion (a fresh `jti`), signed outside the timed part, so
//! the replay cache grows as it does under real load.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use std::sync::Arc;
use tokener_core::contract::sample_client;
use tokener_core::services::client_assertion::signer::AssertionSigner;
use tokener_core::Clock;
use tokener_core::{
    AssertionAlgorithm, AssertionVerifier, ClientAssertion, InMemoryReplayCache, SystemClock,
};

const AUDIENCE: &str = "https://tokens.example/oauth2/token";

fn now() -> u64 {
    SystemClock.now().unix()
}

fn client_assertion(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let audiences = vec![AUDIENCE.to_string()];
    let mut group = c.benchmark_group("client_assertion");
    for algorithm in AssertionAlgorithm::ALL {
        let signer = AssertionSigner::generate(algorithm, "k1");
        let mut client = sample_client("billing");
        client.jwks = Some(serde_json::from_value(signer.jwks()).expect("valid keys"));
        let verifier = AssertionVerifier::new(InMemoryReplayCache::new(), Arc::new(SystemClock));
        let fresh = || signer.assertion("billing", AUDIENCE, now(), 120);
        group.bench_function(format!("parse/{}", algorithm.name()), |b| {
            let assertion = fresh();
            b.iter(|| ClientAssertion::parse(black_box(&assertion)).expect("parses"))
        });
        group.bench_function(format!("authenticate/{}", algorithm.name()), |b| {
            b.iter_batched(
                fresh,
                |assertion| {
                    let parsed = ClientAssertion::parse(&assertion).expect("parses");
                    runtime
                        .block_on(verifier.authenticate(Some(client.clone()), &parsed, &audiences))
                        .expect("authenticates")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, client_assertion);
criterion_main!(benches);
