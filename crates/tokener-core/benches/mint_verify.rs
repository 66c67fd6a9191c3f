//! Minting and verification cost, layer by layer: the raw biscuit-auth floor, then
//! `tokener_core::token`, then `TokenService` over the in-memory adapters, then the domain
//! parsers.
//!
//! ```text
//! cargo bench -p tokener-core --bench mint_verify -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Groups:
//!
//! * `floor/biscuit_mint`: biscuit-auth alone, signing and serializing the same authority block
//!   `mint` writes, once from Datalog text and once from builder values.
//! * `floor/biscuit_verify`: biscuit-auth alone, deserializing and checking the signatures, then
//!   one authorizer run with `time(now)` and `allow if true`.
//! * `breakdown/verify`: the pieces of `Verifier::verify` rebuilt on raw biscuit-auth, to show
//!   where the time over the floor goes.
//! * `core/mint`, `core/verify`: `tokener_core::token`.
//! * `service/issue`, `service/verify`, `service/authenticate`: `TokenService` over
//!   `InMemoryTokenStore` and `InMemoryClientRegistry`, driven by a current-thread Tokio runtime.
//!   Every `service/issue` iteration records one more token, so the store grows during that
//!   benchmark (a `HashMap` insert: amortised constant time).
//! * `keys/sealing`: sealing and opening one private key (`KeySealer`), and loading a ring of
//!   three keys from an in-memory key store (`KeyManager::load`): what each instance pays on
//!   every 5 s reload of a ring kept in MongoDB, besides the MongoDB round trip.
//! * `domain/parse`: identifier newtypes.

use biscuit_auth::builder::{
    check, date, fact, pred, rule, string, var, AuthorizerBuilder, Binary, CheckKind, Expression,
    Op,
};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PublicKey};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::domain::ManualClock;
use tokener_core::token::{mint, MintInput};
use tokener_core::{
    Audience, ClientId, ClientSecret, ClientService, Grants, IssueRequest, KeyRing, Scope,
    Timestamp, TokenService, TtlPolicy, Verifier, VerifyOptions,
};
use tokio::runtime::Runtime;

/// The instant every benchmark runs at.
const NOW: u64 = 1_800_000_000;
/// Token lifetime: the service default (24 hours).
const TTL: u64 = 24 * 3600;
/// The root key id `KeyRing::generate` uses; set on floor tokens too so all carry the same
/// fields.
const ROOT_KEY_ID: u32 = 1;

const CLIENT: &str = "billing";
const AUDIENCE: &str = "orders";
const SCOPES: [&str; 2] = ["orders:read", "orders:write"];

fn now() -> Timestamp {
    Timestamp::from_unix(NOW)
}

fn expires() -> Timestamp {
    Timestamp::from_unix(NOW + TTL)
}

