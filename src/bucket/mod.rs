//! Object storage for recordings: an S3-compatible bucket (or, for tests, memory) through the
//! `object_store` crate, with the two kinds of write the evidence needs.
//!
//! - **Create-only** ([`Bucket::put_new`]): `If-None-Match: *`. Segments, originals and
//!   time-stamp tokens never change once sealed, so a second write of the same name is refused
//!   by the store, whoever sends it.
//! - **Conditional update** ([`Bucket::put_over`]): `If-Match: <ETag>` of the version the writer
//!   last saw (or create-only when it saw none). Manifests and their signatures change as
//!   segments close; a writer whose view is stale (a fenced owner) is refused.
//!
//! [`spool`] moves sealed files from a node's recording folders to the bucket as they are made.

pub mod spool;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

pub use self::spool::{Spool, SpoolStatus, WriteGate};

/// Errors from the bucket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BucketError {
    /// The bucket's settings are wrong (a bad URL, a missing name).
    #[error("bucket settings: {0}")]
    Config(String),
    /// A create-only write found the object there already, with other content.
    #[error("{0} already exists in the bucket with other content")]
    Exists(String),
    /// A conditional write found another version than the one expected: someone else wrote.
    #[error("{0} was changed in the bucket by another writer")]
    Conflict(String),
    /// No such object.
    #[error("{0} is not in the bucket")]
    NotFound(String),
    /// The store could not be reached or failed.
    #[error("bucket unavailable: {0}")]
    Unavailable(String),
}

impl From<object_store::Error> for BucketError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => BucketError::NotFound(path),
            object_store::Error::AlreadyExists { path, .. } => BucketError::Exists(path),
            object_store::Error::Precondition { path, .. } => BucketError::Conflict(path),
            other => BucketError::Unavailable(other.to_string()),
        }
    }
}

/// How to reach the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSettings {
    /// `s3://BUCKET[/PREFIX]`, or `memory://` (tests).
    pub url: String,
    /// The S3 endpoint, e.g. `http://127.0.0.1:8333`; empty for AWS itself.
    pub endpoint: String,
    /// The region (`us-east-1` when the store does not care).
    pub region: String,
    /// Access key id; empty: `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// Secret key; empty: `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A version of an object, for a later conditional update.
pub type Version = UpdateVersion;

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key, relative to the bucket's prefix.
    pub key: String,
    /// Its size.
    pub size: u64,
    /// When it was last written.
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

