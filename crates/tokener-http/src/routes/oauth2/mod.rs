//! The standard OAuth2 endpoints.

pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;

use utoipa::ToSchema;

/// The parameters of [`TokenForm`]: the ones the handlers read (others are ignored).
pub const TOKEN_FORM_PARAMETERS: &[&str] =
    &["token", "token_type_hint", "client_id", "client_secret"];

/// The form of an introspection or revocation request (as documented in the OpenAPI document;
/// the handlers read the form with [`crate::form::Form`]).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// The token to introspect or revoke.
    #[schema(min_length = 1, max_length = 16384)]
    token: String,
    /// Ignored: Tokener issues one kind of token.
    token_type_hint: Option<String>,
    /// With `client_secret_post` only.
    client_id: Option<String>,
    /// With `client_secret_post` only.
    client_secret: Option<String>,
}
