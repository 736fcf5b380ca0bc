//! What the segmenter has made, as LL-HLS reads it: the playlist (with its partial segments
//! when parts are on), the parts themselves, and whether a blocking playlist request
//! (`_HLS_msn`, `_HLS_part`) can be answered yet.

use std::time::Duration;

use bytes::Bytes;

use super::super::playlist::{self, Entry, LowLatency, PartEntry};
use super::super::segment::{from_ticks, Part};
use super::Segmenter;

/// Complete segments whose parts are kept listed and served, besides the open one's.
pub(crate) const PARTS_KEPT: usize = 3;

/// A part as the playlist lists it.
fn entry(p: &Part) -> PartEntry {
    PartEntry {
        duration: p.ticks,
        independent: p.independent,
    }
}

impl Segmenter {
    /// The media playlist listing the kept segments; `None` before the first segment, and with
    /// parts on (until the end) before four part targets of media and two complete segments
    /// are listed.
    ///
    /// `#EXT-X-TARGETDURATION` is the longest segment made so far (not only those listed),
    /// rounded up, and at least `target` rounded up, so it never decreases. With parts on it
    /// is an LL-HLS playlist: the parts of the newest [`PARTS_KEPT`] segments and of the open
    /// one, and a preload hint for the next part (until the end). Its `PART-TARGET` is the
    /// configured part target, or the longest part made if one frame made it longer.
    pub fn playlist(&self) -> Option<String> {
        if self.segments.is_empty() {
            return None;
        }
        let listed_from = self.segments.len().saturating_sub(PARTS_KEPT);
        let entries: Vec<Entry> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| Entry {
                sequence: s.info.sequence,
                duration: s.ticks,
                parts: if self.part_target.is_some() && i >= listed_from {
                    s.parts.iter().map(entry).collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let target = playlist::ceil_seconds(self.target.max(self.longest));
        // A part is longer than the target only when one frame is (a still picture at 2 fps):
        // then PART-TARGET says what is made, as the spec wants every part within it.
        let open_longest = self
            .open
            .as_ref()
            .and_then(|o| o.parts.iter().map(|p| p.ticks).max())
            .unwrap_or(0);
        let part_target = self
            .part_target
            .map(|p| p.max(self.longest_part).max(open_longest));
        if let Some(part) = part_target.filter(|_| !self.is_ended()) {
            // A player starts PART-HOLD-BACK (three parts) behind the live edge: until that
            // much and a part more is listed it would start at the edge and stall at once
            // (and hls.js then holds back a second more for good).
            let open_parts: u64 = self
                .open
                .as_ref()
                .map_or(0, |o| o.parts.iter().map(|p| p.ticks).sum());
            let listed: u64 = self.segments.iter().map(|s| s.ticks).sum::<u64>() + open_parts;
            // And hls.js (1.6) makes no blocking reload while the newest complete segment is
            // number 0 (it tests the number for truth): a player would reload only after a
            // target duration, and stall meanwhile.
            if listed < 4 * part || self.next_sequence < 2 {
                return None;
            }
        }
        let ll = part_target.map(|part_target| LowLatency {
            part_target,
            open: (!self.is_ended()).then(|| {
                let parts = self
                    .open
                    .as_ref()
                    .map(|o| o.parts.iter().map(entry).collect())
                    .unwrap_or_default();
                (self.next_sequence, parts)
            }),
        });
        Some(playlist::render(
            &entries,
            target,
            self.is_ended(),
            ll.as_ref(),
        ))
    }

    /// The part target, when parts are on.
    pub fn part_target(&self) -> Option<Duration> {
        self.part_target.map(from_ticks)
    }

    /// The number the open (next) segment has or will have: one past the newest complete one.
    pub fn open_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Part `index` of segment `sequence` (its URI is [`part_uri`](super::super::part_uri)),
    /// if it is made and still listed: a part of the open segment or of the newest
    /// [`PARTS_KEPT`] complete ones. `None` with parts off.
    pub fn part(&self, sequence: u64, index: u64) -> Option<Bytes> {
        self.part_target?;
        let index = usize::try_from(index).ok()?;
        if sequence == self.next_sequence {
            return self.open.as_ref()?.parts.get(index).map(|p| p.data.clone());
        }
        let behind = usize::try_from(self.next_sequence.checked_sub(sequence)?).ok()?;
        if behind > PARTS_KEPT || behind > self.segments.len() {
            return None;
        }
        let stored = &self.segments[self.segments.len() - behind];
        stored.parts.get(index).map(|p| p.data.clone())
    }

    /// The newest part made: (segment, part index); `None` before any, or with parts off.
    pub fn latest_part(&self) -> Option<(u64, u64)> {
        self.part_target?;
        if let Some(open) = self.open.as_ref().filter(|o| !o.parts.is_empty()) {
            return Some((self.next_sequence, open.parts.len() as u64 - 1));
        }
        let last = self.segments.back()?;
        Some((
            last.info.sequence,
            last.parts.len().saturating_sub(1) as u64,
        ))
    }

    /// Whether the playlist already holds what a blocking reload asks for: segment `msn`
    /// complete (`part` `None`), or part `part` of segment `msn`. A part index past a complete
    /// segment's last part means part 0 of the next segment (RFC 8216bis 6.2.5.2).
    pub fn is_available(&self, msn: u64, part: Option<u64>) -> bool {
        let complete = msn < self.next_sequence;
        let Some(part) = part else {
            return complete;
        };
        if msn == self.next_sequence {
            let made = self.open.as_ref().map_or(0, |o| o.parts.len() as u64);
            return part < made;
        }
        if !complete {
            return false;
        }
        if msn + 1 < self.next_sequence {
            return true; // the segment after it is complete too
        }
        let parts = self.segments.back().map_or(0, |s| s.parts.len() as u64);
        part < parts || self.is_available(msn + 1, Some(0))
    }
}
