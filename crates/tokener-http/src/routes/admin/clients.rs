//! `/admin/clients`: register clients, list them, change their grants, disable them, rotate
//! their secrets. Every route requires an admin token (see [`super::auth`]).

use super::auth::require_admin;
use super::{json_body, optional_json_body};
use crate::error::{ApiError, ErrorBody};
use crate::routes::token::{parse_all, AudienceText, ScopeText};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tokener_core::{Client, ClientChange, ClientError, ClientId, Grants, Ttl};
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
    pub disabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            scopes: c.allowed_scopes.into_iter().map(String::from).collect(),
            audiences: c.allowed_audiences.into_iter().map(String::from).collect(),
            max_ttl_seconds: c.max_ttl.map(Ttl::as_secs),
            disabled: c.disabled,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

/// A client and its new secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientView,
    /// 256 random bits, base64url. Store it now: Tokener keeps only its hash.
    pub client_secret: String,
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
}

fn parse_ttl(seconds: u64) -> Result<Ttl, ApiError> {
    Ttl::from_secs(seconds).map_err(|e| ApiError::invalid_request(format!("max_ttl_seconds: {e}")))
}

fn parse_id(id: &str) -> Result<ClientId, ApiError> {
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

/// Register a client; its secret is generated and returned once.
#[utoipa::path(post, path = "/admin/clients", tag = "admin",
    request_body = NewClient,
    responses(
        (status = 201, description = "Registered", body = ClientWithSecret),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 409, description = "`client_exists`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let new: NewClient = json_body(&req, &body)?;
    let grants = Grants {
        scopes: parse_all("scopes", new.scopes)?,
        audiences: parse_all("audiences", new.audiences)?,
        max_ttl: new.max_ttl_seconds.map(parse_ttl).transpose()?,
    };
    let (client, secret) = state
        .clients
        .create(parse_id(&new.client_id)?, grants)
        .await?;
    tracing::info!(client_id = %client.id, "client registered");
    let target = format!("client:{}", client.id);
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "client.created",
            target,
            "ok",
        )
        .await;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ClientWithSecret {
            client: client.into(),
            client_secret: secret.expose().to_string(),
        }))
}

/// List every client.
#[utoipa::path(get, path = "/admin/clients", tag = "admin",
    responses(
        (status = 200, description = "All clients, by id", body = ClientList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state).await?;
    let clients = state.clients.list().await?;
    Ok(HttpResponse::Ok().json(ClientList {
        clients: clients.into_iter().map(Into::into).collect(),
    }))
}

/// Show one client.
#[utoipa::path(get, path = "/admin/clients/{client_id}", tag = "admin",
    params(("client_id" = String, Path, description = "The client id", pattern = r"^[A-Za-z0-9._-]{1,64}$")),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 400, description = "`invalid_request`: not a client id", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`client_not_found`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state).await?;
    let client = state.clients.get(&parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(ClientView::from(client)))
}

/// Change a client's grants, TTL bound, or disable/enable it.
#[utoipa::path(patch, path = "/admin/clients/{client_id}", tag = "admin",
    params(("client_id" = String, Path, description = "The client id", pattern = r"^[A-Za-z0-9._-]{1,64}$")),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "The updated client", body = ClientView),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`client_not_found`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let patch: ClientPatch = json_body(&req, &body)?;
    let change = ClientChange {
        scopes: patch.scopes.map(|v| parse_all("scopes", v)).transpose()?,
        audiences: patch
            .audiences
            .map(|v| parse_all("audiences", v))
            .transpose()?,
        max_ttl: patch
            .max_ttl_seconds
            .map(|m| m.map(parse_ttl).transpose())
            .transpose()?,
        disabled: patch.disabled,
    };
    let disabling = change.disabled == Some(true);
    let client = state.clients.update(&parse_id(&id)?, change).await?;
    if disabling {
        // After the change, so no token issued before it escapes (the cut-off also covers what
        // other instances issue while they still reuse the old client record).
        state.tokens.revoke_client(&client.id).await?;
    }
    tracing::info!(client_id = %client.id, disabled = client.disabled, "client updated");
    let action = if disabling {
        "client.disabled"
    } else {
        "client.updated"
    };
    let target = format!("client:{}", client.id);
    state
        .audit(&req, admin.client_id.as_str(), action, target, "ok")
        .await;
    Ok(HttpResponse::Ok().json(ClientView::from(client)))
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

/// Revoke every token issued to a client until now: introspection, the admin API and every
/// verifier following the revocation feed reject them within a second.
#[utoipa::path(post, path = "/admin/clients/{client_id}/revoke-tokens", tag = "admin",
    params(("client_id" = String, Path, description = "The client id", pattern = r"^[A-Za-z0-9._-]{1,64}$")),
    responses(
        (status = 200, description = "Revoked", body = ClientTokensRevoked),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`client_not_found`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn revoke_tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let client = state.clients.get(&parse_id(&id)?).await?;
    let revocation = state.tokens.revoke_client(&client.id).await?;
    tracing::info!(client_id = %client.id, by = %admin.client_id, "client's tokens revoked");
    let target = format!("client:{}", client.id);
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "client.tokens_revoked",
            target,
            "ok",
        )
        .await;
    Ok(HttpResponse::Ok().json(ClientTokensRevoked {
        client_id: client.id.to_string(),
        issued_before: revocation.issued_before.unix(),
    }))
}

/// Replace a client's secret; the old one stops working at once. With
/// `{"revoke_tokens": true}` every token issued to the client until now is revoked too.
#[utoipa::path(post, path = "/admin/clients/{client_id}/secret", tag = "admin",
    params(("client_id" = String, Path, description = "The client id", pattern = r"^[A-Za-z0-9._-]{1,64}$")),
    request_body(content = Option<RotateSecret>, description = "Optional"),
    responses(
        (status = 200, description = "The new secret, shown once", body = ClientWithSecret),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`client_not_found`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let options: RotateSecret = optional_json_body(&req, &body)?;
    let (client, secret) = state.clients.rotate_secret(&parse_id(&id)?).await?;
    if options.revoke_tokens {
        state.tokens.revoke_client(&client.id).await?;
    }
    tracing::info!(client_id = %client.id, revoke_tokens = options.revoke_tokens, "client secret rotated");
    let target = format!("client:{}", client.id);
    let outcome = if options.revoke_tokens {
        "ok, tokens revoked"
    } else {
        "ok"
    };
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "client.secret_rotated",
            target,
            outcome,
        )
        .await;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ClientWithSecret {
            client: client.into(),
            client_secret: secret.expose().to_string(),
        }))
}
