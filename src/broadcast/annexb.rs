//! H.264 access units from Annex B to MP4 samples.
//!
//! Owns what the broadcast needs to know about H.264 bitstreams, and nothing more: splitting an
//! Annex B byte stream (start codes `00 00 01` / `00 00 00 01`) into NAL units, telling NAL unit
//! types apart, rewriting an access unit as an ISO BMFF sample (4-byte big-endian length before
//! each NAL unit, access unit delimiters dropped, SPS/PPS kept in-band for `avc3`), and building
//! the `AVCDecoderConfigurationRecord` (`avcC`) from a sequence and picture parameter set.
//!
//! No slice or SPS parsing happens beyond the first bytes of a NAL unit: the SPS's
//! `profile_idc`, constraint flags and `level_idc` (bytes 1..4) are all `avcC` needs.

/// NAL unit type of a coded slice of an IDR picture.
pub(crate) const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub(crate) const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub(crate) const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter (dropped from samples).
pub(crate) const NAL_AUD: u8 = 9;

/// The `nal_unit_type` of a NAL unit (its first byte's low five bits); 0 for an empty slice.
pub(crate) fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// Position of the next three-byte start code `00 00 01` at or after `from`.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        // Skip ahead quickly: a start code needs `data[i + 2] == 1` and two zeros before it.
        match data[i + 2] {
            1 if data[i] == 0 && data[i + 1] == 0 => return Some(i),
            0 => i += 1,
            _ => i += 3,
        }
    }
    None
}

/// The NAL units of an Annex B byte stream, without start codes or trailing zero bytes.
///
/// Bytes before the first start code are ignored (there should be none); empty NAL units are
/// skipped.
#[derive(Debug, Clone)]
pub(crate) struct NalUnits<'a> {
    /// The byte stream.
    data: &'a [u8],
    /// Where to look for the next start code.
    pos: usize,
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let start = find_start_code(self.data, self.pos)? + 3;
            let next = find_start_code(self.data, start);
            let mut end = next.unwrap_or(self.data.len());
            self.pos = end;
            // The zero of a four-byte start code, or trailing_zero_8bits, belong to no NAL unit;
            // a NAL unit itself never ends in a zero byte (rbsp_trailing_bits / cabac_zero_word
            // emulation prevention).
            while end > start && self.data[end - 1] == 0 {
                end -= 1;
            }
            if end > start {
                return Some(&self.data[start..end]);
            }
            next?;
        }
    }
}

/// Splits an Annex B byte stream into its NAL units.
pub(crate) fn nal_units(data: &[u8]) -> NalUnits<'_> {
    NalUnits { data, pos: 0 }
}

/// Whether an Annex B access unit holds a coded slice of an IDR picture.
pub(crate) fn has_idr(au: &[u8]) -> bool {
    nal_units(au).any(|n| nal_type(n) == NAL_IDR)
}

/// A sequence and a picture parameter set (NAL units including their one-byte header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParameterSets {
    /// The SPS NAL unit (type 7), at least four bytes.
    pub sps: Vec<u8>,
    /// The PPS NAL unit (type 8).
    pub pps: Vec<u8>,
}

impl ParameterSets {
    /// The first SPS and first PPS of an Annex B access unit, if it holds both (and the SPS is
    /// long enough to carry profile and level).
    pub(crate) fn from_access_unit(au: &[u8]) -> Option<Self> {
        let mut sps = None;
        let mut pps = None;
        for nal in nal_units(au) {
            match nal_type(nal) {
                NAL_SPS if sps.is_none() && nal.len() >= 4 => sps = Some(nal),
                NAL_PPS if pps.is_none() && nal.len() >= 2 => pps = Some(nal),
                _ => {}
            }
        }
        Some(Self {
            sps: sps?.to_vec(),
            pps: pps?.to_vec(),
        })
    }

    /// `profile_idc`, the constraint flags byte and `level_idc`: SPS bytes 1..4.
    pub(crate) fn profile_compat_level(&self) -> [u8; 3] {
        [self.sps[1], self.sps[2], self.sps[3]]
    }

