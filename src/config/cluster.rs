//! Settings of the cluster (`[cluster]`) and of object storage for recordings (`[storage]`).

use serde::Deserialize;

use super::ConfigError;

/// The cluster: several nodes sharing one PostgreSQL database.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// Place hearings through the database (needs `database_url = "postgres://..."`). Off:
    /// this node runs every hearing itself (the embedded default).
    pub enabled: bool,
    /// This node's name in the registry; empty: the host name. A random suffix is added per
    /// process start, so a restarted node never mistakes its old leases for its own.
    pub node_id: String,
    /// Hearings this node takes at most; 0: `capacity.hearings` (one per two CPU cores).
    pub capacity: u32,
    /// How long a lease lasts without renewal, in seconds. A dead node's hearings move after
    /// this long; the owner renews every third of it and stops by itself a fifth before.
    pub lease_ttl_seconds: u32,
    /// How often this node tells the registry it lives, in seconds.
    pub heartbeat_seconds: u32,
    /// After SIGTERM, how long hearings may go on before they are handed to other nodes.
    pub drain_deadline_seconds: u32,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            node_id: String::new(),
            capacity: 0,
            lease_ttl_seconds: 10,
            heartbeat_seconds: 2,
            drain_deadline_seconds: 600,
        }
    }
}

/// Object storage for recordings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `s3://BUCKET[/PREFIX]`; empty (the default): recordings stay in the data folder.
    pub url: String,
    /// The S3 endpoint, such as `http://127.0.0.1:8333`; empty for AWS S3.
    pub endpoint: String,
    /// The bucket's region.
    pub region: String,
    /// Access key id; empty: the `AWS_ACCESS_KEY_ID` environment variable.
    pub access_key_id: String,
    /// Secret access key; empty: `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// Sealed files waiting for the bucket may take this much of the local disk, in MiB;
    /// past it the node takes no new hearings (running ones go on and keep their files).
    pub spool_limit_mb: u64,
    /// One request's timeout, in seconds.
    pub timeout_seconds: u32,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            endpoint: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            spool_limit_mb: 2048,
            timeout_seconds: 30,
        }
    }
}

/// Checks the two sections against each other and the database URL.
pub(super) fn validate(
    cluster: &ClusterSettings,
    storage: &StorageSettings,
    database_url: Option<&str>,
) -> Result<(), ConfigError> {
    if cluster.enabled
        && !database_url
            .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        return Err(ConfigError::Invalid(
            "cluster.enabled needs database_url = \"postgres://...\": the cluster's nodes share one PostgreSQL database".into(),
        ));
    }
    if !(2..=600).contains(&cluster.lease_ttl_seconds) {
        return Err(ConfigError::Invalid(format!(
            "cluster.lease_ttl_seconds {} must be 2..=600",
            cluster.lease_ttl_seconds
        )));
    }
    if cluster.heartbeat_seconds == 0 || cluster.heartbeat_seconds >= cluster.lease_ttl_seconds {
        return Err(ConfigError::Invalid(format!(
            "cluster.heartbeat_seconds {} must be at least 1 and below the lease TTL",
            cluster.heartbeat_seconds
        )));
    }
    if !cluster
        .node_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(ConfigError::Invalid(format!(
            "cluster.node_id {:?} may hold only letters, digits, '-', '_' and '.'",
            cluster.node_id
        )));
    }
    if !storage.url.is_empty() && !storage.url.starts_with("s3://") {
        return Err(ConfigError::Invalid(format!(
            "storage.url {:?} must be empty (recordings stay local) or s3://BUCKET[/PREFIX]",
            storage.url
        )));
    }
    if cluster.enabled && storage.url.is_empty() {
        return Err(ConfigError::Invalid(
            "cluster.enabled needs storage.url = \"s3://...\": a hearing's recording must outlive its node".into(),
        ));
    }
    if !(1..=600).contains(&storage.timeout_seconds) {
        return Err(ConfigError::Invalid(format!(
            "storage.timeout_seconds {} must be 1..=600",
            storage.timeout_seconds
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Settings, Sources};

    fn load(sets: &[&str]) -> Result<Settings, super::ConfigError> {
        Settings::load_with_env(
            &Sources {
                file: None,
                sets: sets.iter().map(|s| s.to_string()).collect(),
            },
            Vec::new(),
        )
    }

    #[test]
    fn a_cluster_needs_postgres_and_a_bucket() {
        let err = load(&["cluster.enabled=true"]).unwrap_err();
        assert!(err.to_string().contains("postgres"), "{err}");
        let err = load(&["cluster.enabled=true", "database_url=postgres://u@h/db"]).unwrap_err();
        assert!(err.to_string().contains("storage.url"), "{err}");
        let s = load(&[
            "cluster.enabled=true",
            "database_url=postgres://u@h/db",
            "storage.url=s3://courtroom/x",
            "storage.endpoint=http://127.0.0.1:8333",
        ])
        .unwrap();
        assert!(s.cluster.enabled);
        assert_eq!(s.storage.url, "s3://courtroom/x");
        assert!(load(&["storage.url=/tmp/x"]).is_err());
        assert!(load(&["cluster.lease_ttl_seconds=1"]).is_err());
        assert!(load(&["cluster.heartbeat_seconds=10"]).is_err());
        assert!(load(&["cluster.node_id=../x"]).is_err());
    }
}