fn mint_input() -> MintInput {
    MintInput {
        client_id: ClientId::parse(CLIENT).unwrap(),
        audiences: BTreeSet::from([Audience::parse(AUDIENCE).unwrap()]),
        scopes: SCOPES.iter().map(|s| Scope::parse(*s).unwrap()).collect(),
        issued_at: now(),
        expires_at: expires(),
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

// ---------------------------------------------------------------------------------------------
// Floor: biscuit-auth alone.
// ---------------------------------------------------------------------------------------------

/// The authority block of a Tokener token as Datalog text.
fn authority_datalog() -> String {
    let issued = now().to_rfc3339();
    let expires = expires().to_rfc3339();
    format!(
        "client(\"{CLIENT}\");\n\
         audience(\"{AUDIENCE}\");\n\
         scope(\"{}\");\n\
         scope(\"{}\");\n\
         issued_at({issued});\n\
         expires_at({expires});\n\
         check if time($t), $t <= {expires};\n",
        SCOPES[0], SCOPES[1]
    )
}

/// Signs the authority block parsed from Datalog text.
fn floor_mint_datalog(keypair: &KeyPair, source: &str) -> String {
    Biscuit::builder()
        .root_key_id(ROOT_KEY_ID)
        .code(source)
        .unwrap()
        .build(keypair)
        .unwrap()
        .to_base64()
        .unwrap()
}

/// Signs the authority block built from builder values (no parser).
fn floor_mint_builder(keypair: &KeyPair, issued: SystemTime, expires: SystemTime) -> String {
    let expires = date(&expires);
    let mut expiry = check(&[pred("time", &[var("t")])], CheckKind::One);
    expiry.queries[0].expressions.push(Expression {
        ops: vec![
            Op::Value(var("t")),
            Op::Value(expires.clone()),
            Op::Binary(Binary::LessOrEqual),
        ],
    });
    let mut builder = Biscuit::builder()
        .root_key_id(ROOT_KEY_ID)
        .fact(fact("client", &[string(CLIENT)]))
        .unwrap()
        .fact(fact("audience", &[string(AUDIENCE)]))
        .unwrap();
    for scope in SCOPES {
        builder = builder.fact(fact("scope", &[string(scope)])).unwrap();
    }
    builder
        .fact(fact("issued_at", &[date(&issued)]))
        .unwrap()
        .fact(fact("expires_at", &[expires]))
        .unwrap()
        .check(expiry)
        .unwrap()
        .build(keypair)
        .unwrap()
        .to_base64()
        .unwrap()
}

/// Deserializes, checks the signatures, runs one authorizer at `now` with `allow if true`.
///
/// The limits are `Verifier`'s: biscuit-auth's default `max_time` of 1 ms is short enough for a
/// descheduled iteration on a busy machine to fail with `RunLimit(Timeout)`.
fn floor_verify(bearer: &str, root: PublicKey, now: SystemTime) {
    let token = Biscuit::from_base64(bearer, root).unwrap();
    let mut authorizer = AuthorizerBuilder::new()
        .set_limits(limits())
        .fact(fact("time", &[date(&now)]))
        .unwrap()
        .policy("allow if true")
        .unwrap()
        .build(&token)
        .unwrap();
    authorizer.authorize().unwrap();
}

/// What the floor mint benchmarks sign with and sign.
struct FloorMint {
    keypair: KeyPair,
    source: String,
    issued: SystemTime,
    expires: SystemTime,
}

impl FloorMint {
    /// Also checks that both floor variants write the authority block `mint` writes.
    fn new() -> Self {
        let floor = Self {
            keypair: KeyPair::new(),
            source: authority_datalog(),
            issued: now().to_system_time(),
            expires: expires().to_system_time(),
        };
        let root = floor.keypair.public();
        let block = |bearer: &str, root: PublicKey| {
            Biscuit::from_base64(bearer, root)
                .unwrap()
                .print_block_source(0)
                .unwrap()
        };
        let ring = KeyRing::generate();
        let core = block(
            &mint(ring.active(), mint_input()).unwrap().bearer,
            ring.active().public(),
        );
        assert_eq!(
            block(&floor_mint_datalog(&floor.keypair, &floor.source), root),
            core
        );
        assert_eq!(
            block(
                &floor_mint_builder(&floor.keypair, floor.issued, floor.expires),
                root
            ),
            core
        );
        floor
    }
}

// Fixtures are built on first use, inside `bench_function`, so a filtered run only sets up
// the benchmarks it runs.

fn floor_mint(c: &mut Criterion) {
    let mut state: Option<FloorMint> = None;
    let mut group = c.benchmark_group("floor/biscuit_mint");
    group.bench_function("biscuit_mint_datalog_text", |b| {
        let s = state.get_or_insert_with(FloorMint::new);
        b.iter(|| floor_mint_datalog(&s.keypair, black_box(&s.source)))
    });
    group.bench_function("biscuit_mint_builder", |b| {
        let s = state.get_or_insert_with(FloorMint::new);
        b.iter(|| floor_mint_builder(&s.keypair, black_box(s.issued), black_box(s.expires)))
    });
    group.finish();
}

/// A token signed by raw biscuit-auth, and what verifies it.
struct FloorToken {
    root: PublicKey,
    bearer: String,
    token: Biscuit,
    at: SystemTime,
}

impl FloorToken {
    fn new() -> Self {
        let keypair = KeyPair::new();
        let root = keypair.public();
        let bearer =
            floor_mint_builder(&keypair, now().to_system_time(), expires().to_system_time());
        let token = Biscuit::from_base64(&bearer, root).unwrap();
        let at = now().to_system_time();
        floor_verify(&bearer, root, at);
        let mut authorizer = verifier_authorizer(&token, Some(at));
        assert_eq!(query_claims(&mut authorizer), 6);
        assert_eq!(query_claims_joined(&mut authorizer), 4);
        Self {
            root,
            bearer,
            token,
            at,
        }
    }
}

fn floor_verify_group(c: &mut Criterion) {
    let mut state: Option<FloorToken> = None;
    let mut group = c.benchmark_group("floor/biscuit_verify");
    group.bench_function("biscuit_verify", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| floor_verify(black_box(&s.bearer), s.root, black_box(s.at)))
    });
    group.finish();
}

