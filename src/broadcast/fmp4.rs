//! The ISO BMFF (ISO/IEC 14496-12) boxes of a CMAF track pair: the init segment
//! (`ftyp` + `moov`) and media segments (`styp` + `moof` + `mdat`).
//!
//! Owns box layout only: what goes in is already-made samples (sizes, durations, flags and the
//! bytes of each track's samples one after the other) and the codec configuration records; what
//! comes out is bytes. Two tracks, always: video ([`VIDEO_TRACK`], sample entry `avc3`, 90 kHz)
//! and audio ([`AUDIO_TRACK`], `mp4a` with an `esds`, at the AAC sample rate). Every track
//! header says "no samples here" (`stts`/`stsc`/`stsz`/`stco` empty, durations 0) and `mvex`
//! announces fragments; each media segment is one `moof` with a `traf` per track that has
//! samples, and one `mdat` holding the video samples then the audio samples.

/// `track_ID` of the video track.
pub(crate) const VIDEO_TRACK: u32 = 1;
/// `track_ID` of the audio track.
pub(crate) const AUDIO_TRACK: u32 = 2;
/// Units per second of the video track's times.
pub(crate) const VIDEO_TIMESCALE: u32 = 90_000;

/// `sample_flags` of a sync sample: `sample_depends_on` = 2 (depends on no other sample),
/// `sample_is_non_sync_sample` = 0. Used for keyframes and for every audio sample.
pub(crate) const SYNC_SAMPLE: u32 = 0x0200_0000;
/// `sample_flags` of a non-sync sample: `sample_depends_on` = 1, `sample_is_non_sync_sample` = 1.
pub(crate) const NON_SYNC_SAMPLE: u32 = 0x0101_0000;

/// The 3×3 unity transformation matrix of `mvhd` and `tkhd` (16.16 and 2.30 fixed point).
const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// A byte buffer that writes boxes: [`Writer::open`] reserves the size field and
/// [`Writer::close`] fills it in, so nested boxes need no copying.
#[derive(Debug, Default)]
struct Writer {
    /// Everything written so far.
    buf: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Starts a box; returns where it starts, for [`Writer::close`].
    fn open(&mut self, kind: &[u8; 4]) -> usize {
        let at = self.buf.len();
        self.u32(0);
        self.bytes(kind);
        at
    }

    /// Starts a full box (a box with version and flags).
    fn open_full(&mut self, kind: &[u8; 4], version: u8, flags: u32) -> usize {
        let at = self.open(kind);
        self.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        at
    }

    /// Ends the box started at `at`: writes its size.
    fn close(&mut self, at: usize) {
        let size = u32::try_from(self.buf.len() - at).expect("box over 4 GiB");
        self.buf[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }

    /// Overwrites four bytes at `at` (a field whose value is known only later).
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// A box with nothing but version and flags and `entry_count` = 0 (`stts`, `stsc`, `stco`).
    fn empty_table(&mut self, kind: &[u8; 4]) {
        let b = self.open_full(kind, 0, 0);
        self.u32(0);
        self.close(b);
    }
}

/// What the init segment describes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InitParams<'a> {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// The `AVCDecoderConfigurationRecord` for `avcC`.
    pub avcc: &'a [u8],
    /// The AAC AudioSpecificConfig for the `esds` decoder specific info.
    pub asc: &'a [u8],
    /// Audio channels.
    pub channels: u16,
    /// Audio sample rate, also the audio track's timescale.
    pub sample_rate: u32,
}

/// The init segment: `ftyp` + `moov` (`mvhd`, video `trak`, audio `trak`, `mvex`).
pub(crate) fn init_segment(p: &InitParams<'_>) -> Vec<u8> {
    let mut w = Writer::default();
    let ftyp = w.open(b"ftyp");
    w.bytes(b"iso6");
    w.u32(0);
    for brand in [b"iso6", b"cmfc", b"mp41"] {
        w.bytes(brand);
    }
    w.close(ftyp);

    let moov = w.open(b"moov");
    let mvhd = w.open_full(b"mvhd", 0, 0);
    w.u32(0); // creation_time
    w.u32(0); // modification_time
    w.u32(1000); // timescale
    w.u32(0); // duration: unknown, fragmented
    w.u32(0x0001_0000); // rate 1.0
    w.u16(0x0100); // volume 1.0
    w.zeros(2 + 8); // reserved
    UNITY_MATRIX.iter().for_each(|&m| w.u32(m));
    w.zeros(24); // pre_defined
    w.u32(AUDIO_TRACK + 1); // next_track_ID
    w.close(mvhd);

    write_trak(&mut w, p, true);
    write_trak(&mut w, p, false);

    let mvex = w.open(b"mvex");
    for track in [VIDEO_TRACK, AUDIO_TRACK] {
        let trex = w.open_full(b"trex", 0, 0);
        w.u32(track);
        w.u32(1); // default_sample_description_index
        w.u32(0); // default_sample_duration
        w.u32(0); // default_sample_size
        w.u32(0); // default_sample_flags
        w.close(trex);
    }
    w.close(mvex);
    w.close(moov);
    w.buf
}

