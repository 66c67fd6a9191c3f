//! `/admin/clients`: register clients, list them, change their grants, disable them, rotate
//! their secrets or register their public keys. Every route requires an admin token (see
//! [`super::auth`]).

mod bodies;

pub use bodies::*;

use super::auth::require_admin;
use crate::error::{ApiError, ErrorBody};
use crate::json_body;
use crate::routes::token::parse_all;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tokener_core::{ClientChange, Grants};

/// Register a client; its secret is generated and returned once (or, with `jwks`, it
/// authenticates with `private_key_jwt` and has no secret).
#[utoipa::path(post, path = "/admin/clients", tag = "admin",
    request_body = NewClient,
    responses(
        (status = 201, description = "Registered", body = ClientWithSecret),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 409, description = "`client_exists`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is larger than 16 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let new: NewClient = json_body::object(&req, &body)?;
    let grants = Grants {
        scopes: parse_all("scopes", new.scopes)?,
        audiences: parse_all("audiences", new.audiences)?,
        max_ttl: new.max_ttl_seconds.map(parse_ttl).transpose()?,
        token_format: new.token_format.unwrap_or_default(),
    };
    let id = parse_id(&new.client_id)?;
    let (client, secret) = match new.jwks {
        Some(keys) => (
            state.clients.create_with_keys(id, grants, keys).await?,
            None,
        ),
        None => {
            let (client, secret) = state.clients.create(id, grants).await?;
            (client, Some(secret.expose().to_string()))
        }
    };
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
            client_secret: secret,
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
        (status = 413, description = "`payload_too_large`: the body is larger than 16 KiB", body = ErrorBody),
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
    let patch: ClientPatch = json_body::object(&req, &body)?;
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
        token_format: patch.token_format,
        jwks: patch.jwks,
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
        (status = 413, description = "`payload_too_large`: the body is larger than 16 KiB", body = ErrorBody),
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
    let options: RotateSecret = json_body::optional_object(&req, &body)?;
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
            client_secret: Some(secret.expose().to_string()),
        }))
}
