//! The guard's HTTP server: `/auth` (any method), `/healthz`, `/readyz`.

use super::auth::auth;
use super::GuardConfig;
use crate::{DiscoverError, RemoteVerifier};
use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("could not reach Tokener: {0}")]
    Discover(#[from] DiscoverError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("guard server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// A bound guard: its address is known before it serves (tests bind port 0).
pub struct Guard {
    server: Server,
    addr: SocketAddr,
    verifier: RemoteVerifier,
}

impl Guard {
    /// Discovers Tokener (keys and revocations loaded) and binds the listener.
    pub async fn bind(config: GuardConfig) -> Result<Guard, GuardError> {
        let verifier = RemoteVerifier::builder(&config.tokener_url)
            .max_staleness(config.max_staleness)
            .fail_open_when_stale(config.fail_open_when_stale)
            .verification_cache(config.cache_entries)
            .discover()
            .await?;
        let data = web::Data::new(verifier.clone());
        let bind_error = |source| GuardError::Bind {
            addr: config.listen,
            source,
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/auth", web::route().to(auth))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
        });
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server.bind(config.listen).map_err(bind_error)?;
        let addr = server.addrs().first().copied().unwrap_or(config.listen);
        Ok(Guard {
            server: server.run(),
            addr,
            verifier,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn verifier(&self) -> &RemoteVerifier {
        &self.verifier
    }

    /// Stops the server gracefully (`handle.stop(true).await`).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (a signal or [`Guard::handle`]).
    pub async fn run(self) -> Result<(), GuardError> {
        tracing::info!(addr = %self.addr, "tokener guard listening");
        self.server.await?;
        self.verifier.shutdown();
        Ok(())
    }
}

/// `tokener guard`: discover, bind, serve until stopped.
pub async fn serve(config: GuardConfig) -> Result<(), GuardError> {
    Guard::bind(config).await?.run().await
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn readyz(verifier: web::Data<RemoteVerifier>) -> HttpResponse {
    if verifier.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("retry-after", verifier.retry_after().as_secs().max(1)))
            .json(serde_json::json!({"status": "not ready", "revocations": "stale"}))
    }
}
