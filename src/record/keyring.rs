//! The keys `courtroom verify` may check a recording's signature with, and where each came
//! from.
//!
//! A manifest names the key that signed it (`key_id`, the first 16 hex digits of the SHA-256
//! of the raw public key). `verify` gathers keys from what it is given and from what it finds:
//! - `--public-key FILE` and `--server URL` (the court's keys, given on purpose);
//! - `--trusted-keys FILE`: one PEM block per key id, with any other lines (comments) ignored;
//! - the data folder (`--data DIR`, default the server's: `COURTROOM_DATA_DIR` or `./data`):
//!   the public half of its `recording-signing.key`, read, never made.
//!
//! For each recording it uses the key its `key_id` names and says where that key came from. A
//! `key_id` none of them has is an error that says what to pass. A manifest without `key_id`
//! (written before manifests named their key) needs a key given on purpose.

use std::path::{Path, PathBuf};

use super::sign::{PublicKey, RecordingKey, KEY_FILE};
use super::RecordError;

/// The data folder when `--data` is not given: the server's default.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// Where a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `--public-key FILE`.
    PublicKeyFile(PathBuf),
    /// `--server URL` (its `GET /api/keys`).
    Server(String),
    /// `--trusted-keys FILE`.
    TrustedKeys(PathBuf),
    /// The data folder's signing key (`DATA/recording-signing.key`).
    DataFolder(PathBuf),
    /// An evidence package's own key file (its name inside the package), used only for the
    /// key id the manifest names.
    Package(String),
}

impl KeySource {
    /// Whether the key was given on purpose (`--public-key`, `--server`).
    pub fn is_explicit(&self) -> bool {
        matches!(self, Self::PublicKeyFile(_) | Self::Server(_))
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PublicKeyFile(p) => write!(f, "--public-key {}", p.display()),
            Self::Server(url) => write!(f, "--server {url}"),
            Self::TrustedKeys(p) => write!(f, "the trusted-keys file {}", p.display()),
            Self::DataFolder(p) => write!(f, "the data folder's signing key {}", p.display()),
            Self::Package(name) => write!(
                f,
                "the package's {name} (key ID from the package: check it is the court's own)"
            ),
        }
    }
}

/// The keys gathered, with their sources, and what was looked at without finding one.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<(PublicKey, KeySource)>,
    /// Places looked at that gave no key, and why (for the unknown-key error).
    misses: Vec<String>,
}

/// The key chosen for one recording.
#[derive(Debug, Clone, Copy)]
pub struct Chosen<'a> {
    /// The key.
    pub key: &'a PublicKey,
    /// Where it came from.
    pub source: &'a KeySource,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `keys`, all from `source`.
    pub fn add(&mut self, keys: Vec<PublicKey>, source: KeySource) {
        for key in keys {
            self.keys.push((key, source.clone()));
        }
    }

    /// Notes a place looked at that gave no key.
    pub fn miss(&mut self, why: impl Into<String>) {
        self.misses.push(why.into());
    }

    /// Every key, in the order added.
    pub fn keys(&self) -> impl Iterator<Item = (&PublicKey, &KeySource)> {
        self.keys.iter().map(|(k, s)| (k, s))
    }

    /// Adds the public half of `data_dir`'s signing key, if it has one; notes why not
    /// otherwise. Never makes a key.
    pub fn add_data_folder(&mut self, data_dir: &Path) {
        let path = data_dir.join(KEY_FILE);
        match read_seed(&path) {
            Ok(key) => self.add(vec![key.public()], KeySource::DataFolder(path)),
            Err(why) => self.miss(why),
        }
    }

    /// Adds every key in the trusted-keys file at `path`.
    pub fn add_trusted_keys(&mut self, path: &Path) -> Result<(), RecordError> {
        let bytes = std::fs::read(path).map_err(|e| {
            RecordError::Key(format!(
                "cannot read the trusted-keys file {}: {e}",
                path.display()
            ))
        })?;
        let keys = parse_trusted_keys(&bytes)
            .map_err(|e| RecordError::Key(format!("trusted-keys file {}: {e}", path.display())))?;
        self.add(keys, KeySource::TrustedKeys(path.to_owned()));
        Ok(())
    }

    /// The key for a manifest whose `key_id` is `key_id`, or why there is none.
    ///
    /// A named key is looked for among all keys. Keys given on purpose are used even when
    /// none matches (the report then says the key does not match), so a wrong key is
    /// reported as such. A manifest that names no key is checked with the first key given on
    /// purpose.
    pub fn choose(&self, key_id: Option<&str>) -> Result<Chosen<'_>, String> {
        let explicit = self.keys.iter().find(|(_, s)| s.is_explicit());
        let chosen = match key_id {
            Some(id) => self
                .keys
                .iter()
                .find(|(k, _)| k.key_id() == id)
                .or(explicit),
            None => explicit,
        };
        if let Some((key, source)) = chosen {
            return Ok(Chosen { key, source });
        }
        let mut searched: Vec<String> = self
            .keys
            .iter()
            .map(|(k, s)| format!("key {} from {s}", k.key_id()))
            .collect();
        searched.extend(self.misses.iter().cloned());
        let searched = if searched.is_empty() {
            "no key was found".to_owned()
        } else {
            format!("searched: {}", searched.join("; "))
        };
        let what = match key_id {
            Some(id) => format!("signed by key {id}, which is unknown here"),
            None => {
                "names no key (field key_id; written before manifests named their key)".to_owned()
            }
        };
        Err(format!(
            "{what} ({searched}); pass the court's public key: --public-key FILE (as GET /api/keys \
             on the court's server serves it), --server URL, --trusted-keys FILE (one PEM per key \
             id), or --data DIR (the server's data folder)"
        ))
    }
}

