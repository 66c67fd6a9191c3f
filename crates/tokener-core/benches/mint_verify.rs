//! Minting and verification cost, layer by layer: the raw biscuit-auth and ring floors, then
//! `tokener_core::token`, then `TokenService` over the in-memory adapters, then the domain
//! parsers. Biscuit and JWT (ES256) tokens side by side.
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
//! * `floor/jwt_mint`, `floor/jwt_verify`: ring alone, the ES256 signature over the signing
//!   input (`header.claims`) of a token `mint_jwt` wrote, and its check with the ring key's
//!   ES256 public key: the signature's share of a JWT's cost, the rest being JSON, base64 and
//!   claim parsing. The signing key is a fresh P-256 key (a ring key's derived one is not
//!   public); the cost does not depend on which.
//! * `breakdown/verify`: the pieces of `Verifier::verify` rebuilt on raw biscuit-auth, to show
//!   where the time over the floor goes.
//! * `core/mint`, `core/verify`: `tokener_core::token`: `mint` (`mint`, `verify`,
//!   `verify_audience`) and `mint_jwt` (`jwt`, `jwt_audience`), both verified by `Verifier`.
//! * `service/issue`, `service/verify`, `service/authenticate`: `TokenService` over
//!   `InMemoryTokenStore` and `InMemoryClientRegistry`, driven by a current-thread Tokio runtime;
//!   `issue` and `verify` for a Biscuit client, `jwt` for a client whose `token_format` is JWT.
//!   Every `service/issue` iteration records one more token, so the store grows during that
//!   benchmark (a `HashMap` insert: amortised constant time). `service/verify` verifies one
//!   token over and over: after the first iteration it is judged from the verification cache
//!   (no signature check), as introspection of a token seen before is.
//! * `keys/sealing`: sealing and opening one private key (`KeySealer`), and loading a ring of
//!   three keys from an in-memory key store (`KeyManager::load`): what each instance pays on
//!   every 5 s reload of a ring kept in MongoDB, besides the MongoDB round trip.
//! * `domain/parse`: identifier newtypes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use biscuit_auth::builder::{
    check, date, fact, pred, rule, string, var, AuthorizerBuilder, Binary, CheckKind, Expression,
    Op,
};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PublicKey};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::domain::ManualClock;
use tokener_core::token::{mint, mint_jwt, MintError, MintInput, Minted, SigningKey};
use tokener_core::{
    Audience, ClientId, ClientSecret, ClientService, Grants, IssueRequest, KeyRing, Scope,
    Timestamp, TokenFormat, TokenService, TtlPolicy, Verifier, VerifyOptions,
};
use tokio::runtime::Runtime;

/// The instant every benchmark runs at.
const NOW: u64 = 1_800_000_000;
/// Token lifetime: the service default (24 hours).
const TTL: u64 = 24 * 3600;
/// The root key id `KeyRing::generate` uses; set on floor tokens too so all carry the same
/// fields.
const ROOT_KEY_ID: u32 = 1;

/// The `iss` of the JWTs (Biscuits name no issuer).
const ISSUER: &str = "https://tokener.internal";

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

