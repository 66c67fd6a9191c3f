//! Throughput of `tokener guard`'s `GET /auth` over loopback, measured with `wrk` beside it
//! (the target is 10,000 answers per second on a 2-core machine with the load generator on it).
//!
//! ```text
//! apt-get install wrk   # once
//! cargo bench -p tokener-verify --features guard --bench guard
//! ```
//!
//! A fake Tokener serves keys and revocations on a thread of its own; the guard runs with its
//! defaults (one worker per core, verification cache on); every request carries the same
//! valid token and requires a scope and an audience, so the steady state is cache hits.
//! `GUARD_BENCH_SECONDS` (default 10) and `GUARD_BENCH_CONNECTIONS` (default 32) tune the run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use support::{signing_key, token, FakeTokener};
use tokener_verify::guard::{Guard, GuardConfig};

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours skips the run.
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let seconds = std::env::var("GUARD_BENCH_SECONDS").unwrap_or_else(|_| "10".into());
    let connections = std::env::var("GUARD_BENCH_CONNECTIONS").unwrap_or_else(|_| "32".into());
    let key = signing_key(1);
    let (bearer, _) = token(&key, &["orders:read"], &["orders"]);
    let (_tokener, fake) = FakeTokener::start_apart(&[&key]);

    actix_web::rt::System::new().block_on(async move {
        let config = GuardConfig::new(([127, 0, 0, 1], 0).into(), fake.url.clone());
        let guard = Guard::bind(config).await.expect("guard");
        let url = format!(
            "http://{}/auth?scope=orders:read&audience=orders",
            guard.local_addr()
        );
        let handle = guard.handle();
        let verifier = guard.verifier().clone();
        actix_web::rt::spawn(guard.run());
        let header = format!("Authorization: Bearer {bearer}");
        let run = tokio::task::spawn_blocking(move || {
            Command::new("wrk")
                .args(["-t1", "-c", &connections, "-d", &format!("{seconds}s")])
                .args(["--latency", "-H", &header, &url])
                .output()
        })
        .await;
        match run {
            Ok(Ok(output)) => {
                println!("{}", String::from_utf8_lossy(&output.stdout));
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
            }
            _ => eprintln!("wrk not found: apt-get install wrk"),
        }
        println!("{:?}", verifier.stats());
        handle.stop(true).await;
    });
}
