//! `courtroom key IN.png OUT.png [--key auto|#RRGGBB] [--params FILE]`: keys one RGB picture
//! with the compositor's own WGSL keyer, run headless (a GPU, or lavapipe on the CPU), and
//! writes RGBA with straight alpha and despilled colour. A participant can check their own
//! green screen with it; the keyeval harness scores it.

use std::path::Path;

use super::calibrate::estimate_within;
use super::pass::KeyPass;
use super::picture::{frame_from_rgb, read_rgb_png, write_png};
use super::{KeyError, KeyParams};
use crate::gpu::{AdapterChoice, Gpu};

/// Where the key colour comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// Fit the screen model to the picture.
    Auto,
    /// One flat colour.
    Rgb([u8; 3]),
}

impl std::str::FromStr for KeySpec {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        let hex = s.strip_prefix('#').unwrap_or(s);
        let bad = || KeyError::BadKey(s.to_owned());
        if hex.len() != 6 {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Self::Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

/// Reads parameters from a TOML file; fields it leaves out keep their defaults.
pub fn load_params(path: &Path) -> Result<KeyParams, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io(path.into(), e))?;
    toml::from_str(&text).map_err(|e| KeyError::Params(e.to_string()))
}

/// Decides the parameters for one picture: the file's (or defaults), then the key.
/// Returns them with the calibration's hint, if the screen will not key cleanly.
pub fn resolve_params(
    frame: &crate::media::frame::VideoFrame,
    key: KeySpec,
    base: KeyParams,
) -> (KeyParams, Option<&'static str>) {
    let mut params = base;
    match key {
        KeySpec::Rgb(rgb) => {
            params.key_rgb = rgb;
            params.auto = false;
            params.screen = None;
            (params, None)
        }
        KeySpec::Auto => match estimate_within(frame, params.garbage) {
            Ok(cal) => {
                params.screen = Some(cal.model);
                (params, cal.warning.map(|w| w.hint()))
            }
            Err(e) => {
                tracing::warn!("auto key failed ({e}); keying against {:?}", params.key_rgb);
                (
                    params,
                    Some("No green screen found; keyed against the default green."),
                )
            }
        },
    }
}

/// Runs `courtroom key`.
pub fn run(
    input: &Path,
    output: &Path,
    key: KeySpec,
    params: Option<&Path>,
) -> Result<(), KeyError> {
    let base = match params {
        Some(p) => load_params(p)?,
        None => KeyParams::default(),
    };
    let (w, h, rgb) = read_rgb_png(input)?;
    // The keyer works on 4:2:0 frames: pad odd sizes by repeating the last row and column.
    let (ew, eh) = (w + (w & 1), h + (h & 1));
    let mut padded = Vec::with_capacity((ew * eh * 3) as usize);
    for y in 0..eh {
        let sy = y.min(h - 1);
        for x in 0..ew {
            let i = ((sy * w + x.min(w - 1)) * 3) as usize;
            padded.extend_from_slice(&rgb[i..i + 3]);
        }
    }
    let frame = frame_from_rgb(ew, eh, &padded);
    let (params, hint) = resolve_params(&frame, key, base);
    if let Some(hint) = hint {
        eprintln!("{hint}");
    }
    let gpu = Gpu::open(AdapterChoice::Auto)?;
    let mut pass = KeyPass::new(gpu);
    let rgba = pass.key(&frame, &params)?;
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        let start = (y * ew * 4) as usize;
        out.extend_from_slice(&rgba[start..start + (w * 4) as usize]);
    }
    write_png(output, w, h, &out).map_err(|e| KeyError::Io(output.into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_spec_parses_auto_and_hex() {
        assert_eq!("auto".parse::<KeySpec>().unwrap(), KeySpec::Auto);
        assert_eq!(
            "#00b140".parse::<KeySpec>().unwrap(),
            KeySpec::Rgb([0, 0xb1, 0x40])
        );
        assert_eq!(
            "10FF20".parse::<KeySpec>().unwrap(),
            KeySpec::Rgb([0x10, 0xff, 0x20])
        );
        assert!("#12345".parse::<KeySpec>().is_err());
        assert!("#gg0000".parse::<KeySpec>().is_err());
    }
}
