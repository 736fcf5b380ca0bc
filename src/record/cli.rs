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
}

/// Runs `courtroom verify`.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    let key = match (&args.public_key, &args.server) {
        (Some(file), _) => match std::fs::read(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
            .and_then(|bytes| PublicKey::parse(&bytes).map_err(|e| e.to_string()))
        {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("courtroom verify: {e}");
                return ExitCode::from(2);
            }
        },
        (None, Some(url)) => match PublicKey::fetch(url) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("courtroom verify: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => None,
    };
    let dirs = find_recordings(&args.dir);
    if dirs.is_empty() {
        eprintln!(
            "courtroom verify: no recording (no manifest.json) at or under {}",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    if let Some(k) = &key {
        println!("key {}", k.key_id());
    }
    let mut failed = 0;
    for dir in &dirs {
        let report = verify_dir_with(
            dir,
            key.as_ref(),
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
