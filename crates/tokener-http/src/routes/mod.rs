//! The routes, and the one place that mounts them.

pub mod admin;
pub mod health;
pub mod home;
pub mod keys;
pub mod oauth2;
pub mod revocations;
pub mod token;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The largest admin request body.
const ADMIN_BODY_BYTES: usize = 16 * 1024;

/// Mounts every route. A known path called with another method answers 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/", "GET").route(web::get().to(home::home)))
        .service(
            resource("/token", "POST")
                .app_data(web::PayloadConfig::new(token::MAX_BODY_BYTES))
                .route(web::post().to(token::issue)),
        )
        .service(
            resource("/oauth2/token", "POST")
                .app_data(web::PayloadConfig::new(crate::form::MAX_FORM_BYTES))
                .route(web::post().to(oauth2::token::token)),
        )
        .service(
            resource("/oauth2/introspect", "POST")
                .app_data(web::PayloadConfig::new(crate::form::MAX_FORM_BYTES))
                .route(web::post().to(oauth2::introspect::introspect)),
        )
        .service(
            resource("/oauth2/revoke", "POST")
                .app_data(web::PayloadConfig::new(crate::form::MAX_FORM_BYTES))
                .route(web::post().to(oauth2::revoke::revoke)),
        )
        .service(
            resource("/.well-known/oauth-authorization-server", "GET")
                .route(web::get().to(oauth2::metadata::metadata)),
        )
        .service(resource("/keys", "GET").route(web::get().to(keys::keys)))
        .service(resource("/jwks", "GET").route(web::get().to(keys::jwks)))
        .service(resource("/revocations", "GET").route(web::get().to(revocations::revocations)))
        .service(
            resource("/revocations/stream", "GET")
                .route(web::get().to(revocations::stream::stream)),
        )
        .service(
            resource("/admin/clients", "GET, POST")
                .app_data(web::PayloadConfig::new(ADMIN_BODY_BYTES))
                .route(web::get().to(admin::clients::list))
                .route(web::post().to(admin::clients::create)),
        )
        .service(
            resource("/admin/clients/{client_id}", "GET, PATCH")
                .app_data(web::PayloadConfig::new(ADMIN_BODY_BYTES))
                .route(web::get().to(admin::clients::get))
                .route(web::patch().to(admin::clients::update)),
        )
        .service(
            resource("/admin/clients/{client_id}/secret", "POST")
                .app_data(web::PayloadConfig::new(ADMIN_BODY_BYTES))
                .route(web::post().to(admin::clients::rotate_secret)),
        )
        .service(
            resource("/admin/clients/{client_id}/revoke-tokens", "POST")
                .route(web::post().to(admin::clients::revoke_tokens)),
        )
        .service(resource("/admin/audit", "GET").route(web::get().to(admin::audit::list)))
        .service(
            resource("/admin/keys", "GET, POST")
                .app_data(web::PayloadConfig::new(ADMIN_BODY_BYTES))
                .route(web::get().to(admin::keys::list))
                .route(web::post().to(admin::keys::create)),
        )
        .service(
            resource("/admin/keys/{key_id}/retire", "POST")
                .route(web::post().to(admin::keys::retire)),
        )
        .service(
            resource("/admin/tokens/{token_id}/revoke", "POST")
                .route(web::post().to(admin::tokens::revoke)),
        )
        .service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
        .service(resource("/metrics", "GET").route(web::get().to(health::metrics)))
        .service(web::redirect("/reference", "/reference/"))
        .service(SwaggerUi::new("/reference/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this route accepts {allow}"),
        )
        .error_response();
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        Ok::<HttpResponse, actix_web::Error>(response)
    }))
}
