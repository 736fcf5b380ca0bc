//! Content credentials (C2PA) on each composite segment: a manifest embedded in the MP4 that
//! says who recorded it (the court, its recorder), of which hearing, and where it sits in the
//! recording's hash chain, signed with the court's content-credentials certificate. Any C2PA
//! verifier (`c2patool`, the C2PA SDKs) checks it without our tools; our own hash chain and
//! Ed25519 signature stay as they are, over the segment as embedded.
//!
//! The certificate chain is the court's: a root made on first use in the data folder
//! (`content-credentials/court-ca.pem`, the trust anchor to give a verifier) and the recorder's
//! signing certificate issued from it (`signer.pem`, `signer.key`). The root's private key is
//! not kept.

use std::io::Write;
use std::path::Path;

use serde_json::json;

/// The folder, in the data folder, that holds the court's content-credentials chain.
pub const CREDENTIALS_DIR: &str = "content-credentials";
/// The court's root certificate: the trust anchor for C2PA verifiers.
pub const CA_FILE: &str = "court-ca.pem";
const CHAIN_FILE: &str = "signer.pem";
const KEY_FILE: &str = "signer.key";
/// The label of our assertion in each segment's C2PA manifest.
pub const SEGMENT_ASSERTION: &str = "org.courtroom.segment";

/// Why content credentials could not be made or embedded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading or writing the chain or the segment failed.
    #[error("content credentials: {0}")]
    Io(#[from] std::io::Error),
    /// Making the certificate chain failed.
    #[error("content credentials: certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The C2PA library refused.
    #[error("content credentials: C2PA: {0}")]
    C2pa(#[from] c2pa::Error),
}

/// What one segment's C2PA manifest says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentClaim {
    /// The court (`record.court_name`).
    pub court: String,
    /// The hearing.
    pub hearing_id: String,
    /// The case number.
    pub case_number: String,
    /// The recording.
    pub recording_id: String,
    /// The segment's index in the chain.
    pub index: u32,
    /// The chain's head before this segment (the previous entry's hash, or the genesis hash).
    pub chain_head: String,
    /// Who recorded it: the software and the node.
    pub recorder: String,
    /// When the segment began, UTC (RFC 3339).
    pub started_at: String,
}

/// What a recorder needs to put content credentials on its segments.
#[derive(Debug, Clone)]
pub struct SegmentCredentials {
    /// The court's chain.
    pub chain: std::sync::Arc<ContentCredentials>,
    /// The court's name, as the credentials say it.
    pub court: String,
    /// Who records: the software and the node.
    pub recorder: String,
}

/// The court's signing chain for content credentials.
#[derive(Clone)]
pub struct ContentCredentials {
    chain_pem: String,
    key_pem: String,
    ca_pem: String,
}

impl std::fmt::Debug for ContentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentCredentials").finish_non_exhaustive()
    }
}

