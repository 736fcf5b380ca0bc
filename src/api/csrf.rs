//! Cross-site request forgery: a request that changes something and is carried by the
//! session cookie must come from one of our own pages.
//!
//! `SameSite=Strict` keeps the cookie off most cross-site requests, but not off requests from
//! a sibling subdomain (same site) or from browsers that ignore the attribute, and a body-less
//! `POST` with a form content type needs no JSON. So every `POST`, `PUT`, `PATCH` and `DELETE`
//! that carries the session cookie is checked: `Sec-Fetch-Site` must say `same-origin` (or
//! `none`: typed by the person), or else `Origin` must be the server's public URL or the
//! request's own `Host`; anything else is refused with 403 `cross_origin`. A request with
//! neither header was not made by a modern browser's page, so no page can have forged it.
//! Requests with a bearer token (invitations) are not cookie-borne and need no check.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::session::cookie_token;
use super::AppState;

/// The middleware: refuses a cookie-borne, state-changing request from another origin.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    // A request another node forwarded was checked where the browser sent it (a page cannot
    // set the marker header across origins without a preflight, which is refused).
    let forwarded = req.headers().contains_key(super::forward::FORWARDED);
    if changes && !forwarded && cookie_token(req.headers()).is_some() {
        if let Err(why) = check(req.headers(), &state.settings().public_url()) {
            tracing::info!(method = %req.method(), uri = %req.uri(), "refused: {why}");
            return ApiError::CrossOrigin.into_response();
        }
    }
    next.run(req).await
}

/// Whether `headers` show a request from our own origin (`public_url`, or the request's
/// `Host`); `Err` says why not.
pub fn check(headers: &HeaderMap, public_url: &str) -> Result<(), String> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!("Sec-Fetch-Site: {other}")),
        };
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return Ok(());
    };
    let origin = origin.trim_end_matches('/');
    let ours = origin_of(public_url);
    let host = text(header::HOST.as_str()).unwrap_or("");
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
    if origin.eq_ignore_ascii_case(ours)
        || (!host.is_empty() && authority.eq_ignore_ascii_case(host))
    {
        Ok(())
    } else {
        Err(format!("Origin: {origin}"))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    &url[..scheme.len() + 3 + end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const PUBLIC: &str = "https://court.example/base";

    #[test]
    fn own_pages_pass_and_other_origins_do_not() {
        let ok = |pairs| check(&headers(pairs), PUBLIC).is_ok();
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(ok(&[("sec-fetch-site", "none")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(!ok(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://court.example")
        ]));
        assert!(ok(&[("origin", "https://court.example")]));
        assert!(ok(&[
            ("origin", "http://10.0.0.5:8080"),
            ("host", "10.0.0.5:8080")
        ]));
        assert!(!ok(&[
            ("origin", "https://evil.example"),
            ("host", "court.example")
        ]));
        assert!(!ok(&[("origin", "https://court.example.evil")]));
        assert!(!ok(&[("origin", "null"), ("host", "court.example")]));
        assert!(ok(&[]), "no browser, no forgery");
        assert_eq!(origin_of(PUBLIC), "https://court.example");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
