//! Logging in and out of the portal, and who is logged in.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Body;
use crate::api::auth::unix_now;
use crate::api::error::ApiError;
use crate::api::session::{
    cookie_token, new_session_token, over_tls, session_cookie, token_hash, verify_password, Clerk,
    SESSION_SECONDS,
};
use crate::api::throttle::client_address;
use crate::api::AppState;
use crate::store::audit::actions;
use crate::store::AuditEvent;

/// `POST /api/login` body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A PHC hash of a random password, verified against when the user name is unknown so that
/// a wrong name costs as long as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$n2GDhKOVm4VBp1B2hn1Iy2aN+ZPfH2ibNKyuQE8vDgE";

/// `POST /api/login` `{username, password}` → sets the session cookie, returns the account.
/// `401 bad_credentials`; `429 rate_limited` (with `Retry-After`) after repeated failures.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    request_parts: axum::http::Extensions,
    Body(req): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = unix_now();
    // The peer, or the client a trusted reverse proxy forwarded (`http.trusted_proxies`).
    let client = client_address(
        &headers,
        request_parts.get::<ConnectInfo<SocketAddr>>().map(|c| c.0),
        &state.settings().http.trusted_proxies,
    );
    let limiter = state.login_limiter();
    if let Err(wait) = limiter.check(&req.username, &client, now) {
        state
            .audit(AuditEvent::new(
                format!("client:{client}"),
                actions::LOGIN_FAILED,
                None,
                json!({ "username": req.username, "reason": "rate_limited" }),
            ))
            .await;
        return Err(ApiError::RateLimited(wait));
    }
    let found = state.store().user_by_name(req.username.trim()).await?;
    let password = req.password.clone();
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    // argon2 takes tens of milliseconds of CPU: off the async threads.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let user = match found {
        Some((user, _)) if ok && !user.disabled => user,
        _ => {
            limiter.failed(&req.username, &client, now);
            state
                .audit(AuditEvent::new(
                    format!("client:{client}"),
                    actions::LOGIN_FAILED,
                    None,
                    json!({ "username": req.username, "reason": "bad_credentials" }),
                ))
                .await;
            return Err(ApiError::BadCredentials);
        }
    };
    limiter.succeeded(&req.username, &client);
    let token = new_session_token();
    state
        .store()
        .create_session(&token_hash(&token), &user.id, now + SESSION_SECONDS)
        .await?;
    state
        .audit(AuditEvent::new(
            format!("user:{}", user.username),
            actions::LOGIN,
            None,
            json!({ "client": client }),
        ))
        .await;
    let cookie = session_cookie(Some(&token), over_tls(&state, &headers));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "user": user })),
    )
        .into_response())
}

/// `POST /api/logout` → ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    clerk: Clerk,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie_token(&headers) {
        state
            .store()
            .delete_session(&token_hash(&token), unix_now())
            .await?;
    }
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::LOGOUT,
            None,
            json!({}),
        ))
        .await;
    let cookie = session_cookie(None, over_tls(&state, &headers));
    Ok(([(header::SET_COOKIE, cookie)], Json(json!({ "ok": true }))).into_response())
}

/// `GET /api/me` → the logged-in account, or `401 unauthenticated`.
pub async fn me(clerk: Clerk) -> Json<serde_json::Value> {
    Json(json!({ "user": clerk.0 }))
}

/// `GET /api/permissions` → the permission table, for the portal and for people.
pub async fn permissions() -> Json<serde_json::Value> {
    use crate::permissions::{Subject, TABLE};
    let columns: Vec<String> = Subject::ALL
        .iter()
        .map(|s| match s {
            Subject::Role(r) => r.as_str().to_owned(),
            Subject::Account(a) => format!("{a}_account"),
        })
        .collect();
    let rows: Vec<serde_json::Value> = TABLE
        .iter()
        .map(|(a, cells)| json!({ "action": a.as_str(), "allowed": cells }))
        .collect();
    Json(json!({ "columns": columns, "rows": rows }))
}
