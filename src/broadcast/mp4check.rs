//! Test-only reader of the boxes this module writes, written independently of the writer so
//! the tests can parse the output back: every box's size must tile its parent exactly, `trun`
//! data offsets must land in the `mdat`, and sample sizes must sum to the `mdat` payload.

use super::fmp4::SampleInfo;

/// Boxes whose payload is nothing but boxes.
const CONTAINERS: [&[u8; 4]; 9] = [
    b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"mvex", b"moof", b"traf",
];

/// One box: its type, where it starts in the file, and its payload.
#[derive(Debug, Clone)]
pub(crate) struct BoxRef<'a> {
    /// The four-character type.
    pub kind: [u8; 4],
    /// Offset of the box's first byte in the whole file.
    pub start: usize,
    /// Offset of the payload's first byte in the whole file.
    pub payload_start: usize,
    /// The payload (after the 8-byte header).
    pub payload: &'a [u8],
    /// The children, for container boxes.
    pub children: Vec<BoxRef<'a>>,
}

impl BoxRef<'_> {
    /// The type as text.
    pub(crate) fn kind_str(&self) -> &str {
        std::str::from_utf8(&self.kind).unwrap_or("????")
    }

    /// The first child of that type.
    pub(crate) fn child(&self, kind: &[u8; 4]) -> Result<&Self, String> {
        self.children
            .iter()
            .find(|c| &c.kind == kind)
            .ok_or_else(|| {
                format!(
                    "no {} in {}",
                    String::from_utf8_lossy(kind),
                    self.kind_str()
                )
            })
    }

    /// The child at that path of types.
    pub(crate) fn path(&self, kinds: &[&[u8; 4]]) -> Result<&Self, String> {
        kinds.iter().try_fold(self, |b, k| b.child(k))
    }
}

/// Reads the boxes of `data` (which starts at file offset `base`), requiring that their sizes
/// add up to exactly `data.len()`; recurses into container boxes.
fn boxes(data: &[u8], base: usize) -> Result<Vec<BoxRef<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        if data.len() - pos < 8 {
            return Err(format!(
                "{} stray bytes at {}",
                data.len() - pos,
                base + pos
            ));
        }
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[pos + 4..pos + 8].try_into().unwrap();
        if size < 8 || pos + size > data.len() {
            return Err(format!(
                "box {} at {} has size {size}, {} bytes left",
                String::from_utf8_lossy(&kind),
                base + pos,
                data.len() - pos
            ));
        }
        let payload = &data[pos + 8..pos + size];
        let children = if CONTAINERS.contains(&&kind) {
            boxes(payload, base + pos + 8)?
        } else {
            Vec::new()
        };
        out.push(BoxRef {
            kind,
            start: base + pos,
            payload_start: base + pos + 8,
            payload,
            children,
        });
        pos += size;
    }
    Ok(out)
}

/// The top-level boxes of a file, checked to tile it exactly.
pub(crate) fn walk(data: &[u8]) -> Result<Vec<BoxRef<'_>>, String> {
    boxes(data, 0)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// A track as the init segment describes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct InitTrack {
    pub id: u32,
    pub handler: String,
    pub timescale: u32,
    /// The sample entry type (`avc3`, `mp4a`).
    pub entry: String,
    pub width: u16,
    pub height: u16,
    pub channels: u16,
    pub sample_rate: u32,
    /// The `avcC` payload, or the decoder specific info from `esds`.
    pub config: Vec<u8>,
}

/// What an init segment holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct InitInfo {
    pub tracks: Vec<InitTrack>,
    /// `track_ID`s of the `trex` boxes.
    pub trex: Vec<u32>,
}