/// The signing key in the file at `path` (a 32-byte seed), read only.
fn read_seed(path: &Path) -> Result<RecordingKey, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{}: not a 32-byte seed", path.display()))?;
    Ok(RecordingKey::from_seed(seed))
}

/// Every PEM public key in `input`: the text between each `-----BEGIN PUBLIC KEY-----` and
/// `-----END PUBLIC KEY-----` line; every other line (a comment naming the court, say) is
/// ignored. At least one is required.
pub fn parse_trusted_keys(input: &[u8]) -> Result<Vec<PublicKey>, RecordError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| RecordError::Key("not text (expected PEM blocks)".into()))?;
    let mut keys = Vec::new();
    let mut block: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        match (&mut block, line) {
            (None, "-----BEGIN PUBLIC KEY-----") => block = Some(format!("{line}\n")),
            (Some(b), "-----END PUBLIC KEY-----") => {
                b.push_str(line);
                let key = PublicKey::parse(b.as_bytes()).map_err(|e| {
                    RecordError::Key(format!("the PEM block ending on line {}: {e}", n + 1))
                })?;
                keys.push(key);
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    if block.is_some() {
        return Err(RecordError::Key("a PEM block has no END line".into()));
    }
    if keys.is_empty() {
        return Err(RecordError::Key(
            "no -----BEGIN PUBLIC KEY----- block".into(),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_keys_are_pem_blocks_with_comments_between() {
        let a = RecordingKey::generate().public();
        let b = RecordingKey::generate().public();
        let file = format!(
            "# Court A, since 2026-01\n{}\n# Court B\n{}trailing words\n",
            a.to_pem(),
            b.to_pem()
        );
        let keys = parse_trusted_keys(file.as_bytes()).unwrap();
        assert_eq!(keys, vec![a, b]);
        assert!(parse_trusted_keys(b"# nothing here\n").is_err());
        let torn = a.to_pem().replace("-----END PUBLIC KEY-----\n", "");
        assert!(parse_trusted_keys(torn.as_bytes()).is_err());
    }

    #[test]
    fn the_named_key_is_chosen_and_an_unknown_one_says_what_to_pass() {
        let court = RecordingKey::generate().public();
        let other = RecordingKey::generate().public();
        let mut ring = Keyring::new();
        ring.add(vec![other], KeySource::TrustedKeys("trusted.pem".into()));
        ring.add(vec![court], KeySource::DataFolder("data/k".into()));
        let chosen = ring.choose(Some(&court.key_id())).unwrap();
        assert_eq!(*chosen.key, court);
        assert_eq!(chosen.source, &KeySource::DataFolder("data/k".into()));

        let stranger = RecordingKey::generate().public();
        let err = ring.choose(Some(&stranger.key_id())).unwrap_err();
        assert!(err.contains(&stranger.key_id()), "{err}");
        assert!(
            err.contains("--public-key FILE") && err.contains("--trusted-keys"),
            "{err}"
        );
        assert!(
            err.contains(&court.key_id()),
            "says what was searched: {err}"
        );
        // An old manifest without key_id needs a key given on purpose.
        assert!(ring.choose(None).is_err());

        // A key given on purpose is used even when it is not the named one (the report then
        // says they differ), and for a manifest that names none.
        ring.add(vec![other], KeySource::PublicKeyFile("court.pem".into()));
        assert_eq!(*ring.choose(Some(&stranger.key_id())).unwrap().key, other);
        assert_eq!(*ring.choose(None).unwrap().key, other);
        assert_eq!(*ring.choose(Some(&court.key_id())).unwrap().key, court);
    }

    #[test]
    fn a_data_folder_key_is_read_never_made() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = Keyring::new();
        ring.add_data_folder(dir.path());
        assert_eq!(ring.keys().count(), 0);
        assert!(!dir.path().join(KEY_FILE).exists(), "not made");
        let err = ring.choose(Some("0011223344556677")).unwrap_err();
        assert!(err.contains(KEY_FILE), "says where it looked: {err}");

        let key = RecordingKey::load_or_create(dir.path()).unwrap();
        let mut ring = Keyring::new();
        ring.add_data_folder(dir.path());
        let chosen = ring.choose(Some(&key.public().key_id())).unwrap();
        assert_eq!(*chosen.key, key.public());
        assert!(chosen.source.to_string().contains(KEY_FILE));
    }
}
