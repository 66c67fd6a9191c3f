use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn home_is_html_for_browsers() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/"))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Tokener") && html.contains(env!("CARGO_PKG_VERSION")));
    for route in tokener_http::routes::home::ROUTES {
        assert!(
            html.contains(route.path) && html.contains(route.description),
            "{} missing",
            route.path
        );
    }
    assert!(html.contains("href=\"/reference/\""));
}

#[tokio::test]
async fn home_is_json_when_asked() {
    let app = spawn_app().await;
    let body: serde_json::Value = app.get_json("/").await;
    assert_eq!(body["name"], "Tokener");
    assert_eq!(body["storage"], "in-memory");
    assert_eq!(body["reference"], "/reference/");
    let routes = body["routes"].as_array().unwrap();
    assert_eq!(routes.len(), tokener_http::routes::home::ROUTES.len());
}

/// Every route the home page lists answers (none is a dead link).
#[tokio::test]
async fn every_listed_route_exists() {
    let app = spawn_app().await;
    for route in tokener_http::routes::home::ROUTES {
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let status = app
            .http
            .request(method, app.url(route.path))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status != 404 && status != 405 && !status.is_server_error(),
            "{} {} -> {status}",
            route.method,
            route.path
        );
    }
}

#[tokio::test]
async fn reference_is_served_by_the_binary() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/reference")).send().await.unwrap();
    assert_eq!(page.status(), 200, "redirect followed to the UI");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("https://"),
        "no asset is loaded from another host"
    );
    for asset in [
        "/reference/swagger-ui.css",
        "/reference/swagger-ui-bundle.js",
        "/reference/swagger-initializer.js",
    ] {
        let response = app.http.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        if asset.ends_with("initializer.js") {
            assert!(text.contains("/openapi.json"), "the UI loads our document");
        }
    }
}

#[tokio::test]
async fn health_routes() {
    let app = spawn_app().await;
    let live: serde_json::Value = app.get_json("/healthz").await;
    assert_eq!(live["status"], "ok");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_json_errors() {
    let app = spawn_app().await;
    assert_error(
        app.http.get(app.url("/nope")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let response = app.http.delete(app.url("/")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_error(response, 405, "method_not_allowed").await;
    let response = app.http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_error(response, 405, "method_not_allowed").await;
}
