//! Builds the application in one place: storage, keys, clients, the HTTP server.

use crate::configuration::{BootstrapClient, Settings};
use crate::json_errors;
use crate::request_log;
use crate::routes;
use crate::state::AppState;
use crate::storage::Storage;
use crate::write_behind::Background;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::{ClientId, ClientSecret, ClientService, Grants, SystemClock, TokenService};

/// The application as every server worker runs it: the shared state, JSON error bodies, the
/// request log and metrics, every route. (The benchmarks run this same app in process.)
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(json_errors::middleware())
        .wrap(actix_web::middleware::from_fn(request_log::middleware))
        .configure(routes::configure)
}

/// The metrics listener's app: metrics and health only.
fn metrics_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(json_errors::middleware())
        .route("/metrics", web::get().to(routes::health::metrics_listener))
        .route("/healthz", web::get().to(routes::health::healthz))
        .route("/readyz", web::get().to(routes::health::readyz))
}

/// Time a client gets to send its request head before the connection is closed.
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    /// The metrics listener (`TOKENER_METRICS_LISTEN`), stopped with the main server.
    metrics_server: Option<Server>,
    /// The write-behind worker, drained after the server stopped.
    background: Option<Background>,
    shutdown_timeout: Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let storage = Storage::connect(&settings).await?;
        Self::build_with(settings, storage).await
    }

    /// Builds the application on the given adapters (tests hand in mocks or faulty stores).
    pub async fn build_with(settings: Settings, storage: Storage) -> anyhow::Result<Self> {
        let clock: Arc<dyn tokener_core::Clock> = Arc::new(SystemClock);
        let (ring, key_source) =
            crate::signing_keys::load(&settings, storage.keys.clone(), clock.clone()).await?;
        let keys = Arc::new(ring);
        let client_service = ClientService::new(storage.clients.clone(), clock.clone());
        match &settings.bootstrap {
            Some(bootstrap) => ensure_bootstrap(&client_service, bootstrap).await?,
            None if settings.mongodb.is_none() => {
                create_demo_client(&client_service, settings.listen).await?
            }
            None => {}
        }
        let metrics = Arc::new(crate::metrics::Metrics::new().context("cannot register metrics")?);
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = settings
            .metrics_listen
            .map(|address| {
                TcpListener::bind(address)
                    .with_context(|| format!("TOKENER_METRICS_LISTEN: cannot listen on {address}"))
            })
            .transpose()?;
        let metrics_port = metrics_listener
            .as_ref()
            .map(|l| l.local_addr().map(|a| a.port()))
            .transpose()?;
        let fallbacks = storage
            .write_behind
            .as_ref()
            .map(|parts| parts.fallbacks.clone());
        let background = storage.write_behind.map(|parts| {
            let consumer = settings
                .instance_name
                .clone()
                .unwrap_or_else(|| format!("{}-{port}", hostname()));
            tracing::info!(consumer = %consumer, "write-behind worker started");
            Background::start(parts, consumer, metrics.clone())
        });
        let stopping = stop_streams_on_signal();
        let state = web::Data::new(AppState {
            metrics,
            tokens: TokenService::new(
                storage.tokens,
                storage.clients,
                keys,
                clock.clone(),
                settings.ttl,
            ),
            clients: client_service,
            limiter: tokener_core::RateLimiter::new(
                storage.hits.clone(),
                settings.rate_limits.clone(),
                clock.clone(),
            ),
            backoff: tokener_core::AuthBackoff::new(
                storage.hits,
                settings.auth_backoff,
                clock.clone(),
            ),
            assertions: tokener_core::AssertionVerifier::new(storage.replay, clock.clone()),
            trusted_proxies: settings.trusted_proxies.clone(),
            dependencies: storage.dependencies,
            public_url: settings.public_url.clone(),
            fallbacks,
            group_commit: storage.group_commit,
            storage: storage.mode,
            stopping,
            keys: key_source,
            key_announce: settings.key_announce,
            metrics_port,
            audit: storage.audit,
        });
        // Verification and the feed read the revocation state: load it before serving.
        state
            .tokens
            .sync_revocations()
            .await
            .context("cannot load the revocations from the token store")?;
        spawn_revocation_sync(Arc::downgrade(&state.clone().into_inner()));
        crate::signing_keys::spawn_reload(Arc::downgrade(&state.clone().into_inner()));

        let metrics_server = match metrics_listener {
            Some(listener) => {
                let state = state.clone();
                let server = HttpServer::new(move || metrics_app(state.clone()))
                    .workers(1)
                    .client_request_timeout(REQUEST_HEAD_TIMEOUT)
                    .shutdown_timeout(1)
                    .listen(listener)?
                    .run();
                tracing::info!(
                    port = metrics_port,
                    "metrics listening on their own address"
                );
                Some(server)
            }
            None => None,
        };
        let server = HttpServer::new(move || app(state.clone()))
            .client_request_timeout(REQUEST_HEAD_TIMEOUT)
            .shutdown_timeout(settings.shutdown_timeout.as_secs());
        let server = match &settings.tls {
            Some(files) => server
                .listen_rustls_0_23(listener, crate::tls::server_config(files)?)?
                .run(),
            None => server.listen(listener)?.run(),
        };
        tracing::info!(address = %settings.listen, port, storage = storage.mode, "tokener is listening");
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            background,
            shutdown_timeout: settings.shutdown_timeout,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, if one is configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// Stops the server from outside (tests, signal handling).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM/SIGINT, or the handle), then drains the write-behind
    /// queue into MongoDB within the shutdown bound.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let served = self.server.await;
        if let Some((running, handle)) = metrics {
            handle.stop(true).await;
            let _ = running.await;
        }
        if let Some(background) = self.background {
            background.drain(self.shutdown_timeout).await;
        }
        served
    }
}

