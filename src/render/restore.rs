//! Which parts of the composite a tick must put the empty room back into before it draws the
//! people.
//!
//! The compositor keeps the empty room, drawn once per camera move, and draws each tick's
//! people over a copy of it ([`super::compositor`]). The room changes rarely, and the people
//! cover a small part of the frame, so a tick does not copy the whole room back: only the
//! regions the last drawn tick put people into. Everything else still holds the room. At 720p
//! the whole copy is 3.7 MB a tick; five seats' regions in the wide view are about a sixth of
//! it. The seats test depth against the cached room's depth directly (they do not write
//! depth), so no depth is copied at all.
//!
//! The rule, kept here without the device so that it can be tested on its own: the target
//! holds the room everywhere once this tick's regions are restored, if the regions cover
//! everything the last drawn tick drew into, and the whole frame is restored whenever the
//! room itself was redrawn or what was drawn is not known.

use super::screen::ScreenBox;

/// What the last drawn tick drew over the room, and so what the next one must restore.
#[derive(Debug, Clone, Default)]
pub struct RoomRestore {
    /// The regions drawn into since the target last held only the room; `None` before the
    /// first tick, when the target's contents are not known.
    drawn: Option<Vec<ScreenBox>>,
}

/// What to copy from the cached room into the target before a tick's people are drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Restore {
    /// The whole frame.
    Whole,
    /// Only these regions (possibly none: the last tick drew nobody).
    Regions(Vec<ScreenBox>),
}

impl RoomRestore {
    /// A target whose contents are not known: the first tick restores the whole frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tick about to be drawn: what to restore, given whether the cached room was redrawn
    /// for it, and `drawing`, the regions this tick will draw into. Call only for ticks that
    /// are drawn; a tick answered with the last frame leaves the target, and so this, as it
    /// was.
    pub fn tick(&mut self, room_redrawn: bool, drawing: Vec<ScreenBox>) -> Restore {
        let last = self.drawn.replace(drawing);
        match last {
            Some(regions) if !room_redrawn => {
                Restore::Regions(regions.into_iter().filter(|b| b.w > 0 && b.h > 0).collect())
            }
            _ => Restore::Whole,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: u32, y: u32, w: u32, h: u32) -> ScreenBox {
        ScreenBox { x, y, w, h }
    }

    #[test]
    fn the_first_tick_and_a_redrawn_room_restore_the_whole_frame() {
        let mut r = RoomRestore::new();
        assert_eq!(r.tick(false, vec![b(0, 0, 4, 4)]), Restore::Whole);
        assert_eq!(
            r.tick(false, vec![b(8, 8, 4, 4)]),
            Restore::Regions(vec![b(0, 0, 4, 4)])
        );
        assert_eq!(r.tick(true, vec![b(8, 8, 4, 4)]), Restore::Whole);
    }

    #[test]
    fn a_tick_restores_what_the_last_drawn_tick_drew_not_what_it_draws_itself() {
        let mut r = RoomRestore::new();
        r.tick(true, vec![b(0, 0, 4, 4), b(10, 0, 4, 4)]);
        // The second seat leaves the picture (an inset taken down): its region is restored
        // once, then no more.
        assert_eq!(
            r.tick(false, vec![b(0, 0, 4, 4)]),
            Restore::Regions(vec![b(0, 0, 4, 4), b(10, 0, 4, 4)])
        );
        assert_eq!(r.tick(false, vec![]), Restore::Regions(vec![b(0, 0, 4, 4)]));
        assert_eq!(r.tick(false, vec![]), Restore::Regions(vec![]));
    }

    #[test]
    fn empty_regions_are_not_copied() {
        let mut r = RoomRestore::new();
        r.tick(true, vec![b(5, 5, 0, 9), b(1, 1, 3, 3)]);
        assert_eq!(r.tick(false, vec![]), Restore::Regions(vec![b(1, 1, 3, 3)]));
    }

    /// On the device: over a run of ticks (people moving, sitting down, the inset shown and
    /// taken down, one turning away, the camera moving close and back), a compositor that
    /// restores only what the last tick drew gives every tick exactly the picture of one that
    /// restores the whole room each tick.
    #[test]
    fn restoring_only_what_the_last_tick_drew_changes_no_pixel() {
        use std::sync::Arc;

        use crate::keying::picture::synthetic_person;
        use crate::render::layout::CameraSpec;
        use crate::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};

        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        let seats = layout.seats.len();
        let wide = layout.camera;
        // Close on the plaintiff: some seats are behind the camera, some cut by its near plane.
        let close = layout.camera_for("speaker:plaintiff").unwrap();
        let defendant = layout.seat_index("defendant").unwrap();
        let (w, h) = (480, 270);
        let mut regions = Compositor::new(gpu.clone(), layout.clone(), w, h).unwrap();
        let mut whole = Compositor::new(gpu.clone(), layout.clone(), w, h).unwrap();
        whole.restore_whole_room(true);
        let person = |seq: u64, rgb: [u8; 3], sway: i32| {
            Some((seq, Arc::new(synthetic_person(160, 120, rgb, sway))))
        };
        let seat = |frame, crop| SeatView {
            frame,
            key: KeyParams::default(),
            crop,
            ..Default::default()
        };
        let mut views = vec![SeatView::default(); seats];
        views[0] = seat(person(1, [210, 40, 40], -20), None);
        views[1] = seat(person(1, [40, 70, 220], 0), None);
        // (what changes, camera, inset)
        type Step = (&'static str, CameraSpec, Option<usize>);
        let steps: [Step; 9] = [
            ("two seated", wide, None),
            ("they move", wide, None),
            ("a third sits down", wide, None),
            ("the inset shown", wide, Some(1)),
            ("one framed on the face", wide, Some(1)),
            ("the inset taken down, one away", wide, None),
            ("the camera close", close, None),
            ("close, they move", close, None),
            ("and back", wide, None),
        ];
        let empty = Compositor::new(gpu.clone(), layout.clone(), w, h)
            .unwrap()
            .render_rgba(&vec![SeatView::default(); seats])
            .unwrap();
        for (n, (what, camera, inset)) in steps.into_iter().enumerate() {
            let seq = n as u64 + 1;
            match n {
                1 => {
                    views[0].frame = person(seq, [210, 40, 40], 25);
                    views[1].frame = person(seq, [40, 70, 220], -30);
                }
                2 => views[defendant] = seat(person(seq, [205, 160, 130], 10), None),
                4 => views[1].crop = Some([0.3, 0.1, 0.4, 0.55]),
                5 => views[0].away = true,
                7 => views[defendant].frame = person(seq, [205, 160, 130], -25),
                _ => views[0].frame = person(seq, [210, 40, 40], 5 * n as i32 - 20),
            }
            let draw = |c: &mut Compositor| {
                c.set_camera(camera);
                c.set_inset(inset);
                c.render_rgba(&views).unwrap()
            };
            let got = draw(&mut regions);
            let want = draw(&mut whole);
            let differ = got
                .chunks(4)
                .zip(want.chunks(4))
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(
                differ, 0,
                "{what}: {differ} pixels differ from the whole room's"
            );
            if camera == wide {
                let people = got
                    .chunks(4)
                    .zip(empty.chunks(4))
                    .filter(|(a, b)| a != b)
                    .count();
                assert!(people > 1_000, "{what}: only {people} pixels of people");
            }
        }
    }
}
