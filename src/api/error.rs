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
    /// A server fault; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Token(TokenError::Invalid) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Token(TokenError::Expired) => (StatusCode::UNAUTHORIZED, "expired_token"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        (
            status,
            Json(serde_json::json!({ "error": { "code": code, "message": self.to_string() } })),
        )
            .into_response()
    }
}
