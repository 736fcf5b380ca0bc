//! Signed invitation tokens. The extractor that checks them against the store,
//! [`super::session::Invitee`], lives with the other extractors.
//!
//! A token is `base64url(claims JSON) . base64url(HMAC-SHA256(key, claims))`. The key is made at
//! first start and kept in the data folder, readable by the server's user only. A token is
//! valid when its signature checks, it has not expired, and its invitation still exists and is
//! not revoked.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::hearing::Role;

type HmacSha256 = Hmac<Sha256>;

/// What an invitation token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Invitation id.
    pub inv: String,
    /// Hearing id.
    pub hearing: String,
    /// Role.
    pub role: Role,
    /// Seat id.
    pub seat: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, or the signature does not check.
    #[error("the invitation is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("the invitation has expired")]
    Expired,
}

/// The server's signing keys for invitations: the one that signs, and older ones that still
/// verify (after a rotation). A key with an id (a cluster's, from the database) signs tokens
/// as `BODY.SIG.KID`; the data folder's key, which has none, as `BODY.SIG`.
#[derive(Clone)]
pub struct TokenKey {
    signing: [u8; 32],
    kid: Option<String>,
    older: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            signing: bytes,
            kid: None,
            older: Vec::new(),
        }
    }

    /// Keys with ids: `signing` signs, `older` (retired after a rotation) still verify.
    pub fn ring(signing: (String, [u8; 32]), older: Vec<(String, [u8; 32])>) -> Self {
        Self {
            signing: signing.1,
            kid: Some(signing.0),
            older,
        }
    }

    /// The id of the key that signs, if it has one.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key a token names (or the signing key for a token without a key id).
    fn key_for(&self, kid: Option<&str>) -> Option<&[u8; 32]> {
        match kid {
            None => Some(&self.signing),
            Some(k) if self.kid.as_deref() == Some(k) => Some(&self.signing),
            Some(k) => self
                .older
                .iter()
                .find(|(id, _)| id == k)
                .map(|(_, key)| key),
        }
    }

    /// Loads `DIR/invitation.key`, creating it (mode 0600) at first start.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("invitation.key");
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Self::from_bytes(key));
            }
            return Err(std::io::Error::other(format!(
                "{} is not a 32-byte key",
                path.display()
            )));
        }
        let key: [u8; 32] = rand::random();
        std::fs::create_dir_all(data_dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        use std::io::Write;
        options.open(&path)?.write_all(&key)?;
        Ok(Self::from_bytes(key))
    }

    /// Signs claims into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let mut mac = HmacSha256::new_from_slice(&self.signing).expect("any key length");
        mac.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        match &self.kid {
            Some(kid) => format!("{body}.{sig}.{kid}"),
            None => format!("{body}.{sig}"),
        }
    }

    /// Checks a token's signature and expiry against `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(body), Some(sig), kid, None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let key = self.key_for(kid).ok_or(TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Invalid)?;
        let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
        mac.update(body.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Current Unix time in seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            inv: "i".into(),
            hearing: "h".into(),
            role: Role::Clerk,
            seat: "clerk".into(),
            exp,
        }
    }

    #[test]
    fn signed_token_verifies_and_expires() {
        let key = TokenKey::from_bytes([7; 32]);
        let t = key.sign(&claims(100));
        assert_eq!(key.verify(&t, 99).unwrap(), claims(100));
        assert_eq!(key.verify(&t, 100), Err(TokenError::Expired));
    }

    #[test]
    fn forged_or_tampered_tokens_are_invalid() {
        let key = TokenKey::from_bytes([7; 32]);
        let other = TokenKey::from_bytes([8; 32]);
        let t = key.sign(&claims(100));
        assert_eq!(
            other.verify(&t, 0),
            Err(TokenError::Invalid),
            "signed with another key"
        );
        // Change the role in the body, keep the signature.
        let (_, sig) = t.split_once('.').unwrap();
        let mut c = claims(100);
        c.role = Role::PresidingJudge;
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        assert_eq!(
            key.verify(&format!("{forged_body}.{sig}"), 0),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert_eq!(key.verify(junk, 0), Err(TokenError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn a_rotated_ring_signs_with_the_new_key_and_still_verifies_the_old() {
        let old = TokenKey::ring(("k1".into(), [1; 32]), vec![]);
        let t_old = old.sign(&claims(100));
        assert!(t_old.ends_with(".k1"));
        let rotated = TokenKey::ring(("k2".into(), [2; 32]), vec![("k1".into(), [1; 32])]);
        let t_new = rotated.sign(&claims(100));
        assert!(t_new.ends_with(".k2"));
        assert_eq!(rotated.verify(&t_old, 0).unwrap(), claims(100));
        assert_eq!(rotated.verify(&t_new, 0).unwrap(), claims(100));
        // The old ring does not know k2; a token naming an unknown key id is invalid.
        assert_eq!(old.verify(&t_new, 0), Err(TokenError::Invalid));
        let renamed = t_old.replace(".k1", ".k2");
        assert_eq!(rotated.verify(&renamed, 0), Err(TokenError::Invalid));
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenKey::load_or_create(dir.path()).unwrap();
        let b = TokenKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.signing, b.signing);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("invitation.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