impl ContentCredentials {
    /// The chain in `data_dir`, made there (for `court`) if it is not there yet. It is made
    /// whole in a hidden folder and renamed into place, so two recordings starting at once
    /// never mix two chains: the second rename fails and that one reads the first's. A chain
    /// that is there but cannot be read is an error, never replaced.
    pub fn load_or_create(data_dir: &Path, court: &str) -> Result<Self, CredentialsError> {
        let dir = data_dir.join(CREDENTIALS_DIR);
        match Self::read(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() => {}
            read => return Ok(read?),
        }
        let made = Self::issue(court)?;
        let staging = data_dir.join(format!(
            ".{CREDENTIALS_DIR}-{}.tmp",
            crate::ids::random_id()
        ));
        std::fs::create_dir_all(&staging)?;
        let written = (|| {
            write_private(&staging.join(KEY_FILE), made.key_pem.as_bytes())?;
            std::fs::write(staging.join(CHAIN_FILE), &made.chain_pem)?;
            std::fs::write(staging.join(CA_FILE), &made.ca_pem)?;
            std::fs::File::open(&staging)?.sync_all()?;
            std::fs::rename(&staging, &dir)
        })();
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
            // Another recording made it first: use theirs.
            if dir.exists() {
                return Ok(Self::read(&dir)?);
            }
        }
        written?;
        tracing::info!(dir = %dir.display(), "made the court's content-credentials certificate");
        Ok(made)
    }

    fn read(dir: &Path) -> std::io::Result<Self> {
        let read = |name: &str| std::fs::read_to_string(dir.join(name));
        Ok(Self {
            chain_pem: read(CHAIN_FILE)?,
            key_pem: read(KEY_FILE)?,
            ca_pem: read(CA_FILE)?,
        })
    }

    /// A new root for `court` and a signing certificate issued from it (Ed25519). What C2PA
    /// asks of the signer: not a CA, an organisation in its subject, digital signature, the
    /// e-mail protection purpose, and the root's key identifier.
    pub fn issue(court: &str) -> Result<Self, CredentialsError> {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
            ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, PKCS_ED25519,
        };
        let serial = || SerialNumber::from(rand::random::<u64>());
        let mut ca = CertificateParams::default();
        ca.distinguished_name = DistinguishedName::new();
        ca.distinguished_name
            .push(DnType::OrganizationName, court.to_owned());
        ca.distinguished_name.push(
            DnType::CommonName,
            format!("{court} content credentials root"),
        );
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca.serial_number = Some(serial());
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate_for(&PKCS_ED25519)?)?;

        let key = KeyPair::generate_for(&PKCS_ED25519)?;
        let mut ee = CertificateParams::default();
        ee.distinguished_name = DistinguishedName::new();
        ee.distinguished_name
            .push(DnType::OrganizationName, court.to_owned());
        ee.distinguished_name
            .push(DnType::CommonName, format!("{court} recorder"));
        ee.is_ca = IsCa::ExplicitNoCa;
        ee.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        ee.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        ee.use_authority_key_identifier_extension = true;
        ee.serial_number = Some(serial());
        let cert = ee.signed_by(&key, &ca)?;
        Ok(Self {
            chain_pem: format!("{}{}", cert.pem(), ca.pem()),
            key_pem: key.serialize_pem(),
            ca_pem: ca.pem(),
        })
    }

    /// The court's root certificate (PEM): the trust anchor to give a C2PA verifier.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Embeds a signed C2PA manifest for `claim` in the segment at `path`, in its place. The
    /// segment's random-access index (`mfra`, which the C2PA library would point at the wrong
    /// fragments, and which no player needs) is left out first.
    pub fn sign_segment(&self, path: &Path, claim: &SegmentClaim) -> Result<(), CredentialsError> {
        strip_mfra(path)?;
        let signer = c2pa::create_signer::from_keys(
            self.chain_pem.as_bytes(),
            self.key_pem.as_bytes(),
            c2pa::SigningAlg::Ed25519,
            None,
        )?;
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let context = c2pa::Context::new().with_settings(json!({
            "builder": { "thumbnail": { "enabled": false } },
            "verify": { "verify_after_sign": false }
        }))?;
        let mut builder = c2pa::Builder::from_context(context).with_definition(json!({
            "claim_generator_info": [{ "name": "courtroom", "version": env!("CARGO_PKG_VERSION") }],
            "title": file,
            "assertions": [{
                "label": SEGMENT_ASSERTION,
                "kind": "Json",
                "data": {
                    "court": claim.court,
                    "hearing_id": claim.hearing_id,
                    "case_number": claim.case_number,
                    "recording_id": claim.recording_id,
                    "segment_index": claim.index,
                    "chain_head": claim.chain_head,
                    "recorder": claim.recorder,
                }
            }]
        }))?;
        builder.add_action(json!({
            "action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeCapture",
            "when": claim.started_at,
            "softwareAgent": { "name": "courtroom", "version": env!("CARGO_PKG_VERSION") }
        }))?;
        // Signed into `.NAME.tmp` beside it, as `manifest::write_atomic` writes, which crash
        // sealing removes: a crash or an error meanwhile leaves the segment as it was.
        let tmp = path.with_file_name(format!(".{file}.tmp"));
        let signed = (|| -> Result<(), CredentialsError> {
            let mut source = std::fs::File::open(path)?;
            let mut dest = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            builder.sign(signer.as_ref(), "video/mp4", &mut source, &mut dest)?;
            dest.sync_all()?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        })();
        if signed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        signed
    }
}

/// Cuts a top-level `mfra` box off the end of the MP4 at `path`, if that is where it is.
fn strip_mfra(path: &Path) -> std::io::Result<()> {
    let bytes = std::fs::read(path)?;
    if let Some((_, start)) = super::mp4::last_box(&bytes).filter(|(k, _)| k == b"mfra") {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(start as u64)?;
        file.sync_all()?;
    }
    Ok(())
}

/// Writes a new file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_is_made_once_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let first = ContentCredentials::load_or_create(tmp.path(), "Test Court").unwrap();
        let again = ContentCredentials::load_or_create(tmp.path(), "Test Court").unwrap();
        assert_eq!(first.ca_pem(), again.ca_pem());
        assert!(first.chain_pem.matches("BEGIN CERTIFICATE").count() == 2);
        assert!(first.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tmp.path().join(CREDENTIALS_DIR).join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the signing key is the owner's only");
        }
    }

    #[test]
    fn only_a_trailing_mfra_is_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.mp4");
        let boxed = |kind: &[u8; 4], body: usize| {
            let mut b = ((8 + body) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(kind);
            b.extend(std::iter::repeat_n(0u8, body));
            b
        };
        let mut file = boxed(b"ftyp", 8);
        file.extend(boxed(b"moov", 20));
        let kept = file.len();
        file.extend(boxed(b"mfra", 16));
        std::fs::write(&path, &file).unwrap();
        strip_mfra(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, kept);
        // Nothing to cut the second time; a file with mfra elsewhere is left as it is.
        strip_mfra(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, kept);
    }
}
