//! A hearing's record across nodes: sealing, from the bucket, a recording whose node died, and
//! what a recording that continues another names.
//!
//! When a node dies, its last manifest in the bucket is the truth about its recording: every
//! segment it lists was uploaded before it (the spool uploads a segment, then the manifest
//! that lists it). The node that takes the hearing over reads that manifest, marks it
//! `interrupted` with the reason, signs it with the cluster's key, and writes it back only if
//! nobody changed it meanwhile (`If-Match`). The recording it then starts names this one
//! ([`PreviousRecording`]) and starts its chain from this one's head.

use std::sync::Arc;

use super::manifest::{
    Manifest, PreviousRecording, RecordingState, MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE,
};
use super::seal::seal_one_because;
use super::sign::RecordingKey;
use super::RecordError;
use crate::bucket::{Bucket, BucketError};
use crate::timefmt::utc_text;

/// The store's state for a recording a draining node stopped so another node continues it.
pub const HANDED_OVER: &str = "handed_over";
/// Who starts a recording that continues another, in its manifest's `start` event.
pub const TAKEOVER_ACTOR: &str = "server:continued";

/// The link a sealed manifest gives the recording that continues it.
pub fn previous_of(m: &Manifest) -> PreviousRecording {
    PreviousRecording {
        recording_id: m.recording_id.clone(),
        chain_head: m.chain_head.clone(),
        state: m.state,
    }
}

/// The bucket key of a recording's file.
pub fn object_key(hearing: &str, recording: &str, file: &str) -> String {
    format!("recordings/{hearing}/{recording}/{file}")
}

/// Brings into `dir` the segments and originals the bucket holds but `manifest` does not list:
/// the spool uploads a closed file before the manifest that lists it, so a node that died
/// between the two leaves such a file. Sealing then hashes it in as it lies, as after a crash
/// on one machine ([`seal_one_because`]), so no file in the folder is left uncovered. Each keeps
/// the time the bucket last wrote it, which sealing reads as its end.
async fn fetch_unlisted_media(
    bucket: &Bucket,
    hearing: &str,
    recording: &str,
    manifest: &Manifest,
    dir: &std::path::Path,
) -> Result<(), RecordError> {
    let io = |e: BucketError| RecordError::Io(std::io::Error::other(e.to_string()));
    let folder = object_key(hearing, recording, "");
    let listed = bucket
        .list(folder.trim_end_matches('/'))
        .await
        .map_err(io)?;
    for object in listed {
        let Some(name) = object.key.strip_prefix(&folder) else {
            continue;
        };
        let media = super::segment::parse_file_name(name).is_some()
            || super::originals::parse_file_name(name).is_some();
        let known = manifest.segments.iter().any(|e| e.file == name)
            || manifest.originals.iter().any(|e| e.file == name);
        if !media || known || name.contains('/') {
            continue;
        }
        let (body, _) = bucket.get(&object.key).await.map_err(io)?;
        let path = dir.join(name);
        std::fs::write(&path, &body)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(object.last_modified.into())?;
        tracing::warn!(%hearing, %recording, file = %name, "a file uploaded after the last manifest: sealing hashes it in as it lies");
    }
    Ok(())
}

/// Seals `hearing`'s recording `recording` in the bucket as `interrupted` if it is still
/// `recording` there, and returns the link for the recording that continues it. `None`: the
/// bucket has no manifest of it (its node died before the first one was uploaded).
pub async fn seal_in_bucket(
    bucket: &Bucket,
    hearing: &str,
    recording: &str,
    key: &Arc<RecordingKey>,
) -> Result<Option<PreviousRecording>, RecordError> {
    let key_of = |f: &str| object_key(hearing, recording, f);
    let io = |e: BucketError| RecordError::Io(std::io::Error::other(e.to_string()));
    for _attempt in 0..3 {
        let (bytes, version) = match bucket.get(&key_of(MANIFEST_FILE)).await {
            Ok(got) => got,
            Err(BucketError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| RecordError::Io(std::io::Error::other(format!("{MANIFEST_FILE}: {e}"))))?;
        if manifest.state != RecordingState::Recording {
            return Ok(Some(previous_of(&manifest)));
        }
        let tmp = tempfile::tempdir()?;
        std::fs::write(tmp.path().join(MANIFEST_FILE), &bytes)?;
        if let Ok((sig, _)) = bucket.get(&key_of(SIGNATURE_FILE)).await {
            std::fs::write(tmp.path().join(SIGNATURE_FILE), &sig)?;
        }
        fetch_unlisted_media(bucket, hearing, recording, &manifest, tmp.path()).await?;
        let why = format!(
            "the node recording this hearing stopped answering; another node took the hearing over and sealed this recording from the bucket ({}); segments it had not uploaded are lost",
            utc_text(chrono::Utc::now())
        );
        let dir = tmp.path().to_owned();
        let key_for_seal = key.clone();
        tokio::task::spawn_blocking(move || seal_one_because(&dir, &key_for_seal, &why))
            .await
            .map_err(|e| RecordError::Io(std::io::Error::other(e.to_string())))??;
        for companion in [SUMS_FILE, SIGNATURE_FILE] {
            let body = std::fs::read(tmp.path().join(companion))?;
            let seen = bucket.version(&key_of(companion)).await.map_err(io)?;
            bucket
                .put_over(&key_of(companion), body.into(), seen)
                .await
                .map_err(io)?;
        }
        let sealed = std::fs::read(tmp.path().join(MANIFEST_FILE))?;
        match bucket
            .put_over(&key_of(MANIFEST_FILE), sealed.clone().into(), Some(version))
            .await
        {
            Ok(_) => {
                let m: Manifest = serde_json::from_slice(&sealed)
                    .map_err(|e| RecordError::Io(std::io::Error::other(e.to_string())))?;
                tracing::warn!(%hearing, %recording, segments = m.segments.len(), "sealed a recording cut off on another node");
                return Ok(Some(previous_of(&m)));
            }
            // Its node wrote in between (it was alive after all): read it again.
            Err(BucketError::Conflict(_)) => continue,
            Err(e) => return Err(io(e)),
        }
    }
    Err(RecordError::Io(std::io::Error::other(
        "the previous recording's manifest kept changing in the bucket",
    )))
}
