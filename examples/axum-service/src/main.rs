//! A tiny axum service accepting Tokener tokens: `GET /` is public, `GET /orders` needs the
//! `orders:read` scope. `TOKENER_URL` (default `http://127.0.0.1:8080`) and `LISTEN`
//! (default `127.0.0.1:8082`) configure it.

use axum::{routing::get, Router};
use tokener_verify::{axum::TokenerAuth, RemoteVerifier, VerifiedClaims};

async fn orders(claims: VerifiedClaims) -> String {
    format!("orders for {}\n", claims.client_id)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tokener = std::env::var("TOKENER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8082".into());
    let verifier = RemoteVerifier::discover(&tokener).await?;
    let protected = Router::new()
        .route("/orders", get(orders))
        .route_layer(TokenerAuth::new(verifier).scope("orders:read"));
    let app = Router::new()
        .route("/", get(|| async { "public\n" }))
        .merge(protected);
    axum::serve(tokio::net::TcpListener::bind(listen).await?, app).await?;
    Ok(())
}
