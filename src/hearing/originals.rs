//! Keeping the originals: each participant's camera and microphone, exactly as received,
//! written beside the running recording (`record::originals`).
//!
//! One thread per running recording owns every [`OriginalWriter`]. The network tasks only
//! hand it packets through a bounded channel and never wait: building a writer (a GStreamer
//! pipeline and a file) and pushing into it happen on the keeper's thread, and closing them
//! when the recording stops is one message. No lock is shared with the network tasks.
//!
//! A participant who leaves (or is replaced or removed) has their writers closed at once, on a
//! short-lived thread of their own, so a day of rejoins during one recording does not pile up
//! pipelines and open files. Each closed file is hashed then and handed to the recording's
//! manifest (`on_closed`), which is written and signed again, so it is under the hash chain
//! while the recording goes on. Packets of a participant who left are not kept, so a track once
//! closed is never opened again under the same name.

use std::collections::{HashMap, HashSet};
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
    Left(ParticipantId),
    Close(mpsc::Sender<Vec<OriginalEntry>>),
}

/// Told of original tracks closed while the recording runs (a participant left); called on
/// the thread that closed them.
pub type OnClosed = Arc<dyn Fn(Vec<OriginalEntry>) + Send + Sync>;

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
    /// naming each file after its sender's seat. Tracks closed before the recording stops
    /// are described to `on_closed` as soon as they are closed.
    pub fn start(hearing: &str, dir: PathBuf, seats: Arc<Seats>, on_closed: OnClosed) -> Self {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let name = hearing.to_owned();
        let span = tracing::Span::current();
        let thread = std::thread::Builder::new()
            .name(format!("orig-{hearing}"))
            .spawn(move || span.in_scope(|| keep(&name, &dir, &seats, rx, on_closed)))
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

    /// Closes `participant`'s originals now (they left, or were replaced or removed); each is
    /// hashed into the manifest as soon as it has closed. Never waits.
    pub fn participant_left(&self, participant: ParticipantId) {
        // Sent with `send` on a full queue would wait; a lost message only delays the close
        // to the recording's stop.
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Message::Left(participant)) {
            tracing::warn!(
                participant,
                "originals queue full; closing at the stop instead"
            );
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

/// Originals closed before the recording stops: finished ones, and ones still closing.
struct Closed {
    done: Vec<OriginalEntry>,
    closing: Vec<JoinHandle<Vec<OriginalEntry>>>,
    on_closed: OnClosed,
}

impl Closed {
    fn new(on_closed: OnClosed) -> Self {
        Self {
            done: Vec::new(),
            closing: Vec::new(),
            on_closed,
        }
    }

    /// Closes `tracks` on a thread of their own (each may take up to [`CLOSE_TIMEOUT`]), and
    /// hands what was closed to `on_closed` from there.
    fn close(&mut self, tracks: Vec<Kept>) {
        self.reap(false);
        if tracks.is_empty() {
            return;
        }
        let on_closed = self.on_closed.clone();
        // In the hearing's span, as the keeper is.
        let span = tracing::Span::current();
        match std::thread::Builder::new()
            .name("orig-close".into())
            .spawn(move || {
                let _span = span.entered();
                let mut entries = close_all(tracks.into_iter());
                entries.sort_by(|a, b| a.file.cmp(&b.file));
                tracing::info!(
                    files = entries.len(),
                    "originals of a participant who left: closed and hashed"
                );
                on_closed(entries.clone());
                entries
            }) {
            Ok(handle) => self.closing.push(handle),
            Err(e) => tracing::error!("cannot start closing originals: {e}"),
        }
    }

    /// Collects the closes that have finished (all of them, waiting, with `wait`).
    fn reap(&mut self, wait: bool) {
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.closing)
            .into_iter()
            .partition(|h| wait || h.is_finished());
        self.closing = running;
        for handle in finished {
            self.done.extend(handle.join().unwrap_or_default());
        }
    }
}

/// The keeper's thread: writers by participant and `video`/`audio`; `None` where a writer
/// could not start (not retried).
fn keep(
    hearing: &str,
    dir: &std::path::Path,
    seats: &Seats,
    rx: Receiver<Message>,
    on_closed: OnClosed,
) {
    let mut kept: HashMap<(ParticipantId, &'static str), Option<Kept>> = HashMap::new();
    let mut gone: HashSet<ParticipantId> = HashSet::new();
    let mut closed = Closed::new(on_closed);
    while let Ok(msg) = rx.recv() {
        match msg {
            Message::Packet {
                participant,
                codec,
                mime,
                rtp,
            } => {
                if gone.contains(&participant) {
                    continue;
                }
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
            Message::Left(participant) => {
                gone.insert(participant);
                let tracks = ["video", "audio"]
                    .into_iter()
                    .filter_map(|kind| kept.remove(&(participant, kind)).flatten())
                    .collect();
                closed.close(tracks);
            }
            Message::Close(reply) => {
                let mut entries = close_all(kept.drain().filter_map(|(_, k)| k));
                closed.reap(true);
                entries.append(&mut closed.done);
                let _ = reply.send(entries);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hearing::core::Admission;
    use crate::hearing::events::EventChannel;
    use crate::role::Role;

    /// RTP packets of a few VP8 frames of a test picture.
    fn vp8_rtp() -> Vec<Vec<u8>> {
        crate::media::testing::pull_buffers(
            "videotestsrc num-buffers=20 ! video/x-raw,width=160,height=120,framerate=25/1 \
             ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! appsink name=sink sync=false",
        )
    }

    /// A leaver's original is closed and handed on (to be hashed into the manifest) while the
    /// recording goes on, not only when it stops; it is not reopened; everyone's is listed
    /// at the stop.
    #[test]
    fn a_participant_who_leaves_has_their_original_closed_listed_and_not_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let seats = Arc::new(Seats::new(
            2,
            Duration::from_secs(5),
            EventChannel::default(),
        ));
        let seat = |i: usize, name: &str| Admission {
            invitation_id: format!("inv-{i}"),
            role: Role::Plaintiff,
            seat: i,
            seat_id: format!("seat{i}"),
            name: name.into(),
        };
        let left = seats.join(seat(0, "Left Early")).unwrap().id;
        let stays = seats.join(seat(1, "Stays")).unwrap().id;
        let told: Arc<Mutex<Vec<OriginalEntry>>> = Arc::default();
        let sink = told.clone();
        let originals = Originals::start(
            "h",
            dir.path().to_owned(),
            seats.clone(),
            Arc::new(move |entries| sink.lock().unwrap().extend(entries)),
        );
        let packets = vp8_rtp();
        for p in &packets {
            originals.keep(left, "video/VP8", p);
            originals.keep(stays, "video/VP8", p);
            std::thread::sleep(Duration::from_millis(2));
        }
        originals.participant_left(left);
        // Late packets of someone who left must not reopen (and truncate) their file.
        for p in &packets {
            originals.keep(left, "video/VP8", p);
        }
        // Handed on as soon as it has closed, while the other participant's goes on.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let early = loop {
            let told = told.lock().unwrap().clone();
            if !told.is_empty() || std::time::Instant::now() > deadline {
                break told;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(early.len(), 1, "{early:?}");
        assert_eq!(early[0].file, format!("original-seat0-p{left}-video.webm"));
        let entries = originals.close();
        assert_eq!(
            told.lock().unwrap().len(),
            1,
            "the stop's list is not handed on"
        );
        assert!(entries.contains(&early[0]), "and listed at the stop too");
        let names: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("original-seat0-p{left}-video.webm"),
                format!("original-seat1-p{stays}-video.webm")
            ],
            "one entry each"
        );
        for e in &entries {
            assert!(e.complete, "{} closed cleanly", e.file);
            let (size, sha256) =
                crate::record::manifest::sha256_file(&dir.path().join(&e.file)).unwrap();
            assert_eq!((size, sha256.as_str()), (e.size, e.sha256.as_str()));
            assert!(e.size > 1000, "{} holds the frames", e.file);
        }
        assert_eq!(entries[0].participant.name, "Left Early");
    }
}
