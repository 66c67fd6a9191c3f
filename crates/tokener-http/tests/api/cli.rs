//! The `tokener` command line, run as a process against an app on a random port.

use crate::helpers::spawn_admin_app;
use serde_json::json;
use std::process::{Command, Output};

fn tokener(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokener"));
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("tokener runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn keys_generate_writes_a_private_file_once() {
    let dir = std::env::temp_dir().join(format!("tokener-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.json");
    let _ = std::fs::remove_file(&path);
    let out = tokener(&["keys", "generate", "--out", path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{out:?}");
    let ring = tokener_core::KeyRing::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(ring.active().id().0, 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = tokener(&["keys", "generate", "--out", path.to_str().unwrap()], &[]);
    assert!(
        !again.status.success(),
        "an existing key file is never overwritten"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn token_verify_offline_with_the_keys_url_and_inspect() {
    let (app, _) = spawn_admin_app().await;
    let token = app.bearer(json!({"scope": ["orders:read"]})).await;
    let address = app.address.clone();
    let t = token.clone();
    let out = tokio::task::spawn_blocking(move || {
        tokener(
            &[
                "token",
                "verify",
                &t,
                "--keys-url",
                &address,
                "--audience",
                "orders",
                "--scope",
                "orders:read",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let claims: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims["client_id"], "billing");

    let (address, t) = (app.address.clone(), token.clone());
    let wrong = tokio::task::spawn_blocking(move || {
        tokener(
            &[
                "token",
                "verify",
                &t,
                "--keys-url",
                &address,
                "--audience",
                "payments",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("audience"));

    // Revoked on the server: the offline verifier sees it through /revocations.
    app.oauth("/oauth2/revoke", &[("token", &token)]).await;
    app.revocations_listed(1).await;
    let (address, t) = (app.address.clone(), token.clone());
    let revoked = tokio::task::spawn_blocking(move || {
        tokener(&["token", "verify", &t, "--keys-url", &address], &[])
    })
    .await
    .unwrap();
    assert!(!revoked.status.success());
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("revoked"));

    let inspect = tokener(&["token", "inspect", &token], &[]);
    assert!(inspect.status.success());
    let text = stdout(&inspect);
    assert!(
        text.contains("client(\"billing\")") && text.contains("check if time($t)"),
        "{text}"
    );

    let keys: serde_json::Value = app.get_json("/keys").await;
    let key = keys["keys"][0]["public_key"].as_str().unwrap().to_string();
    let fresh = app.bearer(json!({})).await;
    let out = tokener(&["token", "verify", &fresh, "--public-key", &key], &[]);
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test]
async fn client_commands_go_through_the_admin_api() {
    let (app, admin) = spawn_admin_app().await;
    let env = [
        ("TOKENER_URL", app.address.clone()),
        ("TOKENER_ADMIN_TOKEN", admin.clone()),
    ];
    let run = |args: Vec<&'static str>| {
        let env = env.clone();
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            tokener(&args, &env)
        })
    };
    let created = run(vec![
        "client",
        "create",
        "shipping",
        "--scope",
        "shipping:read",
        "--audience",
        "orders",
    ])
    .await
    .unwrap();
    assert!(created.status.success(), "{created:?}");
    let body: serde_json::Value = serde_json::from_str(&stdout(&created)).unwrap();
    let secret = body["client_secret"].as_str().unwrap().to_string();
    let ok = app
        .http
        .post(app.url("/token"))
        .basic_auth("shipping", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    let shipping_token = body["access_token"].as_str().unwrap().to_string();
    let verify_shipping = || {
        let (address, t) = (app.address.clone(), shipping_token.clone());
        tokio::task::spawn_blocking(move || {
            tokener(&["token", "verify", &t, "--keys-url", &address], &[])
        })
    };
    let accepted = verify_shipping().await.unwrap();
    assert!(accepted.status.success(), "{accepted:?}");

    let listed = run(vec!["client", "list"]).await.unwrap();
    assert!(stdout(&listed).contains("\"shipping\""));
    let disabled = run(vec!["client", "disable", "shipping"]).await.unwrap();
    assert!(disabled.status.success());
    let refused = app
        .http
        .post(app.url("/token"))
        .basic_auth("shipping", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // Disabling revoked its tokens: the offline verifier reads the client entry of the feed
    // (once the feed hands it out).
    app.revocations_listed(1).await;
    let rejected = verify_shipping().await.unwrap();
    assert!(!rejected.status.success());
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("revoked"));
    let missing = run(vec!["client", "disable", "nobody"]).await.unwrap();
    assert!(
        !missing.status.success(),
        "a failed admin call exits non-zero"
    );
}

#[tokio::test]
async fn keys_list_add_and_retire_through_the_admin_api() {
    let (app, admin) = spawn_admin_app().await;
    let run = |args: Vec<String>| {
        let env = [
            ("TOKENER_URL".to_string(), app.address.clone()),
            ("TOKENER_ADMIN_TOKEN".to_string(), admin.clone()),
        ];
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            tokener(&args, &env)
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let at = (tokener_core::Clock::now(&tokener_core::SystemClock).unix() + 3600).to_string();
    let added = run(args(&["keys", "add", "--activates-at", &at]))
        .await
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let key: serde_json::Value = serde_json::from_str(&stdout(&added)).unwrap();
    assert_eq!(
        (key["id"].as_u64(), key["status"].as_str()),
        (Some(2), Some("next"))
    );
    let retired = run(args(&["keys", "retire", "2"])).await.unwrap();
    assert!(retired.status.success(), "{retired:?}");
    let refused = run(args(&["keys", "retire", "1"])).await.unwrap();
    assert!(!refused.status.success(), "the signing key is not retired");
    assert!(stdout(&refused).contains("key_signing"));
    let listed = run(args(&["keys", "list"])).await.unwrap();
    let list: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let statuses: Vec<&str> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "withdrawn"]);
    app.stop().await;
}
