//! The evidence package: one recording, as a zip a court can hand on.
//!
//! `courtroom export DIR --out FILE.zip` and the portal's `GET /api/recordings/{rid}/evidence.zip`
//! write the same layout, under one folder `evidence-RECORDING/`:
//! - `recording/`: every regular file of the recording's folder, as it is (segments,
//!   originals, `manifest.json` and its signature, `SHA256SUMS`, time-stamp tokens); hidden
//!   bookkeeping files are left out, as downloads leave them out;
//! - `court-public-key.pem`: the public key whose key id the manifest names;
//! - `audit-trail.jsonl`: the hearing's entries of the audit trail ([`audit`]);
//! - `VERIFY.txt`: what is in it and how to check it, in English and simplified Chinese.
//!
//! `courtroom verify FILE.zip` unpacks it safely ([`crate::archive::read`]) and checks it as a
//! folder, with the package's key when the manifest names it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::keyring::{Keyring, DEFAULT_DATA_DIR};
use super::manifest::Manifest;
use super::sign::PublicKey;
use super::RecordError;
use crate::archive::ZipEntry;
use crate::store::audit::AuditEntry;

pub mod audit;

/// The recording's folder inside the package's folder.
pub const RECORDING_FOLDER: &str = "recording";
/// The public key's file in the package's folder.
pub const KEY_FILE: &str = "court-public-key.pem";
/// The audit-trail excerpt's file in the package's folder.
pub const AUDIT_FILE: &str = "audit-trail.jsonl";
/// The note in the package's folder.
pub const README_FILE: &str = "VERIFY.txt";

const README_TEMPLATE: &str = include_str!("VERIFY.txt");

/// The package's one top folder for recording `recording_id`.
pub fn top_folder(recording_id: &str) -> String {
    format!("evidence-{recording_id}")
}

/// The regular, non-hidden files directly in `dir`, by name (no links, no folders).
pub fn recording_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_file() && !name.starts_with('.') {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The package's entries for the recording in `dir`: its files, `key` (which must be the one
/// the manifest names), the hearing's `audit` entries and `VERIFY.txt` (saying it was made
/// at `made`, UTC text).
pub fn entries(
    dir: &Path,
    key: &PublicKey,
    audit: &[AuditEntry],
    made: &str,
) -> Result<Vec<ZipEntry>, RecordError> {
    let manifest = Manifest::read(dir)?;
    if let Some(id) = manifest.key_id.as_deref() {
        if id != key.key_id() {
            return Err(RecordError::Key(format!(
                "the manifest names key {id}, not {}",
                key.key_id()
            )));
        }
    }
    let top = top_folder(&manifest.recording_id);
    let mut out = Vec::new();
    for (name, path) in recording_files(dir)? {
        out.push(ZipEntry::file(
            format!("{top}/{RECORDING_FOLDER}/{name}"),
            path,
        ));
    }
    out.push(ZipEntry::bytes(format!("{top}/{KEY_FILE}"), key.to_pem()));
    out.push(ZipEntry::bytes(
        format!("{top}/{AUDIT_FILE}"),
        audit::excerpt(audit),
    ));
    out.push(ZipEntry::bytes(
        format!("{top}/{README_FILE}"),
        readme(&manifest, &key.key_id(), made),
    ));
    Ok(out)
}

/// `VERIFY.txt` for `manifest`.
pub fn readme(manifest: &Manifest, key_id: &str, made: &str) -> String {
    README_TEMPLATE
        .replace("{RECORDING}", &manifest.recording_id)
        .replace("{HEARING}", &manifest.hearing_id)
        .replace("{CASE}", &manifest.case_number)
        .replace("{KEY_ID}", key_id)
        .replace("{MADE}", made)
}

/// Options of `courtroom export`.
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// One recording folder (holding `manifest.json`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The package to write (a zip).
    #[arg(long, value_name = "FILE.zip")]
    pub out: PathBuf,
    /// The server's data folder: its signing key's public half and its audit trail
    /// (`courtroom.db`). Default: `COURTROOM_DATA_DIR` or `./data`.
    #[arg(long, value_name = "DIR", env = "COURTROOM_DATA_DIR")]
    pub data: Option<PathBuf>,
    /// The audit trail's database, when not the data folder's SQLite file (e.g. PostgreSQL).
    #[arg(long, value_name = "URL", env = "COURTROOM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A file of court keys (one PEM per key id), for a recording another server signed.
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,
}

/// Runs `courtroom export`: 0 when the package is written, 2 when it cannot be.
pub fn export_command(args: &ExportArgs) -> ExitCode {
    match export(args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("courtroom export: {e}");
            ExitCode::from(2)
        }
    }
}

fn export(args: &ExportArgs) -> Result<String, String> {
    let manifest = Manifest::read(&args.dir).map_err(|e| {
        format!(
            "{}: no readable manifest.json ({e}); DIR must be one recording's folder",
            args.dir.display()
        )
    })?;
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let mut ring = Keyring::new();
    if let Some(file) = &args.trusted_keys {
        ring.add_trusted_keys(file).map_err(|e| e.to_string())?;
    }
    ring.add_data_folder(&data);
    let named = manifest.key_id.clone().ok_or_else(|| {
        "the manifest names no key (written before manifests named their key)".to_owned()
    })?;
    let key = *ring.choose(Some(&named))?.key;
    if key.key_id() != named {
        return Err(format!(
            "no key {named} found (pass --data or --trusted-keys)"
        ));
    }
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let db = data.join("courtroom.db");
            if !db.is_file() {
                return Err(format!(
                    "no audit trail: {} does not exist; pass --data (the server's data folder) \
                     or --database-url",
                    db.display()
                ));
            }
            format!("sqlite://{}", db.display())
        }
    };
    let hearing = manifest.hearing_id.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let trail = runtime
        .block_on(async {
            let store = crate::store::Store::open(&url).await?;
            store.audit_entries(Some(&hearing), None, i64::MAX).await
        })
        .map_err(|e| format!("the audit trail: {e}"))?;
    let made = crate::timefmt::utc_text(chrono::Utc::now());
    let entries = entries(&args.dir, &key, &trail, &made).map_err(|e| e.to_string())?;
    let tmp = args.out.with_extension("zip.part");
    let written = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        let n = crate::archive::write_to(&entries, &mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &args.out)?;
        Ok::<u64, std::io::Error>(n)
    })()
    .map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", args.out.display())
    })?;
    Ok(format!(
        "wrote {} ({written} bytes): recording {}, {} files, key {}, {} audit entries; \
         check it with: courtroom verify {}",
        args.out.display(),
        manifest.recording_id,
        entries.len() - 3,
        key.key_id(),
        trail.len(),
        args.out.display()
    ))
}
