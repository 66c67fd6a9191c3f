//! The OpenAPI document, generated from the handlers' annotations. `openapi.yaml` at the
//! repository root is this document, kept in sync by a test (`just openapi` rewrites it).

use crate::error::ErrorBody;
use crate::routes::{admin, health, home, keys, oauth2, revocations, token};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Scopes,
    SecurityScheme,
};
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
        oauth2::revoke::revoke, oauth2::metadata::metadata, keys::biscuit::keys, keys::jwks::jwks, revocations::revocations,
        revocations::stream::stream, admin::clients::revoke_tokens,
        admin::clients::create, admin::clients::list, admin::clients::get,
        admin::clients::update, admin::clients::rotate_secret, admin::tokens::revoke,
        admin::keys::list, admin::keys::create, admin::keys::retire, admin::audit::list,
        health::healthz, health::readyz, health::metrics),
    components(schemas(ErrorBody, token::TokenRequest, token::TokenResponse, home::ServiceInfo,
        home::RouteInfo, health::HealthStatus)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "tokens", description = "Issuing tokens"),
        (name = "oauth2", description = "Standard OAuth2 endpoints (RFC 6749, 7662, 7009, 8414)"),
        (name = "keys", description = "What offline verifiers need: public keys and revocations"),
        (name = "admin", description = "Client and signing key administration (bearer token with scope tokener:admin)"),
        (name = "service", description = "Presentation and health"),
    )
)]
pub struct ApiDoc;

/// Declares the security schemes: `client_basic` and `client_secret_post` (the two ways a
/// client authenticates on the token routes; each OAuth2 operation requires one of them) and
/// `admin_bearer`.
struct SecuritySchemes;

/// What `client_secret_post` is. OpenAPI has no scheme for credentials in the request body, so
/// it is declared as an API key whose description says where the credentials really go: the
/// operations then list client authentication as required, with both methods, and never "no
/// authentication" as an alternative. The service reads no `client_secret` header.
const CLIENT_SECRET_POST: &str = "`client_secret_post` (RFC 6749 §2.3.1): send `client_id` and \
`client_secret` as form parameters in the request body, not in a header. OpenAPI has no \
scheme for credentials in the body, so this one only documents the method: a value entered \
here is not sent where the service reads it; fill in the form fields instead.";

/// What `private_key_jwt` is; declared like `client_secret_post`, for the same reason.
const PRIVATE_KEY_JWT: &str = "`private_key_jwt` (RFC 7523 §2.2): send \
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and \
`client_assertion` (a JWT signed with ES256 or EdDSA by a key of the client's `jwks`) as form \
parameters in the request body, not in a header. Its `iss` and `sub` are the client id, its \
`aud` the token endpoint URL or the issuer, its `exp` at most 300 s ahead, and its `jti` is \
accepted once. As with `client_secret_post`, a value entered here is not sent where the \
service reads it.";

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "`client_secret_basic` (RFC 6749 §2.3.1): HTTP Basic with the client \
                         id and secret, each form-urlencoded first.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_secret_post",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "client_secret",
                CLIENT_SECRET_POST,
            ))),
        );
        components.add_security_scheme(
            "private_key_jwt",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "client_assertion",
                PRIVATE_KEY_JWT,
            ))),
        );
        // Where admin tokens come from. Listed so that tools reading the document know
        // /oauth2/token for the token endpoint it is (a 400 there is a grant refused, as RFC
        // 6749 §5.2 says, not a contract breach).
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/oauth2/token",
                    Scopes::from_iter([(
                        "tokener:admin",
                        "the admin API (a Bearer token, as `admin_bearer`)",
                    )]),
                ))],
                "Tokener's own tokens, by the client credentials grant.",
            )),
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
