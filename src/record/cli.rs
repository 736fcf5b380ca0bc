//! `courtroom verify DIR [--public-key FILE | --server URL] [--trusted-keys FILE] [--data DIR]
//! [--tsa-ca-file FILE]`: checks every recording at or under `DIR` and prints `OK ...` or
//! `FAIL ...` with exactly what is wrong.
//!
//! The key for each recording is the one its manifest's `key_id` names, from the keys given or
//! found ([`super::keyring`]): without flags, the data folder's key, so `verify` run beside the
//! server works out of the box. Each recording's report starts with the key used and where it
//! came from.
//!
//! `DIR` may also be an evidence package (`FILE.zip`, [`super::package`]): it is unpacked into
//! a temporary folder, refusing anything unsafe ([`crate::archive::read`]), and checked as a
//! folder, with the package's own key when the manifest names its key id (and saying so),
//! unless keys were given on purpose (`--public-key`, `--server`, `--trusted-keys`). A
//! zip entry whose CRC-32 does not match its bytes fails, as does the audit-trail excerpt
//! when an entry's hash does not check.
//!
//! Exit status: 0 when every recording verifies, 1 when any does not (an unknown key
//! included), 2 when the command cannot run (no recording found, a key file unreadable, a
//! zip that is not one or holds an unsafe entry).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::keyring::{KeySource, Keyring};
use super::package;
use super::sign::PublicKey;
use super::verify::{find_recordings, verify_dir_keyed, VerifyOptions};

pub use super::keyring::DEFAULT_DATA_DIR;

/// Options of `courtroom verify`.
#[derive(clap::Args, Clone, Debug)]
pub struct VerifyArgs {
    /// A recording folder (holding `manifest.json`), a folder above several, or an evidence
    /// package (`FILE.zip`, from `courtroom export`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The server's public key: PEM (as `GET /api/keys` serves it), base64 of the raw 32
    /// bytes, or the raw 32 bytes.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    pub public_key: Option<PathBuf>,
    /// Fetch the public key from a running server, e.g. `http://127.0.0.1:8080`.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// A file of trusted court keys: one PEM public key per key id (other lines, such as
    /// comments naming the court, are ignored). Each recording is checked with the key its
    /// manifest names.
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,
    /// The server's data folder: the public half of its `recording-signing.key` is trusted
    /// (read, never made). Default: the server's, `COURTROOM_DATA_DIR` or `./data`.
    #[arg(long, value_name = "DIR", env = "COURTROOM_DATA_DIR")]
    pub data: Option<PathBuf>,
    /// The RFC 3161 TSA's CA certificate (PEM): time-stamp tokens are checked against it with
    /// `openssl ts -verify`; without it only their signatures are.
    #[arg(long, value_name = "FILE", env = "COURTROOM_RECORD__TSA_CA_FILE")]
    pub tsa_ca_file: Option<PathBuf>,
    /// With `DIR` an `s3://BUCKET/PREFIX` address: the S3 endpoint (credentials from
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
    #[arg(long, value_name = "URL", env = "COURTROOM_STORAGE__ENDPOINT")]
    pub endpoint: Option<String>,
}

