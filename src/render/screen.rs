//! Where things fall on the output frame: each seat's region, its head's and its nameplate's,
//! projected through the layout's camera, for the clerk's monitor, framing and stills.

use glam::{Vec3, Vec4};
use serde::Serialize;

use super::layout::{Layout, SeatSpec};

/// A seat's region on the output frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreenBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Layout {
    /// Each seat's screen region at the given output size, clipped to the frame.
    pub fn screen_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        self.project(width, height, |seat| seat.corners())
    }

    /// Each seat's nameplate region on screen (zero-sized where a seat has no nameplate).
    pub fn nameplate_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        let plates: Vec<Option<[Vec3; 4]>> = (0..self.seats.len())
            .map(|i| self.nameplate(i).map(|n| n.corners()))
            .collect();
        let mut i = 0;
        let mut boxes = self.project(width, height, |_| {
            let c = plates[i].unwrap_or_default();
            i += 1;
            c
        });
        for (b, p) in boxes.iter_mut().zip(&plates) {
            if p.is_none() {
                *b = ScreenBox {
                    x: 0,
                    y: 0,
                    w: 0,
                    h: 0,
                };
            }
        }
        boxes
    }

    /// Where each seated head appears on screen, for a person framed as a webcam frames them
    /// (head in the upper middle of the picture).
    pub fn head_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        self.project(width, height, |seat| seat.head_corners())
    }

    fn project(
        &self,
        width: u32,
        height: u32,
        mut corners: impl FnMut(&SeatSpec) -> [Vec3; 4],
    ) -> Vec<ScreenBox> {
        let vp = self.view_proj(width as f32 / height as f32);
        let eye = Vec3::from(self.camera.eye);
        self.seats
            .iter()
            .map(|seat| {
                let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
                // A seat behind the camera is not on screen.
                let forward = (Vec3::from(self.camera.target) - eye).normalize();
                if (Vec3::from(seat.position) - eye).dot(forward) <= 0.1 {
                    return ScreenBox {
                        x: 0,
                        y: 0,
                        w: 0,
                        h: 0,
                    };
                }
                for corner in corners(seat) {
                    let clip = vp * Vec4::from((corner, 1.0));
                    let ndc = clip.truncate() / clip.w.max(1e-6);
                    let px = (ndc.x * 0.5 + 0.5) * width as f32;
                    let py = (0.5 - ndc.y * 0.5) * height as f32;
                    x0 = x0.min(px);
                    y0 = y0.min(py);
                    x1 = x1.max(px);
                    y1 = y1.max(py);
                }
                let clamp_x = |v: f32| v.clamp(0.0, width as f32) as u32;
                let clamp_y = |v: f32| v.clamp(0.0, height as f32) as u32;
                let (x, y) = (clamp_x(x0), clamp_y(y0));
                ScreenBox {
                    x,
                    y,
                    w: clamp_x(x1) - x,
                    h: clamp_y(y1) - y,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Layout {
        Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap()
    }

    #[test]
    fn presiding_judge_sits_in_the_middle_of_the_bench_between_the_assessors() {
        let l = shipped();
        let boxes = l.screen_boxes(1280, 720);
        let centre = |id: &str| {
            let b = boxes[l.seat_index(id).unwrap()];
            (b.x + b.w / 2) as i32
        };
        let judge = centre("presiding_judge");
        assert!((judge - 640).abs() < 40, "judge centred, got {judge}");
        assert!(centre("assessor_left") < judge && judge < centre("assessor_right"));
        // Plaintiff and defendant face each other from opposite sides.
        assert!(centre("plaintiff") < 640 && centre("defendant") > 640);
    }

    #[test]
    fn every_head_is_on_screen_and_no_two_heads_overlap() {
        let l = shipped();
        let heads = l.head_boxes(1280, 720);
        for (seat, b) in l.seats.iter().zip(&heads) {
            assert!(
                b.x > 0 && b.y > 0 && b.x + b.w < 1280 && b.y + b.h < 720,
                "head of {} leaves the frame: {b:?}",
                seat.id
            );
            assert!(b.w > 20 && b.h > 20, "head of {} too small: {b:?}", seat.id);
        }
        for (i, a) in heads.iter().enumerate() {
            for (j, b) in heads.iter().enumerate().skip(i + 1) {
                let ox = (a.x + a.w).min(b.x + b.w).saturating_sub(a.x.max(b.x));
                let oy = (a.y + a.h).min(b.y + b.h).saturating_sub(a.y.max(b.y));
                assert_eq!(
                    ox * oy,
                    0,
                    "heads of {} and {} overlap",
                    l.seats[i].id,
                    l.seats[j].id
                );
            }
        }
    }

    #[test]
    fn every_seated_head_is_legible_in_the_wide_view_of_every_shipped_layout() {
        for name in ["courtroom", "mediation"] {
            let l = Layout::load(&crate::config::default_assets_dir(), name).unwrap();
            for ((w, h), min) in [((1280, 720), 60), ((1920, 1080), 90)] {
                for (seat, b) in l.seats.iter().zip(l.head_boxes(w, h)) {
                    assert!(b.h >= min, "{name}/{}: head {} px at {w}x{h}", seat.id, b.h);
                }
            }
        }
    }
}
