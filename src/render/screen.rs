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

    /// The evidence display's region on screen, if the layout has a display in view.
    pub fn display_box(&self, width: u32, height: u32) -> Option<ScreenBox> {
        let d = self.display?;
        let b = self.project_quad(width, height, Vec3::from(d.center), d.corners());
        (b.w > 0 && b.h > 0).then_some(b)
    }

    fn project(
        &self,
        width: u32,
        height: u32,
        mut corners: impl FnMut(&SeatSpec) -> [Vec3; 4],
    ) -> Vec<ScreenBox> {
        self.seats
            .iter()
            .map(|seat| self.project_quad(width, height, Vec3::from(seat.position), corners(seat)))
            .collect()
    }

    /// The screen box around `corners`; empty when `anchor` is not in front of the camera.
    fn project_quad(&self, width: u32, height: u32, anchor: Vec3, corners: [Vec3; 4]) -> ScreenBox {
        let vp = self.view_proj(width as f32 / height as f32);
        let eye = Vec3::from(self.camera.eye);
        let forward = (Vec3::from(self.camera.target) - eye).normalize();
        if (anchor - eye).dot(forward) <= 0.1 {
            return ScreenBox {
                x: 0,
                y: 0,
                w: 0,
                h: 0,
            };
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for corner in corners {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Layout {
        Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap()
    }

    #[test]
    fn the_display_is_in_the_wide_view_above_the_bench_and_fills_the_exhibit_view() {
        let l = shipped();
        let d = l
            .display_box(1280, 720)
            .expect("the courtroom has a display in view");
        let judge = l.screen_boxes(1280, 720)[l.seat_index("presiding_judge").unwrap()];
        assert!(d.w >= 120 && d.h >= 64, "{d:?}");
        assert!(d.y > 0 && d.x + d.w < 1280, "wholly in the frame: {d:?}");
        assert!(
            d.y + d.h <= judge.y + judge.h / 3,
            "above the judges' heads: {d:?}"
        );
        let full = l.with_view(super::super::layout::EXHIBIT_VIEW).unwrap();
        let f = full.display_box(1280, 720).unwrap();
        assert!(
            f.h >= 640 && f.w >= 1100,
            "the exhibit view is filled by the display: {f:?}"
        );
        let mediation = Layout::load(&crate::config::default_assets_dir(), "mediation").unwrap();
        assert!(mediation.display_box(1280, 720).is_some());
        assert!(
            mediation
                .with_view("exhibit")
                .unwrap()
                .display_box(1280, 720)
                .unwrap()
                .h
                >= 640
        );
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