/// The limits `Verifier` sets on the authorizer.
fn limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        max_time: Duration::from_millis(20),
    }
}

/// An authorizer as `Verifier` builds it: limits, optionally `time(now)`, `allow if client($c)`.
fn verifier_authorizer(token: &Biscuit, now: Option<SystemTime>) -> biscuit_auth::Authorizer {
    let mut builder = AuthorizerBuilder::new().set_limits(limits());
    if let Some(now) = now {
        builder = builder.fact(fact("time", &[date(&now)])).unwrap();
    }
    builder
        .policy("allow if client($c)")
        .unwrap()
        .build(token)
        .unwrap()
}

/// The five claim queries `Verifier` runs.
fn query_claims(authorizer: &mut biscuit_auth::Authorizer) -> usize {
    let one = |name: &str| rule("q", &[var("v")], &[pred(name, &[var("v")])]);
    let mut n = 0;
    for name in ["client", "audience", "scope"] {
        let v: Vec<(String,)> = authorizer.query(one(name)).unwrap();
        n += v.len();
    }
    for name in ["issued_at", "expires_at"] {
        let v: Vec<(SystemTime,)> = authorizer.query(one(name)).unwrap();
        n += v.len();
    }
    n
}

/// The same claims in 3 queries: the single-valued claims joined in one (one result exactly
/// when each of `client`, `issued_at` and `expires_at` has one fact, as `Verifier` requires).
fn query_claims_joined(authorizer: &mut biscuit_auth::Authorizer) -> usize {
    let single: Vec<(String, SystemTime, SystemTime)> = authorizer
        .query(rule(
            "q",
            &[var("c"), var("i"), var("e")],
            &[
                pred("client", &[var("c")]),
                pred("issued_at", &[var("i")]),
                pred("expires_at", &[var("e")]),
            ],
        ))
        .unwrap();
    let one = |name: &str| rule("q", &[var("v")], &[pred(name, &[var("v")])]);
    let audiences: Vec<(String,)> = authorizer.query(one("audience")).unwrap();
    let scopes: Vec<(String,)> = authorizer.query(one("scope")).unwrap();
    single.len() + audiences.len() + scopes.len()
}