/// Parses an init segment.
pub(crate) fn parse_init(data: &[u8]) -> Result<InitInfo, String> {
    let tops = walk(data)?;
    let moov = tops.iter().find(|b| &b.kind == b"moov").ok_or("no moov")?;
    let mut info = InitInfo::default();
    for trak in moov.children.iter().filter(|b| &b.kind == b"trak") {
        let tkhd = trak.child(b"tkhd")?.payload;
        let mdhd = trak.path(&[b"mdia", b"mdhd"])?.payload;
        let hdlr = trak.path(&[b"mdia", b"hdlr"])?.payload;
        let stsd = trak.path(&[b"mdia", b"minf", b"stbl", b"stsd"])?.payload;
        if u32_at(stsd, 4) != 1 {
            return Err("stsd must hold one entry".into());
        }
        // The sample entry: a box inside stsd after version/flags and entry_count.
        let entry = boxes(&stsd[8..], 0)?.remove(0);
        let mut t = InitTrack {
            id: u32_at(tkhd, 12),
            handler: String::from_utf8_lossy(&hdlr[8..12]).into(),
            timescale: u32_at(mdhd, 12),
            entry: entry.kind_str().into(),
            ..InitTrack::default()
        };
        let e = entry.payload;
        match &entry.kind {
            b"avc3" | b"avc1" => {
                t.width = u16_at(e, 24);
                t.height = u16_at(e, 26);
                let inner = boxes(&e[78..], 0)?;
                let avcc = inner.iter().find(|b| &b.kind == b"avcC").ok_or("no avcC")?;
                t.config = avcc.payload.to_vec();
            }
            b"mp4a" => {
                t.channels = u16_at(e, 16);
                t.sample_rate = u32_at(e, 24) >> 16;
                let inner = boxes(&e[28..], 0)?;
                let esds = inner.iter().find(|b| &b.kind == b"esds").ok_or("no esds")?;
                t.config = decoder_specific_info(&esds.payload[4..])?;
            }
            other => {
                return Err(format!(
                    "unexpected entry {}",
                    String::from_utf8_lossy(other)
                ))
            }
        }
        info.tracks.push(t);
    }
    for trex in moov
        .child(b"mvex")?
        .children
        .iter()
        .filter(|b| &b.kind == b"trex")
    {
        info.trex.push(u32_at(trex.payload, 4));
    }
    Ok(info)
}

/// Finds the DecoderSpecificInfo (tag 5) in ES descriptors, checking each length.
fn decoder_specific_info(mut d: &[u8]) -> Result<Vec<u8>, String> {
    // ES_Descriptor
    let (tag, len, rest) = descriptor(d)?;
    if tag != 3 || len != rest.len() {
        return Err(format!(
            "ES_Descriptor tag {tag} len {len} of {}",
            rest.len()
        ));
    }
    d = &rest[3..];
    let (tag, len, rest) = descriptor(d)?;
    if tag != 4 || len > rest.len() {
        return Err("bad DecoderConfigDescriptor".into());
    }
    let (sl_tag, _, _) = descriptor(&rest[len..])?;
    if sl_tag != 6 {
        return Err("no SLConfigDescriptor".into());
    }
    if rest[0] != 0x40 {
        return Err("objectTypeIndication is not MPEG-4 audio".into());
    }
    let (tag, len, dsi) = descriptor(&rest[13..len])?;
    if tag != 5 || len != dsi.len() {
        return Err("bad DecoderSpecificInfo".into());
    }
    Ok(dsi.to_vec())
}

/// Tag, length and everything after the header of an MPEG-4 descriptor (any length form).
fn descriptor(d: &[u8]) -> Result<(u8, usize, &[u8]), String> {
    let tag = *d.first().ok_or("empty descriptor")?;
    let mut len = 0usize;
    let mut i = 1;
    loop {
        let b = *d.get(i).ok_or("short descriptor")?;
        len = (len << 7) | usize::from(b & 0x7f);
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, len, &d[i..]))
}

/// One `traf` of a fragment.
#[derive(Debug, Clone)]
pub(crate) struct TrafInfo {
    pub track_id: u32,
    pub base_decode_time: u64,
    /// Where the first sample's data starts in the file.
    pub data_start: usize,
    pub samples: Vec<SampleInfo>,
}

/// What a media segment holds.
#[derive(Debug, Clone)]
pub(crate) struct FragmentInfo {
    /// `mfhd` sequence_number.
    pub sequence: u32,
    pub trafs: Vec<TrafInfo>,
}

