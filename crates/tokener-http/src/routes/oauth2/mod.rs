//! The standard OAuth2 endpoints.

pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;

use utoipa::ToSchema;

/// The parameters of [`TokenForm`] the handlers read besides client authentication (others
/// are ignored).
pub const TOKEN_FORM_PARAMETERS: &[&str] = &["token", "token_type_hint"];

/// The form of an introspection or revocation request (as documented in the OpenAPI document;
/// the handlers read the form with [`crate::form::Form`]).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// The token to introspect or revoke.
    /// Any length: a token that is not one of ours is inactive (RFC 7662) or ignored (RFC
    /// 7009); the body limit bounds it.
    #[schema(min_length = 1)]
    token: String,
    /// Ignored: Tokener issues one kind of token.
    #[schema(nullable = false)]
    token_type_hint: Option<String>,
    #[serde(flatten)]
    client: ClientAuthFields,
}

/// The form parameters of client authentication, read by every OAuth2 endpoint. One method
/// per request.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ClientAuthFields {
    /// With `client_secret_post`; optional with `private_key_jwt` (then it must be the
    /// assertion's `sub`).
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// With `client_secret_post` only.
    #[schema(nullable = false)]
    client_secret: Option<String>,
    /// With `private_key_jwt` only: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[schema(nullable = false)]
    client_assertion_type: Option<String>,
    /// With `private_key_jwt` only: a JWT signed by one of the client's keys (RFC 7523 §2.2).
    #[schema(nullable = false)]
    client_assertion: Option<String>,
}
