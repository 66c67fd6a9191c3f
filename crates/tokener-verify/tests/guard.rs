//! The forward-auth guard over a real socket: `/auth` answers and headers, health, staleness.
#![cfg(feature = "guard")]

mod support;

use std::time::Duration;
use support::{learns_revoked, signing_key, token, FakeTokener};
use tokener_verify::guard::{Guard, GuardConfig};

async fn start_guard(tokener_url: &str, max_staleness: Duration) -> (String, Guard) {
    let mut config = GuardConfig::new(([127, 0, 0, 1], 0).into(), tokener_url);
    config.max_staleness = max_staleness;
    config.workers = Some(1);
    let guard = Guard::bind(config).await.expect("guard binds");
    (format!("http://{}", guard.local_addr()), guard)
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[actix_web::test]
async fn auth_answers_with_identity_headers_or_rfc_6750_refusals() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let (base, guard) = start_guard(&fake.url, Duration::from_secs(300)).await;
    let handle = guard.handle();
    let verifier = guard.verifier().clone();
    actix_web::rt::spawn(guard.run());
    let http = reqwest::Client::new();

    let get = |path: &str| http.get(format!("{base}{path}"));
    assert_eq!(get("/healthz").send().await.expect("healthz").status(), 200);
    assert_eq!(get("/readyz").send().await.expect("readyz").status(), 200);

    let missing = get("/auth").send().await.expect("auth");
    assert_eq!(missing.status(), 401);
    assert_eq!(
        header(&missing, "www-authenticate").as_deref(),
        Some("Bearer realm=\"tokener\"")
    );

    let (bearer, claims) = token(&key, &["orders:read", "orders:write"], &["orders"]);
    for _ in 0..2 {
        // The second answer comes from the verification cache.
        let ok = get("/auth?scope=orders:read&audience=orders")
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("auth");
        assert_eq!(ok.status(), 200);
        assert_eq!(header(&ok, "x-tokener-client").as_deref(), Some("billing"));
        assert_eq!(
            header(&ok, "x-tokener-scopes").as_deref(),
            Some("orders:read orders:write")
        );
        assert_eq!(
            header(&ok, "x-tokener-token-id").as_deref(),
            Some(claims.token_id.as_str())
        );
    }

    // Any method; requirements from headers merge with the query's.
    let forbidden = http
        .post(format!("{base}/auth?scope=orders:read"))
        .bearer_auth(&bearer)
        .header("X-Tokener-Required-Scope", "orders:admin orders:write")
        .send()
        .await
        .expect("auth");
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        header(&forbidden, "www-authenticate").as_deref(),
        Some(
            "Bearer error=\"insufficient_scope\", scope=\"orders:read orders:admin orders:write\""
        )
    );
    let wrong_audience = get("/auth")
        .bearer_auth(&bearer)
        .header("X-Tokener-Required-Audience", "billing")
        .send()
        .await
        .expect("auth");
    assert_eq!(wrong_audience.status(), 403);

    let invalid = get("/auth")
        .bearer_auth("garbage")
        .send()
        .await
        .expect("auth");
    assert_eq!(invalid.status(), 401);
    assert_eq!(
        header(&invalid, "www-authenticate").as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );

    // A cached token is still refused once revoked.
    fake.state.revoke(&claims);
    assert!(learns_revoked(&verifier, &claims, Duration::from_secs(2)).await);
    let revoked = get("/auth")
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("auth");
    assert_eq!(revoked.status(), 401);
    assert!(revoked.text().await.expect("body").contains("revoked"));

    handle.stop(true).await;
}

#[actix_web::test]
async fn a_stale_guard_answers_503_and_is_not_ready() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let (base, guard) = start_guard(&fake.url, Duration::from_millis(300)).await;
    let handle = guard.handle();
    actix_web::rt::spawn(guard.run());
    let http = reqwest::Client::new();
    let (bearer, _) = token(&key, &[], &[]);
    let auth = || http.get(format!("{base}/auth")).bearer_auth(&bearer).send();
    assert_eq!(auth().await.expect("auth").status(), 200);

    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let stale = auth().await.expect("auth");
    assert_eq!(stale.status(), 503);
    assert!(header(&stale, "retry-after").is_some());
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    handle.stop(true).await;
}