impl FragmentInfo {
    /// The bytes of sample `sample` of `traf` number `traf` in `file`.
    pub(crate) fn sample_data<'f>(&self, file: &'f [u8], traf: usize, sample: usize) -> &'f [u8] {
        let t = &self.trafs[traf];
        let start = t.data_start
            + t.samples[..sample]
                .iter()
                .map(|s| s.size as usize)
                .sum::<usize>();
        &file[start..start + t.samples[sample].size as usize]
    }

    /// Sum of the video track's sample durations.
    pub(crate) fn duration(&self, track_id: u32) -> u64 {
        self.trafs
            .iter()
            .filter(|t| t.track_id == track_id)
            .flat_map(|t| t.samples.iter())
            .map(|s| u64::from(s.duration))
            .sum()
    }
}

/// Parses a media segment (`styp`? `moof` `mdat`), checking that the boxes tile it, that each
/// `trun`'s data offset (from the moof, default-base-is-moof) lands in the `mdat`, that the
/// tracks' data follow each other, and that the sample sizes sum to the `mdat` payload.
pub(crate) fn parse_fragment(data: &[u8]) -> Result<FragmentInfo, String> {
    let tops = walk(data)?;
    let kinds: Vec<&str> = tops.iter().map(|b| b.kind_str()).collect();
    if kinds != ["styp", "moof", "mdat"] && kinds != ["moof", "mdat"] {
        return Err(format!("top-level boxes {kinds:?}"));
    }
    let moof = &tops[tops.len() - 2];
    let mdat = &tops[tops.len() - 1];
    let sequence = u32_at(moof.child(b"mfhd")?.payload, 4);
    let mut trafs = Vec::new();
    let mut expected_start = mdat.payload_start;
    for traf in moof.children.iter().filter(|b| &b.kind == b"traf") {
        let tfhd = traf.child(b"tfhd")?.payload;
        if u32_at(tfhd, 0) & 0x02_0000 == 0 {
            return Err("tfhd without default-base-is-moof".into());
        }
        let tfdt = traf.child(b"tfdt")?.payload;
        if tfdt[0] != 1 {
            return Err("tfdt is not version 1".into());
        }
        let trun = traf.child(b"trun")?.payload;
        let flags = u32_at(trun, 0) & 0xff_ffff;
        if flags != 0x701 {
            return Err(format!("trun flags {flags:#x}"));
        }
        let count = u32_at(trun, 4) as usize;
        if trun.len() != 12 + 12 * count {
            return Err(format!("trun of {} bytes for {count} samples", trun.len()));
        }
        let data_start = moof.start + u32_at(trun, 8) as usize;
        if data_start != expected_start {
            return Err(format!(
                "data offset lands at {data_start}, expected {expected_start}"
            ));
        }
        let samples: Vec<SampleInfo> = (0..count)
            .map(|i| SampleInfo {
                duration: u32_at(trun, 12 + 12 * i),
                size: u32_at(trun, 16 + 12 * i),
                flags: u32_at(trun, 20 + 12 * i),
            })
            .collect();
        expected_start += samples.iter().map(|s| s.size as usize).sum::<usize>();
        trafs.push(TrafInfo {
            track_id: u32_at(tfhd, 4),
            base_decode_time: u64::from_be_bytes(tfdt[4..12].try_into().unwrap()),
            data_start,
            samples,
        });
    }
    if expected_start != mdat.payload_start + mdat.payload.len() {
        return Err(format!(
            "samples take {} bytes, mdat holds {}",
            expected_start - mdat.payload_start,
            mdat.payload.len()
        ));
    }
    Ok(FragmentInfo { sequence, trafs })
}

/// The NAL unit types of a length-prefixed video sample, checking the lengths tile it.
pub(crate) fn sample_nal_types(sample: &[u8]) -> Result<Vec<u8>, String> {
    let mut types = Vec::new();
    let mut pos = 0;
    while pos < sample.len() {
        if sample.len() - pos < 5 {
            return Err("truncated NAL length".into());
        }
        let len = u32_at(sample, pos) as usize;
        if len == 0 || pos + 4 + len > sample.len() {
            return Err(format!("NAL length {len} at {pos} of {}", sample.len()));
        }
        types.push(sample[pos + 4] & 0x1f);
        pos += 4 + len;
    }
    Ok(types)
}