/// Gathers the keys `args` gives or points at ([`super::keyring`]).
pub fn keyring(args: &VerifyArgs) -> Result<Keyring, String> {
    let mut ring = Keyring::new();
    if let Some(file) = &args.public_key {
        let keys = std::fs::read(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
            .and_then(|bytes| PublicKey::parse_all(&bytes).map_err(|e| e.to_string()))?;
        ring.add(keys, KeySource::PublicKeyFile(file.clone()));
    }
    if let Some(url) = &args.server {
        let keys = PublicKey::fetch_all(url).map_err(|e| e.to_string())?;
        ring.add(keys, KeySource::Server(url.clone()));
    }
    if let Some(file) = &args.trusted_keys {
        ring.add_trusted_keys(file).map_err(|e| e.to_string())?;
    }
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    ring.add_data_folder(&data);
    Ok(ring)
}

/// Runs `courtroom verify`.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    let ring = match keyring(args) {
        Ok(ring) => ring,
        Err(e) => {
            eprintln!("courtroom verify: {e}");
            return ExitCode::from(2);
        }
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
    if root.is_file()
        && root
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return verify_package(&root, &ring, args);
    }
    let dirs = find_recordings(&root);
    if dirs.is_empty() {
        eprintln!(
            "courtroom verify: no recording (no manifest.json) at or under {}",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    let failed = dirs
        .iter()
        .filter(|dir| !verify_one(dir, &ring, args, None))
        .count();
    summary(failed, dirs.len())
}

fn summary(failed: usize, of: usize) -> ExitCode {
    if failed > 0 {
        println!("{failed} of {of} recordings FAILED verification");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Checks the recording in `dir` with the key its manifest names and prints the report
/// (headed `shown` instead of the folder when given); returns whether it verified.
fn verify_one(dir: &Path, ring: &Keyring, args: &VerifyArgs, shown: Option<String>) -> bool {
    let options = VerifyOptions {
        tsa_ca_file: args.tsa_ca_file.clone(),
    };
    let key = ring.choose(named_key_id(dir).as_deref()).map(|chosen| {
        println!("key {} from {}", chosen.key.key_id(), chosen.source);
        chosen.key
    });
    let mut report = verify_dir_keyed(dir, key, &options);
    if let Some(shown) = shown {
        report.dir = PathBuf::from(shown);
    }
    print!("{}", report.render());
    report.ok()
}

/// `courtroom verify FILE.zip`: unpacks the package into a temporary folder and checks each
/// recording in it, with the package's key added for the key id its manifest names unless
/// keys were given on purpose (`--public-key`, `--server`, `--trusted-keys`), and the
/// audit-trail excerpt beside it.
fn verify_package(zip: &Path, ring: &Keyring, args: &VerifyArgs) -> ExitCode {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("courtroom verify: a temporary folder: {e}");
            return ExitCode::from(2);
        }
    };
    let unpacked = match crate::archive::unpack(zip, tmp.path(), &crate::archive::Limits::default())
    {
        Ok(u) => u,
        Err(e) => {
            eprintln!("courtroom verify: {}: {e}", zip.display());
            return ExitCode::from(2);
        }
    };
    println!(
        "unpacked {} files from {}",
        unpacked.files.len(),
        zip.display()
    );
    let mut failed = 0;
    for name in &unpacked.crc_mismatches {
        println!(
            "FAIL {}: entry {name}: its bytes do not match the CRC-32 the zip records for              them (changed after packing)",
            zip.display()
        );
    }
    // Keys given on purpose are the ones to check with: a package's own key (which whoever
    // made the package chose) never stands in for them.
    let given = args.public_key.is_some() || args.server.is_some() || args.trusted_keys.is_some();
    let dirs = find_recordings(tmp.path());
    if dirs.is_empty() {
        eprintln!(
            "courtroom verify: {}: no recording (no manifest.json) in it",
            zip.display()
        );
        return ExitCode::from(2);
    }
    for dir in &dirs {
        let rel = dir.strip_prefix(tmp.path()).unwrap_or(dir);
        let shown = format!("{}:{}", zip.display(), rel.display());
        let mut ring = ring.clone();
        let folder = dir.parent().unwrap_or(dir);
        let key_file = folder.join(package::KEY_FILE);
        if given {
            println!(
                "the package's {} is not used: keys were given",
                package::KEY_FILE
            );
        } else if let Ok(bytes) = std::fs::read(&key_file) {
            match PublicKey::parse_all(&bytes) {
                Ok(keys) => {
                    let name = key_file.strip_prefix(tmp.path()).unwrap_or(&key_file);
                    ring.add(keys, KeySource::Package(name.display().to_string()));
                }
                Err(e) => println!("  warning: {}: {e}", package::KEY_FILE),
            }
        }
        let mut ok = verify_one(dir, &ring, args, Some(shown.clone()));
        match std::fs::read_to_string(folder.join(package::AUDIT_FILE)) {
            Ok(text) => match package::audit::check_excerpt(&text) {
                Ok(c) => println!(
                    "OK {shown}: audit trail {}: {} entries{}, every hash checks, {} links",
                    package::AUDIT_FILE,
                    c.entries,
                    c.seqs
                        .map(|(a, b)| format!(" (seq {a} to {b})"))
                        .unwrap_or_default(),
                    c.links
                ),
                Err(e) => {
                    println!("FAIL {shown}: audit trail {}: {e}", package::AUDIT_FILE);
                    ok = false;
                }
            },
            Err(_) => println!(
                "  warning: no {} beside the recording (not an evidence package?)",
                package::AUDIT_FILE
            ),
        }
        if !ok {
            failed += 1;
        }
    }
    if !unpacked.crc_mismatches.is_empty() {
        failed = failed.max(1);
    }
    summary(failed, dirs.len())
}

/// The key id the manifest in `dir` names, if it names one (read loosely: a manifest that
/// does not parse is reported by the check itself).
fn named_key_id(dir: &Path) -> Option<String> {
    std::fs::read(dir.join(super::manifest::MANIFEST_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m.get("key_id").and_then(|k| k.as_str()).map(str::to_owned))
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
