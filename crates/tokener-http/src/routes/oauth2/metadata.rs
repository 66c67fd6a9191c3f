//! `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// This server's base URL, as the request reached it.
    #[schema(example = "https://tokener.internal")]
    pub issuer: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    /// Tokener's public verification keys with their ids and statuses (Biscuit Ed25519 keys,
    /// each with the JWK of its JWTs).
    pub keys_uri: String,
    /// The JWK set that verifies JWT access tokens (RFC 9068), for JOSE libraries.
    pub jwks_uri: String,
    pub revocations_uri: String,
    /// The revocation feed as Server-Sent Events.
    pub revocations_stream_uri: String,
    pub grant_types_supported: [&'static str; 1],
    /// Tokener has no authorization endpoint, so no response type.
    pub response_types_supported: [&'static str; 0],
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    /// The algorithms of `private_key_jwt` assertions.
    pub token_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
    pub introspection_endpoint_auth_methods_supported: [&'static str; 3],
    pub introspection_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
    pub revocation_endpoint_auth_methods_supported: [&'static str; 3],
    pub revocation_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
    pub service_documentation: String,
}

/// `TOKENER_PUBLIC_URL` when configured; otherwise the `Host` the request was sent to. The
/// `Forwarded`/`X-Forwarded-*` headers are deliberately ignored: any client can set them, and
/// the metadata must not advertise endpoints a caller chose.
pub(crate) fn issuer(state: &AppState, req: &HttpRequest) -> String {
    if let Some(url) = &state.public_url {
        return url.clone();
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| req.app_config().host().to_string());
    // `secure` is true on the TLS listener (TOKENER_TLS_CERT_FILE).
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];
const ASSERTION_ALGORITHMS: [&str; 2] = [
    tokener_core::AssertionAlgorithm::ALL[0].name(),
    tokener_core::AssertionAlgorithm::ALL[1].name(),
];

/// Authorization server metadata (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth2",
    responses((status = 200, description = "Server metadata", body = ServerMetadata))
)]
pub async fn metadata(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let issuer = issuer(&state, &req);
    let url = |path: &str| format!("{issuer}{path}");
    HttpResponse::Ok().json(ServerMetadata {
        token_endpoint: url("/oauth2/token"),
        introspection_endpoint: url("/oauth2/introspect"),
        revocation_endpoint: url("/oauth2/revoke"),
        keys_uri: url("/keys"),
        jwks_uri: url("/jwks"),
        revocations_uri: url("/revocations"),
        revocations_stream_uri: url("/revocations/stream"),
        grant_types_supported: ["client_credentials"],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
        service_documentation: url("/reference/"),
        issuer,
    })
}
