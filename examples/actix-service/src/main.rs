//! A tiny actix-web service accepting Tokener tokens: `GET /` is public, `GET /orders` needs
//! the `orders:read` scope. `TOKENER_URL` (default `http://127.0.0.1:8080`) and `LISTEN`
//! (default `127.0.0.1:8081`) configure it.

use actix_web::{web, App, HttpServer};
use tokener_verify::{actix::TokenerAuth, RemoteVerifier, VerifiedClaims};

async fn orders(claims: VerifiedClaims) -> String {
    format!("orders for {}\n", claims.client_id)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tokener = std::env::var("TOKENER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let verifier = RemoteVerifier::discover(&tokener).await?;
    HttpServer::new(move || {
        App::new()
            .route("/", web::get().to(|| async { "public\n" }))
            .service(
                web::resource("/orders")
                    .wrap(TokenerAuth::new(verifier.clone()).scope("orders:read"))
                    .route(web::get().to(orders)),
            )
    })
    .bind(listen)?
    .run()
    .await?;
    Ok(())
}
