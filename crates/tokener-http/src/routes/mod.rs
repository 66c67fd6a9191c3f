//! The routes, and the one place that mounts them.

pub mod health;
pub mod home;
pub mod token;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Mounts every route. A known path called with another method answers 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/", "GET").route(web::get().to(home::home)))
        .service(
            resource("/token", "POST")
                .app_data(web::PayloadConfig::new(token::MAX_BODY_BYTES))
                .route(web::post().to(token::issue)),
        )
        .service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
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
