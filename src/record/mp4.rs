//! Reading what an MP4 file holds, from its boxes (ISO/IEC 14496-12), without a media library:
//! its tracks (`moov/trak`: handler `vide`/`soun` in `mdia/hdlr`, sample descriptions in
//! `stbl/stsd`, time scale in `mdhd`) and how much media each carries, summed from the movie
//! fragments (`moof/traf`: `tfhd`, `tfdt`, `trun`, with defaults from `mvex/trex`) or, in an
//! unfragmented file, from `stbl/stts`.
//!
//! `courtroom verify` uses it to check that a segment is a playable MP4 holding the tracks its
//! manifest entry names, for as long as the entry says ([`super::verify`]).

use std::collections::BTreeMap;

/// A track of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Track {
    /// `track_ID` from `tkhd`.
    pub id: u32,
    /// The handler type from `hdlr`: `vide`, `soun`, ...
    pub handler: String,
    /// How many sample descriptions `stsd` holds (0: the track cannot be decoded).
    pub sample_entries: u32,
    /// The first sample description's type (`avc1`, `mp4a`, ...).
    pub codec: Option<String>,
    /// Units per second of the track's times (`mdhd`).
    pub timescale: u32,
    /// Samples in the file (fragments and `stts`).
    pub samples: u64,
    /// Earliest decode time, in `timescale` units.
    pub start: Option<u64>,
    /// Decode time just after the last sample, in `timescale` units.
    pub end: Option<u64>,
}

impl Track {
    /// `video` for a `vide` handler, `audio` for `soun`, else the handler.
    pub fn kind(&self) -> &str {
        match self.handler.as_str() {
            "vide" => "video",
            "soun" => "audio",
            other => other,
        }
    }

    /// The media the track's samples span, in milliseconds (0 without samples).
    pub fn duration_ms(&self) -> u64 {
        match (self.start, self.end, self.timescale) {
            (Some(s), Some(e), ts) if ts > 0 && e > s => (e - s) * 1000 / ts as u64,
            _ => 0,
        }
    }

    /// Whether the track can be played: a sample description and at least one sample.
    pub fn holds_media(&self) -> bool {
        self.sample_entries > 0 && self.samples > 0
    }
}

/// What an MP4 file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mp4Info {
    /// The tracks, in `moov` order.
    pub tracks: Vec<Track>,
    /// Movie fragments (`moof`).
    pub fragments: usize,
    /// The last top-level box runs past the end of the file (a torn write).
    pub truncated: bool,
    /// The top-level box types in order (`ftyp`, `moov`, `moof`, `mdat`, ...).
    pub top_level: Vec<String>,
}

impl Mp4Info {
    /// The first track of `kind` (`video`, `audio`).
    pub fn track(&self, kind: &str) -> Option<&Track> {
        self.tracks.iter().find(|t| t.kind() == kind)
    }
}

/// The tracks of the MP4 file at `path` that hold media (`video`, `audio`), in that order;
/// none when it cannot be read or parsed.
pub fn tracks_in_file(path: &std::path::Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let Ok(info) = parse(&bytes) else {
        return Vec::new();
    };
    ["video", "audio"]
        .into_iter()
        .filter(|k| info.track(k).is_some_and(Track::holds_media))
        .map(str::to_owned)
        .collect()
}

/// Why a file is not a readable MP4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mp4Error(pub String);

/// One box: its type and its payload (after the header).
struct BoxRef<'a> {
    kind: [u8; 4],
    payload: &'a [u8],
    /// Where the box starts in the file.
    offset: usize,
    /// Where its payload starts in the file.
    payload_offset: usize,
}

/// The boxes in `data` (at file offset `base`). `Ok((boxes, truncated))`: truncated when the
/// last box runs past the end (only allowed at the top level).
fn boxes(data: &[u8], base: usize) -> Result<(Vec<BoxRef<'_>>, bool), Mp4Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if data.len() - pos < 8 {
            return Ok((out, true));
        }
        let size32 = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as u64;
        let kind: [u8; 4] = data[pos + 4..pos + 8].try_into().unwrap();
        let (header, size) = match size32 {
            0 => (8u64, (data.len() - pos) as u64),
            1 => {
                if data.len() - pos < 16 {
                    return Ok((out, true));
                }
                let large = u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap());
                (16, large)
            }
            s => (8, s),
        };
        if size < header {
            return Err(Mp4Error(format!(
                "box '{}' at byte {} has size {size}, less than its header",
                fourcc(&kind),
                base + pos
            )));
        }
        let end = pos as u64 + size;
        if end > data.len() as u64 {
            out.push(BoxRef {
                kind,
                payload: &data[pos + header as usize..],
                offset: base + pos,
                payload_offset: base + pos + header as usize,
            });
            return Ok((out, true));
        }
        out.push(BoxRef {
            kind,
            payload: &data[pos + header as usize..end as usize],
            offset: base + pos,
            payload_offset: base + pos + header as usize,
        });
        pos = end as usize;
    }
    Ok((out, false))
}