/// A token of `format`, as `TokenService` mints it for a client of that format.
fn mint_as(format: TokenFormat, key: &SigningKey, input: MintInput) -> Result<Minted, MintError> {
    match format {
        TokenFormat::Biscuit => mint(key, input),
        TokenFormat::Jwt => mint_jwt(key, input, ISSUER),
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

// ---------------------------------------------------------------------------------------------
// Floor: ring alone, the ES256 signature of a JWT.
// ---------------------------------------------------------------------------------------------

/// A JWT written by `mint_jwt`, split into what ring signs and checks, and a key to sign with.
struct FloorJwt {
    /// `header.claims`: the JWS signing input.
    signing_input: Vec<u8>,
    /// The token's signature (r and s, 32 bytes each).
    signature: Vec<u8>,
    /// The ring key's ES256 public key, SEC 1 uncompressed (what its JWK holds).
    point: Vec<u8>,
    /// A fresh P-256 key pair: the same work as signing with the ring key's derived one.
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl FloorJwt {
    /// Also checks that the token's signature verifies under ring alone and that the fresh key
    /// signs the same input verifiably.
    fn new() -> Self {
        let ring = KeyRing::generate();
        let bearer = mint_jwt(ring.active(), mint_input(), ISSUER)
            .unwrap()
            .bearer;
        let (signing_input, signature) = bearer.rsplit_once('.').unwrap();
        let jwk = ring.active().jwt().public().jwk(ROOT_KEY_ID);
        let point = [
            &[0x04][..],
            &URL_SAFE_NO_PAD.decode(&jwk.x).unwrap(),
            &URL_SAFE_NO_PAD.decode(&jwk.y).unwrap(),
        ]
        .concat();
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let floor = Self {
            signing_input: signing_input.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
            point,
            pair,
            rng,
        };
        floor_jwt_verify(&floor.point, &floor.signing_input, &floor.signature);
        let ours = floor.sign();
        floor_jwt_verify(
            ring::signature::KeyPair::public_key(&floor.pair).as_ref(),
            &floor.signing_input,
            ours.as_ref(),
        );
        floor
    }

    fn sign(&self) -> ring::signature::Signature {
        self.pair
            .sign(&self.rng, black_box(&self.signing_input))
            .unwrap()
    }
}

/// Checks an ES256 signature over `message` with the public key `point`, as `jsonwebtoken`
/// does with ring (the point is parsed and checked on every call).
fn floor_jwt_verify(point: &[u8], message: &[u8], signature: &[u8]) {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(message, signature)
        .unwrap()
}

fn floor_jwt_mint(c: &mut Criterion) {
    let mut state: Option<FloorJwt> = None;
    let mut group = c.benchmark_group("floor/jwt_mint");
    group.bench_function("ring_es256_sign", |b| {
        let s = state.get_or_insert_with(FloorJwt::new);
        b.iter(|| s.sign())
    });
    group.finish();
}

fn floor_jwt_verify_group(c: &mut Criterion) {
    let mut state: Option<FloorJwt> = None;
    let mut group = c.benchmark_group("floor/jwt_verify");
    group.bench_function("ring_es256_verify", |b| {
        let s = state.get_or_insert_with(FloorJwt::new);
        b.iter(|| {
            floor_jwt_verify(
                &s.point,
                black_box(&s.signing_input),
                black_box(&s.signature),
            )
        })
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
    // The input is cloned outside the timed section: `mint` and `mint_jwt` take it by value.
    for (name, format) in [("mint", TokenFormat::Biscuit), ("jwt", TokenFormat::Jwt)] {
        group.bench_function(name, |b| {
            let (ring, input) = state.get_or_insert_with(|| (KeyRing::generate(), mint_input()));
            b.iter_batched(
                || input.clone(),
                |input| mint_as(format, ring.active(), input).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A token minted by `mint` or `mint_jwt`, and a `Verifier` for it.
struct CoreToken {
    bearer: String,
    verifier: Verifier,
    any: VerifyOptions,
    audience: VerifyOptions,
}

impl CoreToken {
    fn new(format: TokenFormat) -> Self {
        let ring = KeyRing::generate();
        let token = Self {
            bearer: mint_as(format, ring.active(), mint_input()).unwrap().bearer,
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

/// Each format's benchmark names in the `verify` groups, with and without an audience.
const VERIFY_VARIANTS: [(TokenFormat, &str, &str); 2] = [
    (TokenFormat::Biscuit, "verify", "verify_audience"),
    (TokenFormat::Jwt, "jwt", "jwt_audience"),
];

fn core_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("core/verify");
    for (format, any, audience) in VERIFY_VARIANTS {
        let mut state: Option<CoreToken> = None;
        group.bench_function(any, |b| {
            let s = state.get_or_insert_with(|| CoreToken::new(format));
            b.iter(|| {
                s.verifier
                    .verify(black_box(&s.bearer), now(), &s.any)
                    .unwrap()
            })
        });
        group.bench_function(audience, |b| {
            let s = state.get_or_insert_with(|| CoreToken::new(format));
            b.iter(|| {
                s.verifier
                    .verify(black_box(&s.bearer), now(), &s.audience)
                    .unwrap()
            })
        });
    }
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

/// A service at `NOW` with one client allowed one audience and two scopes, receiving tokens
/// in `format`.
fn fixture(format: TokenFormat) -> Fixture {
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
        token_format: format,
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

/// A request for the client's default token, as it reaches the service over HTTP: with the
/// issuer (a JWT's `iss`).
fn issue_request() -> IssueRequest {
    IssueRequest {
        issuer: ISSUER.to_string(),
        ..Default::default()
    }
}

fn service_issue(c: &mut Criterion) {
    let mut group = c.benchmark_group("service/issue");
    // Each iteration records a token: the in-memory store grows for the whole benchmark.
    for (name, format) in [("issue", TokenFormat::Biscuit), ("jwt", TokenFormat::Jwt)] {
        let mut state: Option<Fixture> = None;
        group.bench_function(name, |b| {
            let f = state.get_or_insert_with(|| fixture(format));
            b.iter(|| {
                f.rt.block_on(f.tokens.issue(
                    black_box(&f.client),
                    black_box(&f.secret),
                    issue_request(),
                ))
                .unwrap()
            })
        });
    }
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
    fn new(format: TokenFormat) -> Self {
        let f = fixture(format);
        let bearer =
            f.rt.block_on(f.tokens.issue(&f.client, &f.secret, issue_request()))
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
    let mut group = c.benchmark_group("service/verify");
    for (format, any, audience) in VERIFY_VARIANTS {
        let mut state: Option<Issued> = None;
        group.bench_function(any, |b| {
            let s = state.get_or_insert_with(|| Issued::new(format));
            b.iter(|| {
                s.f.rt
                    .block_on(s.f.tokens.verify(black_box(&s.bearer), &s.any))
                    .unwrap()
            })
        });
        group.bench_function(audience, |b| {
            let s = state.get_or_insert_with(|| Issued::new(format));
            b.iter(|| {
                s.f.rt
                    .block_on(s.f.tokens.verify(black_box(&s.bearer), &s.audience))
                    .unwrap()
            })
        });
    }
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
        let f = fixture(TokenFormat::Biscuit);
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
    use tokener_core::token::KeySealer;
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
    floor_jwt_mint,
    floor_jwt_verify_group,
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
