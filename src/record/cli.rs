//! `courtroom verify DIR [--public-key FILE | --server URL] [--tsa-ca-file FILE]`: checks
//! every recording at or under `DIR` and prints `OK ...` or `FAIL ...` with exactly what is
//! wrong.
//!
//! Exit status: 0 when every recording verifies, 1 when any does not, 2 when the command
//! cannot run (no recording found, no usable key).

use std::path::PathBuf;
use std::process::ExitCode;

use super::sign::PublicKey;
use super::verify::{find_recordings, verify_dir_with, VerifyOptions};

/// Options of `courtroom verify`.
#[derive(clap::Args, Clone, Debug)]
pub struct VerifyArgs {
    /// A recording folder (holding `manifest.json`), or a folder above several.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The server's public key: PEM (as `GET /api/keys` serves it), base64 of the raw 32
    /// bytes, or the raw 32 bytes.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    pub public_key: Option<PathBuf>,
    /// Fetch the public key from a running server, e.g. `http://127.0.0.1:8080`.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The RFC 3161 TSA's CA certificate (PEM): time-stamp tokens are checked against it with
    /// `openssl ts -verify`; without it only their signatures are.
    #[arg(long, value_name = "FILE", env = "COURTROOM_RECORD__TSA_CA_FILE")]
    pub tsa_ca_file: Option<PathBuf>,
    /// With `DIR` an `s3://BUCKET/PREFIX` address: the S3 endpoint (credentials from
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
    #[arg(long, value_name = "URL", env = "COURTROOM_STORAGE__ENDPOINT")]
    pub endpoint: Option<String>,
}

/// Runs `courtroom verify`.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    let keys = match (&args.public_key, &args.server) {
        (Some(file), _) => match std::fs::read(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
            .and_then(|bytes| PublicKey::parse_all(&bytes).map_err(|e| e.to_string()))
        {
            Ok(k) => k,
            Err(e) => {
                eprintln!("courtroom verify: {e}");
                return ExitCode::from(2);
            }
        },
        (None, Some(url)) => match PublicKey::fetch_all(url) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("courtroom verify: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => Vec::new(),
    };
    // A recording in a bucket is fetched whole into a temporary folder first.
    let fetched;
    let root = match args.dir.to_str().filter(|d| d.starts_with("s3://")) {
        Some(url) => match fetch_from_bucket(url, args.endpoint.as_deref()) {
            Ok(tmp) => {
                fetched = tmp;
                fetched.path().to_owned()
            }
            Err(e) => {
                eprintln!("courtroom verify: {e}");
                return ExitCode::from(2);
            }
        },
        None => args.dir.clone(),
    };
    let dirs = find_recordings(&root);
    if dirs.is_empty() {
        eprintln!(
            "courtroom verify: no recording (no manifest.json) at or under {}",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    for k in &keys {
        println!("key {}", k.key_id());
    }
    let mut failed = 0;
    for dir in &dirs {
        let key = key_for(dir, &keys);
        let report = verify_dir_with(
            dir,
            key,
            &VerifyOptions {
                tsa_ca_file: args.tsa_ca_file.clone(),
            },
        );
        print!("{}", report.render());
        if !report.ok() {
            failed += 1;
        }
    }
    if failed > 0 {
        println!("{failed} of {} recordings FAILED verification", dirs.len());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The key that signed the recording in `dir`: the one its manifest's `key_id` names, else
/// the first given.
fn key_for<'k>(dir: &std::path::Path, keys: &'k [PublicKey]) -> Option<&'k PublicKey> {
    let named = std::fs::read(dir.join(super::manifest::MANIFEST_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m.get("key_id").and_then(|k| k.as_str()).map(str::to_owned));
    named
        .and_then(|id| keys.iter().find(|k| k.key_id() == id))
        .or_else(|| keys.first())
}

/// Downloads every object under `url` (`s3://BUCKET/PREFIX`) into a temporary folder, keeping
/// their paths below the prefix.
fn fetch_from_bucket(url: &str, endpoint: Option<&str>) -> Result<tempfile::TempDir, String> {
    let rest = url.trim_start_matches("s3://");
    let (bucket_name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket = crate::bucket::Bucket::open(&crate::bucket::BucketSettings {
        url: format!("s3://{bucket_name}"),
        endpoint: endpoint.unwrap_or_default().to_owned(),
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        access_key_id: String::new(),
        secret_access_key: String::new(),
        timeout: std::time::Duration::from_secs(60),
    })
    .map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let prefix = prefix.trim_matches('/').to_owned();
    let count = runtime.block_on(async {
        let listed = bucket.list(&prefix).await.map_err(|e| e.to_string())?;
        for obj in &listed {
            let rel = obj
                .key
                .strip_prefix(&prefix)
                .unwrap_or(&obj.key)
                .trim_start_matches('/');
            if rel.split('/').any(|p| p == ".." || p.is_empty()) {
                return Err(format!("refusing the object name {:?}", obj.key));
            }
            let (bytes, _) = bucket.get(&obj.key).await.map_err(|e| e.to_string())?;
            let path = tmp.path().join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
        }
        Ok::<usize, String>(listed.len())
    })?;
    println!("fetched {count} objects from {url}");
    Ok(tmp)
}
