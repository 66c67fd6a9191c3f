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

/// A server process of the test's own, in a temporary directory, on a port of its own, which
/// the test may kill and restart. Killed, and its directory removed, when dropped.
pub struct PrivateProcess {
    name: &'static str,
    /// Holds the server's data and its log (`<name>.log`).
    pub dir: std::path::PathBuf,
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateProcess {
    /// A fresh directory and a free port for a server called `name`; nothing runs yet.
    pub fn new(name: &'static str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tokener-{name}-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        Self {
            name,
            dir,
            port: free_port(),
            child: None,
        }
    }

    /// Runs `command` (which must listen on [`Self::port`]), logging to `<dir>/<name>.log`, and
    /// waits until the port accepts connections.
    pub async fn spawn(&mut self, mut command: tokio::process::Command) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", self.name)))
            .expect("open the log");
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(20)).await;
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// SIGKILL: a crash, not a clean shutdown.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill the server");
        }
    }
}

impl Drop for PrivateProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
