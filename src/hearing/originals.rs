//! Keeping the originals: each participant's camera and microphone, exactly as received,
//! written beside the running recording (`record::originals`).
//!
//! One thread per running recording owns every [`OriginalWriter`]. The network tasks only
//! hand it packets through a bounded channel and never wait: building a writer (a GStreamer
//! pipeline and a file) and pushing into it happen on the keeper's thread, and closing them
//! when the recording stops is one message. No lock is shared with the network tasks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::seats::Seats;
use crate::ids::ParticipantId;
use crate::record::manifest::OriginalEntry;
use crate::record::originals::{file_name, OriginalCodec, OriginalWriter};
use crate::record::SeatedParticipant;

/// Packets waiting for the keeper: about ten seconds of a five-person hearing.
const QUEUE: usize = 8192;

/// How long closing one original may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

enum Message {
    Packet {
        participant: ParticipantId,
        codec: OriginalCodec,
        mime: String,
        rtp: Vec<u8>,
    },
    Close(mpsc::Sender<Vec<OriginalEntry>>),
}

/// The originals of one running recording.
pub struct Originals {
    tx: SyncSender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Originals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Originals(..)")
    }
}

impl Originals {
    /// Starts keeping originals in `dir` (the recording's folder) for hearing `hearing`,
    /// naming each file after its sender's seat.
    pub fn start(hearing: &str, dir: PathBuf, seats: Arc<Seats>) -> Self {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let name = hearing.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("orig-{hearing}"))
            .spawn(move || keep(&name, &dir, &seats, rx))
            .expect("spawn originals thread");
        Self {
            tx,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Keeps one RTP packet of `participant`'s track of type `mime`; codecs that cannot be
    /// stored are ignored. Never waits: with the keeper far behind, the packet is dropped.
    pub fn keep(&self, participant: ParticipantId, mime: &str, rtp: &[u8]) {
        let Some(codec) = OriginalCodec::from_mime(mime) else {
            return;
        };
        if rtp.len() < 12 {
            return;
        }
        let msg = Message::Packet {
            participant,
            codec,
            mime: mime.to_owned(),
            rtp: rtp.to_vec(),
        };
        if let Err(TrySendError::Full(_)) = self.tx.try_send(msg) {
            tracing::warn!(participant, "originals queue full; a packet is not kept");
        }
    }

    /// Closes every original and describes them for the manifest, sorted by file name.
    /// Blocking (each file may take up to a few seconds to close). Packets kept after this
    /// are dropped; a second call returns nothing.
    pub fn close(&self) -> Vec<OriginalEntry> {
        let (reply_tx, reply) = mpsc::channel();
        // A keeper that is gone has nothing to describe.
        let mut entries = if self.tx.send(Message::Close(reply_tx)).is_ok() {
            reply.recv().unwrap_or_default()
        } else {
            Vec::new()
        };
        let thread = self.thread.lock().expect("originals thread lock").take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        entries.sort_by(|a, b| a.file.cmp(&b.file));
        entries
    }
}

/// One track being kept.
struct Kept {
    writer: OriginalWriter,
    mime: String,
    who: SeatedParticipant,
}

/// The keeper's thread: writers by participant and `video`/`audio`; `None` where a writer
/// could not start (not retried).
fn keep(hearing: &str, dir: &std::path::Path, seats: &Seats, rx: Receiver<Message>) {
    let mut kept: HashMap<(ParticipantId, &'static str), Option<Kept>> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            Message::Packet {
                participant,
                codec,
                mime,
                rtp,
            } => {
                let slot = kept.entry((participant, codec.kind())).or_insert_with(|| {
                    let admission = seats.admission(participant)?;
                    let path = dir.join(file_name(&admission.seat_id, participant, codec));
                    match OriginalWriter::start(&path, codec, rtp[1] & 0x7f) {
                        Ok(writer) => Some(Kept {
                            writer,
                            mime,
                            who: SeatedParticipant {
                                role: admission.role.to_string(),
                                seat: admission.seat_id.clone(),
                                name: admission.name.clone(),
                            },
                        }),
                        Err(e) => {
                            tracing::error!(%hearing, participant, "cannot keep the original {}: {e}", codec.kind());
                            None
                        }
                    }
                });
                if let Some(k) = slot {
                    k.writer.push_rtp(rtp);
                }
            }
            Message::Close(reply) => {
                let _ = reply.send(close_all(kept.drain().filter_map(|(_, k)| k)));
                return;
            }
        }
    }
}

/// Closes the original tracks and describes them for the manifest.
fn close_all(kept: impl Iterator<Item = Kept>) -> Vec<OriginalEntry> {
    let mut out = Vec::new();
    for kept in kept {
        let path = kept.writer.path().to_owned();
        let kind = kept.writer.codec().kind().to_owned();
        let complete = kept.writer.finish(CLOSE_TIMEOUT).is_ok();
        match crate::record::manifest::sha256_file(&path) {
            Ok((size, sha256)) => out.push(OriginalEntry {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                size,
                sha256,
                kind,
                codec: kept.mime,
                participant: kept.who,
                complete,
            }),
            Err(e) => tracing::error!(file = %path.display(), "cannot hash an original: {e}"),
        }
    }
    out
}
