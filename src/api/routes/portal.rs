//! The clerk portal's static pages (`web/portal/`): plain HTML and ES modules, embedded in the
//! binary, served from a fixed list so no request names a file on disk.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::api::error::ApiError;
use crate::api::AppState;

/// The portal's files: name, content type, contents.
pub const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../web/portal/index.html"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/portal/portal.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/portal/api.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/portal/i18n.js"),
    ),
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/portal/portal.css"),
    ),
];

fn serve(name: &str) -> Result<Response, ApiError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
            ),
        ],
        *body,
    )
        .into_response())
}

/// The portal's routes: `/portal/` and `/portal/{file}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { Redirect::permanent("/portal/") }))
        .route("/portal/", get(|| async { serve("index.html") }))
        .route(
            "/portal/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}
