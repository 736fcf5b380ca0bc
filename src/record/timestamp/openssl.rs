//! Checking a stored token's signature with the `openssl` command, as docs/VERIFY.md shows.

use std::path::{Path, PathBuf};

/// Checks a stored token's CMS signature with the `openssl` command: with `ca`, the full
/// `openssl ts -verify -digest IMPRINT -token_in -in FILE -CAfile CA` (signature, imprint, the
/// TSA's certificate and its chain to `ca`); without, `openssl cms -verify -noverify` (the
/// signature over the signed content only). `Err` says what openssl said.
pub fn openssl_check(
    token_file: &Path,
    imprint_hex: &str,
    ca: Option<&Path>,
) -> Result<(), String> {
    let out = match ca {
        Some(ca) => std::process::Command::new("openssl")
            .args(["ts", "-verify", "-digest", imprint_hex, "-token_in", "-in"])
            .arg(token_file)
            .arg("-CAfile")
            .arg(ca)
            .output(),
        None => std::process::Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-noverify",
                "-binary",
                "-inform",
                "DER",
                "-out",
            ])
            .arg(null_device())
            .arg("-in")
            .arg(token_file)
            .output(),
    }
    .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let brief: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Using configuration"))
        .take(3)
        .collect();
    Err(format!("openssl: {}", brief.join("; ")))
}

fn null_device() -> PathBuf {
    PathBuf::from("/dev/null")
}
