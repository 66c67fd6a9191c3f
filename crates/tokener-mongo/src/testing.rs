//! Test support (feature `test-support`): where the test services are, fresh databases, and
//! private FerretDB instances for fault tests. Used by this crate's integration tests and by
//! the service's end-to-end tests.
//!
//! The services come from environment variables (`scripts/test-services.sh` starts them and
//! sets these). A test whose service is not configured is skipped with a message, unless
//! `TOKENER_TEST_REQUIRE_SERVICES=1`, in which case it fails: CI must never pass by skipping.

// Test support: a broken test environment should stop the test loudly.
#![allow(clippy::expect_used, clippy::panic)]

pub use tokener_core::testing::{free_port, service_var, wait_for_port, PrivateProcess};

use crate::{MongoConfig, MongoStore};
use mongodb::bson::doc;
use std::path::Path;
use std::time::Duration;

pub const MONGODB_URI: &str = "TOKENER_TEST_MONGODB_URI";
pub const FERRETDB_BIN: &str = "TOKENER_TEST_FERRETDB_BIN";

/// A database name no other test uses, so tests run in parallel without interfering.
pub fn unique_database() -> String {
    format!("tokener_test_{:016x}", rand::random::<u64>())
}

/// Short timeouts, so failures show quickly; a fast heartbeat, so recovery does too.
pub fn test_config(uri: &str, database: &str) -> MongoConfig {
    MongoConfig {
        server_selection_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        operation_timeout: Duration::from_secs(5),
        heartbeat_frequency: Duration::from_millis(500),
        min_pool_size: 0,
        ..MongoConfig::new(uri, database)
    }
}

/// A store on a fresh database of the shared test server, plus a raw handle on that database
/// for inspecting documents. Drop the database with [`TestDb::cleanup`].
pub struct TestDb {
    pub store: MongoStore,
    pub raw: mongodb::Database,
    pub uri: String,
    pub name: String,
}

impl TestDb {
    /// `None` when the test should be skipped.
    pub async fn connect() -> Option<Self> {
        Self::connect_with(|config| config).await
    }

    pub async fn connect_with(adjust: impl FnOnce(MongoConfig) -> MongoConfig) -> Option<Self> {
        let uri = service_var(MONGODB_URI)?;
        let name = unique_database();
        let store = MongoStore::connect(adjust(test_config(&uri, &name)))
            .await
            .expect("connect to the test MongoDB");
        let raw = raw_client(&uri).await.database(&name);
        Some(Self {
            store,
            raw,
            uri,
            name,
        })
    }

    pub async fn cleanup(self) {
        if let Err(error) = self.raw.drop().await {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// A plain driver client, for looking behind the adapter.
pub async fn raw_client(uri: &str) -> mongodb::Client {
    let mut options = mongodb::options::ClientOptions::parse(uri)
        .await
        .expect("valid test URI");
    options.server_selection_timeout = Some(Duration::from_secs(5));
    mongodb::Client::with_options(options).expect("driver client")
}

/// Whether the server is FerretDB (its buildInfo carries `ferretdbVersion`).
pub async fn is_ferretdb(db: &mongodb::Database) -> bool {
    let info = db
        .run_command(doc! { "buildInfo": 1 })
        .await
        .expect("buildInfo");
    info.contains_key("ferretdbVersion")
}

/// A FerretDB of the test's own (SQLite backend, in a temporary directory), which the test may
/// kill and restart; see [`PrivateProcess`] for `dir`, `port`, `kill` and `pid`.
pub struct PrivateFerretDb {
    binary: String,
    process: PrivateProcess,
}

impl PrivateFerretDb {
    /// `None` when the test should be skipped.
    pub async fn start() -> Option<Self> {
        let binary = service_var(FERRETDB_BIN)?;
        let process = PrivateProcess::new("ferretdb");
        std::fs::create_dir_all(process.dir.join("data")).expect("create the data directory");
        std::fs::create_dir_all(process.dir.join("state")).expect("create the state directory");
        let mut server = Self { binary, process };
        server.restart().await;
        Some(server)
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) on the same port with the same data.
    pub async fn restart(&mut self) {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("--handler=sqlite")
            .arg(format!(
                "--sqlite-url=file:{}/",
                path_str(&self.dir.join("data"))
            ))
            .arg(format!("--state-dir={}", path_str(&self.dir.join("state"))))
            .arg(format!("--listen-addr=127.0.0.1:{}", self.port))
            .arg("--debug-addr=-")
            .arg("--telemetry=disable")
            .arg("--log-level=WARN");
        self.process.spawn(command).await;
    }
}

impl std::ops::Deref for PrivateFerretDb {
    type Target = PrivateProcess;
    fn deref(&self) -> &PrivateProcess {
        &self.process
    }
}

impl std::ops::DerefMut for PrivateFerretDb {
    fn deref_mut(&mut self) -> &mut PrivateProcess {
        &mut self.process
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
