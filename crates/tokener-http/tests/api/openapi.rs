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
