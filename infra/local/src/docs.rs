//! `GET /docs`: the OpenAPI document (`/v1/openapi.json`) in Swagger UI, from the
//! static files `infra/run` installs with npm (`infra/docs`: `swagger-ui-dist`), so
//! the page works offline. Local only: no function serves it.

use std::path::PathBuf;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The Swagger UI files the page loads, and their content types.
const ASSETS: [(&str, &str); 3] =
    [("swagger-ui.css", "text/css"), ("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui-standalone-preset.js", "text/javascript")];

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API documentation</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout" });
  </script>
</body>
</html>
"##;

/// Where the files are: `DOCS_ASSETS_DIR`, else `infra/docs/node_modules/swagger-ui-dist`.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("DOCS_ASSETS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/node_modules/swagger-ui-dist")))
}

pub fn router(assets: PathBuf) -> Router {
    Router::new().route("/docs", get(|| async { Html(PAGE) })).route(
        "/docs/{file}",
        get(move |Path(file): Path<String>| {
            let assets = assets.clone();
            async move { asset(&assets, &file).await }
        }),
    )
}

async fn asset(dir: &std::path::Path, file: &str) -> Response {
    // Only the named files: a path parameter never reaches the file system as given.
    let Some((name, content_type)) = ASSETS.iter().find(|(name, _)| *name == file) else {
        return web::ApiError::not_found().into_response();
    };
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, *content_type)], bytes).into_response(),
        Err(_) => web::ApiError::new(StatusCode::NOT_FOUND, "docs_not_installed", "run infra/run, which installs the docs page's files")
            .into_response(),
    }
}
