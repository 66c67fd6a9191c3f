//! `GET /`: what this service is and what it offers, as HTML for people and JSON for tools.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// One route of the API, as presented on the home page.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub description: &'static str,
}

/// Every public route. The black-box tests call each of them, so this list cannot go stale.
pub const ROUTES: &[RouteInfo] = &[
    RouteInfo {
        method: "GET",
        path: "/",
        description: "This presentation (HTML, or JSON with Accept: application/json)",
    },
    RouteInfo {
        method: "GET",
        path: "/reference",
        description: "Interactive API reference, served by this binary",
    },
    RouteInfo {
        method: "GET",
        path: "/openapi.json",
        description: "The OpenAPI 3.1 document",
    },
    RouteInfo {
        method: "POST",
        path: "/token",
        description: "Issue a token (client credentials by HTTP Basic; optional JSON body)",
    },
    RouteInfo {
        method: "POST",
        path: "/oauth2/token",
        description: "OAuth2 client credentials grant (RFC 6749 §4.4)",
    },
    RouteInfo {
        method: "POST",
        path: "/oauth2/introspect",
        description: "Token introspection (RFC 7662)",
    },
    RouteInfo {
        method: "POST",
        path: "/oauth2/revoke",
        description: "Token revocation (RFC 7009)",
    },
    RouteInfo {
        method: "GET",
        path: "/.well-known/oauth-authorization-server",
        description: "Authorization server metadata (RFC 8414)",
    },
    RouteInfo {
        method: "GET",
        path: "/keys",
        description: "Public verification keys with their ids (active, next and retired)",
    },
    RouteInfo {
        method: "GET",
        path: "/revocations",
        description: "Revoked token ids since a cursor, for offline verifiers",
    },
    RouteInfo {
        method: "GET",
        path: "/admin/clients",
        description: "List clients; POST registers one, /admin/clients/{id} shows or changes one (admin token: scope tokener:admin)",
    },
    RouteInfo {
        method: "GET",
        path: "/admin/keys",
        description: "List signing keys; POST adds one (announced as next), /admin/keys/{id}/retire retires one (admin token)",
    },
    RouteInfo {
        method: "GET",
        path: "/healthz",
        description: "Liveness: the process answers",
    },
    RouteInfo {
        method: "GET",
        path: "/readyz",
        description: "Readiness: the token store answers",
    },
    RouteInfo {
        method: "GET",
        path: "/metrics",
        description: "Prometheus metrics",
    },
];

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInfo {
    #[schema(example = "Tokener")]
    pub name: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    pub description: &'static str,
    /// Where issued tokens are recorded: `in-memory` or `mongodb`.
    #[schema(example = "in-memory")]
    pub storage: &'static str,
    pub routes: &'static [RouteInfo],
    pub reference: &'static str,
    pub openapi: &'static str,
}

const DESCRIPTION: &str = "The token service for a network of microservices: a service \
authenticates with its client credentials and receives a signed Biscuit token; any other \
service verifies it offline with Tokener's public key. Every token is recorded and can be revoked.";

fn info(storage: &'static str) -> ServiceInfo {
    ServiceInfo {
        name: "Tokener",
        version: env!("CARGO_PKG_VERSION"),
        description: DESCRIPTION,
        storage,
        routes: ROUTES,
        reference: "/reference/",
        openapi: "/openapi.json",
    }
}

/// Present the service.
#[utoipa::path(
    get,
    path = "/",
    tag = "service",
    responses(
        (status = 200, description = "The service presentation: JSON when `Accept` asks for \
            `application/json` and not for `text/html`, otherwise an HTML page",
            content((ServiceInfo = "application/json"), (String = "text/html"))),
    )
)]
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let info = info(state.storage);
    if wants_json(&req) {
        return HttpResponse::Ok().json(info);
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(render_html(&info))
}

/// JSON when the client asks for JSON and not for HTML; a browser asks for HTML.
fn wants_json(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

fn render_html(info: &ServiceInfo) -> String {
    let rows: String = info
        .routes
        .iter()
        .map(|r| {
            format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
                r.method, r.path, r.description
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} {version}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; vertical-align: top; }}
code {{ background: #f3f3f3; padding: 0 .2rem; }}
</style>
</head>
<body>
<h1>{name} <small>{version}</small></h1>
<p>{description}</p>
<p>Storage: <strong>{storage}</strong>.</p>
<p><a href="{reference}">Interactive API reference</a> · <a href="{openapi}">OpenAPI document</a></p>
<h2>Routes</h2>
<table>
{rows}</table>
</body>
</html>
"#,
        name = info.name,
        version = info.version,
        description = info.description,
        storage = info.storage,
        reference = info.reference,
        openapi = info.openapi,
    )
}