/// A bucket with a key prefix. Cheap to clone.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    description: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl Bucket {
    /// Opens the bucket the settings name.
    pub fn open(s: &BucketSettings) -> Result<Self, BucketError> {
        if s.url == "memory://" || s.url.starts_with("memory:") {
            return Ok(Self::memory());
        }
        let rest = s.url.strip_prefix("s3://").ok_or_else(|| {
            BucketError::Config(format!(
                "storage.url {:?}: expected s3://BUCKET[/PREFIX]",
                s.url
            ))
        })?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if name.is_empty() {
            return Err(BucketError::Config(format!(
                "storage.url {:?} names no bucket",
                s.url
            )));
        }
        let env = |v: &str, var: &str| {
            if v.is_empty() {
                std::env::var(var).unwrap_or_default()
            } else {
                v.to_owned()
            }
        };
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(name)
            .with_region(if s.region.is_empty() {
                "us-east-1"
            } else {
                &s.region
            })
            .with_access_key_id(env(&s.access_key_id, "AWS_ACCESS_KEY_ID"))
            .with_secret_access_key(env(&s.secret_access_key, "AWS_SECRET_ACCESS_KEY"))
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
            .with_retry(object_store::RetryConfig {
                max_retries: 2,
                retry_timeout: s.timeout,
                ..Default::default()
            })
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_timeout(s.timeout)
                    .with_connect_timeout(Duration::from_secs(3)),
            );
        if !s.endpoint.is_empty() {
            b = b
                .with_endpoint(&s.endpoint)
                .with_allow_http(s.endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = b.build().map_err(|e| BucketError::Config(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
            description: format!("Bucket({})", s.url),
        })
    }

    /// A bucket in memory, for tests.
    pub fn memory() -> Self {
        Self {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: String::new(),
            description: "Bucket(memory://)".into(),
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn relative(&self, path: &ObjectPath) -> String {
        let full = path.as_ref();
        if self.prefix.is_empty() {
            full.to_owned()
        } else {
            full.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(full)
                .to_owned()
        }
    }

    /// Writes an object that must not exist yet. If it exists with the same size (an earlier
    /// attempt of this same write whose answer was lost), that counts as written.
    pub async fn put_new(&self, key: &str, body: Bytes) -> Result<(), BucketError> {
        let path = self.path(key);
        let len = body.len() as u64;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from_bytes(body), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                let meta = self.store.head(&path).await?;
                if meta.size == len {
                    Ok(())
                } else {
                    Err(BucketError::Exists(key.to_owned()))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes an object over the version `seen` (create-only when `None`). Returns the new
    /// version. [`BucketError::Conflict`] when another writer got there first.
    pub async fn put_over(
        &self,
        key: &str,
        body: Bytes,
        seen: Option<Version>,
    ) -> Result<Version, BucketError> {
        let mode = match seen {
            Some(v) => PutMode::Update(v),
            None => PutMode::Create,
        };
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.path(key), PutPayload::from_bytes(body), opts)
            .await
        {
            Ok(r) => Ok(UpdateVersion {
                e_tag: r.e_tag,
                version: r.version,
            }),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                Err(BucketError::Conflict(key.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads an object whole, with its version.
    pub async fn get(&self, key: &str) -> Result<(Bytes, Version), BucketError> {
        let got = self.store.get(&self.path(key)).await?;
        let version = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        Ok((got.bytes().await?, version))
    }

    /// An object's current version, or `None` when it does not exist.
    pub async fn version(&self, key: &str) -> Result<Option<Version>, BucketError> {
        match self.store.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(UpdateVersion {
                e_tag: meta.e_tag,
                version: meta.version,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under `prefix` (a folder, without the trailing slash), sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, BucketError> {
        use futures::TryStreamExt;
        let under = self.path(prefix);
        let mut out: Vec<Listed> = self
            .store
            .list(Some(&under))
            .map_ok(|m| Listed {
                key: self.relative(&m.location),
                size: m.size,
                last_modified: m.last_modified,
            })
            .try_collect()
            .await?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Whether the bucket answers (a list of one key).
    pub async fn reachable(&self) -> bool {
        self.list("__probe__").await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_only_and_conditional_update() {
        let b = Bucket::memory();
        b.put_new("r/a.mp4", Bytes::from_static(b"abc"))
            .await
            .unwrap();
        // The same bytes again (a retried write) count as written; other bytes are refused.
        b.put_new("r/a.mp4", Bytes::from_static(b"abc"))
            .await
            .unwrap();
        assert!(matches!(
            b.put_new("r/a.mp4", Bytes::from_static(b"abcd")).await,
            Err(BucketError::Exists(_))
        ));
        let v1 = b
            .put_over("r/manifest.json", Bytes::from_static(b"1"), None)
            .await
            .unwrap();
        let v2 = b
            .put_over(
                "r/manifest.json",
                Bytes::from_static(b"2"),
                Some(v1.clone()),
            )
            .await
            .unwrap();
        // A writer holding the old version is refused.
        assert!(matches!(
            b.put_over("r/manifest.json", Bytes::from_static(b"x"), Some(v1))
                .await,
            Err(BucketError::Conflict(_))
        ));
        assert!(matches!(
            b.put_over("r/manifest.json", Bytes::from_static(b"x"), None)
                .await,
            Err(BucketError::Conflict(_))
        ));
        let (body, v) = b.get("r/manifest.json").await.unwrap();
        assert_eq!(&body[..], b"2");
        assert_eq!(v.e_tag, v2.e_tag);
        let listed = b.list("r").await.unwrap();
        assert_eq!(
            listed.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
            ["r/a.mp4", "r/manifest.json"]
        );
        assert!(matches!(
            b.get("r/none").await,
            Err(BucketError::NotFound(_))
        ));
    }
}