/// One `trak`: the video track when `video`, else the audio track.
fn write_trak(w: &mut Writer, p: &InitParams<'_>, video: bool) {
    let trak = w.open(b"trak");
    let tkhd = w.open_full(b"tkhd", 0, 0x3); // track_enabled | track_in_movie
    w.u32(0); // creation_time
    w.u32(0); // modification_time
    w.u32(if video { VIDEO_TRACK } else { AUDIO_TRACK });
    w.u32(0); // reserved
    w.u32(0); // duration
    w.zeros(8); // reserved
    w.u16(0); // layer
    w.u16(0); // alternate_group
    w.u16(if video { 0 } else { 0x0100 }); // volume
    w.u16(0); // reserved
    UNITY_MATRIX.iter().for_each(|&m| w.u32(m));
    let (width, height) = if video { (p.width, p.height) } else { (0, 0) };
    w.u32(width << 16); // 16.16 fixed point
    w.u32(height << 16);
    w.close(tkhd);

    let mdia = w.open(b"mdia");
    let mdhd = w.open_full(b"mdhd", 0, 0);
    w.u32(0); // creation_time
    w.u32(0); // modification_time
    w.u32(if video {
        VIDEO_TIMESCALE
    } else {
        p.sample_rate
    });
    w.u32(0); // duration
    w.u16(0x55c4); // language "und", packed ISO-639-2/T
    w.u16(0); // pre_defined
    w.close(mdhd);

    let hdlr = w.open_full(b"hdlr", 0, 0);
    w.u32(0); // pre_defined
    w.bytes(if video { b"vide" } else { b"soun" });
    w.zeros(12); // reserved
    w.bytes(if video {
        b"VideoHandler\0"
    } else {
        b"SoundHandler\0"
    });
    w.close(hdlr);

    let minf = w.open(b"minf");
    if video {
        let vmhd = w.open_full(b"vmhd", 0, 1);
        w.zeros(8); // graphicsmode, opcolor
        w.close(vmhd);
    } else {
        let smhd = w.open_full(b"smhd", 0, 0);
        w.zeros(4); // balance, reserved
        w.close(smhd);
    }
    let dinf = w.open(b"dinf");
    let dref = w.open_full(b"dref", 0, 0);
    w.u32(1); // entry_count
    let url = w.open_full(b"url ", 0, 1); // media data in this file
    w.close(url);
    w.close(dref);
    w.close(dinf);

    let stbl = w.open(b"stbl");
    let stsd = w.open_full(b"stsd", 0, 0);
    w.u32(1); // entry_count
    if video {
        write_avc3(w, p);
    } else {
        write_mp4a(w, p);
    }
    w.close(stsd);
    w.empty_table(b"stts");
    w.empty_table(b"stsc");
    let stsz = w.open_full(b"stsz", 0, 0);
    w.u32(0); // sample_size
    w.u32(0); // sample_count
    w.close(stsz);
    w.empty_table(b"stco");
    w.close(stbl);
    w.close(minf);
    w.close(mdia);
    w.close(trak);
}

/// The `avc3` visual sample entry with its `avcC`.
fn write_avc3(w: &mut Writer, p: &InitParams<'_>) {
    let entry = w.open(b"avc3");
    w.zeros(6); // reserved
    w.u16(1); // data_reference_index
    w.zeros(16); // pre_defined, reserved, pre_defined[3]
    w.u16(p.width as u16);
    w.u16(p.height as u16);
    w.u32(0x0048_0000); // horizresolution 72 dpi
    w.u32(0x0048_0000); // vertresolution 72 dpi
    w.u32(0); // reserved
    w.u16(1); // frame_count
    w.zeros(32); // compressorname
    w.u16(0x0018); // depth
    w.u16(0xffff); // pre_defined = -1
    let avcc = w.open(b"avcC");
    w.bytes(p.avcc);
    w.close(avcc);
    w.close(entry);
}

/// Writes an MPEG-4 descriptor header: tag and a one-byte length (all ours are < 128 bytes).
fn descriptor(w: &mut Writer, tag: u8, len: usize) {
    w.u8(tag);
    w.u8(u8::try_from(len)
        .ok()
        .filter(|l| *l < 0x80)
        .expect("short descriptor"));
}

