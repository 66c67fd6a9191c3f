//! HTTPS on the main listener, as an operator runs it: certificates made here, a reload on
//! SIGHUP that keeps open connections, metadata with https URLs.

use crate::process::{until_status, Service};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use std::time::Duration;
use tokener_mongo::testing::{free_port, wait_for_port};

/// A CA (PEM) and a `localhost` certificate it signed, with its key (PEM).
fn issue() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// A client that trusts only `ca` and reaches `localhost` at `port`.
fn client(ca: &str, port: u16, max: Option<reqwest::tls::Version>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .timeout(Duration::from_secs(10));
    if let Some(max) = max {
        builder = builder.max_tls_version(max);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn https_with_a_certificate_reloaded_on_sighup() {
    let dir = std::env::temp_dir().join(format!("tokener-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (ca_one, leaf_one, key_one) = issue();
    std::fs::write(&cert, leaf_one).unwrap();
    std::fs::write(&key, key_one).unwrap();
    let port = free_port();
    let env = [
        ("TOKENER_TLS_CERT_FILE", cert.display().to_string()),
        ("TOKENER_TLS_KEY_FILE", key.display().to_string()),
    ];
    let mut service = Service::start_with(&[], &env, dir.join("tls.log"), port);
    wait_for_port(port, Duration::from_secs(30)).await;
    let base = format!("https://localhost:{port}");
    let first = client(&ca_one, port, None);
    until_status(&first, &format!("{base}/healthz"), 200).await;

    let metadata: serde_json::Value = first
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], format!("https://localhost:{port}"));
    assert!(metadata["token_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    // TLS 1.2 is accepted as well as 1.3; plain HTTP is not served.
    let tls12 = client(&ca_one, port, Some(reqwest::tls::Version::TLS_1_2));
    assert_eq!(
        tls12
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(
        plain.map_or(true, |r| r.status() != 200),
        "no plain HTTP answer"
    );

    // A new certificate from another CA, then SIGHUP.
    let (ca_two, leaf_two, key_two) = issue();
    let second = client(&ca_two, port, None);
    assert!(
        second.get(format!("{base}/healthz")).send().await.is_err(),
        "not yet trusted"
    );
    std::fs::write(&cert, leaf_two).unwrap();
    std::fs::write(&key, key_two).unwrap();
    let pid = service.pid().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    until_status(&second, &format!("{base}/healthz"), 200).await;
    // The connection opened before the reload is kept: a new handshake would fail for `first`.
    assert_eq!(
        first
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let fresh_first = client(&ca_one, port, None);
    assert!(
        fresh_first
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "new handshakes get the new certificate"
    );

    // A broken file on the next SIGHUP keeps the certificate in use.
    std::fs::write(&cert, "not a certificate").unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = client(&ca_two, port, None);
    assert_eq!(
        third
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(service.terminate().await.success());
    let logs = service.logs();
    assert!(
        logs.contains("TLS certificate reloaded") && logs.contains("TLS certificate not reloaded"),
        "{logs}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