/// The machine's name, for the default write-behind consumer name.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tokener".into())
}

/// A flag that turns true on SIGTERM or SIGINT (actix-web stops accepting on the same signals).
fn stop_streams_on_signal() -> tokio::sync::watch::Receiver<bool> {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = terminate => {}
            _ = tokio::signal::ctrl_c() => {}
            // Nobody listens any more: the app is gone.
            _ = sender.closed() => return,
        }
        let _ = sender.send(true);
    });
    receiver
}

/// How often the revocation state is brought up to date with the store: a revocation made on
/// another instance applies here within this (plus the store's answer time).
const REVOCATION_SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Polls the store into the revocation state until the app is gone. A failure is logged once
/// per outage; meanwhile verification refreshes the state itself and answers 503 while it
/// cannot.
fn spawn_revocation_sync(state: std::sync::Weak<AppState>) {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(REVOCATION_SYNC_EVERY).await;
            let Some(state) = state.upgrade() else { return };
            match state.tokens.sync_revocations().await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("revocation state in sync with the token store again");
                }
                Ok(_) => {}
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "cannot bring the revocation state up to date");
                }
                Err(_) => {}
            }
        }
    });
}

async fn ensure_bootstrap<C: tokener_core::ClientRegistry>(
    clients: &ClientService<C>,
    bootstrap: &BootstrapClient,
) -> anyhow::Result<()> {
    let grants = Grants {
        scopes: bootstrap.scopes.clone(),
        audiences: bootstrap.audiences.clone(),
        max_ttl: None,
        token_format: bootstrap.token_format,
    };
    clients
        .ensure(bootstrap.id.clone(), &bootstrap.secret, grants)
        .await
        .context("cannot create the bootstrap client")?;
    tracing::info!(client_id = %bootstrap.id, "bootstrap client ready");
    Ok(())
}

/// In the embedded mode with no configured client, a demo client lets a newcomer get a token
/// at once. Its secret is printed on standard output (not in the log), once.
async fn create_demo_client<C: tokener_core::ClientRegistry>(
    clients: &ClientService<C>,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let parse = |items: &[&str]| -> anyhow::Result<BTreeSet<_>> {
        items.iter().map(|s| Ok(s.parse()?)).collect()
    };
    let grants = Grants {
        scopes: parse(&["demo:read", "demo:write"])?,
        audiences: ["demo".parse()?].into(),
        ..Default::default()
    };
    let (client, secret): (_, ClientSecret) =
        clients.create(ClientId::parse("demo")?, grants).await?;
    println!(
        "\nDemo client (embedded mode only; set TOKENER_BOOTSTRAP_CLIENT_ID/SECRET to choose your own):\n  \
         client id:     {}\n  client secret: {}\n  try:           curl -s -u '{}:{}' -X POST http://{}/token\n",
        client.id,
        secret.expose(),
        client.id,
        secret.expose(),
        listen
    );
    Ok(())
}
