//! The one error type that becomes an HTTP response: a JSON body with a stable code and a
//! message. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::TokenError;

/// An API failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No credentials were given.
    #[error("authentication required")]
    Unauthenticated,
    /// A bad or expired token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Authenticated, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// The request is malformed or a field is not acceptable; `code` names which (stable).
    #[error("{message}")]
    Invalid {
        /// Stable code, e.g. `bad_role`.
        code: &'static str,
        /// One human sentence.
        message: String,
    },
    /// The request conflicts with the current state, e.g. `hearing_not_open`.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// One human sentence.
        message: String,
    },
    /// The request body is not of a type this endpoint takes (WHIP wants `application/sdp`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A file name or path that could lead outside a recording's folder.
    #[error("that path is not allowed")]
    BadPath,
    /// Login refused: unknown name or wrong password (never says which).
    #[error("wrong user name or password")]
    BadCredentials,
    /// The request body is larger than the server takes.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A cookie-borne request that changes something came from another site's page.
    #[error("this request did not come from the court's own pages")]
    CrossOrigin,
    /// Too many failed logins; try again after this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    RateLimited(i64),
    /// The hearing runs on another node of the cluster; go there.
    #[error("this hearing runs on another node: {url}")]
    Moved {
        /// The owner node's public URL.
        url: String,
    },
    /// The hearing is between nodes (its node stopped answering and its lease has not run out
    /// yet); try again after this many milliseconds.
    #[error("this hearing is moving to another node; try again in a moment")]
    Moving {
        /// When to try again.
        retry_after_ms: u64,
    },
    /// A service the server needs cannot be reached, or no node has room (503); `code` names
    /// which (stable), the message says what to do.
    #[error("{message}")]
    Unavailable {
        /// Stable code, e.g. `database_unavailable`, `no_capacity`.
        code: &'static str,
        /// One human sentence.
        message: String,
    },
    /// A server fault; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a stable code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A 409 with a stable code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A 503 with a stable code.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// The database cannot be reached.
    pub fn database_unavailable() -> Self {
        Self::unavailable(
            "database_unavailable",
            "The court's database cannot be reached right now. Hearings under way go on; try again in a minute.",
        )
    }

    /// The status and stable code.
    pub fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Token(TokenError::Invalid) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Token(TokenError::Expired) => (StatusCode::UNAUTHORIZED, "expired_token"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::BadPath => (StatusCode::BAD_REQUEST, "bad_path"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::CrossOrigin => (StatusCode::FORBIDDEN, "cross_origin"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Moved { .. } => (StatusCode::TEMPORARY_REDIRECT, "moved"),
            ApiError::Moving { .. } => (StatusCode::SERVICE_UNAVAILABLE, "moving"),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!("database unavailable: {e}");
            return ApiError::database_unavailable();
        }
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        crate::metrics::refused(code);
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": { "code": code, "message": self.to_string() } })),
        )
            .into_response();
        let retry_after = match &self {
            ApiError::Moving { retry_after_ms } => Some((*retry_after_ms as i64 + 999) / 1000),
            ApiError::Unavailable { .. } => Some(5),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.max(1).to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if let ApiError::Moved { url } = &self {
            if let Ok(v) = axum::http::HeaderValue::from_str(url) {
                response
                    .headers_mut()
                    .insert(axum::http::header::LOCATION, v);
            }
        }
        if let ApiError::RateLimited(seconds) = &self {
            if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.max(&1).to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}