/// The `mp4a` audio sample entry with its `esds` (ISO/IEC 14496-1 descriptors).
fn write_mp4a(w: &mut Writer, p: &InitParams<'_>) {
    let entry = w.open(b"mp4a");
    w.zeros(6); // reserved
    w.u16(1); // data_reference_index
    w.zeros(8); // reserved
    w.u16(p.channels);
    w.u16(16); // samplesize
    w.u16(0); // pre_defined
    w.u16(0); // reserved
    w.u32(p.sample_rate << 16); // 16.16 fixed point
    let esds = w.open_full(b"esds", 0, 0);
    let dsi_len = 2 + p.asc.len();
    let dcd_len = 13 + dsi_len;
    let sl_len = 2 + 1;
    descriptor(w, 0x03, 3 + 2 + dcd_len + sl_len); // ES_Descriptor
    w.u16(0); // ES_ID
    w.u8(0); // no stream dependence, URL or OCR stream
    descriptor(w, 0x04, dcd_len); // DecoderConfigDescriptor
    w.u8(0x40); // objectTypeIndication: MPEG-4 Audio
    w.u8((0x05 << 2) | 1); // streamType audio, upStream 0, reserved 1
    w.bytes(&[0, 0, 0]); // bufferSizeDB
    w.u32(0); // maxBitrate
    w.u32(0); // avgBitrate
    descriptor(w, 0x05, p.asc.len()); // DecoderSpecificInfo
    w.bytes(p.asc);
    descriptor(w, 0x06, 1); // SLConfigDescriptor
    w.u8(0x02); // predefined: MP4
    w.close(esds);
    w.close(entry);
}

/// One sample's entry in a `trun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SampleInfo {
    /// Duration in the track's timescale.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// [`SYNC_SAMPLE`] or [`NON_SYNC_SAMPLE`].
    pub flags: u32,
}

/// One track's part of a media segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrackFragment<'a> {
    /// [`VIDEO_TRACK`] or [`AUDIO_TRACK`].
    pub track_id: u32,
    /// Decode time of the first sample, in the track's timescale (`tfdt`).
    pub base_decode_time: u64,
    /// The samples, in decode order.
    pub samples: &'a [SampleInfo],
    /// The samples' bytes, one after the other (as long as the sizes sum to).
    pub data: &'a [u8],
}

