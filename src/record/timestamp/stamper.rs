//! The stamper: a thread per recording that asks the TSA for each stamp in turn, so that the
//! recording never waits, and keeps the tokens and `timestamps.json`.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::http::HttpClient;
use super::rfc3161::{request_der, token_info, token_of_reply};
use super::{TimestampError, INDEX_FILE};
use crate::digest::{hex, sha256_hex};
use crate::record::manifest::{write_atomic, MANIFEST_FILE};
use crate::timefmt::utc_text;

/// Asks the TSA at `url` to stamp `imprint`; returns the reply (DER `TimeStampResp`) once it
/// is granted and its token stamps `imprint` with our nonce.
pub fn request_token(
    url: &str,
    imprint: &[u8; 32],
    timeout: Duration,
) -> Result<Vec<u8>, TimestampError> {
    let client = HttpClient::new()
        .map_err(|e| TimestampError::Http(format!("cannot start the HTTP client: {e}")))?;
    request_token_with(&client, url, imprint, timeout)
}

/// [`request_token`] with a client that lives on (the stamper's).
fn request_token_with(
    client: &HttpClient,
    url: &str,
    imprint: &[u8; 32],
    timeout: Duration,
) -> Result<Vec<u8>, TimestampError> {
    let mut nonce = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    nonce[0] |= 0x01; // never all zero
    let query = request_der(imprint, &nonce);
    let reply = client.post(url, "application/timestamp-query", &query, timeout)?;
    let token = token_of_reply(&reply)?;
    let info = token_info(token)?;
    if !info.sha256 || info.imprint != imprint {
        return Err(TimestampError::Mismatch("another imprint".into()));
    }
    let ours: Vec<u8> = nonce.iter().copied().skip_while(|b| *b == 0).collect();
    if info.nonce.as_deref() != Some(ours.as_slice()) {
        return Err(TimestampError::Mismatch("another nonce".into()));
    }
    Ok(reply)
}

/// One line of `timestamps.json`: a request and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexEntry {
    /// The token's file name (`chain-00003.tsr`, `manifest.json.tsr`).
    pub token: String,
    /// What was stamped, in words (`segment 3 chain entry`, `manifest.json`).
    pub target: String,
    /// The stamped SHA-256, hex.
    pub imprint: String,
    /// When it was asked, RFC 3339 UTC.
    pub requested_at: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The TSA's time in the token.
    pub gen_time: Option<String>,
}

/// Reads `dir/timestamps.json` (empty when there is none).
pub fn read_index(dir: &Path) -> Vec<IndexEntry> {
    std::fs::read(dir.join(INDEX_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Something to stamp.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The token's file name.
    pub token: String,
    /// What it is, in words.
    pub target: String,
    /// The SHA-256 to stamp.
    pub imprint: [u8; 32],
    /// Only keep the token if `manifest.json` still hashes to `imprint` when it arrives.
    pub of_manifest: bool,
}

/// Where and how to time-stamp.
#[derive(Debug, Clone)]
pub struct TsaOptions {
    /// `http://...` of the TSA.
    pub url: String,
    /// Limit of one request.
    pub timeout: Duration,
}

/// The thread that asks the TSA, one request at a time, so that the recording never waits.
pub struct Stamper {
    tx: mpsc::Sender<Stamp>,
    handle: JoinHandle<()>,
    /// Disconnects when the thread ends.
    done: mpsc::Receiver<()>,
}

impl Stamper {
    /// Starts the thread for the recording in `dir`.
    pub fn start(dir: &Path, tsa: TsaOptions) -> Self {
        let (tx, rx) = mpsc::channel::<Stamp>();
        let (done_tx, done) = mpsc::channel::<()>();
        let dir = dir.to_owned();
        let handle = std::thread::Builder::new()
            .name("rec-tsa".into())
            .spawn(move || {
                let _done = done_tx;
                let client = HttpClient::new().map_err(|e| e.to_string());
                let mut index = read_index(&dir);
                while let Ok(stamp) = rx.recv() {
                    index.push(stamp_one(&dir, &tsa, client.as_ref(), &stamp));
                    if let Err(e) = write_atomic(
                        &dir.join(INDEX_FILE),
                        &serde_json::to_vec_pretty(&index).unwrap_or_default(),
                    ) {
                        tracing::warn!(dir = %dir.display(), "cannot write {INDEX_FILE}: {e}");
                    }
                }
            })
            .expect("spawn the time-stamp thread");
        Self { tx, handle, done }
    }

    /// Queues a stamp; returns at once.
    pub fn stamp(&self, stamp: Stamp) {
        let _ = self.tx.send(stamp);
    }

    /// No more stamps: the thread finishes what is queued, then ends.
    pub fn close(self) -> Pending {
        drop(self.tx);
        Pending(Some((self.handle, self.done)))
    }
}

/// Stamps still being asked for after a recording finished.
#[derive(Debug, Default)]
pub struct Pending(Option<(JoinHandle<()>, mpsc::Receiver<()>)>);

impl Pending {
    /// Waits up to `timeout` for every queued stamp to be answered or given up. Returns
    /// whether they all were; if not, they go on in the background.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let Some((_, done)) = self.0.as_ref() else {
            return true;
        };
        if let Err(mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(timeout) {
            return false;
        }
        if let Some((handle, _)) = self.0.take() {
            let _ = handle.join();
        }
        true
    }
}

fn stamp_one(
    dir: &Path,
    tsa: &TsaOptions,
    client: Result<&HttpClient, &String>,
    stamp: &Stamp,
) -> IndexEntry {
    let requested_at = utc_text(Utc::now());
    let result = client
        .map_err(|e| TimestampError::Http(format!("cannot start the HTTP client: {e}")))
        .and_then(|client| request_token_with(client, &tsa.url, &stamp.imprint, tsa.timeout))
        .and_then(|reply| {
            if stamp.of_manifest {
                let now = std::fs::read(dir.join(MANIFEST_FILE))?;
                if sha256_hex(&now) != hex(&stamp.imprint) {
                    return Err(TimestampError::Mismatch(
                        "manifest.json changed while the TSA answered".into(),
                    ));
                }
            }
            let token = token_of_reply(&reply)?;
            let gen_time = token_info(token).map(|i| i.gen_time).ok();
            write_atomic(&dir.join(&stamp.token), token)?;
            Ok(gen_time)
        });
    let mut entry = IndexEntry {
        token: stamp.token.clone(),
        target: stamp.target.clone(),
        imprint: hex(&stamp.imprint),
        requested_at,
        outcome: "ok".into(),
        error: None,
        gen_time: None,
    };
    match result {
        Ok(gen_time) => {
            tracing::debug!(dir = %dir.display(), token = %stamp.token, "time-stamped {}", stamp.target);
            entry.gen_time = gen_time;
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), tsa = %tsa.url, "cannot time-stamp {}: {e}; the recording goes on without this token", stamp.target);
            entry.outcome = "failed".into();
            entry.error = Some(e.to_string());
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_tsa_that_is_down_fails_fast_and_a_silent_one_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = request_token(
            &format!("http://127.0.0.1:{port}/"),
            &[0; 32],
            Duration::from_secs(5),
        );
        assert!(matches!(err, Err(TimestampError::Http(_))), "{err:?}");
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsr", silent.local_addr().unwrap());
        let started = Instant::now();
        let err = request_token(&url, &[0; 32], Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
