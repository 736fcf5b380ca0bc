//! Who acts: portal accounts (argon2 password hashes, login sessions in an HttpOnly cookie,
//! the [`Clerk`] extractor; the login limit is [`super::throttle`]), invitees (the [`Invitee`] extractor), and
//! either of them acting on a live hearing ([`Operator`]).
//!
//! The cookie holds 256 random bits; the store keeps only their SHA-256. It is `HttpOnly`,
//! `SameSite=Strict`, `Path=/`, and `Secure` when the server is reached over TLS (a `https`
//! public URL, or `X-Forwarded-Proto: https` from a proxy). Besides `SameSite=Strict`, every
//! state-changing request the cookie carries must come from our own origin ([`super::csrf`]):
//! some endpoints take no body, and a cross-site form can post those.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use super::auth::{unix_now, Claims};
use super::error::ApiError;
pub use super::throttle::LoginLimiter;
use super::AppState;
use crate::ids::random_id;
use crate::permissions::{Action, Principal};
use crate::store::{AccountRole, Store, StoreError, UserRecord};

/// The session cookie's name.
pub const COOKIE: &str = "courtroom_session";
/// How long a login lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Errors of account handling outside HTTP (the `admin create-user` command).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The store failed (or the name is taken).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Hashes a password with argon2id (default parameters, random salt), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches a PHC hash (constant time).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a portal account (the `courtroom admin create-user` command and the portal).
pub async fn create_user(
    store: &Store,
    username: &str,
    display_name: &str,
    role: AccountRole,
    password: &str,
) -> Result<UserRecord, AccountError> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
    {
        return Err(AccountError::Invalid(
            "user names are 1 to 64 letters, digits and . _ - @",
        ));
    }
    if password.chars().count() < 10 {
        return Err(AccountError::Invalid(
            "passwords need at least 10 characters",
        ));
    }
    let user = UserRecord {
        id: random_id(),
        username: username.to_owned(),
        display_name: if display_name.trim().is_empty() {
            username.to_owned()
        } else {
            display_name.trim().to_owned()
        },
        role,
        disabled: false,
    };
    let phc = hash_password(password)?;
    store.create_user(&user, &phc).await?;
    Ok(user)
}

/// SHA-256 of a session token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random session token.
pub fn new_session_token() -> String {
    format!("{}{}", random_id(), random_id())
}

/// The `Set-Cookie` value that carries a session (or, with `None`, clears it).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}"
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Whether the request reached us over TLS, as far as we can tell.
pub fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings().public_url().starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session token in a request's cookies, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A logged-in portal account (a clerk or an administrator), from the session cookie.
#[derive(Debug, Clone)]
pub struct Clerk(pub UserRecord);

impl Clerk {
    /// The permission table's view of this account.
    pub fn principal(&self) -> Principal<'static> {
        Principal::Account(self.0.role)
    }

    /// How the audit trail names this account.
    pub fn actor(&self) -> String {
        format!("user:{}", self.0.username)
    }

    /// Checks the permission table for `action`, on `hearing` where it concerns one (a refusal
    /// is audited).
    pub async fn authorize(
        &self,
        state: &AppState,
        action: Action,
        hearing: Option<&str>,
    ) -> Result<(), ApiError> {
        state
            .authorize(&self.principal(), &self.actor(), action, hearing)
            .await
    }
}

impl FromRequestParts<AppState> for Clerk {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_token(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let session = state
            .store()
            .session(&token_hash(&token), unix_now())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Clerk(session.user))
    }
}

/// Who acts on a live hearing from either side: a portal account (session cookie), or else an
/// invitee (`Authorization: Bearer TOKEN`), e.g. the presiding judge pausing the recording or
/// locking the camera from the bench. What each may do is still the permission table's call.
#[derive(Debug, Clone)]
pub enum Operator {
    /// A logged-in account.
    Account(Clerk),
    /// An invited person.
    Invitee(Invitee),
}

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Clerk::from_request_parts(parts, state).await {
            Ok(clerk) => Ok(Operator::Account(clerk)),
            Err(ApiError::Unauthenticated) if parts.headers.contains_key(header::AUTHORIZATION) => {
                Invitee::from_request_parts(parts, state)
                    .await
                    .map(Operator::Invitee)
            }
            Err(e) => Err(e),
        }
    }
}

/// An invited person, authenticated by `Authorization: Bearer TOKEN` and checked against the
/// store (the invitation must exist and not be revoked).
#[derive(Debug, Clone)]
pub struct Invitee(pub Claims);

impl FromRequestParts<AppState> for Invitee {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Invitee(state.check_token(token.trim()).await?))
    }
}

impl Invitee {
    /// How the audit trail and the manifest name them.
    pub fn actor(&self) -> String {
        format!("invitee:{} ({})", self.0.inv, self.0.role)
    }

    /// Checks the permission table for `action` on hearing `id` (refusals are audited; an
    /// invitee may act only on the hearing of their invitation).
    pub async fn authorize(
        &self,
        state: &AppState,
        action: Action,
        id: &str,
    ) -> Result<(), ApiError> {
        let who = Principal::Invitee {
            role: self.0.role,
            hearing: &self.0.hearing,
        };
        state.authorize(&who, &self.actor(), action, Some(id)).await
    }
}

impl Operator {
    /// How the audit trail and the manifest name them.
    pub fn actor(&self) -> String {
        match self {
            Operator::Account(c) => c.actor(),
            Operator::Invitee(i) => i.actor(),
        }
    }

    /// Checks the permission table for `action` on hearing `id` (refusals are audited).
    pub async fn authorize(
        &self,
        state: &AppState,
        action: Action,
        id: &str,
    ) -> Result<(), ApiError> {
        match self {
            Operator::Account(c) => c.authorize(state, action, Some(id)).await,
            Operator::Invitee(i) => i.authorize(state, action, id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn cookie_is_httponly_samesite_and_secure_only_over_tls() {
        let c = session_cookie(Some("abc"), false);
        assert!(c.starts_with("courtroom_session=abc;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(!c.contains("Secure"));
        assert!(session_cookie(Some("abc"), true).ends_with("; Secure"));
        assert!(session_cookie(None, false).contains("Max-Age=0"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=b; courtroom_session=tok; c=d".parse().unwrap(),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("tok"));
    }
}
