//! The recording signing key: Ed25519, made at first start, kept in the data folder.
//!
//! - Private half: `DATA/recording-signing.key`, the raw 32-byte seed, mode 0600.
//! - Public half: PEM (`-----BEGIN PUBLIC KEY-----`, an X.509 SubjectPublicKeyInfo), served at
//!   `GET /api/keys` and read by `openssl pkey -pubin`.
//! - Signatures: detached, the raw 64 bytes of an Ed25519 signature over the exact bytes of
//!   `manifest.json`, in `manifest.json.sig`.
//! - Key id: the first 16 hex digits of the SHA-256 of the raw 32-byte public key.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::RecordError;

/// File name of the private key inside the data folder.
pub const KEY_FILE: &str = "recording-signing.key";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The server's recording signing key.
pub struct RecordingKey {
    key: SigningKey,
}

impl std::fmt::Debug for RecordingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordingKey({})", self.public().key_id())
    }
}

impl RecordingKey {
    /// The key with this 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The 32-byte seed (to store it).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// A fresh random key (tests, or before writing it).
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// Reads `DATA/recording-signing.key`, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, RecordError> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let seed = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    RecordError::Key(format!("{} is not a 32-byte seed", path.display()))
                })?;
                return Ok(Self {
                    key: SigningKey::from_bytes(&seed),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        std::fs::create_dir_all(data_dir)?;
        let fresh = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut f) => {
                f.write_all(&fresh.key.to_bytes())?;
                f.sync_all()?;
                tracing::info!(key_id = %fresh.public().key_id(), path = %path.display(), "made the recording signing key");
                Ok(fresh)
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::load_or_create(data_dir)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// Signs `message`: 64 raw bytes.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// An Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// First 16 hex digits of the SHA-256 of the raw key.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.to_bytes());
        crate::digest::hex(&digest[..8])
    }

    /// PEM SubjectPublicKeyInfo, as `openssl pkey -pubin` reads it.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0.to_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    /// Parses a PEM public key, the base64 of the raw 32 bytes, or the raw 32 bytes.
    pub fn parse(input: &[u8]) -> Result<Self, RecordError> {
        let bad = |why: &str| RecordError::Key(format!("not an Ed25519 public key: {why}"));
        let raw: Vec<u8> = if input.len() == 32 {
            input.to_vec()
        } else {
            let text = std::str::from_utf8(input).map_err(|_| bad("not text"))?;
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .join("");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .map_err(|_| bad("not base64"))?;
            if bytes.len() == SPKI_PREFIX.len() + 32 && bytes.starts_with(&SPKI_PREFIX) {
                bytes[SPKI_PREFIX.len()..].to_vec()
            } else if bytes.len() == 32 {
                bytes
            } else {
                return Err(bad("wrong length or algorithm"));
            }
        };
        let arr = <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| bad("wrong length"))?;
        VerifyingKey::from_bytes(&arr)
            .map(Self)
            .map_err(|_| bad("not a curve point"))
    }

    /// Parses every key in `input`: several PEM blocks one after another (as `GET /api/keys`
    /// serves a cluster's keys, newest first), or one key in any form [`PublicKey::parse`]
    /// takes.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Self>, RecordError> {
        let text = String::from_utf8_lossy(input);
        let blocks: Vec<String> = text
            .split("-----END PUBLIC KEY-----")
            .filter(|b| b.contains("-----BEGIN PUBLIC KEY-----"))
            .map(|b| format!("{}-----END PUBLIC KEY-----\n", b.trim_start()))
            .collect();
        if blocks.len() <= 1 {
            return Ok(vec![Self::parse(input)?]);
        }
        blocks.iter().map(|b| Self::parse(b.as_bytes())).collect()
    }

    /// Whether `signature` (64 raw bytes) signs `message` under this key (strict RFC 8032).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.0
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
    }

    /// Fetches a server's key from `http://HOST:PORT/api/keys` (plain HTTP only; `URL` may be
    /// the server's base or the full `/api/keys` address).
    pub fn fetch(url: &str) -> Result<Self, RecordError> {
        Ok(Self::fetch_all(url)?.remove(0))
    }

    /// Every key a server serves at `/api/keys` (a cluster serves each key that signed a
    /// recording it keeps, newest first).
    pub fn fetch_all(url: &str) -> Result<Vec<Self>, RecordError> {
        let bad = |why: String| RecordError::Key(format!("cannot fetch the key from {url}: {why}"));
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// URLs are supported".into()))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = if path.ends_with("/api/keys") {
            path.to_owned()
        } else {
            format!("{}/api/keys", path.trim_end_matches('/'))
        };
        let mut stream = std::net::TcpStream::connect(host).map_err(|e| bad(e.to_string()))?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .map_err(|e| bad(e.to_string()))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| bad(e.to_string()))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| bad(e.to_string()))?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| bad("malformed HTTP response".into()))?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return Err(bad(head.lines().next().unwrap_or("").to_owned()));
        }
        Self::parse_all(body.trim().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_made_once_with_0600_and_signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let a = RecordingKey::load_or_create(dir.path()).unwrap();
        let b = RecordingKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.public(), b.public(), "second start reads the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sig = a.sign(b"manifest");
        assert!(a.public().verify(b"manifest", &sig));
        assert!(!a.public().verify(b"manifesT", &sig));
        let other = RecordingKey::generate();
        assert!(!other.public().verify(b"manifest", &sig));
    }

    #[test]
    fn pem_round_trips_and_openssl_reads_it() {
        let key = RecordingKey::generate();
        let pem = key.public().to_pem();
        assert_eq!(PublicKey::parse(pem.as_bytes()).unwrap(), key.public());
        assert_eq!(
            PublicKey::parse(&key.public().to_bytes()).unwrap(),
            key.public()
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.public().to_bytes());
        assert_eq!(PublicKey::parse(b64.as_bytes()).unwrap(), key.public());
        assert!(PublicKey::parse(b"hello").is_err());
        // openssl verifies our detached signature with our PEM, when it is installed.
        let dir = tempfile::tempdir().unwrap();
        let (msg, sig, pem_path) = (
            dir.path().join("m"),
            dir.path().join("m.sig"),
            dir.path().join("k.pem"),
        );
        std::fs::write(&msg, b"some manifest bytes").unwrap();
        std::fs::write(&sig, key.sign(b"some manifest bytes")).unwrap();
        std::fs::write(&pem_path, &pem).unwrap();
        let Ok(out) = std::process::Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(&pem_path)
            .arg("-in")
            .arg(&msg)
            .arg("-sigfile")
            .arg(&sig)
            .output()
        else {
            return;
        };
        assert!(
            out.status.success(),
            "openssl: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
