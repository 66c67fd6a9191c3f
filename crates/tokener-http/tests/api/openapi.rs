use crate::helpers::spawn_app;

/// `openapi.yaml` at the repository root is the document the code generates. Run
/// `just openapi` to regenerate it after changing an annotation.
#[test]
fn committed_openapi_yaml_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let committed = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    assert!(
        committed == tokener_http::openapi::yaml(),
        "openapi.yaml is stale: run `just openapi` and commit the result"
    );
}

#[tokio::test]
async fn openapi_json_is_served_and_lists_every_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for route in tokener_http::routes::home::ROUTES {
        if matches!(route.path, "/reference" | "/openapi.json") {
            continue;
        }
        let method = route.method.to_ascii_lowercase();
        assert!(
            doc["paths"][route.path][&method].is_object(),
            "{} {} not documented",
            route.method,
            route.path
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["client_basic"]["scheme"],
        "basic"
    );
}

/// Every OAuth2 operation that takes client credentials requires client authentication:
/// `client_basic` or `client_secret_post`, never the empty ("no authentication") alternative.
#[test]
fn oauth2_operations_require_client_authentication() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(tokener_http::openapi::ApiDoc::openapi()).unwrap();
    for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
        let security = doc["paths"][path]["post"]["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} declares its security"));
        let schemes: Vec<Vec<&str>> = security
            .iter()
            .map(|requirement| {
                let names = requirement.as_object().unwrap().keys();
                names.map(String::as_str).collect()
            })
            .collect();
        assert!(
            schemes.iter().all(|names| !names.is_empty()),
            "{path} lists no authentication as an alternative: {security:?}"
        );
        assert_eq!(
            schemes,
            [
                vec!["client_basic"],
                vec!["client_secret_post"],
                vec!["private_key_jwt"]
            ],
            "{path}"
        );
    }
    let post = &doc["components"]["securitySchemes"]["client_secret_post"];
    assert_eq!(post["type"], "apiKey");
    assert!(post["description"]
        .as_str()
        .unwrap()
        .contains("form parameters in the request body"));
}