/// The type and offset of the last whole top-level box in `data` (`None` for a file that is
/// not boxes, or whose last box runs past its end).
pub fn last_box(data: &[u8]) -> Option<([u8; 4], usize)> {
    match boxes(data, 0) {
        Ok((list, false)) => list.last().map(|b| (b.kind, b.offset)),
        _ => None,
    }
}

/// The boxes inside a container box; a child running past its parent is an error.
fn children<'a>(b: &BoxRef<'a>) -> Result<Vec<BoxRef<'a>>, Mp4Error> {
    let (list, truncated) = boxes(b.payload, b.payload_offset)?;
    if truncated {
        return Err(Mp4Error(format!(
            "box '{}' at byte {}: a box inside it runs past its end",
            fourcc(&b.kind),
            b.offset
        )));
    }
    Ok(list)
}

fn fourcc(k: &[u8; 4]) -> String {
    k.iter()
        .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
        .collect()
}

/// A big-endian reader over a box payload that reports where it ran short.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, pos: 0, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Mp4Error> {
        if self.data.len() - self.pos < n {
            return Err(Mp4Error(format!("box '{}' is too short", self.what)));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, Mp4Error> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64, Mp4Error> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// A 32- or 64-bit value, by a full box's version.
    fn sized(&mut self, version: u8) -> Result<u64, Mp4Error> {
        if version == 1 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// The version and flags of a full box.
    fn full(&mut self) -> Result<(u8, u32), Mp4Error> {
        let vf = self.u32()?;
        Ok(((vf >> 24) as u8, vf & 0x00ff_ffff))
    }
}

/// Per-track defaults from `mvex/trex`.
#[derive(Default, Clone, Copy)]
struct TrackDefaults {
    sample_duration: u32,
}

/// Reads `data`, a whole MP4 file.
pub fn parse(data: &[u8]) -> Result<Mp4Info, Mp4Error> {
    let (top, truncated) = boxes(data, 0)?;
    let mut info = Mp4Info {
        truncated,
        top_level: top.iter().map(|b| fourcc(&b.kind)).collect(),
        ..Default::default()
    };
    if top.first().map(|b| &b.kind) != Some(b"ftyp") {
        return Err(Mp4Error(
            "not an MP4 file: it does not start with 'ftyp'".into(),
        ));
    }
    let moov = top
        .iter()
        .find(|b| &b.kind == b"moov")
        .ok_or_else(|| Mp4Error("no 'moov' box: no track is described".into()))?;
    if truncated && top.last().map(|b| &b.kind) == Some(b"moov") {
        return Err(Mp4Error("the 'moov' box is cut short".into()));
    }
    let mut defaults: BTreeMap<u32, TrackDefaults> = BTreeMap::new();
    for b in children(moov)? {
        match &b.kind {
            b"trak" => info.tracks.push(parse_trak(&b)?),
            b"mvex" => {
                for t in children(&b)? {
                    if &t.kind == b"trex" {
                        let mut r = Reader::new(t.payload, "trex");
                        r.full()?;
                        let id = r.u32()?;
                        let _description = r.u32()?;
                        let duration = r.u32()?;
                        defaults.insert(
                            id,
                            TrackDefaults {
                                sample_duration: duration,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }
    // A torn last fragment (its `moof` or its `mdat` cut short) is not counted.
    let torn = truncated
        .then(|| {
            let last = top.len().checked_sub(1)?;
            match &top[last].kind {
                b"moof" => Some(last),
                b"mdat" if last > 0 && &top[last - 1].kind == b"moof" => Some(last - 1),
                _ => None,
            }
        })
        .flatten();
    for (i, b) in top.iter().enumerate() {
        if &b.kind != b"moof" {
            continue;
        }
        if Some(i) == torn {
            break;
        }
        info.fragments += 1;
        for traf in children(b)? {
            if &traf.kind == b"traf" {
                parse_traf(&traf, &defaults, &mut info.tracks)?;
            }
        }
    }
    Ok(info)
}

fn parse_trak(trak: &BoxRef<'_>) -> Result<Track, Mp4Error> {
    let mut track = Track::default();
    for b in children(trak)? {
        match &b.kind {
            b"tkhd" => {
                let mut r = Reader::new(b.payload, "tkhd");
                let (v, _) = r.full()?;
                r.sized(v)?;
                r.sized(v)?;
                track.id = r.u32()?;
            }
            b"mdia" => {
                for m in children(&b)? {
                    match &m.kind {
                        b"mdhd" => {
                            let mut r = Reader::new(m.payload, "mdhd");
                            let (v, _) = r.full()?;
                            r.sized(v)?;
                            r.sized(v)?;
                            track.timescale = r.u32()?;
                        }
                        b"hdlr" => {
                            let mut r = Reader::new(m.payload, "hdlr");
                            r.full()?;
                            r.u32()?;
                            track.handler = fourcc(&r.take(4)?.try_into().unwrap());
                        }
                        b"minf" => {
                            for s in children(&m)? {
                                if &s.kind == b"stbl" {
                                    parse_stbl(&s, &mut track)?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(track)
}

fn parse_stbl(stbl: &BoxRef<'_>, track: &mut Track) -> Result<(), Mp4Error> {
    for b in children(stbl)? {
        match &b.kind {
            b"stsd" => {
                let mut r = Reader::new(b.payload, "stsd");
                r.full()?;
                track.sample_entries = r.u32()?;
                let rest = &b.payload[8.min(b.payload.len())..];
                if track.sample_entries > 0 {
                    let (entries, _) = boxes(rest, b.payload_offset + 8)?;
                    track.codec = entries.first().map(|e| fourcc(&e.kind));
                    if entries.is_empty() {
                        return Err(Mp4Error(format!(
                            "'stsd' of track {} says {} entries and holds none",
                            track.id, track.sample_entries
                        )));
                    }
                }
            }
            b"stts" => {
                let mut r = Reader::new(b.payload, "stts");
                r.full()?;
                let n = r.u32()?;
                let mut total = 0u64;
                for _ in 0..n {
                    let count = r.u32()? as u64;
                    let delta = r.u32()? as u64;
                    track.samples += count;
                    total += count * delta;
                }
                if total > 0 {
                    track.start = Some(0);
                    track.end = Some(total);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_traf(
    traf: &BoxRef<'_>,
    defaults: &BTreeMap<u32, TrackDefaults>,
    tracks: &mut [Track],
) -> Result<(), Mp4Error> {
    let mut id = None;
    let mut default_duration = 0u32;
    let mut decode_time = None;
    let mut samples = 0u64;
    let mut span = 0u64;
    for b in children(traf)? {
        match &b.kind {
            b"tfhd" => {
                let mut r = Reader::new(b.payload, "tfhd");
                let (_, flags) = r.full()?;
                let track = r.u32()?;
                id = Some(track);
                default_duration = defaults.get(&track).map(|d| d.sample_duration).unwrap_or(0);
                if flags & 0x01 != 0 {
                    r.u64()?;
                }
                if flags & 0x02 != 0 {
                    r.u32()?;
                }
                if flags & 0x08 != 0 {
                    default_duration = r.u32()?;
                }
            }
            b"tfdt" => {
                let mut r = Reader::new(b.payload, "tfdt");
                let (v, _) = r.full()?;
                decode_time = Some(r.sized(v)?);
            }
            b"trun" => {
                let mut r = Reader::new(b.payload, "trun");
                let (_, flags) = r.full()?;
                let count = r.u32()?;
                if flags & 0x01 != 0 {
                    r.u32()?;
                }
                if flags & 0x04 != 0 {
                    r.u32()?;
                }
                for _ in 0..count {
                    let duration = if flags & 0x100 != 0 {
                        r.u32()?
                    } else {
                        default_duration
                    };
                    for bit in [0x200, 0x400, 0x800] {
                        if flags & bit != 0 {
                            r.u32()?;
                        }
                    }
                    span += duration as u64;
                }
                samples += count as u64;
            }
            _ => {}
        }
    }
    let Some(id) = id else {
        return Err(Mp4Error(format!(
            "'traf' at byte {} has no 'tfhd'",
            traf.offset
        )));
    };
    let Some(track) = tracks.iter_mut().find(|t| t.id == id) else {
        return Err(Mp4Error(format!(
            "a fragment names track {id}, which 'moov' does not describe"
        )));
    };
    let start = decode_time.or(track.end).unwrap_or(0);
    track.samples += samples;
    if samples > 0 {
        track.start = Some(track.start.map_or(start, |s| s.min(start)));
        track.end = Some(track.end.map_or(start + span, |e| e.max(start + span)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn full(v: u8, flags: u32, rest: &[u8]) -> Vec<u8> {
        let mut out = (((v as u32) << 24) | flags).to_be_bytes().to_vec();
        out.extend_from_slice(rest);
        out
    }

    fn be(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// A fragmented file: one track (`handler`, `entries` sample descriptions), and one
    /// fragment of `samples` samples of `duration` each at decode time `at`.
    fn file(handler: &[u8; 4], entries: u32, samples: u32, duration: u32, at: u32) -> Vec<u8> {
        let tkhd = bx(b"tkhd", &full(0, 3, &be(&[0, 0, 1, 0, 0])));
        let mdhd = bx(b"mdhd", &full(0, 0, &be(&[0, 0, 1000, 0])));
        let mut h = be(&[0]);
        h.extend_from_slice(handler);
        let hdlr = bx(b"hdlr", &full(0, 0, &h));
        let mut stsd_body = be(&[entries]);
        for _ in 0..entries {
            stsd_body.extend(bx(b"avc1", &[0; 8]));
        }
        let stsd = bx(b"stsd", &full(0, 0, &stsd_body));
        let stbl = bx(b"stbl", &stsd);
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
        let trak = bx(b"trak", &[tkhd, mdia].concat());
        let trex = bx(b"trex", &full(0, 0, &be(&[1, 1, duration, 0, 0])));
        let mvex = bx(b"mvex", &trex);
        let moov = bx(b"moov", &[trak, mvex].concat());
        let tfhd = bx(b"tfhd", &full(0, 0, &be(&[1])));
        let tfdt = bx(b"tfdt", &full(0, 0, &be(&[at])));
        let trun = bx(
            b"trun",
            &full(
                0,
                0x200,
                &be(&[samples])
                    .into_iter()
                    .chain(be(&vec![10; samples as usize]))
                    .collect::<Vec<u8>>(),
            ),
        );
        let traf = bx(b"traf", &[tfhd, tfdt, trun].concat());
        let moof = bx(b"moof", &traf);
        let mdat = bx(b"mdat", &vec![0; 10 * samples as usize]);
        [bx(b"ftyp", b"isom\0\0\0\0"), moov, moof, mdat].concat()
    }

    #[test]
    fn reads_tracks_and_fragment_durations() {
        let info = parse(&file(b"vide", 1, 25, 40, 500)).unwrap();
        assert_eq!(info.fragments, 1);
        assert!(!info.truncated);
        let v = info.track("video").unwrap();
        assert_eq!(v.codec.as_deref(), Some("avc1"));
        assert_eq!(v.samples, 25);
        assert_eq!(v.duration_ms(), 1000);
        assert_eq!(v.start, Some(500));
        assert!(v.holds_media());
        assert!(info.track("audio").is_none());
    }

    #[test]
    fn an_empty_sample_description_holds_no_media() {
        let info = parse(&file(b"vide", 0, 0, 40, 0)).unwrap();
        let v = info.track("video").unwrap();
        assert_eq!(v.sample_entries, 0);
        assert!(!v.holds_media());
    }

    #[test]
    fn torn_and_broken_files() {
        let whole = file(b"soun", 1, 10, 100, 0);
        let torn = parse(&whole[..whole.len() - 5]).unwrap();
        assert!(torn.truncated);
        assert_eq!(torn.fragments, 0, "a torn last fragment is not counted");
        assert!(parse(b"not an mp4 at all").is_err());
        let mut bad = whole.clone();
        // The moov's size made smaller than its header.
        let at = bad.windows(4).position(|w| w == b"moov").unwrap() - 4;
        bad[at..at + 4].copy_from_slice(&4u32.to_be_bytes());
        assert!(parse(&bad).is_err());
        assert!(parse(&whole[..30]).is_err(), "no moov");
    }
}