/// A media segment: `styp` + `moof` (`mfhd`, one `traf` per track with samples) + `mdat`.
///
/// Each `traf` has `tfhd` (default-base-is-moof), `tfdt` (version 1) and a `trun` with a data
/// offset and per-sample duration, size and flags; the `mdat` holds the tracks' data in the
/// order given.
#[cfg(test)]
pub(crate) fn media_segment(sequence_number: u32, tracks: &[TrackFragment<'_>]) -> Vec<u8> {
    media_fragment(sequence_number, tracks, true)
}

/// One CMAF fragment (chunk): `moof` + `mdat` as [`media_segment`] writes them, after a `styp`
/// when `styp` (the first fragment of a segment). LL-HLS partial segments are such fragments;
/// a segment is its fragments one after the other.
pub(crate) fn media_fragment(
    sequence_number: u32,
    tracks: &[TrackFragment<'_>],
    styp: bool,
) -> Vec<u8> {
    let tracks: Vec<&TrackFragment<'_>> = tracks.iter().filter(|t| !t.samples.is_empty()).collect();
    let payload: usize = tracks.iter().map(|t| t.data.len()).sum();
    let mut w = Writer {
        buf: Vec::with_capacity(payload + 256 + 16 * tracks.len() * 8),
    };
    if styp {
        let styp = w.open(b"styp");
        w.bytes(b"msdh");
        w.u32(0);
        for brand in [b"msdh", b"cmfs"] {
            w.bytes(brand);
        }
        w.close(styp);
    }

    let moof = w.open(b"moof");
    let mfhd = w.open_full(b"mfhd", 0, 0);
    w.u32(sequence_number);
    w.close(mfhd);
    let mut offset_fields = Vec::with_capacity(tracks.len());
    for t in &tracks {
        debug_assert_eq!(
            t.samples.iter().map(|s| s.size as usize).sum::<usize>(),
            t.data.len(),
            "sample sizes and data disagree"
        );
        let traf = w.open(b"traf");
        let tfhd = w.open_full(b"tfhd", 0, 0x02_0000); // default-base-is-moof
        w.u32(t.track_id);
        w.close(tfhd);
        let tfdt = w.open_full(b"tfdt", 1, 0);
        w.u64(t.base_decode_time);
        w.close(tfdt);
        // data-offset-present | sample-duration | sample-size | sample-flags
        let trun = w.open_full(b"trun", 0, 0x00_0701);
        w.u32(t.samples.len() as u32);
        offset_fields.push(w.buf.len());
        w.u32(0); // data_offset, patched below
        for s in t.samples {
            w.u32(s.duration);
            w.u32(s.size);
            w.u32(s.flags);
        }
        w.close(trun);
        w.close(traf);
    }
    w.close(moof);

    // Data offsets count from the first byte of the moof: past the moof and the mdat header.
    let mut offset = w.buf.len() - moof + 8;
    for (t, field) in tracks.iter().zip(offset_fields) {
        w.patch_u32(field, u32::try_from(offset).expect("segment over 4 GiB"));
        offset += t.data.len();
    }
    let mdat = w.open(b"mdat");
    for t in &tracks {
        w.bytes(t.data);
    }
    w.close(mdat);
    w.buf
}

#[cfg(test)]
mod tests {
    use super::super::mp4check;
    use super::*;

    fn params() -> InitParams<'static> {
        InitParams {
            width: 320,
            height: 180,
            avcc: &[
                1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 1, 0, 2, 0x68, 0xce,
            ],
            asc: &[0x11, 0x88],
            channels: 1,
            sample_rate: 48_000,
        }
    }

    #[test]
    fn init_segment_boxes_tile_and_describe_both_tracks() {
        let init = init_segment(&params());
        let tops = mp4check::walk(&init).expect("boxes tile the file");
        let kinds: Vec<&str> = tops.iter().map(|b| b.kind_str()).collect();
        assert_eq!(kinds, ["ftyp", "moov"]);
        assert_eq!(&tops[0].payload[..4], b"iso6");
        let info = mp4check::parse_init(&init).expect("init parses");
        assert_eq!(info.tracks.len(), 2);
        let v = &info.tracks[0];
        assert_eq!(
            (v.id, v.handler.as_str(), v.entry.as_str()),
            (1, "vide", "avc3")
        );
        assert_eq!((v.timescale, v.width, v.height), (90_000, 320, 180));
        assert_eq!(v.config, params().avcc);
        let a = &info.tracks[1];
        assert_eq!(
            (a.id, a.handler.as_str(), a.entry.as_str()),
            (2, "soun", "mp4a")
        );
        assert_eq!(
            (a.timescale, a.channels, a.sample_rate),
            (48_000, 1, 48_000)
        );
        assert_eq!(a.config, [0x11, 0x88]);
        assert_eq!(info.trex, [1, 2]);
    }

    #[test]
    fn media_segment_offsets_point_into_mdat() {
        let video = [
            SampleInfo {
                duration: 3600,
                size: 5,
                flags: SYNC_SAMPLE,
            },
            SampleInfo {
                duration: 3000,
                size: 3,
                flags: NON_SYNC_SAMPLE,
            },
        ];
        let audio = [SampleInfo {
            duration: 1024,
            size: 4,
            flags: SYNC_SAMPLE,
        }; 3];
        let vdata = [1u8, 1, 1, 1, 1, 2, 2, 2];
        let adata = [9u8; 12];
        let seg = media_segment(
            7,
            &[
                TrackFragment {
                    track_id: VIDEO_TRACK,
                    base_decode_time: 1 << 33,
                    samples: &video,
                    data: &vdata,
                },
                TrackFragment {
                    track_id: AUDIO_TRACK,
                    base_decode_time: 480,
                    samples: &audio,
                    data: &adata,
                },
            ],
        );
        let frag = mp4check::parse_fragment(&seg).expect("fragment parses");
        assert_eq!(frag.sequence, 7);
        assert_eq!(frag.trafs.len(), 2);
        assert_eq!(frag.trafs[0].base_decode_time, 1 << 33);
        assert_eq!(frag.trafs[0].samples, video);
        assert_eq!(frag.trafs[1].base_decode_time, 480);
        assert_eq!(frag.trafs[1].samples, audio);
        assert_eq!(frag.sample_data(&seg, 0, 1), &[2, 2, 2]);
        assert_eq!(frag.sample_data(&seg, 1, 2), &[9, 9, 9, 9]);
    }

    #[test]
    fn a_track_without_samples_gets_no_traf() {
        let video = [SampleInfo {
            duration: 180_000,
            size: 2,
            flags: SYNC_SAMPLE,
        }];
        let seg = media_segment(
            1,
            &[
                TrackFragment {
                    track_id: VIDEO_TRACK,
                    base_decode_time: 0,
                    samples: &video,
                    data: &[5, 5],
                },
                TrackFragment {
                    track_id: AUDIO_TRACK,
                    base_decode_time: 0,
                    samples: &[],
                    data: &[],
                },
            ],
        );
        let frag = mp4check::parse_fragment(&seg).expect("fragment parses");
        assert_eq!(frag.trafs.len(), 1);
        assert_eq!(frag.trafs[0].track_id, VIDEO_TRACK);
    }
}
