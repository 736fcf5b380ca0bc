//! Any node answers: a request about a hearing that runs on another node of the cluster is
//! forwarded to that node and its answer returned as it is.
//!
//! The portal, the API and the participant's page may talk to any node; only the owner holds
//! the live hearing (its recording, roster, monitor, camera). A request under
//! `/api/hearings/{id}/...`, `/whip/{id}/...` (or `/api/hearing/...` with an invitation naming
//! the hearing) whose
//! hearing runs elsewhere under a live lease goes to the owner with the same method, headers
//! (the session cookie and the bearer token work on every node: sessions and keys are in the
//! shared database) and body. A forwarded request carries [`FORWARDED`] and is never
//! forwarded again.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Marks a request one node forwarded to another.
pub const FORWARDED: &str = "x-courtroom-forwarded";
/// The largest body forwarded: an exhibit's, and a little.
const MAX_BODY: usize = crate::exhibit::MAX_EXHIBIT_BYTES + 1024 * 1024;
/// How long the owner has to answer a forwarded request, but for exhibits'.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// What an exhibit request may take beyond its render: writing the file, and the way back.
const EXHIBIT_SLACK: Duration = Duration::from_secs(15);

/// How long the forwarding node waits for the owner's answer to a request for `path`. An
/// exhibit's upload or page turn may wait its turn for a PDF renderer and then render
/// ([`crate::exhibit::LONGEST_RENDER`]); the owner itself answers `exhibit_renderer_busy` when
/// it must, so the forwarding node waits longer than that rather than answering `moving` while
/// the owner carries on.
fn answer_within(path: &str) -> Duration {
    let exhibit = path
        .strip_prefix("/api/hearings/")
        .and_then(|rest| rest.split('/').nth(1))
        == Some("exhibits");
    if exhibit {
        crate::exhibit::LONGEST_RENDER + EXHIBIT_SLACK
    } else {
        ANSWER_WITHIN
    }
}

/// The hearing a request is about, from its path or its invitation.
fn hearing_of(state: &AppState, req: &Request) -> Option<String> {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/api/hearings/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        // The list itself and the creation of a hearing are for any node.
        return (!id.is_empty() && !tail.is_empty() || (req.method() == "GET" && !id.is_empty()))
            .then(|| id.to_owned());
    }
    // The public broadcast: its playlist, segments and state come from the owner's memory.
    for public in ["/live/", "/api/watch/"] {
        if let Some(rest) = path.strip_prefix(public) {
            let id = rest.split('/').next().unwrap_or("");
            return (!id.is_empty()).then(|| id.to_owned());
        }
    }
    if let Some(rest) = path.strip_prefix("/whip/") {
        // A studio encoder publishes where the hearing runs.
        let id = rest.split('/').next().unwrap_or("");
        return (!id.is_empty()).then(|| id.to_owned());
    }
    if path.starts_with("/api/hearing/") {
        let token = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        return state
            .key()
            .verify(token.trim(), super::auth::unix_now())
            .ok()
            .map(|c| c.hearing);
    }
    None
}

/// The middleware: forwards to the owner when the hearing runs elsewhere.
pub async fn to_owner(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.cluster().is_clustered() || req.headers().contains_key(FORWARDED) {
        return next.run(req).await;
    }
    let Some(id) = hearing_of(&state, &req) else {
        return next.run(req).await;
    };
    if state.docket().running(&id).is_some() {
        return next.run(req).await;
    }
    match state.store().hearing_owner(&id).await {
        Ok(Some((node, url))) if node != state.cluster().id() => match forward(req, &url).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(hearing = %id, owner = %node, "cannot forward to the hearing's node: {e}");
                ApiError::Moving {
                    retry_after_ms: 2000,
                }
                .into_response()
            }
        },
        _ => next.run(req).await,
    }
}

async fn forward(req: Request, owner: &str) -> Result<Response, String> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    let target = format!(
        "{}{}",
        owner.trim_end_matches('/'),
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let method =
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut out = client()
        .request(method, &target)
        .timeout(answer_within(parts.uri.path()));
    for (name, value) in parts.headers.iter() {
        if is_hop(name) {
            continue;
        }
        out = out.header(name.as_str(), value.as_bytes());
    }
    let reply = out
        .header(FORWARDED, "1")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(reply.status().as_u16()).map_err(|e| e.to_string())?;
    let mut response = Response::builder().status(status);
    for (name, value) in reply.headers().iter() {
        if let Ok(n) = HeaderName::from_bytes(name.as_str().as_bytes()) {
            if !is_hop(&n) {
                response = response.header(n, value.as_bytes());
            }
        }
    }
    let bytes = reply.bytes().await.map_err(|e| e.to_string())?;
    response.body(Body::from(bytes)).map_err(|e| e.to_string())
}

fn is_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive" | "upgrade"
    )
}

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhibit_request_is_given_longer_than_the_owner_takes_to_refuse_it_as_busy() {
        for path in [
            "/api/hearings/h1/exhibits",
            "/api/hearings/h1/exhibits/witness",
            "/api/hearings/h1/exhibits/e7/show",
        ] {
            let within = answer_within(path);
            assert!(
                within > crate::exhibit::gate::LONGEST_WAIT + Duration::from_secs(60),
                "{path}: {within:?}"
            );
            assert!(within > crate::exhibit::LONGEST_RENDER, "{path}");
        }
    }

    #[test]
    fn other_requests_keep_the_short_deadline() {
        for path in [
            "/api/hearings/h1",
            "/api/hearings/h1/state",
            "/api/hearings/exhibits/state",
            "/whip/h1/exhibits",
            "/live/h1/index.m3u8",
        ] {
            assert_eq!(answer_within(path), ANSWER_WITHIN, "{path}");
        }
    }
}
