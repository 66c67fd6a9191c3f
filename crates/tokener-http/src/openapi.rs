//! The OpenAPI document, generated from the handlers' annotations. `openapi.yaml` at the
//! repository root is this document, kept in sync by a test (`just openapi` rewrites it).

use crate::error::ErrorBody;
use crate::routes::{admin, health, home, keys, oauth2, revocations, token};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tokener",
        description = "The token service for a network of microservices: Biscuit tokens for \
                       client credentials, verifiable offline, recorded and revocable.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(home::home, token::issue, oauth2::token::token, oauth2::introspect::introspect,
        oauth2::revoke::revoke, oauth2::metadata::metadata, keys::keys, revocations::revocations,
        revocations::stream::stream, admin::clients::revoke_tokens,
        admin::clients::create, admin::clients::list, admin::clients::get,
        admin::clients::update, admin::clients::rotate_secret, admin::tokens::revoke,
        health::healthz, health::readyz, health::metrics),
    components(schemas(ErrorBody, token::TokenRequest, token::TokenResponse, home::ServiceInfo,
        home::RouteInfo, health::HealthStatus)),
    modifiers(&ClientBasicAuth),
    tags(
        (name = "tokens", description = "Issuing tokens"),
        (name = "oauth2", description = "Standard OAuth2 endpoints (RFC 6749, 7662, 7009, 8414)"),
        (name = "keys", description = "What offline verifiers need: public keys and revocations"),
        (name = "admin", description = "Client administration (bearer token with scope tokener:admin)"),
        (name = "service", description = "Presentation and health"),
    )
)]
pub struct ApiDoc;

/// Declares the `client_basic` security scheme the token routes use.
struct ClientBasicAuth;

impl Modify for ClientBasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "admin_bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> String {
    ApiDoc::openapi()
        .to_yaml()
        .unwrap_or_else(|e| format!("# could not render the OpenAPI document: {e}\n"))
}
