//! Still frames: `courtroom render` draws the room with given people and writes a PNG plus the
//! seats' screen boxes, for looking at layouts and for tests. Synthetic people (a head and a
//! torso of one colour on a green screen, [`synthetic_person`]) stand in where no photo is
//! given. With a language, each placed person's seat shows its nameplate.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::compositor::Compositor;
use super::display::ExhibitPicture;
use super::layout::Layout;
use super::nameplate::{Lang, NameplateText};
use super::screen::ScreenBox;
use super::view::SeatView;
use super::RenderError;
use crate::gpu::Gpu;
use crate::keying::KeyParams;
use crate::media::frame::VideoFrame;

// The pictures `courtroom render` reads and writes, where its callers have always found them.
pub use crate::keying::picture::{frame_from_rgb, synthetic_person, write_png, SCREEN_GREEN};

/// Reads a PNG (RGB or RGBA, 8-bit) into an I420 frame.
pub fn frame_from_png(path: &Path) -> Result<VideoFrame, RenderError> {
    let bad = |e: &dyn std::fmt::Display| RenderError::Layout(format!("{}: {e}", path.display()));
    let mut reader = crate::keying::picture::open_png(path, png::Transformations::IDENTITY)
        .map_err(RenderError::Layout)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
    let data = &buf[..info.buffer_size()];
    let rgb: Vec<u8> = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => data.to_vec(),
        (png::ColorType::Rgba, png::BitDepth::Eight) => data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => {
            return Err(bad(&format!(
                "unsupported PNG format {other:?}; use 8-bit RGB or RGBA"
            )))
        }
    };
    Ok(frame_from_rgb(
        info.width & !1,
        info.height & !1,
        &crop_even(&rgb, info.width, info.height),
    ))
}

fn crop_even(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    let (ew, eh) = (w & !1, h & !1);
    (0..eh)
        .flat_map(|y| {
            rgb[(y * w * 3) as usize..((y * w + ew) * 3) as usize]
                .iter()
                .copied()
        })
        .collect()
}

/// A placed participant's boxes, as written to `SEATS.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedSeat {
    /// Seat id.
    pub seat: String,
    /// Role.
    pub role: String,
    /// The seat's whole billboard on screen.
    pub body: ScreenBox,
    /// Where a webcam-framed head falls on screen ([`super::layout::HEAD_REGION`]).
    pub head: ScreenBox,
    /// The seat's nameplate on screen, when nameplates were drawn and the seat has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameplate: Option<ScreenBox>,
}

/// Renders one still with `people` (seat index → frame) and returns RGBA plus placed seats.
pub fn render_still(
    gpu: Arc<Gpu>,
    layout: Layout,
    width: u32,
    height: u32,
    people: &[(usize, VideoFrame)],
) -> Result<(Vec<u8>, Vec<PlacedSeat>), RenderError> {
    render_still_named(
        gpu,
        layout,
        width,
        height,
        people,
        None,
        &[],
        &[],
        None,
        None,
    )
}

/// [`render_still`] with nameplates in `lang` on every placed person's seat (none if `lang`
/// is `None`): the seat's role, and the name given for that seat in `names` (seat index →
/// display name; a seat without one shows its title alone), each person keyed with the
/// parameters given for their seat in `keys` (the defaults for a seat without them),
/// `exhibit` on the room's evidence display, and the person at seat `inset` drawn again
/// picture-in-picture (as the presenter is in the exhibit view).
#[allow(clippy::too_many_arguments)] // one scene, described in full
pub fn render_still_named(
    gpu: Arc<Gpu>,
    layout: Layout,
    width: u32,
    height: u32,
    people: &[(usize, VideoFrame)],
    lang: Option<Lang>,
    names: &[(usize, String)],
    keys: &[(usize, KeyParams)],
    exhibit: Option<&Arc<ExhibitPicture>>,
    inset: Option<usize>,
) -> Result<(Vec<u8>, Vec<PlacedSeat>), RenderError> {
    let mut compositor = Compositor::new(gpu, layout, width, height)?;
    compositor.show_exhibit(exhibit);
    compositor.set_inset(inset);
    let mut views = vec![SeatView::default(); compositor.layout().seats.len()];
    for (i, (seat, frame)) in people.iter().enumerate() {
        let name = names
            .iter()
            .find(|(s, _)| s == seat)
            .map_or("", |(_, n)| n.as_str());
        views[*seat] = SeatView {
            frame: Some((i as u64 + 1, Arc::new(frame.clone()))),
            away: false,
            key: keys
                .iter()
                .find(|(s, _)| s == seat)
                .map_or_else(KeyParams::default, |(_, k)| *k),
            nameplate: lang.map(|lang| {
                NameplateText::for_role(&compositor.layout().seats[*seat].role, name, lang)
            }),
            crop: None,
            gain: None,
        };
    }
    let rgba = compositor.render_rgba(&views)?;
    let boxes = compositor.seat_boxes();
    let heads = compositor.layout().head_boxes(width, height);
    let plates = compositor.layout().nameplate_boxes(width, height);
    let placed = people
        .iter()
        .map(|(seat, _)| {
            let spec = &compositor.layout().seats[*seat];
            PlacedSeat {
                seat: spec.id.clone(),
                role: spec.role.clone(),
                body: boxes[*seat],
                head: heads[*seat],
                nameplate: lang
                    .is_some()
                    .then_some(plates[*seat])
                    .filter(|b| b.w > 0 && b.h > 0),
            }
        })
        .collect();
    Ok((rgba, placed))
}