/// `Verifier::verify`'s steps one at a time, on raw biscuit-auth.
fn breakdown_verify(c: &mut Criterion) {
    let mut state: Option<FloorToken> = None;
    let mut group = c.benchmark_group("breakdown/verify");
    // Deserialization and the Ed25519 signature checks: the part no verifier can skip.
    group.bench_function("from_base64", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| Biscuit::from_base64(black_box(&s.bearer), s.root).unwrap())
    });
    // Loading the token into a fresh authorizer (block decoding, symbol translation).
    group.bench_function("authorizer_build", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| verifier_authorizer(black_box(&s.token), Some(s.at)))
    });
    // What `read_claims` does after the signature check: a build without `time`, 5 queries.
    group.bench_function("read_claims_pass", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| {
            let mut authorizer = verifier_authorizer(black_box(&s.token), None);
            query_claims(&mut authorizer)
        })
    });
    // What `authorize` does: a second build, with `time`, then the checks and policy.
    group.bench_function("authorize_pass", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| {
            let mut authorizer = verifier_authorizer(black_box(&s.token), Some(s.at));
            authorizer.authorize().unwrap()
        })
    });
    // Today's shape: signature check, claims pass, authorize pass.
    group.bench_function("two_pass", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| {
            let token = Biscuit::from_base64(black_box(&s.bearer), s.root).unwrap();
            let mut claims = verifier_authorizer(&token, None);
            query_claims(&mut claims);
            let mut authorizer = verifier_authorizer(&token, Some(s.at));
            authorizer.authorize().unwrap()
        })
    });
    // One authorizer (with `time`) answering the 5 queries and then authorizing.
    group.bench_function("one_pass", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| {
            let token = Biscuit::from_base64(black_box(&s.bearer), s.root).unwrap();
            let mut authorizer = verifier_authorizer(&token, Some(s.at));
            query_claims(&mut authorizer);
            authorizer.authorize().unwrap()
        })
    });
    // One authorizer, and 3 queries instead of 5.
    group.bench_function("one_pass_joined", |b| {
        let s = state.get_or_insert_with(FloorToken::new);
        b.iter(|| {
            let token = Biscuit::from_base64(black_box(&s.bearer), s.root).unwrap();
            let mut authorizer = verifier_authorizer(&token, Some(s.at));
            query_claims_joined(&mut authorizer);
            authorizer.authorize().unwrap()
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Core: tokener_core::token.
// ---------------------------------------------------------------------------------------------

fn core_mint(c: &mut Criterion) {
    let mut state: Option<(KeyRing, MintInput)> = None;
    let mut group = c.benchmark_group("core/mint");
    // The input is cloned outside the timed section: `mint` takes it by value.
    group.bench_function("mint", |b| {
        let (ring, input) = state.get_or_insert_with(|| (KeyRing::generate(), mint_input()));
        b.iter_batched(
            || input.clone(),
            |input| mint(ring.active(), input).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A token minted by `mint`, and a `Verifier` for it.
struct CoreToken {
    bearer: String,
    verifier: Verifier,
    any: VerifyOptions,
    audience: VerifyOptions,
}

impl CoreToken {
    fn new() -> Self {
        let ring = KeyRing::generate();
        let token = Self {
            bearer: mint(ring.active(), mint_input()).unwrap().bearer,
            verifier: Verifier::new(ring.public_keys()),
            any: VerifyOptions::default(),
            audience: VerifyOptions::default().audience(Audience::parse(AUDIENCE).unwrap()),
        };
        token
            .verifier
            .verify(&token.bearer, now(), &token.any)
            .unwrap();
        token
            .verifier
            .verify(&token.bearer, now(), &token.audience)
            .unwrap();
        token
    }
}

fn core_verify(c: &mut Criterion) {
    let mut state: Option<CoreToken> = None;
    let mut group = c.benchmark_group("core/verify");
    group.bench_function("verify", |b| {
        let s = state.get_or_insert_with(CoreToken::new);
        b.iter(|| {
            s.verifier
                .verify(black_box(&s.bearer), now(), &s.any)
                .unwrap()
        })
    });
    group.bench_function("verify_audience", |b| {
        let s = state.get_or_insert_with(CoreToken::new);
        b.iter(|| {
            s.verifier
                .verify(black_box(&s.bearer), now(), &s.audience)
                .unwrap()
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Service: TokenService over the in-memory adapters.
// ---------------------------------------------------------------------------------------------

type MemoryService = TokenService<InMemoryTokenStore, InMemoryClientRegistry>;

struct Fixture {
    rt: Runtime,
    tokens: MemoryService,
    client: ClientId,
    secret: ClientSecret,
}

/// A service at `NOW` with one client allowed one audience and two scopes.
fn fixture() -> Fixture {
    let rt = runtime();
    let clock = Arc::new(ManualClock::at(now()));
    let registry = InMemoryClientRegistry::new();
    let tokens = TokenService::new(
        InMemoryTokenStore::new(),
        registry.clone(),
        Arc::new(KeyRing::generate()),
        clock.clone(),
        TtlPolicy::default(),
    );
    let clients = ClientService::new(registry, clock);
    let client = ClientId::parse(CLIENT).unwrap();
    let grants = Grants {
        scopes: SCOPES.iter().map(|s| Scope::parse(*s).unwrap()).collect(),
        audiences: BTreeSet::from([Audience::parse(AUDIENCE).unwrap()]),
        ..Default::default()
    };
    let (_, secret) = rt.block_on(clients.create(client.clone(), grants)).unwrap();
    Fixture {
        rt,
        tokens,
        client,
        secret,
    }
}

fn service_issue(c: &mut Criterion) {
    let mut state: Option<Fixture> = None;
    let mut group = c.benchmark_group("service/issue");
    // Each iteration records a token: the in-memory store grows for the whole benchmark.
    group.bench_function("issue", |b| {
        let f = state.get_or_insert_with(fixture);
        b.iter(|| {
            f.rt.block_on(f.tokens.issue(
                black_box(&f.client),
                black_box(&f.secret),
                IssueRequest::default(),
            ))
            .unwrap()
        })
    });
    group.finish();
}

/// A service holding one issued token.
struct Issued {
    f: Fixture,
    bearer: String,
    any: VerifyOptions,
    audience: VerifyOptions,
}

impl Issued {
    fn new() -> Self {
        let f = fixture();
        let bearer =
            f.rt.block_on(
                f.tokens
                    .issue(&f.client, &f.secret, IssueRequest::default()),
            )
            .unwrap()
            .bearer;
        Self {
            f,
            bearer,
            any: VerifyOptions::default(),
            audience: VerifyOptions::default().audience(Audience::parse(AUDIENCE).unwrap()),
        }
    }
}

fn service_verify(c: &mut Criterion) {
    let mut state: Option<Issued> = None;
    let mut group = c.benchmark_group("service/verify");
    group.bench_function("verify", |b| {
        let s = state.get_or_insert_with(Issued::new);
        b.iter(|| {
            s.f.rt
                .block_on(s.f.tokens.verify(black_box(&s.bearer), &s.any))
                .unwrap()
        })
    });
    group.bench_function("verify_audience", |b| {
        let s = state.get_or_insert_with(Issued::new);
        b.iter(|| {
            s.f.rt
                .block_on(s.f.tokens.verify(black_box(&s.bearer), &s.audience))
                .unwrap()
        })
    });
    group.finish();
}

/// A service with one client, a wrong secret for it and an id no client has.
struct Credentials {
    f: Fixture,
    wrong: ClientSecret,
    unknown: ClientId,
}

impl Credentials {
    fn new() -> Self {
        let f = fixture();
        // Same length as a generated secret (43 characters), so the hash input is the same size.
        let wrong = ClientSecret::generate();
        let unknown = ClientId::parse("nobody").unwrap();
        let auth = |id: &ClientId, secret: &ClientSecret| {
            f.rt.block_on(f.tokens.authenticate(id, secret)).is_ok()
        };
        assert!(auth(&f.client, &f.secret));
        assert!(!auth(&f.client, &wrong));
        assert!(!auth(&unknown, &f.secret));
        Self { f, wrong, unknown }
    }
}

fn service_authenticate(c: &mut Criterion) {
    let mut state: Option<Credentials> = None;
    let mut group = c.benchmark_group("service/authenticate");
    group.bench_function("right_secret", |b| {
        let s = state.get_or_insert_with(Credentials::new);
        let f = &s.f;
        b.iter(|| {
            f.rt.block_on(
                f.tokens
                    .authenticate(black_box(&f.client), black_box(&f.secret)),
            )
        })
    });
    group.bench_function("wrong_secret", |b| {
        let s = state.get_or_insert_with(Credentials::new);
        let f = &s.f;
        b.iter(|| {
            f.rt.block_on(
                f.tokens
                    .authenticate(black_box(&f.client), black_box(&s.wrong)),
            )
        })
    });
    group.bench_function("unknown_client", |b| {
        let s = state.get_or_insert_with(Credentials::new);
        let f = &s.f;
        b.iter(|| {
            f.rt.block_on(
                f.tokens
                    .authenticate(black_box(&s.unknown), black_box(&f.secret)),
            )
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Domain parsers.
// ---------------------------------------------------------------------------------------------

fn domain_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("domain/parse");
    group.bench_function("client_id", |b| {
        b.iter(|| ClientId::parse(black_box("billing-v2.eu_1")).unwrap())
    });
    group.bench_function("scope", |b| {
        b.iter(|| Scope::parse(black_box("orders:read")).unwrap())
    });
    group.bench_function("scope_long", |b| {
        b.iter(|| Scope::parse(black_box("urn:example:svc/orders.v2:read-write")).unwrap())
    });
    group.finish();
}

const SEALING_SECRET: &str = "the benchmark's sealing secret of 32+ characters";

fn keys_sealing(c: &mut Criterion) {
    use tokener_core::token::{KeySealer, SigningKey};
    use tokener_core::{InMemoryKeyStore, KeyId, KeyManager};
    let mut group = c.benchmark_group("keys/sealing");
    let sealer = KeySealer::new([SEALING_SECRET]).unwrap();
    let key = SigningKey::generate(KeyId(1));
    let public = key.public().to_string();
    let sealed = sealer.seal(&key);
    group.bench_function("seal", |b| b.iter(|| sealer.seal(black_box(&key))));
    group.bench_function("open", |b| {
        b.iter(|| sealer.open(KeyId(1), &public, black_box(&sealed)).unwrap())
    });
    let rt = runtime();
    let clock = Arc::new(ManualClock::at(now()));
    let manager = KeyManager::new(Arc::new(InMemoryKeyStore::new()), sealer.clone(), clock);
    rt.block_on(async {
        manager.load_or_create().await.unwrap();
        manager.add(now().plus_secs(600)).await.unwrap();
        manager.retire(KeyId(2)).await.unwrap();
        manager.add(now().plus_secs(600)).await.unwrap();
    });
    group.bench_function("load_ring_of_3", |b| {
        b.iter(|| rt.block_on(manager.load()).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    floor_mint,
    floor_verify_group,
    breakdown_verify,
    core_mint,
    core_verify,
    service_issue,
    service_verify,
    service_authenticate,
    keys_sealing,
    domain_parse
);
criterion_main!(benches);
