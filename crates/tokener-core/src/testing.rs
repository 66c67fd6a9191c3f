//! The test environment shared by the adapter crates' tests (feature `test-env`): where the
//! real services are, and loopback ports.
//!
//! The services come from environment variables (`scripts/test-services.sh` starts them and
//! sets these). A test whose service is not configured is skipped with a message, unless
//! `TOKENER_TEST_REQUIRE_SERVICES=1`, in which case it fails: CI must never pass by skipping.

// Test support: a broken test environment should stop the test loudly.
#![allow(clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The value of a service variable, or `None` (with the reason on stderr) when the test should
/// be skipped. Panics instead of skipping when `TOKENER_TEST_REQUIRE_SERVICES=1`.
pub fn service_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            if std::env::var("TOKENER_TEST_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!(
                    "{name} is unset but TOKENER_TEST_REQUIRE_SERVICES=1 \
                     (run `source scripts/test-services.sh` first)"
                );
            }
            eprintln!(
                "skipping: {name} is unset (run `source scripts/test-services.sh` to set it)"
            );
            None
        }
    }
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Waits until something accepts connections on the port.
pub async fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "nothing listened on port {port} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