    /// The `AVCDecoderConfigurationRecord` (the payload of an `avcC` box): version 1,
    /// profile/compatibility/level from the SPS, 4-byte NAL lengths, one SPS, one PPS.
    ///
    /// The chroma/bit-depth extension that High profiles may carry is left out (it is optional
    /// for readers, and the broadcast is constrained baseline).
    pub(crate) fn avcc(&self) -> Vec<u8> {
        let [profile, compat, level] = self.profile_compat_level();
        let mut out = Vec::with_capacity(11 + self.sps.len() + self.pps.len());
        out.extend_from_slice(&[1, profile, compat, level]);
        out.push(0xfc | 3); // reserved '111111' + lengthSizeMinusOne = 3
        out.push(0xe0 | 1); // reserved '111' + numOfSequenceParameterSets = 1
        out.extend_from_slice(&(self.sps.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.sps);
        out.push(1); // numOfPictureParameterSets
        out.extend_from_slice(&(self.pps.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.pps);
        out
    }

    /// The RFC 6381 codec string for an `avc3` sample entry, e.g. `avc3.42c01f`.
    pub(crate) fn codec_string(&self) -> String {
        let [profile, compat, level] = self.profile_compat_level();
        format!("avc3.{profile:02x}{compat:02x}{level:02x}")
    }
}

/// Rewrites an Annex B access unit as an MP4 sample: each NAL unit preceded by its length as a
/// 4-byte big-endian integer, access unit delimiters (type 9) dropped.
///
/// SPS and PPS stay in-band (the track's sample entry is `avc3`). When `params` is given and
/// the access unit holds an IDR slice but lacks an SPS or a PPS, `params` are put in front, so
/// that every keyframe sample carries the parameter sets it needs. Returns an empty vector when
/// the access unit holds no NAL unit.
pub(crate) fn to_sample(au: &[u8], params: Option<&ParameterSets>) -> Vec<u8> {
    let nals: Vec<&[u8]> = nal_units(au).filter(|n| nal_type(n) != NAL_AUD).collect();
    let mut out = Vec::with_capacity(au.len() + 4 * nals.len() + 16);
    let push = |out: &mut Vec<u8>, nal: &[u8]| {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    };
    if let Some(params) = params {
        let has = |t: u8| nals.iter().any(|n| nal_type(n) == t);
        if has(NAL_IDR) && !(has(NAL_SPS) && has(NAL_PPS)) {
            push(&mut out, &params.sps);
            push(&mut out, &params.pps);
        }
    }
    for nal in nals {
        push(&mut out, nal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic constrained-baseline SPS (profile 66, constraint 0xc0, level 3.1).
    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
    /// A synthetic PPS.
    const PPS: &[u8] = &[0x68, 0xce, 0x0f, 0x2c, 0x80];

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let mut au = vec![0, 0, 0, 1, 0x09, 0xf0];
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(SPS);
        au.extend_from_slice(&[0, 0, 1]);
        au.extend_from_slice(PPS);
        au.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x03, 0x21, 0, 0]);
        let nals: Vec<&[u8]> = nal_units(&au).collect();
        assert_eq!(nals.len(), 4);
        assert_eq!(nals[0], &[0x09, 0xf0]);
        assert_eq!(nals[1], SPS);
        assert_eq!(nals[2], PPS);
        // Emulation prevention bytes stay; trailing zeros go.
        assert_eq!(nals[3], &[0x65, 0x88, 0x84, 0x00, 0x03, 0x21]);
        assert_eq!(
            nals.iter().map(|n| nal_type(n)).collect::<Vec<_>>(),
            vec![NAL_AUD, NAL_SPS, NAL_PPS, NAL_IDR]
        );
        assert!(has_idr(&au));
    }

    #[test]
    fn no_start_code_means_no_nal_units() {
        assert_eq!(nal_units(&[0x65, 0x88, 0x84]).count(), 0);
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1, 0, 0, 1, 0x41, 0x9a]).count(), 1);
    }

    #[test]
    fn length_prefixes_and_drops_aud() {
        let au = [
            0, 0, 0, 1, 0x09, 0x30, 0, 0, 0, 1, 0x41, 0x9a, 0x02, 0, 0, 1, 0x41, 0x9b,
        ];
        let sample = to_sample(&au, None);
        assert_eq!(
            sample,
            [0, 0, 0, 3, 0x41, 0x9a, 0x02, 0, 0, 0, 2, 0x41, 0x9b]
        );
    }

    #[test]
    fn keeps_parameter_sets_in_band_and_adds_missing_ones_to_idr() {
        let params = ParameterSets {
            sps: SPS.to_vec(),
            pps: PPS.to_vec(),
        };
        let mut with = vec![0, 0, 0, 1];
        with.extend_from_slice(SPS);
        with.extend_from_slice(&[0, 0, 0, 1]);
        with.extend_from_slice(PPS);
        with.extend_from_slice(&[0, 0, 0, 1, 0x65, 0x88]);
        assert_eq!(ParameterSets::from_access_unit(&with), Some(params.clone()));
        let a = to_sample(&with, Some(&params));
        assert_eq!(a.len(), 4 + SPS.len() + 4 + PPS.len() + 4 + 2);
        // The IDR without parameter sets gets them in front.
        let b = to_sample(&[0, 0, 1, 0x65, 0x88], Some(&params));
        assert_eq!(a, b);
        // A non-IDR slice does not.
        assert_eq!(to_sample(&[0, 0, 1, 0x41, 0x88], Some(&params)).len(), 6);
        assert_eq!(
            ParameterSets::from_access_unit(&[0, 0, 1, 0x65, 0x88]),
            None
        );
    }

    #[test]
    fn avcc_record_from_sps_and_pps() {
        let params = ParameterSets {
            sps: SPS.to_vec(),
            pps: PPS.to_vec(),
        };
        let avcc = params.avcc();
        assert_eq!(&avcc[..6], &[1, 0x42, 0xc0, 0x1f, 0xff, 0xe1]);
        assert_eq!(u16::from_be_bytes([avcc[6], avcc[7]]) as usize, SPS.len());
        assert_eq!(&avcc[8..8 + SPS.len()], SPS);
        let p = 8 + SPS.len();
        assert_eq!(avcc[p], 1);
        assert_eq!(
            u16::from_be_bytes([avcc[p + 1], avcc[p + 2]]) as usize,
            PPS.len()
        );
        assert_eq!(&avcc[p + 3..], PPS);
        assert_eq!(params.codec_string(), "avc3.42c01f");
    }
}
