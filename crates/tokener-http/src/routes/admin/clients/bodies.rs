//! The bodies of `/admin/clients`: what the routes read and show, and how their fields parse.

use crate::error::ApiError;
use crate::routes::token::{AudienceText, ScopeText};
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokener_core::{Client, ClientError, ClientId, ClientKeys, TokenFormat, Ttl};
use utoipa::ToSchema;

/// A client as the admin API shows it: never its secret, nor the secret's hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    #[schema(example = "billing")]
    pub client_id: String,
    #[schema(example = json!(["orders:read"]))]
    pub scopes: Vec<String>,
    #[schema(example = json!(["orders"]))]
    pub audiences: Vec<String>,
    pub max_ttl_seconds: Option<u64>,
    /// The kind of access token the client receives: `biscuit` or `jwt` (RFC 9068).
    #[schema(value_type = TokenFormatText)]
    pub token_format: TokenFormat,
    pub disabled: bool,
    /// How the client authenticates: with its secret (Basic or form parameters), or with an
    /// assertion signed by one of its `jwks`.
    #[schema(pattern = "^(client_secret_basic|private_key_jwt)$")]
    pub token_endpoint_auth_method: &'static str,
    /// The public keys of a `private_key_jwt` client.
    #[schema(value_type = Option<Jwks>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<ClientKeys>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        let token_endpoint_auth_method = c.auth_method();
        Self {
            client_id: c.id.to_string(),
            scopes: c.allowed_scopes.into_iter().map(String::from).collect(),
            audiences: c.allowed_audiences.into_iter().map(String::from).collect(),
            max_ttl_seconds: c.max_ttl.map(Ttl::as_secs),
            token_format: c.token_format,
            disabled: c.disabled,
            token_endpoint_auth_method,
            jwks: c.jwks,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// `biscuit` (the default: attenuable offline, Datalog checks) or `jwt` (RFC 9068, verified
/// by any JOSE library from `jwks_uri`).
#[derive(Debug, ToSchema)]
#[schema(as = TokenFormat)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormatText {
    Biscuit,
    Jwt,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

/// A client and its new secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientView,
    /// 256 random bits, base64url. Store it now: Tokener keeps only its hash. Absent for a
    /// client registered with `jwks`, which has no secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A public JWK set (RFC 7517 §5) of `private_key_jwt` signature keys.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    #[schema(min_items = 1, max_items = 10)]
    keys: Vec<Jwk>,
}

/// A P-256 key (ES256) or an Ed25519 key (EdDSA), public part only.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum Jwk {
    Ec(EcJwk),
    Okp(OkpJwk),
}

/// An ES256 verification key (RFC 7518 §6.2.1).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct EcJwk {
    #[schema(pattern = "^EC$")]
    kty: String,
    #[schema(pattern = "^P-256$")]
    crv: String,
    /// 32 bytes, unpadded base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    x: String,
    /// 32 bytes, unpadded base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    y: String,
    #[schema(min_length = 1, max_length = 128)]
    kid: Option<String>,
    #[schema(pattern = "^ES256$")]
    alg: Option<String>,
    #[serde(rename = "use")]
    #[schema(pattern = "^sig$")]
    use_: Option<String>,
}

/// An EdDSA verification key (RFC 8037 §2).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct OkpJwk {
    #[schema(pattern = "^OKP$")]
    kty: String,
    #[schema(pattern = "^Ed25519$")]
    crv: String,
    /// 32 bytes, unpadded base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    x: String,
    #[schema(min_length = 1, max_length = 128)]
    kid: Option<String>,
    #[schema(pattern = "^EdDSA$")]
    alg: Option<String>,
    #[serde(rename = "use")]
    #[schema(pattern = "^sig$")]
    use_: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[schema(example = "billing", pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub client_id: String,
    #[serde(default)]
    #[schema(value_type = Vec<ScopeText>, example = json!(["orders:read"]))]
    pub scopes: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<AudienceText>, example = json!(["orders"]))]
    pub audiences: Vec<String>,
    /// The client's own TTL bound, in seconds.
    #[schema(minimum = 1, maximum = 31622400)]
    pub max_ttl_seconds: Option<u64>,
    /// The kind of access token the client receives; `biscuit` unless given.
    #[schema(value_type = Option<TokenFormatText>)]
    pub token_format: Option<TokenFormat>,
    /// Public keys: the client authenticates with `private_key_jwt` and gets no secret.
    #[schema(value_type = Option<Jwks>)]
    pub jwks: Option<ClientKeys>,
}

/// Fields left out keep their value; `max_ttl_seconds: null` removes the client's own bound.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[schema(value_type = Option<Vec<ScopeText>>)]
    pub scopes: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<AudienceText>>)]
    pub audiences: Option<Vec<String>>,
    #[serde(default, with = "::serde_with::rust::double_option")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 31622400)]
    pub max_ttl_seconds: Option<Option<u64>>,
    pub disabled: Option<bool>,
    /// Tokens issued from now on have this format; tokens issued before keep theirs.
    #[schema(value_type = Option<TokenFormatText>)]
    pub token_format: Option<TokenFormat>,
    /// New public keys: the client authenticates with `private_key_jwt` from now on, and a
    /// secret it had stops working (rotating the secret switches it back).
    #[schema(value_type = Option<Jwks>)]
    pub jwks: Option<ClientKeys>,
}

pub(super) fn parse_ttl(seconds: u64) -> Result<Ttl, ApiError> {
    Ttl::from_secs(seconds).map_err(|e| ApiError::invalid_request(format!("max_ttl_seconds: {e}")))
}

pub(super) fn parse_id(id: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(id).map_err(|e| ApiError::invalid_request(format!("client id: {e}")))
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::AlreadyExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "client_exists", e.to_string())
            }
            ClientError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "client_not_found", e.to_string())
            }
            ClientError::Store(e) => e.into(),
        }
    }
}

/// What `POST /admin/clients/{client_id}/secret` may ask for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// Also revoke every token issued to the client until now (default false).
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// The client-wide revocation made.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokensRevoked {
    pub client_id: String,
    /// Every token of the client issued before this time (Unix seconds) is revoked.
    pub issued_before: u64,
}
